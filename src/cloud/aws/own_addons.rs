//! The add-ons Genesis runs itself on an EKS cluster, where EKS offers no
//! add-on: the Kubernetes Cluster Autoscaler (`cluster_autoscaler.rs`) and
//! the AWS Load Balancer Controller (`load_balancer_controller.rs`). Each
//! is named in `eks.addons` like an EKS add-on. Its AWS side is made here:
//! an IAM role of its own (trusted by EKS Pod Identity, with only the
//! permissions it needs), the Pod Identity association of its service
//! account, and a tag on the cluster recording both, which is how a read
//! knows it is installed. Its objects inside the cluster are the
//! Kubernetes layer's (`kube::cluster_autoscaler`,
//! `kube::load_balancer_controller`).

use super::Aws;
use super::iam::Role;
use super::pod_identity::ServiceAccountAt;
use super::{cluster_autoscaler, load_balancer_controller};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;

/// One add-on Genesis runs itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnAddon {
    /// Its name in `eks.addons`, and of its service account.
    pub name: &'static str,
    /// The cluster tag saying Genesis installed it (its role's ARN).
    pub tag: &'static str,
    /// The IAM role its pods get.
    pub role: Role,
}

/// Where they all run.
pub const NAMESPACE: &str = "kube-system";

pub const CLUSTER_AUTOSCALER: OwnAddon = OwnAddon {
    name: cluster_autoscaler::NAME,
    tag: cluster_autoscaler::TAG,
    role: Role::Autoscaler,
};

pub const LOAD_BALANCER_CONTROLLER: OwnAddon = OwnAddon {
    name: load_balancer_controller::NAME,
    tag: load_balancer_controller::TAG,
    role: Role::LoadBalancerController,
};

pub const ALL: [OwnAddon; 2] = [CLUSTER_AUTOSCALER, LOAD_BALANCER_CONTROLLER];

/// Whether `name` (an entry of `eks.addons`) is one of Genesis's own, not
/// an EKS add-on.
pub fn is_own(name: &str) -> bool {
    ALL.iter().any(|a| a.name == name)
}

impl OwnAddon {
    /// Whether `addons` (a cluster's `eks.addons`) ask for it.
    pub fn wanted(self, addons: &[String]) -> bool {
        addons.iter().any(|a| a == self.name)
    }

    /// The claim the cluster holds its association with.
    fn claim(self, cluster: &str) -> String {
        format!("genesis_cluster/{cluster}")
    }

    fn service_account<'a>(self, region: &'a str, cluster: &'a str) -> ServiceAccountAt<'a> {
        ServiceAccountAt {
            region,
            cluster,
            namespace: NAMESPACE,
            name: self.name,
        }
    }
}

impl Aws {
    /// Makes the add-on's role and association, then tags the cluster
    /// (`arn`) as having it.
    pub(super) async fn install_own_addon(
        &self,
        addon: OwnAddon,
        region: &str,
        cluster: &str,
        arn: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let role = self.ensure_role(cluster, addon.role, false, wait).await?;
        self.set_pod_identity(
            addon.service_account(region, cluster),
            &role,
            &addon.claim(cluster),
            wait,
        )
        .await?;
        self.set_tag(arn, region, addon.tag, Some(role), wait).await
    }

    /// Takes the tag off first (a read then no longer finds the add-on
    /// installed, so an interrupted removal is finished by the next
    /// apply), then the association and the role.
    pub(super) async fn remove_own_addon(
        &self,
        addon: OwnAddon,
        region: &str,
        cluster: &str,
        arn: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        self.set_tag(arn, region, addon.tag, None, wait).await?;
        let holder = addon.claim(cluster);
        self.remove_pod_identity(addon.service_account(region, cluster), Some(&holder), wait)
            .await?;
        self.delete_own_role(cluster, addon.role, wait).await
    }
}
