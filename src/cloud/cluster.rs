//! What a cluster back end does, in the provider's own terms.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::CloudError;
use crate::provider::Secret;

/// The cluster as the configuration describes it: what both clouds share,
/// and the settings of the one it runs on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterSpec {
    pub name: String,
    /// The requested Kubernetes version (`1.33`), when one is pinned.
    pub kubernetes_version: Option<String>,
    /// The Kubernetes API is reachable only from inside the network.
    pub private_endpoint: bool,
    /// Ranges allowed to reach the API (GKE master authorized networks,
    /// EKS public access CIDRs).
    pub authorized_networks: Vec<AuthorizedNetwork>,
    /// Control-plane components whose logs are kept, in the cloud's names.
    pub logging_components: Vec<String>,
    /// GCP resource labels or AWS tags (with Genesis' own markers).
    pub labels: BTreeMap<String, String>,
    /// The cloud runs the nodes: GKE Autopilot, EKS Auto Mode (which also
    /// runs the load balancers, block storage and the core add-ons).
    pub autopilot: bool,
    pub cloud: ClusterCloud,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizedNetwork {
    pub cidr_block: String,
    pub display_name: String,
}

/// The settings only one cloud has.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterCloud {
    Gke(GkeCluster),
    Eks(EksCluster),
}

impl Default for ClusterCloud {
    fn default() -> Self {
        ClusterCloud::Gke(GkeCluster::default())
    }
}

/// A GKE cluster's own settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GkeCluster {
    pub project: String,
    /// A region (regional cluster) or a zone (zonal cluster).
    pub location: String,
    pub description: Option<String>,
    pub release_channel: Option<String>,
    pub network: String,
    pub subnetwork: String,
    pub private_nodes: bool,
    pub master_cidr: Option<String>,
    pub workload_identity: bool,
    pub binary_authorization: bool,
    pub network_policy: bool,
    pub shielded_nodes: bool,
    pub managed_prometheus: bool,
    pub monitoring_components: Vec<String>,
}

/// An EKS cluster's own settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EksCluster {
    pub region: String,
    /// The cluster's IAM role; Genesis creates one when none is given.
    pub role_arn: Option<String>,
    /// The IAM role of the cluster's node groups (created when none is given).
    pub node_role_arn: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// The private endpoint inside the VPC (besides the public one unless
    /// `private_endpoint`, which implies it: the decoded spec says so).
    pub endpoint_private_access: bool,
    /// `API`, `API_AND_CONFIG_MAP` or `CONFIG_MAP`.
    pub authentication_mode: String,
    /// Kubernetes secrets are envelope-encrypted with a KMS key.
    pub secrets_encryption: bool,
    /// The key (Genesis creates one when none is given).
    pub kms_key_arn: Option<String>,
    /// `ipv4` or `ipv6`.
    pub ip_family: String,
    pub service_ipv4_cidr: Option<String>,
    /// EKS add-ons by name (`vpc-cni`, `coredns`, ...).
    pub addons: Vec<String>,
    /// EKS refuses to delete the cluster while this is on.
    pub deletion_protection: bool,
    /// `STANDARD` (upgraded by EKS when standard support ends) or
    /// `EXTENDED` (kept on its version for up to 12 more months, at the
    /// extended-support price).
    pub support_type: String,
}

impl ClusterSpec {
    /// Where the cluster is, to find it again.
    pub fn address(&self) -> ClusterAddress {
        match &self.cloud {
            ClusterCloud::Gke(g) => ClusterAddress::Gke {
                project: g.project.clone(),
                location: g.location.clone(),
                name: self.name.clone(),
            },
            ClusterCloud::Eks(e) => ClusterAddress::Eks {
                region: e.region.clone(),
                name: self.name.clone(),
            },
        }
    }

    pub fn gke(&self) -> Option<&GkeCluster> {
        match &self.cloud {
            ClusterCloud::Gke(g) => Some(g),
            ClusterCloud::Eks(_) => None,
        }
    }

    pub fn eks(&self) -> Option<&EksCluster> {
        match &self.cloud {
            ClusterCloud::Eks(e) => Some(e),
            ClusterCloud::Gke(_) => None,
        }
    }
}

/// Where a cluster is: enough to read, change or delete it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClusterAddress {
    Gke {
        project: String,
        location: String,
        name: String,
    },
    Eks {
        region: String,
        name: String,
    },
}

impl Default for ClusterAddress {
    fn default() -> Self {
        ClusterAddress::Gke {
            project: String::new(),
            location: String::new(),
            name: String::new(),
        }
    }
}

impl ClusterAddress {
    /// What the cluster is, for messages: "GKE cluster", "EKS cluster".
    pub fn kind(&self) -> &'static str {
        match self {
            ClusterAddress::Gke { .. } => "GKE cluster",
            ClusterAddress::Eks { .. } => "EKS cluster",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ClusterAddress::Gke { name, .. } | ClusterAddress::Eks { name, .. } => name,
        }
    }
}

/// The cluster as the cloud reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedCluster {
    /// `projects/P/locations/L/clusters/N` on GKE, the ARN on EKS.
    pub id: String,
    pub spec: ClusterSpec,
    pub endpoint: String,
    /// The cluster CA, base64-encoded PEM as both clouds report it.
    pub ca_certificate: String,
    pub status: String,
    pub master_version: String,
    pub self_link: Option<String>,
    /// EKS: the ID of the VPC the cluster is in (what its load balancer
    /// controller makes load balancers in).
    pub vpc_id: Option<String>,
}

impl ObservedCluster {
    /// Whether the Kubernetes API can be used (GKE RUNNING or RECONCILING,
    /// EKS ACTIVE or UPDATING).
    pub fn serving(&self) -> bool {
        matches!(
            self.status.as_str(),
            "RUNNING" | "RECONCILING" | "ACTIVE" | "UPDATING"
        ) && !self.endpoint.is_empty()
    }
}

/// Where clusters are listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterPlace {
    /// A GCP project's region or zone, or all its locations (`-`).
    Gke {
        project: String,
        location: String,
    },
    Eks {
        region: String,
    },
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
        at: &ClusterAddress,
        wait: &Wait,
    ) -> Result<Option<ObservedCluster>, CloudError>;

    /// Changes what can change in place, one call at a time, waiting for each.
    async fn update(
        &self,
        from: &ClusterSpec,
        to: &ClusterSpec,
        wait: &Wait,
    ) -> Result<(), CloudError>;

    async fn delete(&self, at: &ClusterAddress, wait: &Wait) -> Result<(), CloudError>;

    /// The IDs of the clusters at `place` (`projects/P/locations/L/clusters/N`
    /// on GKE, ARNs on EKS), sorted.
    async fn list(&self, place: &ClusterPlace, wait: &Wait) -> Result<Vec<String>, CloudError>;

    /// A bearer token for the cluster's Kubernetes API.
    async fn kube_token(&self, at: &ClusterAddress) -> Result<Secret, CloudError>;

    /// A token to hand to other clients (the kubernetes and helm
    /// providers), made now, with when it expires where that is known.
    async fn client_token(
        &self,
        at: &ClusterAddress,
    ) -> Result<(Secret, Option<std::time::SystemTime>), CloudError> {
        Ok((self.kube_token(at).await?, None))
    }
}
