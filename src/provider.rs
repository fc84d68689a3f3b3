//! The provider block: its schema, its configuration (from HCL or, as the
//! google and aws providers do, from the environment), and the context every
//! resource operation receives. Configuring makes no network call:
//! credentials are resolved when a back end first needs them.

use std::fmt;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cloud::CloudError;
use crate::cloud::cluster::{ClusterAddress, Clusters, ObservedCluster};
use crate::cloud::gcp::Gcp;
use crate::cloud::node_pool::NodePools;
use crate::cloud::writes::SharedReads;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::path::AttributePath;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::value::Value;

/// A secret (token, key file): printed as `(sensitive)`, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

/// One provider setting: its attribute, description and the environment
/// variables it falls back to, in order.
struct Setting {
    name: &'static str,
    description: &'static str,
    env: &'static [&'static str],
    sensitive: bool,
}

const SETTINGS: &[Setting] = &[
    Setting {
        name: "project",
        description: "Default Google Cloud project for resources that do not set `project_id`.",
        env: &[
            "GOOGLE_PROJECT",
            "GOOGLE_CLOUD_PROJECT",
            "GCLOUD_PROJECT",
            "CLOUDSDK_CORE_PROJECT",
        ],
        sensitive: false,
    },
    Setting {
        name: "region",
        description: "Default Google Cloud region for resources that do not set `region`.",
        env: &["GOOGLE_REGION", "GCLOUD_REGION", "CLOUDSDK_COMPUTE_REGION"],
        sensitive: false,
    },
    Setting {
        name: "zone",
        description: "Default Google Cloud zone for zonal clusters that do not set `zone`.",
        env: &["GOOGLE_ZONE", "GCLOUD_ZONE", "CLOUDSDK_COMPUTE_ZONE"],
        sensitive: false,
    },
    Setting {
        name: "credentials",
        description: "Path to, or contents of, a Google service account key file. Without it (and without `access_token`), application default credentials are used.",
        env: &[
            "GOOGLE_CREDENTIALS",
            "GOOGLE_CLOUD_KEYFILE_JSON",
            "GCLOUD_KEYFILE_JSON",
        ],
        sensitive: true,
    },
    Setting {
        name: "access_token",
        description: "A Google OAuth 2.0 access token. It is used for the GKE, Artifact Registry and IAM APIs and for the Kubernetes API of GKE clusters, as `gke-gcloud-auth-plugin` does.",
        env: &["GOOGLE_OAUTH_ACCESS_TOKEN"],
        sensitive: true,
    },
    Setting {
        name: "gke_endpoint",
        description: "Base URL of the GKE API, for genesis-sim or a private endpoint. Default: `https://container.googleapis.com/`.",
        env: &["GENESIS_GKE_ENDPOINT"],
        sensitive: false,
    },
    Setting {
        name: "artifact_registry_endpoint",
        description: "Base URL of the Artifact Registry API, for genesis-sim or a private endpoint. Default: `https://artifactregistry.googleapis.com/`.",
        env: &["GENESIS_ARTIFACT_REGISTRY_ENDPOINT"],
        sensitive: false,
    },
    Setting {
        name: "iam_endpoint",
        description: "Base URL of the IAM API (Workload Identity bindings on Google service accounts), for genesis-sim or a private endpoint. Default: `https://iam.googleapis.com/`.",
        env: &["GENESIS_IAM_ENDPOINT"],
        sensitive: false,
    },
    Setting {
        name: "aws_region",
        description: "AWS region for EKS clusters and ECR repositories.",
        env: &["AWS_REGION", "AWS_DEFAULT_REGION"],
        sensitive: false,
    },
    Setting {
        name: "aws_profile",
        description: "AWS shared-configuration profile to take credentials from.",
        env: &["AWS_PROFILE"],
        sensitive: false,
    },
    Setting {
        name: "aws_endpoint",
        description: "Base URL for every AWS API Genesis calls (EKS, IAM, KMS, STS, ECR), for moto or another local endpoint.",
        env: &["GENESIS_AWS_ENDPOINT", "AWS_ENDPOINT_URL"],
        sensitive: false,
    },
    Setting {
        name: "eks_endpoint",
        description: "Base URL of the EKS API alone, overriding `aws_endpoint` for it (genesis-sim's EKS face, a VPC endpoint).",
        env: &["GENESIS_EKS_ENDPOINT", "AWS_ENDPOINT_URL_EKS"],
        sensitive: false,
    },
];

