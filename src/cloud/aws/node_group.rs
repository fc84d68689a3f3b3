//! EKS managed node groups through aws-sdk-eks. The desired size is sent
//! at create only (clamped into the bounds) and afterwards only when new
//! bounds would leave the live size outside them, so Genesis never fights
//! the cluster autoscaler. Creates wait until the group is ACTIVE and then
//! install the cluster's add-ons that need nodes.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{
    CapacityTypes, NodeRepairConfig, Nodegroup, NodegroupScalingConfig, NodegroupStatus,
    NodegroupUpdateConfig, Taint, TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};

use super::cluster::NODE_ROLE_TAG;
use super::updates::{retry_also, send};
use super::{Aws, api_error, with_issues};
use crate::cloud::CloudError;
use crate::cloud::cluster::{ClusterAddress, Wait};
use crate::cloud::gpus::{self, PoolGpu};
use crate::cloud::node_pool::{EksPool, NodePools, ObservedPool, PoolCloud, PoolSpec, PoolTaint};
use crate::cloud::origin;
use crate::cloud::retry::{Backoff, Poll, poll_until_ready, read_optional};

/// The tag marking a node group of fixed size (`enable_autoscaling =
/// false`): EKS itself only knows bounds and a desired size.
pub const FIXED_SIZE_TAG: &str = "genesis-fixed-size";

fn eks_cluster(at: &ClusterAddress) -> Result<(&str, &str), CloudError> {
    match at {
        ClusterAddress::Eks { region, name } => Ok((region, name)),
        ClusterAddress::Gke { name, .. } => Err(CloudError::Invalid(format!(
            "cluster {name} is a GKE cluster, not an EKS one"
        ))),
    }
}

fn settings(spec: &PoolSpec) -> Result<&EksPool, CloudError> {
    spec.eks().ok_or_else(|| {
        CloudError::Invalid(format!("node pool {} is not on an EKS cluster", spec.name))
    })
}

/// (min, max, desired) for a create: the desired size is the initial
/// size clamped into the bounds.
pub fn create_scaling(spec: &PoolSpec) -> (i32, i32, i32) {
    match (spec.autoscaling, spec.node_count) {
        (Some((min, max)), _) => {
            let desired = spec.initial_node_count.clamp(min, max.max(min));
            (min as i32, max as i32, desired as i32)
        }
        (None, size) => {
            let n = size.unwrap_or(spec.initial_node_count);
            // EKS needs a maximum of one at least, even for an empty group.
            (n as i32, n.max(1) as i32, n as i32)
        }
    }
}

/// The scaling to send when bounds or size change: the live desired size
/// stays unless it falls outside the new bounds (then it is clamped), and
/// a fixed size is set as such.
pub fn update_scaling(spec: &PoolSpec, live_desired: i64) -> (i32, i32, i32) {
    match (spec.autoscaling, spec.node_count) {
        (Some((min, max)), _) => {
            let desired = live_desired.clamp(min, max.max(min));
            (min as i32, max as i32, desired as i32)
        }
        (None, size) => {
            let n = size.unwrap_or(spec.initial_node_count);
            (n as i32, n.max(1) as i32, n as i32)
        }
    }
}

fn taint(t: &PoolTaint) -> Taint {
    Taint::builder()
        .key(&t.key)
        .value(&t.value)
        .effect(TaintEffect::from(t.effect.as_str()))
        .build()
}

fn scaling((min, max, desired): (i32, i32, i32)) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(min)
        .max_size(max)
        .desired_size(desired)
        .build()
}

