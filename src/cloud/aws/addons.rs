//! EKS add-ons: installed in the order EKS needs (networking and pod
//! identity first; coredns, the EBS CSI driver and metrics-server, whose
//! pods need nodes, once a node group is ACTIVE, recorded on the cluster
//! until then), each waited on until ACTIVE, and removed before the
//! cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use super::cluster::AFTER_NODES_TAG;
use super::own_addons;
use super::updates::send;
use super::{Aws, api_error, with_issues};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;
use crate::cloud::origin;
use crate::cloud::retry::{Backoff, Poll, poll_until_ready, read_optional, retry};

/// Add-ons whose pods need nodes: installed once a node group is ACTIVE.
pub const AFTER_NODES: &[&str] = &["coredns", "aws-ebs-csi-driver", "metrics-server"];
/// The order EKS needs add-ons in: networking and pod identity before
/// anything else, the add-ons whose pods need nodes last.
const ADDON_ORDER: &[&str] = &[
    "vpc-cni",
    "eks-pod-identity-agent",
    "kube-proxy",
    "coredns",
    "aws-ebs-csi-driver",
    "metrics-server",
];

/// The EKS add-ons of `addons` (without those Genesis runs itself,
/// `own_addons.rs`), in the order EKS needs them.
pub fn in_eks_order(addons: &[String]) -> Vec<String> {
    let mut out: Vec<String> = addons
        .iter()
        .filter(|a| !own_addons::is_own(a))
        .cloned()
        .collect();
    out.sort_by_key(|a| {
        ADDON_ORDER
            .iter()
            .position(|x| x == a)
            .unwrap_or(usize::MAX)
    });
    out
}