/// The provider block's schema.
pub fn schema() -> Schema {
    let attributes = SETTINGS
        .iter()
        .map(|s| {
            let env = s
                .env
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let description = format!("{} Also read from {env}.", s.description);
            let attr = Attribute::string(s.name).describe(&description);
            let attr = if s.sensitive { attr.sensitive() } else { attr };
            match s.name {
                "gke_endpoint"
                | "artifact_registry_endpoint"
                | "iam_endpoint"
                | "aws_endpoint"
                | "eks_endpoint" => attr.validate(url),
                _ => attr,
            }
        })
        .collect();
    Schema::new(
        0,
        Block::new(
            "Genesis manages a Kubernetes platform (GKE or EKS clusters, node pools, registries and workloads) with one provider.",
            attributes,
        ),
    )
}

fn url(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if s.starts_with("http://") || s.starts_with("https://") => Ok(()),
        Some(s) => Err(format!(
            "{s:?} is not a URL: write it with its scheme, such as \"http://127.0.0.1:8080\"."
        )),
        None => Ok(()),
    }
}

/// The provider's settings once configured.
#[derive(Clone, Debug, Default)]
pub struct ProviderConfig {
    pub project: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub credentials: Option<Secret>,
    pub access_token: Option<Secret>,
    pub gke_endpoint: Option<String>,
    pub artifact_registry_endpoint: Option<String>,
    pub iam_endpoint: Option<String>,
    pub aws_region: Option<String>,
    pub aws_profile: Option<String>,
    pub aws_endpoint: Option<String>,
    pub eks_endpoint: Option<String>,
    /// The version of the Terraform (or OpenTofu) CLI that configured us.
    pub terraform_version: Option<String>,
}

/// This build's release, as `--version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

impl ProviderConfig {
    /// The User-Agent of every cloud and Kubernetes call, so that audit logs
    /// name the tool and its version (as the google and aws providers do):
    /// `Terraform/1.11.4 (+https://www.terraform.io) terraform-provider-genesis/0.1.0`.
    pub fn user_agent(&self) -> String {
        match &self.terraform_version {
            Some(v) if !v.is_empty() => {
                format!(
                    "Terraform/{v} (+https://www.terraform.io) terraform-provider-genesis/{VERSION}"
                )
            }
            _ => format!("terraform-provider-genesis/{VERSION}"),
        }
    }

    /// Reads the provider block, falling back to the environment through
    /// `env` (a parameter so tests need not touch the process environment).
    pub fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Diagnostics> {
        let mut diags = Diagnostics::new();
        let get = |name: &str| -> Option<String> {
            let setting = SETTINGS.iter().find(|s| s.name == name)?;
            match config.get(name) {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => setting
                    .env
                    .iter()
                    .find_map(|e| env(e).filter(|v| !v.is_empty())),
            }
        };
        for setting in SETTINGS {
            if config.get(setting.name).is_unknown() {
                diags.attribute_error(
                    AttributePath::attr(setting.name),
                    "Provider setting not known until apply",
                    format!("`{}` depends on a value that is only known after apply. Provider settings must be known at plan time: use a literal, a variable or an environment variable.", setting.name),
                );
            }
        }
        let out = ProviderConfig {
            project: get("project"),
            region: get("region"),
            zone: get("zone"),
            credentials: get("credentials").map(Secret::new),
            access_token: get("access_token").map(Secret::new),
            gke_endpoint: get("gke_endpoint"),
            artifact_registry_endpoint: get("artifact_registry_endpoint"),
            iam_endpoint: get("iam_endpoint"),
            aws_region: get("aws_region"),
            aws_profile: get("aws_profile"),
            aws_endpoint: get("aws_endpoint"),
            eks_endpoint: get("eks_endpoint"),
            terraform_version: None,
        };
        if out.credentials.is_some()
            && out.access_token.is_some()
            && !config.get("credentials").is_null()
            && !config.get("access_token").is_null()
        {
            diags.attribute_error(
                AttributePath::attr("access_token"),
                "Conflicting credentials",
                "Set either `credentials` or `access_token` in the provider block, not both.",
            );
        }
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(out)
        }
    }
}