/// What EKS reports, in the provider's terms.
pub fn observe(region: &str, cluster: &str, g: &Nodegroup) -> ObservedPool {
    let tags = g.tags().cloned().unwrap_or_default();
    let scaling = g.scaling_config();
    let get = |f: fn(&NodegroupScalingConfig) -> Option<i32>| {
        i64::from(scaling.and_then(f).unwrap_or_default())
    };
    let (min, max, desired) = (
        get(NodegroupScalingConfig::min_size),
        get(NodegroupScalingConfig::max_size),
        get(NodegroupScalingConfig::desired_size),
    );
    let fixed = tags.contains_key(FIXED_SIZE_TAG);
    let mut taints: Vec<PoolTaint> = g
        .taints()
        .iter()
        .map(|t| PoolTaint {
            key: t.key().unwrap_or_default().to_string(),
            value: t.value().unwrap_or_default().to_string(),
            effect: t.effect().map_or("", |e| e.as_str()).to_string(),
        })
        .collect();
    taints.sort();
    let mut subnets = g.subnets().to_vec();
    subnets.sort();
    let machine_type = g.instance_types().first().cloned().unwrap_or_default();
    // The instance type has the GPUs; the taint says Genesis made it a
    // GPU pool (a GPU instance used otherwise has no `gpu`).
    let gpu = taints
        .contains(&gpus::taint())
        .then(|| gpus::of_cloud(true).of_machine(&machine_type))
        .flatten()
        .map(|(gpu_type, count)| PoolGpu {
            gpu_type: gpu_type.to_string(),
            count,
            driver: None,
        });
    ObservedPool {
        spec: PoolSpec {
            cluster: ClusterAddress::Eks {
                region: region.to_string(),
                name: cluster.to_string(),
            },
            name: g.nodegroup_name().unwrap_or_default().to_string(),
            machine_type,
            disk_size_gb: i64::from(g.disk_size().unwrap_or(20)),
            initial_node_count: desired,
            node_count: fixed.then_some(desired),
            autoscaling: (!fixed).then_some((min, max)),
            preemptible: false,
            spot: g.capacity_type() == Some(&CapacityTypes::Spot),
            gpu,
            labels: g
                .labels()
                .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            taints,
            auto_repair: g
                .node_repair_config()
                .and_then(|r| r.enabled())
                .unwrap_or(false),
            max_unavailable: i64::from(
                g.update_config()
                    .and_then(|u| u.max_unavailable())
                    .unwrap_or(1),
            ),
            version: None,
            cloud: PoolCloud::Eks(EksPool {
                ami_type: g.ami_type().map_or("", |a| a.as_str()).to_string(),
                node_role_arn: g.node_role().map(str::to_string),
                subnet_ids: subnets,
            }),
        },
        status: g.status().map_or("", |s| s.as_str()).to_string(),
        version: g.version().unwrap_or_default().to_string(),
        control_plane_version: None,
    }
}

/// The group's health issues, as EKS words them.
fn health(g: &Nodegroup) -> String {
    let status = g.status().map_or("", |s| s.as_str());
    let issues = g.health().map(|h| h.issues()).unwrap_or_default();
    with_issues(
        format!("the node group is {status}"),
        issues
            .iter()
            .map(|i| (i.code().map(|c| c.as_str()), i.message())),
    )
}

/// The cluster is busy (CREATING, UPDATING): try again shortly.
fn cluster_not_ready(e: &CloudError) -> bool {
    matches!(e, CloudError::Api { status, message, .. }
        if status == "InvalidRequestException" && message.contains("not in ACTIVE status"))
}

