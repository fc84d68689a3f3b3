//! Kubernetes access through kube-rs: pure builders for the objects Genesis
//! manages, and the thin layer that applies them with server-side apply
//! (field manager `genesis`) and reads them back.

pub mod namespaces;
pub mod workload;

use serde_json::Value as Json;

/// The field manager of everything Genesis applies.
pub const FIELD_MANAGER: &str = "genesis";

/// The label marking objects Genesis manages.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "genesis");

/// Why a Kubernetes call failed.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// the client could not be set up
    #[error("connecting to the cluster's Kubernetes API: {0}")]
    Connect(String),
    /// the API server refused a call
    #[error("{call}: {message} ({code})")]
    Api {
        call: String,
        code: u16,
        message: String,
    },
    /// the connection failed
    #[error("{call}: {message}")]
    Transport { call: String, message: String },
}

impl KubeError {
    pub fn from_kube(call: &str, e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => KubeError::Api {
                call: call.to_string(),
                code: status.code,
                message: status.message,
            },
            other => KubeError::Transport {
                call: call.to_string(),
                message: other.to_string(),
            },
        }
    }
}

/// A client for a cluster's API: its endpoint (`host` or `host:port`), its
/// CA (base64 PEM, as GKE gives it) and a bearer token.
pub async fn connect(
    endpoint: &str,
    ca_base64: &str,
    token: &str,
) -> Result<kube::Client, KubeError> {
    let server = if endpoint.starts_with("https://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    };
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": {"server": server, "certificate-authority-data": ca_base64}}],
        "users": [{"name": "genesis", "user": {"token": token}}],
        "contexts": [{"name": "genesis", "context": {"cluster": "cluster", "user": "genesis"}}],
        "current-context": "genesis",
    });
    let kubeconfig: kube::config::Kubeconfig =
        serde_json::from_value(kubeconfig).map_err(|e| KubeError::Connect(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| KubeError::Connect(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| KubeError::Connect(e.to_string()))
}

/// Labels Genesis puts on every object it manages, merged over the user's.
pub fn managed_labels(user: &std::collections::BTreeMap<String, String>) -> Json {
    let mut labels: serde_json::Map<String, Json> = user
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    labels.insert(MANAGED_BY.0.into(), Json::String(MANAGED_BY.1.into()));
    Json::Object(labels)
}
