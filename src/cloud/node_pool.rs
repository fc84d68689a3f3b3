//! What a node pool back end does, in the provider's own terms.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::CloudError;
use super::cluster::{ClusterAddress, Wait};

/// A taint in GKE's spelling (`NO_SCHEDULE`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PoolTaint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// The pool as the configuration describes it (labels and taints are the
/// effective ones, pool-type additions included): what both clouds share,
/// and the settings of the one it runs on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolSpec {
    pub cluster: ClusterAddress,
    pub name: String,
    /// A GCE machine type or an EC2 instance type.
    pub machine_type: String,
    pub disk_size_gb: i64,
    pub initial_node_count: i64,
    /// The size of a fixed-size pool.
    pub node_count: Option<i64>,
    /// (min, max) nodes when autoscaling: per zone on GKE, in all on EKS.
    pub autoscaling: Option<(i64, i64)>,
    pub preemptible: bool,
    pub spot: bool,
    /// GPUs on every node.
    pub gpu: Option<crate::cloud::gpus::PoolGpu>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<PoolTaint>,
    pub auto_repair: bool,
    pub max_unavailable: i64,
    /// The Kubernetes version the nodes should run (`1.33`, or a full
    /// version); `None` leaves them on theirs. Never read back: what the
    /// nodes run is `ObservedPool::version`.
    pub version: Option<String>,
    pub cloud: PoolCloud,
}

/// The settings only one cloud (or one mode of it) has.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolCloud {
    Gke(GkePool),
    /// A custom ComputeClass on a GKE Autopilot cluster: the settings GKE
    /// node pools have, those a class cannot hold at their defaults.
    GkeAutopilot(GkePool),
    /// An EKS managed node group.
    Eks(EksPool),
    /// A Karpenter NodePool on an EKS Auto Mode cluster.
    EksAutoMode(AutoModePool),
}

impl Default for PoolCloud {
    fn default() -> Self {
        PoolCloud::Gke(GkePool::default())
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GkePool {
    pub disk_type: String,
    pub image_type: String,
    pub node_locations: Vec<String>,
    pub auto_upgrade: bool,
    pub max_surge: i64,
    pub service_account: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EksPool {
    /// `AL2023_x86_64_STANDARD`, `BOTTLEROCKET_x86_64`, ...
    pub ami_type: String,
    /// The nodes' IAM role; the cluster's node role when `None`.
    pub node_role_arn: Option<String>,
    /// The nodes' subnets; the cluster's when empty.
    pub subnet_ids: Vec<String>,
}

/// What EKS Auto Mode lets a pool choose beyond what both clouds share:
/// the nodes run as the cluster's node role, on the image Auto Mode picks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoModePool {
    /// The nodes' subnets; the cluster's when empty.
    pub subnet_ids: Vec<String>,
}

impl PoolSpec {
    /// The GKE settings, in either GKE mode.
    pub fn gke(&self) -> Option<&GkePool> {
        match &self.cloud {
            PoolCloud::Gke(g) | PoolCloud::GkeAutopilot(g) => Some(g),
            _ => None,
        }
    }

    pub fn eks(&self) -> Option<&EksPool> {
        match &self.cloud {
            PoolCloud::Eks(e) => Some(e),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedPool {
    pub spec: PoolSpec,
    pub status: String,
    /// The Kubernetes version the nodes run, as the cloud reports it
    /// (`1.33.5-gke.1080000`, `1.33`).
    pub version: String,
    /// What the cluster's control plane runs, which no node may pass: read
    /// with the pool so that a plan can refuse a version out of reach.
    pub control_plane_version: Option<String>,
}

/// A node pool back end (GKE node pools, EKS managed node groups).
#[async_trait]
pub trait NodePools: Send + Sync {
    /// Creates the pool and waits until its nodes run. When the creation
    /// fails after the pool came to exist, the error comes with what exists.
    async fn create(
        &self,
        spec: &PoolSpec,
        wait: &Wait,
    ) -> Result<ObservedPool, (CloudError, Option<ObservedPool>)>;

    /// `Ok(None)` when the pool (or its cluster) does not exist.
    async fn get(
        &self,
        cluster: &ClusterAddress,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedPool>, CloudError>;

    async fn update(&self, from: &PoolSpec, to: &PoolSpec, wait: &Wait) -> Result<(), CloudError>;

    /// The names of the cluster's pools, sorted; none when the cluster is
    /// gone.
    async fn list(&self, cluster: &ClusterAddress, wait: &Wait) -> Result<Vec<String>, CloudError>;

    async fn delete(
        &self,
        cluster: &ClusterAddress,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError>;
}
