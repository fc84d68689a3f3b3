//! What a cluster back end does, in the provider's own terms.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::CloudError;

/// The cluster as the configuration describes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterSpec {
    pub project: String,
    /// A region (regional cluster) or a zone (zonal cluster).
    pub location: String,
    pub name: String,
    pub description: Option<String>,
    pub autopilot: bool,
    pub release_channel: Option<String>,
    pub kubernetes_version: Option<String>,
    pub network: String,
    pub subnetwork: String,
    pub private_nodes: bool,
    pub private_endpoint: bool,
    pub master_cidr: Option<String>,
    /// (CIDR block, display name)
    pub authorized_networks: Vec<(String, String)>,
    pub workload_identity: bool,
    pub binary_authorization: bool,
    pub network_policy: bool,
    pub shielded_nodes: bool,
    pub managed_prometheus: bool,
    pub monitoring_components: Vec<String>,
    pub logging_components: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// The cluster as the cloud reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedCluster {
    pub spec: ClusterSpec,
    pub endpoint: String,
    pub ca_certificate: String,
    pub status: String,
    pub master_version: String,
    pub self_link: String,
}

/// Limits and signals for one operation.
#[derive(Clone, Debug)]
pub struct Wait {
    pub timeout: Duration,
    pub stop: CancellationToken,
    /// When the operation started: transient errors are retried until
    /// `started + timeout`, as the google provider's retry transport does.
    pub started: std::time::Instant,
}

impl Wait {
    pub fn new(timeout: Duration, stop: CancellationToken) -> Self {
        Wait {
            timeout,
            stop,
            started: std::time::Instant::now(),
        }
    }

    pub fn deadline(&self) -> std::time::Instant {
        self.started + self.timeout
    }
}

/// A cluster back end (GKE, EKS).
#[async_trait]
pub trait Clusters: Send + Sync {
    /// Creates the cluster and waits until it runs. When the creation fails
    /// after the cluster came to exist, the error comes with what exists.
    async fn create(
        &self,
        spec: &ClusterSpec,
        wait: &Wait,
    ) -> Result<ObservedCluster, (CloudError, Option<ObservedCluster>)>;

    /// `Ok(None)` when the cluster does not exist.
    async fn get(
        &self,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedCluster>, CloudError>;

    /// Changes what can change in place, one call at a time, waiting for each.
    async fn update(
        &self,
        from: &ClusterSpec,
        to: &ClusterSpec,
        wait: &Wait,
    ) -> Result<(), CloudError>;

    async fn delete(
        &self,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError>;
}