impl Aws {
    async fn describe_group(
        &self,
        region: &str,
        cluster: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<Nodegroup>, CloudError> {
        let eks = self.eks(region).await;
        let out = read_optional(wait, || async {
            eks.describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send()
                .await
                .map_err(|e| api_error("reading the EKS node group", e))
        })
        .await?;
        Ok(out.and_then(|o| o.nodegroup))
    }

    /// Waits until the group is ACTIVE; CREATE_FAILED (or DEGRADED at
    /// create) fails with its health issues.
    async fn wait_until_group_active(
        &self,
        call: &str,
        region: &str,
        cluster: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        poll_until_ready(
            call,
            wait,
            Duration::from_secs(1),
            Duration::from_secs(10),
            || async {
                Ok(
                    match self.describe_group(region, cluster, name, wait).await? {
                        Some(g) => match g.status() {
                            Some(NodegroupStatus::Active) => Poll::Ready,
                            Some(
                                NodegroupStatus::CreateFailed
                                | NodegroupStatus::DeleteFailed
                                | NodegroupStatus::Degraded,
                            ) => Poll::Failed(health(&g)),
                            _ => Poll::Pending,
                        },
                        None => {
                            Poll::Failed("the node group disappeared while being created".into())
                        }
                    },
                )
            },
        )
        .await
    }

    async fn observe_group(
        &self,
        region: &str,
        cluster: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedPool>, CloudError> {
        let Some(group) = self.describe_group(region, cluster, name, wait).await? else {
            return Ok(None);
        };
        let mut observed = observe(region, cluster, &group);
        observed.control_plane_version = self
            .describe_cluster(region, cluster, wait)
            .await?
            .and_then(|c| c.version);
        Ok(Some(observed))
    }
}

#[async_trait]
impl NodePools for Aws {
    async fn create(
        &self,
        spec: &PoolSpec,
        wait: &Wait,
    ) -> Result<ObservedPool, (CloudError, Option<ObservedPool>)> {
        let e = settings(spec).map_err(|e| (e, None))?;
        let (region, cluster) = eks_cluster(&spec.cluster).map_err(|e| (e, None))?;
        let name = spec.name.as_str();
        let call = "creating the EKS node group";
        // The cluster's node role and subnets, unless the pool names its own.
        let c = match self.describe_cluster(region, cluster, wait).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err((
                    CloudError::Invalid(format!("the EKS cluster {cluster} does not exist")),
                    None,
                ));
            }
            Err(err) => return Err((err, None)),
        };
        let role = match &e.node_role_arn {
            Some(r) => r.clone(),
            None => c
                .tags()
                .and_then(|t| t.get(NODE_ROLE_TAG))
                .cloned()
                .ok_or_else(|| {
                    (
                        CloudError::Invalid(format!(
                            "the EKS cluster {cluster} has no node role recorded by Genesis: give the pool eks.node_role_arn"
                        )),
                        None,
                    )
                })?,
        };
        let subnets = if e.subnet_ids.is_empty() {
            c.resources_vpc_config()
                .map(|v| v.subnet_ids().to_vec())
                .unwrap_or_default()
        } else {
            e.subnet_ids.clone()
        };
        let mut tags = HashMap::from([(origin::LABEL.to_string(), origin::fingerprint(spec))]);
        if spec.autoscaling.is_none() {
            tags.insert(FIXED_SIZE_TAG.into(), "true".into());
        }
        let capacity = if spec.spot || spec.preemptible {
            CapacityTypes::Spot
        } else {
            CapacityTypes::OnDemand
        };
        let request = self
            .eks(region)
            .await
            .create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .scaling_config(scaling(create_scaling(spec)))
            .disk_size(spec.disk_size_gb as i32)
            .set_subnets(Some(subnets))
            .instance_types(&spec.machine_type)
            .ami_type(aws_sdk_eks::types::AmiTypes::from(e.ami_type.as_str()))
            .node_role(role)
            .set_labels(Some(spec.labels.clone().into_iter().collect()))
            .set_taints(Some(spec.taints.iter().map(taint).collect()))
            .set_tags(Some(tags))
            .update_config(
                NodegroupUpdateConfig::builder()
                    .max_unavailable(spec.max_unavailable as i32)
                    .build(),
            )
            .node_repair_config(
                NodeRepairConfig::builder()
                    .enabled(spec.auto_repair)
                    .build(),
            )
            .capacity_type(capacity)
            // Left out, EKS starts the nodes on the cluster's version.
            .set_version(spec.version.clone());
        let sent = retry_also(
            Backoff::until(wait.deadline()),
            wait,
            cluster_not_ready,
            || async { request.clone().send().await.map_err(|e| api_error(call, e)) },
        )
        .await;
        match sent {
            Ok(_) => {}
            Err(err) if err.is_already_exists() => {
                let own = matches!(
                    self.describe_group(region, cluster, name, wait).await,
                    Ok(Some(g)) if g.tags().is_some_and(|t| origin::made_by(t.iter(), origin::LABEL, &origin::fingerprint(spec)))
                );
                if !own {
                    return Err((err, None));
                }
                tracing::info!(nodegroup = %name, "adopting the EKS node group an earlier attempt of this create made");
            }
            Err(err) => {
                let existing = self
                    .observe_group(region, cluster, name, wait)
                    .await
                    .ok()
                    .flatten();
                return Err((err, existing));
            }
        }
        let ready = async {
            self.wait_until_group_active(call, region, cluster, name, wait)
                .await?;
            // Nodes run: the add-ons that needed them can come now.
            self.install_after_nodes(region, cluster, wait).await
        };
        if let Err(err) = ready.await {
            return Err((
                err,
                self.observe_group(region, cluster, name, wait)
                    .await
                    .ok()
                    .flatten(),
            ));
        }
        match self.observe_group(region, cluster, name, wait).await {
            Ok(Some(o)) => Ok(o),
            Ok(None) => Err((
                CloudError::Invalid(format!(
                    "EKS reported node group {name} created, but it cannot be read back"
                )),
                None,
            )),
            Err(err) => Err((err, None)),
        }
    }

