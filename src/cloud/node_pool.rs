//! What a node pool back end does, in the provider's own terms.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::CloudError;
use super::cluster::Wait;

/// A taint in GKE's spelling (`NO_SCHEDULE`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PoolTaint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// The pool as the configuration describes it (labels and taints are the
/// effective ones, pool-type additions included).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolSpec {
    pub project: String,
    pub location: String,
    pub cluster: String,
    pub name: String,
    pub machine_type: String,
    pub disk_size_gb: i64,
    pub disk_type: String,
    pub image_type: String,
    pub initial_node_count: i64,
    /// The size of a fixed-size pool.
    pub node_count: Option<i64>,
    /// (min, max) nodes per zone when autoscaling.
    pub autoscaling: Option<(i64, i64)>,
    pub preemptible: bool,
    pub spot: bool,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<PoolTaint>,
    pub node_locations: Vec<String>,
    pub auto_repair: bool,
    pub auto_upgrade: bool,
    pub max_surge: i64,
    pub max_unavailable: i64,
    pub service_account: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedPool {
    pub spec: PoolSpec,
    pub status: String,
    pub version: String,
}

/// A node pool back end (GKE node pools, EKS managed node groups).
#[async_trait]
pub trait NodePools: Send + Sync {
    async fn create(
        &self,
        spec: &PoolSpec,
        wait: &Wait,
    ) -> Result<ObservedPool, (CloudError, Option<ObservedPool>)>;

    /// `Ok(None)` when the pool (or its cluster) does not exist.
    async fn get(
        &self,
        project: &str,
        location: &str,
        cluster: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedPool>, CloudError>;

    async fn update(&self, from: &PoolSpec, to: &PoolSpec, wait: &Wait) -> Result<(), CloudError>;

    async fn delete(
        &self,
        project: &str,
        location: &str,
        cluster: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError>;
}
