//! A pool on an EKS Auto Mode cluster is a Karpenter NodePool with its EKS
//! NodeClass (`kube::node_pools`): this back end maps the pool's spec onto
//! them through the cluster's Kubernetes API, and says at plan time which
//! settings Auto Mode cannot honour.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Taint;

use super::super::common::cluster_client;
use super::config::PoolConfig;
use super::schema::normalize_effect;
use crate::cloud::CloudError;
use crate::cloud::cluster::{ClusterAddress, ObservedCluster, Wait};
use crate::cloud::node_pool::{
    AutoModePool, NodePools, ObservedPool, PoolCloud, PoolSpec, PoolTaint,
};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::KubeError;
use crate::kube::node_pools::{self, KarpenterPool, ObservedKarpenterPool};
use crate::provider::ProviderContext;

/// What Auto Mode's rules read of a pool's configuration, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AutoModeView {
    name: Field<String>,
    image_type: Field<String>,
    kubernetes_version: Field<String>,
    enable_autoscaling: Field<bool>,
    node_count: Field<i64>,
    min_nodes: Field<i64>,
    initial_node_count: Field<i64>,
    auto_repair: Field<bool>,
    eks: Field<EksView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EksView {
    node_role_arn: Field<String>,
}

/// Settings Auto Mode cannot honour, checked once the pool is known to be
/// a Karpenter NodePool.
///
/// `config` is the configuration; at apply, when the cluster's mode was
/// not known at plan time, it is the plan (`planned`), whose defaults are
/// filled in, so that `initial_node_count` cannot be told from its default.
pub(super) fn refuse_unsupported(config: &Value, planned: bool, diags: &mut Diagnostics) {
    let Ok(v) = view::as_written::<AutoModeView>(config) else {
        return;
    };
    let refusals: [(&str, bool, &str); 8] = [
        (
            "name",
            v.name
                .as_str()
                .is_some_and(|n| node_pools::BUILT_IN.contains(&n)),
            "EKS owns the built-in NodePools `general-purpose` and `system` of an Auto Mode cluster: give the pool another name.",
        ),
        (
            "image_type",
            v.image_type.is_set(),
            "EKS Auto Mode runs its own node image: remove image_type.",
        ),
        (
            "kubernetes_version",
            v.kubernetes_version.is_set(),
            "EKS Auto Mode's nodes follow the control plane's version: remove kubernetes_version and set the cluster's.",
        ),
        (
            "enable_autoscaling",
            v.enable_autoscaling.known() == Some(&false),
            "On EKS Auto Mode nodes come and go with the pods that need them (up to max_nodes); there are no fixed-size pools: remove enable_autoscaling = false.",
        ),
        (
            "node_count",
            v.node_count.is_set(),
            "On EKS Auto Mode nodes come and go with the pods that need them; there are no fixed-size pools: remove node_count.",
        ),
        (
            "min_nodes",
            v.min_nodes.known().is_some_and(|n| *n > 0),
            "EKS Auto Mode (Karpenter) keeps no minimum of nodes, it makes them for pending pods: remove min_nodes.",
        ),
        (
            "initial_node_count",
            !planned && v.initial_node_count.is_set(),
            "EKS Auto Mode makes no node before a pod needs one: remove initial_node_count.",
        ),
        (
            "auto_repair",
            v.auto_repair.known() == Some(&false),
            "EKS Auto Mode always replaces unhealthy nodes: remove auto_repair = false.",
        ),
    ];
    for (name, refused, why) in refusals {
        if refused {
            diags.attribute_error(
                AttributePath::attr(name),
                "Not available on EKS Auto Mode",
                why,
            );
        }
    }
    if v.eks.known().is_some_and(|e| e.node_role_arn.is_set()) {
        diags.attribute_error(
            AttributePath::attr("eks").join("node_role_arn"),
            "Not available on EKS Auto Mode",
            "Auto Mode's nodes run as the cluster's node role (`genesis_cluster`'s eks.node_role_arn): remove the pool's node_role_arn.",
        );
    }
}

/// Whether the cluster runs Auto Mode (which decides what a new pool is).
pub(super) async fn cluster_runs_auto_mode(
    provider: &ProviderContext,
    at: &ClusterAddress,
    wait: &Wait,
) -> Result<bool, CloudError> {
    Ok(provider
        .clusters(at)
        .get(at, wait)
        .await?
        .is_some_and(|c| c.spec.autopilot && c.spec.eks().is_some()))
}