    async fn list(&self, at: &ClusterAddress, wait: &Wait) -> Result<Vec<String>, CloudError> {
        let (region, cluster) = eks_cluster(at)?;
        let eks = self.eks(region).await;
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = read_optional(wait, || async {
                eks.list_nodegroups()
                    .cluster_name(cluster)
                    .set_next_token(next.clone())
                    .send()
                    .await
                    .map_err(|e| api_error("listing the node groups", e))
            })
            .await?;
            let Some(page) = page else {
                return Ok(Vec::new());
            };
            names.extend(page.nodegroups().iter().cloned());
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        names.sort();
        Ok(names)
    }

    async fn get(
        &self,
        at: &ClusterAddress,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedPool>, CloudError> {
        let (region, cluster) = eks_cluster(at)?;
        self.observe_group(region, cluster, name, wait).await
    }

    async fn update(&self, from: &PoolSpec, to: &PoolSpec, wait: &Wait) -> Result<(), CloudError> {
        let (region, cluster) = eks_cluster(&to.cluster)?;
        let name = to.name.as_str();
        let eks = self.eks(region).await;
        let mut request = eks
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name);
        let mut changed = false;
        if from.autoscaling != to.autoscaling || from.node_count != to.node_count {
            let live = self
                .describe_group(region, cluster, name, wait)
                .await?
                .and_then(|g| g.scaling_config().and_then(|s| s.desired_size()))
                .map_or(to.initial_node_count, i64::from);
            request = request.scaling_config(scaling(update_scaling(to, live)));
            changed = true;
        }
        if from.labels != to.labels {
            let removed: Vec<String> = from
                .labels
                .keys()
                .filter(|k| !to.labels.contains_key(*k))
                .cloned()
                .collect();
            request = request.labels(
                UpdateLabelsPayload::builder()
                    .set_add_or_update_labels(Some(to.labels.clone().into_iter().collect()))
                    .set_remove_labels((!removed.is_empty()).then_some(removed))
                    .build(),
            );
            changed = true;
        }
        if from.taints != to.taints {
            let removed: Vec<Taint> = from
                .taints
                .iter()
                .filter(|t| {
                    !to.taints
                        .iter()
                        .any(|n| n.key == t.key && n.effect == t.effect)
                })
                .map(taint)
                .collect();
            request = request.taints(
                UpdateTaintsPayload::builder()
                    .set_add_or_update_taints(Some(to.taints.iter().map(taint).collect()))
                    .set_remove_taints((!removed.is_empty()).then_some(removed))
                    .build(),
            );
            changed = true;
        }
        if from.max_unavailable != to.max_unavailable {
            request = request.update_config(
                NodegroupUpdateConfig::builder()
                    .max_unavailable(to.max_unavailable as i32)
                    .build(),
            );
            changed = true;
        }
        if from.auto_repair != to.auto_repair {
            request = request
                .node_repair_config(NodeRepairConfig::builder().enabled(to.auto_repair).build());
            changed = true;
        }
        if changed {
            let call = "updating the EKS node group";
            let out = send(wait, || async {
                request.clone().send().await.map_err(|e| api_error(call, e))
            })
            .await?;
            self.follow_update(call, region, cluster, Some(name), out.update(), wait)
                .await?;
        }
        if let Some(version) = to.version.as_ref().filter(|_| from.version != to.version) {
            // A rolling replacement of the nodes, as its own update: EKS
            // takes no other change with a version update.
            let call = "upgrading the EKS node group";
            let out = send(wait, || async {
                eks.update_nodegroup_version()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .version(version)
                    .send()
                    .await
                    .map_err(|e| api_error(call, e))
            })
            .await?;
            self.follow_update(call, region, cluster, Some(name), out.update(), wait)
                .await?;
        }
        if (from.autoscaling.is_none()) != (to.autoscaling.is_none())
            && let Some(g) = self.describe_group(region, cluster, name, wait).await?
        {
            let fixed = to.autoscaling.is_none().then(|| "true".to_string());
            let arn = g.nodegroup_arn().unwrap_or_default();
            self.set_tag(arn, region, FIXED_SIZE_TAG, fixed, wait)
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, at: &ClusterAddress, name: &str, wait: &Wait) -> Result<(), CloudError> {
        let (region, cluster) = eks_cluster(at)?;
        let eks = self.eks(region).await;
        let deleted = send(wait, || async {
            eks.delete_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send()
                .await
                .map_err(|e| api_error("deleting the EKS node group", e))
        })
        .await;
        match deleted {
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        poll_until_ready(
            "deleting the EKS node group",
            wait,
            Duration::from_secs(1),
            Duration::from_secs(10),
            || async {
                Ok(
                    match self.describe_group(region, cluster, name, wait).await? {
                        None => Poll::Ready,
                        Some(g) if g.status() == Some(&NodegroupStatus::DeleteFailed) => {
                            Poll::Failed(health(&g))
                        }
                        Some(_) => Poll::Pending,
                    },
                )
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(autoscaling: Option<(i64, i64)>, initial: i64, size: Option<i64>) -> PoolSpec {
        PoolSpec {
            autoscaling,
            initial_node_count: initial,
            node_count: size,
            ..PoolSpec::default()
        }
    }

    #[test]
    fn the_desired_size_is_clamped_into_the_bounds_never_reset() {
        assert_eq!(create_scaling(&pool(Some((1, 5)), 3, None)), (1, 5, 3));
        assert_eq!(create_scaling(&pool(Some((2, 5)), 0, None)), (2, 5, 2));
        // The autoscaler grew the group to 4: raising min to 3 keeps 4.
        assert_eq!(update_scaling(&pool(Some((3, 6)), 1, None), 4), (3, 6, 4));
        // Raising min above the live size raises the size with it, so EKS
        // never answers "Minimum capacity can't be greater than desired size".
        assert_eq!(update_scaling(&pool(Some((5, 8)), 1, None), 4), (5, 8, 5));
        assert_eq!(update_scaling(&pool(Some((1, 2)), 1, None), 4), (1, 2, 2));
        assert_eq!(update_scaling(&pool(None, 1, Some(3)), 7), (3, 3, 3));
        assert_eq!(create_scaling(&pool(None, 0, Some(0))), (0, 1, 0));
    }
}