/// What every resource operation receives: the configuration, the
/// signal that Terraform asked the provider to stop, and the cloud clients
/// (built on first use).
#[derive(Clone)]
pub struct ProviderContext {
    pub config: ProviderConfig,
    pub stop: CancellationToken,
    pub gcp: Arc<Gcp>,
    pub aws: Arc<crate::cloud::aws::Aws>,
    /// Kubernetes clients, shared by every workload on the same cluster.
    pub kube: Arc<crate::kube::Clients>,
    /// What this run's plans of clusters will change.
    pub planned: Arc<PlannedClusters>,
    /// Clusters as read for the refreshes and plans of their workloads.
    cluster_reads: Arc<SharedReads<ClusterAddress, Result<Option<ObservedCluster>, CloudError>>>,
}

/// What the plans of clusters in this provider process will change that
/// their workloads' plans depend on: Terraform plans a cluster before the
/// workloads that name its ID, through one provider process (and an apply
/// applies it before it plans them again).
#[derive(Default)]
pub struct PlannedClusters {
    runs: std::sync::Mutex<std::collections::HashMap<String, ClusterRuns>>,
}

/// What a planned cluster runs once applied, for the settings of its
/// workloads that need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterRuns {
    /// Resource metrics (`metrics.k8s.io`), for `autoscaling`.
    pub metrics: bool,
    /// What gives pods their cloud identity: the EKS pod identity agent
    /// (or Auto Mode's), for `service_account.aws_role_arn`; GKE Workload
    /// Identity, for `service_account.gcp_service_account`.
    pub pod_identity: bool,
    /// An ingress controller for Ingresses left without a class (GKE's
    /// built-in one, or Auto Mode's behind the `alb` class Genesis
    /// makes), for `ingress`.
    pub ingress: bool,
    /// What resizes node pools between their bounds (GKE's built-in
    /// autoscaler, the Cluster Autoscaler on EKS, Auto Mode's Karpenter),
    /// for a pool's `enable_autoscaling`.
    pub node_autoscaler: bool,
    /// The StorageClasses Genesis makes in it (`storage_classes`), for
    /// volumes that name one.
    pub storage_classes: Vec<String>,
    /// A default StorageClass (GKE's own, or one of `storage_classes`),
    /// for volumes that name none.
    pub default_storage_class: bool,
    /// What a new `genesis_node_pool` on it is.
    pub node_pools: NodePoolsAs,
}

/// What a cluster makes of a new `genesis_node_pool`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NodePoolsAs {
    /// A GKE node pool or an EKS managed node group.
    #[default]
    CloudPools,
    /// A Karpenter NodePool with its NodeClass (EKS Auto Mode).
    Karpenter,
    /// A custom ComputeClass (GKE Autopilot).
    ComputeClass,
}

impl PlannedClusters {
    /// Records what the cluster `id` runs once its plan is applied.
    pub fn set(&self, id: &str, runs: ClusterRuns) {
        let mut all = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        all.insert(id.to_string(), runs);
    }

    /// What the cluster `id` runs once applied, when it was planned (or
    /// applied) in this process.
    pub fn runs(&self, id: &str) -> Option<ClusterRuns> {
        let all = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        all.get(id).cloned()
    }
}

impl ProviderContext {
    pub fn new(config: ProviderConfig, stop: CancellationToken) -> Self {
        ProviderContext {
            gcp: Arc::new(Gcp::new(config.clone())),
            aws: Arc::new(crate::cloud::aws::Aws::new(config.clone())),
            kube: Arc::default(),
            planned: Arc::default(),
            cluster_reads: Arc::default(),
            config,
            stop,
        }
    }
}