/// The back end of Karpenter pools.
pub(super) struct AutoModePools<'a>(pub &'a ProviderContext);

impl AutoModePools<'_> {
    /// The cluster and a client for it; `None` when the cluster is gone.
    async fn cluster(
        &self,
        at: &ClusterAddress,
        wait: &Wait,
    ) -> Result<Option<(ObservedCluster, kube::Client)>, CloudError> {
        let Some(cluster) = self.0.clusters(at).get(at, wait).await? else {
            return Ok(None);
        };
        let client = cluster_client(self.0, &cluster)
            .await
            .map_err(|d| CloudError::Transport {
                call: "connecting to the cluster".into(),
                message: format!("{}: {}", d.summary, d.detail),
            })?;
        Ok(Some((cluster, client)))
    }
}

#[async_trait]
impl NodePools for AutoModePools<'_> {
    async fn create(
        &self,
        spec: &PoolSpec,
        wait: &Wait,
    ) -> Result<ObservedPool, (CloudError, Option<ObservedPool>)> {
        let (cluster, client) = match self.cluster(&spec.cluster, wait).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err((gone(&spec.cluster), None)),
            Err(e) => return Err((e, None)),
        };
        let pool = karpenter_pool(spec);
        node_pools::apply(&client, &pool, &wait.stop)
            .await
            .map_err(|e| (cloud_error(e), None))?;
        let left = wait.timeout.saturating_sub(wait.started.elapsed());
        match node_pools::wait_ready(&client, &spec.name, left, &wait.stop).await {
            Ok(observed) => Ok(observed_pool(spec, &cluster, &observed)),
            // It exists: the state records it, and the next apply waits on.
            Err(e) => {
                let made = node_pools::read(&client, &spec.name, &wait.stop)
                    .await
                    .ok()
                    .flatten()
                    .map(|o| observed_pool(spec, &cluster, &o));
                Err((cloud_error(e), made))
            }
        }
    }

    async fn get(
        &self,
        at: &ClusterAddress,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedPool>, CloudError> {
        let Some((cluster, client)) = self.cluster(at, wait).await? else {
            return Ok(None);
        };
        // Karpenter has no initial size: the setting keeps its default.
        let base = PoolSpec {
            cluster: at.clone(),
            name: name.to_string(),
            initial_node_count: PoolConfig::default().initial_node_count,
            ..PoolSpec::default()
        };
        Ok(node_pools::read(&client, name, &wait.stop)
            .await
            .map_err(cloud_error)?
            .map(|o| observed_pool(&base, &cluster, &o)))
    }

    async fn update(&self, _from: &PoolSpec, to: &PoolSpec, wait: &Wait) -> Result<(), CloudError> {
        let (_, client) = self
            .cluster(&to.cluster, wait)
            .await?
            .ok_or_else(|| gone(&to.cluster))?;
        node_pools::apply(&client, &karpenter_pool(to), &wait.stop)
            .await
            .map_err(cloud_error)
    }

    async fn list(&self, at: &ClusterAddress, wait: &Wait) -> Result<Vec<String>, CloudError> {
        let Some((_, client)) = self.cluster(at, wait).await? else {
            return Ok(Vec::new());
        };
        node_pools::list(&client, &wait.stop)
            .await
            .map_err(cloud_error)
    }

    async fn delete(&self, at: &ClusterAddress, name: &str, wait: &Wait) -> Result<(), CloudError> {
        let Some((_, client)) = self.cluster(at, wait).await? else {
            return Ok(());
        };
        let left = wait.timeout.saturating_sub(wait.started.elapsed());
        node_pools::delete(&client, name, left, &wait.stop)
            .await
            .map_err(cloud_error)
    }
}

fn gone(at: &ClusterAddress) -> CloudError {
    CloudError::Operation {
        call: "finding the pool's cluster".into(),
        operation: String::new(),
        message: format!("the cluster {at:?} does not exist"),
    }
}

fn cloud_error(e: KubeError) -> CloudError {
    match e {
        KubeError::Api {
            call,
            code,
            message,
        } => CloudError::Api {
            call,
            code,
            status: "Kubernetes".into(),
            message,
            retry_after: None,
        },
        KubeError::Transport { call, message } => CloudError::Transport { call, message },
        other => CloudError::Transport {
            call: "the cluster's Kubernetes API".into(),
            message: other.to_string(),
        },
    }
}

