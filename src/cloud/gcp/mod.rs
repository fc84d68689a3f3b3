//! Google Cloud through the official google-cloud-rust clients. Clients are
//! built on first use (configuring the provider makes no network call),
//! with the provider's credentials and, for genesis-sim or private
//! endpoints, its endpoint overrides.

pub mod cluster;
pub mod disks;
pub mod gpus;
pub mod node_pool;
pub mod registry;
pub mod workload_identity;

use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use http::{Extensions, HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{Mutex, OnceCell};

use super::CloudError;
use crate::provider::ProviderConfig;

/// Clients for one provider configuration.
pub struct Gcp {
    config: ProviderConfig,
    /// Sent with every request (the client libraries set it per request).
    pub(super) user_agent: String,
    gke: OnceCell<google_cloud_container_v1::client::ClusterManager>,
    artifact_registry: OnceCell<google_cloud_artifactregistry_v1::client::ArtifactRegistry>,
    iam: OnceCell<google_cloud_iam_admin_v1::client::Iam>,
    /// Whether a metadata server answered, asked once per process: every
    /// resource of a plan may need credentials, and off Google Cloud each
    /// probe costs a name lookup (and up to two seconds).
    metadata_server: OnceCell<bool>,
    /// One lock per cluster: GKE runs one operation per cluster at a time.
    cluster_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Gcp {
    pub fn new(config: ProviderConfig) -> Self {
        Gcp {
            user_agent: config.user_agent(),
            config,
            gke: OnceCell::new(),
            artifact_registry: OnceCell::new(),
            iam: OnceCell::new(),
            metadata_server: OnceCell::new(),
            cluster_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The lock that serialises changes to one cluster's node pools.
    pub async fn cluster_lock(&self, cluster: &str) -> Arc<Mutex<()>> {
        self.cluster_locks
            .lock()
            .await
            .entry(cluster.to_string())
            .or_default()
            .clone()
    }

    async fn credentials(&self) -> Result<Credentials, CloudError> {
        let failed = |e: &dyn std::fmt::Display| CloudError::Transport {
            call: "loading Google credentials".into(),
            message: e.to_string(),
        };
        if let Some(token) = &self.config.access_token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    failed(&"the access token holds characters that cannot be sent in a header")
                })?;
            value.set_sensitive(true);
            return Ok(Credentials::from(AccessToken(value)));
        }
        if let Some(credentials) = &self.config.credentials {
            // A path to a key file, or the key itself.
            let text = credentials.expose();
            let json = if text.trim_start().starts_with('{') {
                text.to_string()
            } else {
                std::fs::read_to_string(text)
                    .map_err(|e| failed(&format!("reading the credentials file {text:?}: {e}")))?
            };
            let key: serde_json::Value = serde_json::from_str(&json)
                .map_err(|e| failed(&format!("the credentials are not a JSON key: {e}")))?;
            return google_cloud_auth::credentials::service_account::Builder::new(key)
                .build()
                .map_err(|e| failed(&e));
        }
        // Application default credentials: a key file, gcloud's login, or
        // else the metadata server of a Google Cloud machine. Off Google
        // Cloud there is none, and token requests would be retried until
        // the timeout: find that out now, in two seconds at most.
        if adc_file().is_none()
            && !*self
                .metadata_server
                .get_or_init(metadata_server_answers)
                .await
        {
            return Err(CloudError::Credentials {
                call: "loading Google credentials".into(),
                message: format!(
                    "GOOGLE_APPLICATION_CREDENTIALS is not set, {} does not exist, and the metadata server at {} does not answer",
                    well_known_file().map_or_else(
                        || "gcloud's credentials file".into(),
                        |p| p.display().to_string()
                    ),
                    metadata_host()
                ),
            });
        }
        google_cloud_auth::credentials::Builder::default()
            .build()
            .map_err(|e| failed(&e))
    }

    pub async fn gke(
        &self,
    ) -> Result<&google_cloud_container_v1::client::ClusterManager, CloudError> {
        self.gke
            .get_or_try_init(|| async {
                let mut builder = google_cloud_container_v1::client::ClusterManager::builder()
                    .with_credentials(self.credentials().await?);
                if let Some(endpoint) = &self.config.gke_endpoint {
                    builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
                }
                builder.build().await.map_err(|e| CloudError::Transport {
                    call: "connecting to the GKE API".into(),
                    message: e.to_string(),
                })
            })
            .await
    }

    /// A bearer token for the Kubernetes API of GKE clusters, from the same
    /// credentials as the Google APIs (as gke-gcloud-auth-plugin does).
    pub async fn bearer_token(&self) -> Result<String, CloudError> {
        let failed = |message: String| CloudError::Transport {
            call: "getting a token for the cluster".into(),
            message,
        };
        if let Some(token) = &self.config.access_token {
            return Ok(token.expose().to_string());
        }
        let headers = match self
            .credentials()
            .await?
            .headers(Extensions::new())
            .await
            .map_err(|e| CloudError::Credentials {
                call: "getting a token for the cluster".into(),
                message: e.to_string(),
            })? {
            CacheableResource::New { data, .. } => data,
            CacheableResource::NotModified => {
                return Err(failed("the credentials returned no headers".into()));
            }
        };
        headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
            .ok_or_else(|| failed("the credentials give no bearer token".into()))
    }

    pub async fn artifact_registry(
        &self,
    ) -> Result<&google_cloud_artifactregistry_v1::client::ArtifactRegistry, CloudError> {
        self.artifact_registry
            .get_or_try_init(|| async {
                let mut builder =
                    google_cloud_artifactregistry_v1::client::ArtifactRegistry::builder()
                        .with_credentials(self.credentials().await?);
                if let Some(endpoint) = &self.config.artifact_registry_endpoint {
                    builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
                }
                builder.build().await.map_err(|e| CloudError::Transport {
                    call: "connecting to the Artifact Registry API".into(),
                    message: e.to_string(),
                })
            })
            .await
    }
}

/// gcloud's application default credentials file.
fn well_known_file() -> Option<std::path::PathBuf> {
    let config = match std::env::var_os("CLOUDSDK_CONFIG") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?).join(".config/gcloud"),
    };
    Some(config.join("application_default_credentials.json"))
}