impl ProviderContext {
    /// The node pool back end of the cloud a cluster is on.
    pub fn node_pools(&self, at: &ClusterAddress) -> &dyn NodePools {
        match at {
            ClusterAddress::Gke { .. } => self.gcp.as_ref(),
            ClusterAddress::Eks { .. } => self.aws.as_ref(),
        }
    }

    /// The back end of the cloud clusters are listed on.
    pub fn clusters_at(&self, place: &crate::cloud::cluster::ClusterPlace) -> &dyn Clusters {
        match place {
            crate::cloud::cluster::ClusterPlace::Gke { .. } => self.gcp.as_ref(),
            crate::cloud::cluster::ClusterPlace::Eks { .. } => self.aws.as_ref(),
        }
    }

    /// The cluster at `at` (`None` when there is none), read once for all
    /// the reads and plans of its workloads in this process: a refresh of
    /// hundreds of workloads reads their cluster once, not once each. A
    /// change to a cluster in this process ends the shared read
    /// (`cloud::writes`), so an apply never reaches a cluster at an
    /// address it had before. A read that failed (no credentials, say)
    /// answers the others the same while fresh, rather than each of them
    /// trying again until its timeout.
    pub async fn shared_cluster(
        &self,
        at: &ClusterAddress,
        wait: &crate::cloud::cluster::Wait,
    ) -> Result<Option<ObservedCluster>, CloudError> {
        let (_, read) = self.cluster_reads.read(at.clone());
        read.get_or_init(|| self.clusters(at).get(at, wait))
            .await
            .clone()
    }

    /// The back end of the cloud a cluster is on.
    pub fn clusters(&self, at: &ClusterAddress) -> &dyn Clusters {
        match at {
            ClusterAddress::Gke { .. } => self.gcp.as_ref(),
            ClusterAddress::Eks { .. } => self.aws.as_ref(),
        }
    }
}

impl Default for ProviderContext {
    fn default() -> Self {
        ProviderContext::new(ProviderConfig::default(), CancellationToken::new())
    }
}

impl fmt::Debug for ProviderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderContext")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Value {
        Value::Object(
            SETTINGS
                .iter()
                .map(|s| (s.name.to_string(), Value::Null))
                .collect(),
        )
    }

    #[test]
    fn settings_fall_back_to_the_environment_in_order() {
        let env = |k: &str| match k {
            "GOOGLE_CLOUD_PROJECT" => Some("from-env".to_string()),
            "GOOGLE_OAUTH_ACCESS_TOKEN" => Some("tok".to_string()),
            _ => None,
        };
        let cfg = ProviderConfig::from_config(&empty(), env).unwrap();
        assert_eq!(cfg.project.as_deref(), Some("from-env"));
        assert_eq!(cfg.access_token.as_ref().map(Secret::expose), Some("tok"));
        assert_eq!(format!("{:?}", cfg.access_token), "Some((sensitive))");
    }

    #[test]
    fn the_block_wins_over_the_environment() {
        let mut config = empty();
        config.set_attr("project", "from-hcl".into());
        let cfg = ProviderConfig::from_config(&config, |_| Some("env".into())).unwrap();
        assert_eq!(cfg.project.as_deref(), Some("from-hcl"));
    }

    #[test]
    fn the_user_agent_names_the_cli_and_this_release() {
        let mut cfg = ProviderConfig::default();
        assert_eq!(
            cfg.user_agent(),
            format!("terraform-provider-genesis/{VERSION}")
        );
        cfg.terraform_version = Some("1.11.4".into());
        assert_eq!(
            cfg.user_agent(),
            format!(
                "Terraform/1.11.4 (+https://www.terraform.io) terraform-provider-genesis/{VERSION}"
            )
        );
    }

    #[test]
    fn unknown_settings_are_refused() {
        let mut config = empty();
        config.set_attr("region", Value::Unknown);
        let diags = ProviderConfig::from_config(&config, |_| None).unwrap_err();
        assert!(diags.has_errors());
    }
}
