//! EKS Auto Mode, what `enable_autopilot` means on AWS: EKS runs the nodes
//! (Karpenter, with the node pools EKS offers), the load balancers and the
//! EBS volumes. EKS takes its three capabilities (compute, block storage,
//! load balancing) on or off only together, in one UpdateClusterConfig,
//! and the roles Genesis made get the managed policies the mode needs
//! before EKS starts acting as them.

use aws_sdk_eks::types::{
    BlockStorage, ComputeConfigRequest, ElasticLoadBalancing, KubernetesNetworkConfigRequest,
    StorageConfigRequest,
};

use super::Aws;
use super::iam::Role;
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;

/// The built-in node pools EKS offers: `general-purpose` for workloads,
/// `system` (tainted `CriticalAddonsOnly`) for cluster add-ons.
pub const NODE_POOLS: &[&str] = &["general-purpose", "system"];

/// The compute capability: on with EKS's node pools and the nodes' role.
/// Turned off, EKS wants neither (the role cannot change once set).
pub fn compute(on: bool, node_role: &str) -> ComputeConfigRequest {
    let request = ComputeConfigRequest::builder().enabled(on);
    if on {
        request
            .set_node_pools(Some(NODE_POOLS.iter().map(|p| p.to_string()).collect()))
            .node_role_arn(node_role)
            .build()
    } else {
        request.build()
    }
}

pub fn block_storage(on: bool) -> StorageConfigRequest {
    StorageConfigRequest::builder()
        .block_storage(BlockStorage::builder().enabled(on).build())
        .build()
}

pub fn load_balancing(on: bool) -> KubernetesNetworkConfigRequest {
    KubernetesNetworkConfigRequest::builder()
        .elastic_load_balancing(ElasticLoadBalancing::builder().enabled(on).build())
        .build()
}

/// Whether DescribeCluster reports Auto Mode: its compute capability on
/// (EKS keeps the three together).
pub fn is_on(c: &aws_sdk_eks::types::Cluster) -> bool {
    c.compute_config().and_then(|c| c.enabled()) == Some(true)
}

impl Aws {
    /// Turns Auto Mode on or off in place. The roles Genesis made get the
    /// policies the mode needs first (EKS checks them when it starts), and
    /// lose those only the other mode needed last.
    pub(super) async fn switch_auto_mode(
        &self,
        region: &str,
        name: &str,
        on: bool,
        node_role: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let call = if on {
            "turning EKS Auto Mode on"
        } else {
            "turning EKS Auto Mode off"
        };
        if on {
            self.fit_roles(name, true, wait).await?;
        }
        self.update_config(call, region, name, wait, |r| {
            r.compute_config(compute(on, node_role))
                .storage_config(block_storage(on))
                .kubernetes_network_config(load_balancing(on))
        })
        .await?;
        if on {
            // Add-ons that waited for a node group get Auto Mode's nodes.
            self.install_after_nodes(region, name, wait).await
        } else {
            self.fit_roles(name, false, wait).await
        }
    }

    async fn fit_roles(
        &self,
        cluster: &str,
        auto_mode: bool,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        for role in [Role::Cluster, Role::Node] {
            self.fit_own_role(cluster, role, auto_mode, wait).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_names_the_pools_and_role_only_when_on() {
        let on = compute(true, "arn:aws:iam::1:role/n");
        assert_eq!(on.enabled(), Some(true));
        assert_eq!(on.node_pools(), ["general-purpose", "system"]);
        assert_eq!(on.node_role_arn(), Some("arn:aws:iam::1:role/n"));
        let off = compute(false, "arn:aws:iam::1:role/n");
        assert_eq!(off.enabled(), Some(false));
        assert!(off.node_pools().is_empty());
        assert_eq!(off.node_role_arn(), None);
    }
}