/// The key file application default credentials would use, if any.
fn adc_file() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        return Some(path.into());
    }
    well_known_file().filter(|p| p.exists())
}

fn metadata_host() -> String {
    std::env::var("GCE_METADATA_HOST").unwrap_or_else(|_| "metadata.google.internal".into())
}

/// Whether a metadata server accepts connections (a Google Cloud machine).
async fn metadata_server_answers() -> bool {
    let host = metadata_host();
    let address = if host.contains(':') {
        host
    } else {
        format!("{host}:80")
    };
    matches!(
        tokio::time::timeout(
            std::time::Duration::from_secs(2),
            tokio::net::TcpStream::connect(address)
        )
        .await,
        Ok(Ok(_))
    )
}

/// A fixed OAuth access token (`access_token`, GOOGLE_OAUTH_ACCESS_TOKEN),
/// as a header value marked sensitive (never printed).
struct AccessToken(HeaderValue);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken((sensitive))")
    }
}

impl CredentialsProvider for AccessToken {
    async fn headers(
        &self,
        _: Extensions,
    ) -> Result<CacheableResource<HeaderMap>, google_cloud_auth::errors::CredentialsError> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, self.0.clone());
        Ok(CacheableResource::New {
            entity_tag: EntityTag::new(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        Some("googleapis.com".into())
    }
}

/// A google-cloud-rust error as ours, naming the call.
pub fn api_error(call: &str, e: google_cloud_gax::error::Error) -> CloudError {
    let retry_after = e
        .http_headers()
        .and_then(|h| h.get(http::header::RETRY_AFTER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    // No token could be had: retrying will not produce one.
    if e.is_authentication() {
        return CloudError::Credentials {
            call: call.to_string(),
            message: e.to_string(),
        };
    }
    match (e.http_status_code(), e.status()) {
        (code, Some(status)) => CloudError::Api {
            call: call.to_string(),
            code: code.unwrap_or(500),
            status: status.code.name().to_string(),
            message: status.message.clone(),
            retry_after,
        },
        (Some(code), None) => CloudError::Api {
            call: call.to_string(),
            code,
            status: String::new(),
            message: e.to_string(),
            retry_after,
        },
        (None, None) => CloudError::Transport {
            call: call.to_string(),
            message: e.to_string(),
        },
    }
}