/// Kubernetes' spelling of a taint effect (`NoSchedule`).
fn kube_effect(effect: &str) -> String {
    match normalize_effect(effect) {
        Some("PREFER_NO_SCHEDULE") => "PreferNoSchedule",
        Some("NO_EXECUTE") => "NoExecute",
        _ => "NoSchedule",
    }
    .to_string()
}

fn karpenter_pool(spec: &PoolSpec) -> KarpenterPool {
    let subnet_ids = match &spec.cloud {
        PoolCloud::EksAutoMode(a) => a.subnet_ids.clone(),
        _ => Vec::new(),
    };
    KarpenterPool {
        name: spec.name.clone(),
        labels: spec.labels.clone(),
        taints: spec
            .taints
            .iter()
            .map(|t| Taint {
                key: t.key.clone(),
                value: (!t.value.is_empty()).then(|| t.value.clone()),
                effect: kube_effect(&t.effect),
                time_added: None,
            })
            .collect(),
        instance_types: vec![spec.machine_type.clone()],
        spot: spec.spot || spec.preemptible,
        max_nodes: spec.autoscaling.map_or(0, |(_, max)| max),
        disk_gib: spec.disk_size_gb,
        subnet_ids,
        max_unavailable: spec.max_unavailable,
    }
}

/// The pool as Karpenter holds it. What it does not hold (the sizes the
/// configuration asked for at creation, the GPU and preemptible settings
/// the instance type carries) comes from `base`.
fn observed_pool(
    base: &PoolSpec,
    cluster: &ObservedCluster,
    observed: &ObservedKarpenterPool,
) -> ObservedPool {
    let pool = &observed.pool;
    let mut subnet_ids = pool.subnet_ids.clone();
    subnet_ids.sort();
    let taints: Vec<PoolTaint> = pool
        .taints
        .iter()
        .map(|t| PoolTaint {
            key: t.key.clone(),
            value: t.value.clone().unwrap_or_default(),
            effect: normalize_effect(&t.effect)
                .unwrap_or("NO_SCHEDULE")
                .to_string(),
        })
        .collect();
    let preemptible = base.preemptible && pool.spot;
    ObservedPool {
        spec: PoolSpec {
            cluster: base.cluster.clone(),
            name: pool.name.clone(),
            machine_type: pool.instance_types.join(","),
            disk_size_gb: pool.disk_gib,
            initial_node_count: base.initial_node_count,
            node_count: None,
            autoscaling: Some((0, pool.max_nodes)),
            preemptible,
            spot: pool.spot && !preemptible,
            gpu: base.gpu.clone(),
            labels: pool.labels.clone(),
            taints,
            auto_repair: true,
            max_unavailable: pool.max_unavailable,
            version: None,
            cloud: PoolCloud::EksAutoMode(AutoModePool { subnet_ids }),
        },
        status: match observed.ready {
            Some(true) => "READY",
            Some(false) => "NOT_READY",
            None => "PENDING",
        }
        .to_string(),
        // Auto Mode's nodes run the control plane's version.
        version: cluster.master_version.clone(),
        control_plane_version: Some(cluster.master_version.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taints_go_in_kubernetes_spelling_and_come_back_in_the_pools() {
        assert_eq!(kube_effect("NO_EXECUTE"), "NoExecute");
        assert_eq!(kube_effect("PreferNoSchedule"), "PreferNoSchedule");
        let spec = PoolSpec {
            name: "agents".into(),
            machine_type: "m6i.large".into(),
            autoscaling: Some((0, 4)),
            preemptible: true,
            taints: vec![PoolTaint {
                key: "k".into(),
                value: String::new(),
                effect: "NO_SCHEDULE".into(),
            }],
            cloud: PoolCloud::EksAutoMode(AutoModePool::default()),
            ..PoolSpec::default()
        };
        let pool = karpenter_pool(&spec);
        assert!(pool.spot, "preemptible is EKS's SPOT capacity");
        assert_eq!(pool.taints[0].value, None);
        let observed = ObservedKarpenterPool {
            pool,
            ready: Some(true),
            message: String::new(),
        };
        let back = observed_pool(&spec, &ObservedCluster::default(), &observed);
        assert_eq!(back.spec.taints, spec.taints);
        assert!(back.spec.preemptible && !back.spec.spot);
        assert_eq!(back.spec.autoscaling, Some((0, 4)));
        assert_eq!(back.status, "READY");
    }
}