impl Aws {
    /// The add-ons installed on a cluster.
    pub(super) async fn addons(
        &self,
        region: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Vec<String>, CloudError> {
        let eks = self.eks(region).await;
        let out = read_optional(wait, || async {
            eks.list_addons()
                .cluster_name(name)
                .send()
                .await
                .map_err(|e| api_error("listing the EKS add-ons", e))
        })
        .await?;
        Ok(out.map(|o| o.addons().to_vec()).unwrap_or_default())
    }

    /// Installs add-ons, each waited on until ACTIVE (or, for those whose
    /// pods need nodes, DEGRADED while the cluster has none).
    pub(super) async fn install_addons(
        &self,
        region: &str,
        cluster: &str,
        names: &[String],
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let eks = self.eks(region).await;
        for name in names {
            // A create's ResourceInUseException means "exists", not "busy".
            let created = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
                eks.create_addon()
                    .cluster_name(cluster)
                    .addon_name(name)
                    .resolve_conflicts(aws_sdk_eks::types::ResolveConflicts::Overwrite)
                    .tags(origin::LABEL, origin::fingerprint(&(cluster, name)))
                    .send()
                    .await
                    .map_err(|e| api_error("creating the EKS add-on", e))
            })
            .await;
            match created {
                Ok(_) => {}
                // Already there (an earlier attempt, or EKS's default):
                // wait on it as if created now.
                Err(e) if e.is_already_exists() => {}
                Err(e) => return Err(e),
            }
            self.wait_for_addon(region, cluster, name, wait).await?;
        }
        Ok(())
    }

    async fn wait_for_addon(
        &self,
        region: &str,
        cluster: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        use aws_sdk_eks::types::AddonStatus;
        let eks = self.eks(region).await;
        let call = format!("installing the EKS add-on {name}");
        poll_until_ready(
            &call,
            wait,
            Duration::from_secs(1),
            Duration::from_secs(10),
            || async {
                let out = read_optional(wait, || async {
                    eks.describe_addon()
                        .cluster_name(cluster)
                        .addon_name(name)
                        .send()
                        .await
                        .map_err(|e| api_error("reading the EKS add-on", e))
                })
                .await?;
                let Some(addon) = out.and_then(|o| o.addon) else {
                    return Ok(Poll::Failed(format!("the add-on {name} disappeared")));
                };
                let issues = addon.health().map(|h| h.issues()).unwrap_or_default();
                Ok(match addon.status() {
                    Some(AddonStatus::Active) => Poll::Ready,
                    Some(AddonStatus::CreateFailed | AddonStatus::UpdateFailed) => {
                        Poll::Failed(with_issues(
                            format!("the add-on {name} failed"),
                            issues
                                .iter()
                                .map(|i| (i.code().map(|c| c.as_str()), i.message())),
                        ))
                    }
                    _ => Poll::Pending,
                })
            },
        )
        .await
    }

    /// Whether a node group of the cluster is ACTIVE, so add-ons whose
    /// pods need nodes can be installed.
    pub(super) async fn has_active_nodes(
        &self,
        region: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<bool, CloudError> {
        let eks = self.eks(region).await;
        for group in self.nodegroups(region, cluster, wait).await? {
            let out = read_optional(wait, || async {
                eks.describe_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(&group)
                    .send()
                    .await
                    .map_err(|e| api_error("reading the EKS node group", e))
            })
            .await?;
            if out
                .and_then(|o| o.nodegroup)
                .and_then(|g| g.status().cloned())
                == Some(aws_sdk_eks::types::NodegroupStatus::Active)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Installs the add-ons that waited for nodes, once a node group of
    /// the cluster is ACTIVE (called by node group creates).
    pub async fn install_after_nodes(
        &self,
        region: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let Some(c) = self.describe_cluster(region, cluster, wait).await? else {
            return Ok(());
        };
        let Some(pending) = c.tags().and_then(|t| t.get(AFTER_NODES_TAG)).cloned() else {
            return Ok(());
        };
        let names: Vec<String> = pending
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        self.install_addons(region, cluster, &names, wait).await?;
        let arn = c.arn().unwrap_or_default();
        self.set_tag(arn, region, AFTER_NODES_TAG, None, wait)
            .await?;
        Ok(())
    }

    /// Deletes an add-on and waits until it is gone.
    pub(super) async fn remove_addon(
        &self,
        region: &str,
        cluster: &str,
        addon: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let eks = self.eks(region).await;
        let removed = send(wait, || async {
            eks.delete_addon()
                .cluster_name(cluster)
                .addon_name(addon)
                .send()
                .await
                .map_err(|e| api_error("deleting the EKS add-on", e))
        })
        .await;
        match removed {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
        let call = format!("deleting the EKS add-on {addon}");
        poll_until_ready(
            &call,
            wait,
            Duration::from_millis(500),
            Duration::from_secs(10),
            || async {
                let out = read_optional(wait, || async {
                    eks.describe_addon()
                        .cluster_name(cluster)
                        .addon_name(addon)
                        .send()
                        .await
                        .map_err(|e| api_error("reading the EKS add-on", e))
                })
                .await?;
                Ok(if out.and_then(|o| o.addon).is_none() {
                    Poll::Ready
                } else {
                    Poll::Pending
                })
            },
        )
        .await
    }

    /// Makes the cluster's add-ons the wanted ones: installs the new (or
    /// records those that wait for nodes, unless Auto Mode makes nodes for
    /// them), removes the dropped; the Cluster Autoscaler's AWS side
    /// likewise.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn sync_addons(
        &self,
        region: &str,
        name: &str,
        arn: &str,
        current_tags: &BTreeMap<String, String>,
        wanted: &[String],
        auto_mode: bool,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let installed = self.addons(region, name, wait).await?;
        let nodes = auto_mode || self.has_active_nodes(region, name, wait).await?;
        let mut install = Vec::new();
        let mut later: Vec<String> = current_tags
            .get(AFTER_NODES_TAG)
            .map(|v| {
                v.split(' ')
                    .filter(|s| !s.is_empty() && wanted.iter().any(|a| a == s))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for addon in &in_eks_order(wanted) {
            if installed.contains(addon) || later.contains(addon) {
                continue;
            }
            if AFTER_NODES.contains(&addon.as_str()) && !nodes {
                later.push(addon.clone());
            } else {
                install.push(addon.clone());
            }
        }
        self.install_addons(region, name, &install, wait).await?;
        for addon in installed.iter().filter(|a| !wanted.contains(a)) {
            self.remove_addon(region, name, addon, wait).await?;
        }
        for addon in own_addons::ALL {
            match (addon.wanted(wanted), current_tags.contains_key(addon.tag)) {
                (true, false) => {
                    self.install_own_addon(addon, region, name, arn, wait)
                        .await?;
                }
                (false, true) => {
                    self.remove_own_addon(addon, region, name, arn, wait)
                        .await?;
                }
                _ => {}
            }
        }
        let pending = (!later.is_empty()).then(|| later.join(" "));
        self.set_tag(arn, region, AFTER_NODES_TAG, pending, wait)
            .await?;
        Ok(())
    }
}
