//! Kubernetes access through kube-rs: pure builders for the objects Genesis
//! manages, and the thin layer that applies them with server-side apply
//! (field manager `genesis`) and reads them back.

pub mod addon_objects;
pub mod addons;
pub mod cluster_autoscaler;
pub mod compute_classes;
pub mod ingress_classes;
pub mod listings;
pub mod load_balancer_controller;
pub mod namespaces;
pub mod node_pools;
pub mod owned;
pub mod secret_stores;
pub mod storage_classes;
pub mod workload;

use std::sync::Arc;

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
    /// Genesis will not make the change (an object it does not own)
    #[error("{0}")]
    Refused(String),
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

/// Kubernetes calls are retried like cloud calls: every call Genesis makes
/// (reads, server-side applies, deletes) is safe to repeat.
impl crate::cloud::retry::Transient for kube::Error {
    fn is_retryable(&self) -> bool {
        match self {
            kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
            kube::Error::HyperError(_) | kube::Error::Service(_) => true,
            _ => false,
        }
    }

    /// The `retryAfterSeconds` a 429 or 503 Status carries.
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            kube::Error::Api(status) => status
                .details
                .as_ref()
                .map(|d| std::time::Duration::from_secs(d.retry_after_seconds.into()))
                .filter(|d| !d.is_zero()),
            _ => None,
        }
    }
}

/// How long one Kubernetes call is retried through transient errors. Every
/// call Genesis makes to a cluster is safe to repeat (reads, server-side
/// applies, deletes), so a storm of 503s and dropped connections is ridden
/// out rather than failed after a handful of attempts.
const CALL_BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs a Kubernetes call with retries (see `Transient`), for up to
/// `CALL_BUDGET` or until `stop`.
pub async fn retried<T, F, Fut>(
    stop: &tokio_util::sync::CancellationToken,
    call: F,
) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let backoff = crate::cloud::retry::Backoff {
        max: std::time::Duration::from_secs(5),
        ..crate::cloud::retry::Backoff::until(std::time::Instant::now() + CALL_BUDGET)
    };
    crate::cloud::retry::retry(backoff, stop, call).await
}

/// The object `name` through `api` (retried), as JSON; `None` when there
/// is none.
pub async fn get_json(
    api: &kube::Api<kube::api::DynamicObject>,
    name: &str,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<Option<Json>, kube::Error> {
    let found = retried(stop, || api.get_opt(name)).await?;
    Ok(found.map(|o| serde_json::to_value(&o).unwrap_or_default()))
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
    client(config)
}

/// A client from a kubeconfig file and context (its current context when
/// none is given).
pub async fn connect_kubeconfig(
    path: &str,
    context: Option<&str>,
) -> Result<kube::Client, KubeError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| KubeError::Connect(format!("{path}: {e}")))?;
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| KubeError::Connect(format!("{path}: {e}")))?;
    client(config)
}

/// The client for `config`, naming itself in the User-Agent (the API
/// server's audit log records it) as kubectl does. kube-rs's own retries
/// are off: every call goes through `retried`, which keeps to the
/// operation's deadline and to Terraform's stop, where kube-rs would back
/// off for minutes on a 503; and an application's own 503, answered
/// through the pod proxy to a release's analysis, is its answer.
fn client(mut config: kube::Config) -> Result<kube::Client, KubeError> {
    config.default_retry = false;
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_static(concat!(
            "terraform-provider-genesis/",
            env!("CARGO_PKG_VERSION")
        )),
    ));
    let builder = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| KubeError::Connect(e.to_string()))?;
    Ok(builder.with_layer(&listings::CountWrites).build())
}

/// A key (which may hold a credential) as a hash.
fn key_hash(key: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// The Kubernetes clients this provider process has made, one per cluster
/// endpoint, CA and credential (or kubeconfig and context), so that the
/// workloads of one cluster share its connections instead of each opening
/// its own.
#[derive(Default)]
pub struct Clients {
    made: std::sync::Mutex<std::collections::HashMap<u64, kube::Client>>,
    /// Whether a cluster serves an add-on's APIs, asked once.
    served: std::sync::Mutex<std::collections::HashMap<(u64, addons::Addon), Asked<bool>>>,
    /// A cluster's IngressClasses and StorageClasses, as last listed.
    classes: std::sync::Mutex<std::collections::HashMap<(u64, ClassKind), Asked<Classes>>>,
    /// Lists that serve many workloads' reads at once.
    listings: Arc<listings::Listings>,
}

/// An answer asked for once, by whoever needs it first.
type Asked<T> = Arc<tokio::sync::OnceCell<T>>;

/// The classes of one kind a cluster has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classes {
    pub names: Vec<String>,
    /// The one objects that name no class get (the newest, if several).
    pub default: Option<String>,
}

impl Classes {
    /// The classes of these objects, the default marked by `annotation`
    /// (the newest of several, as Kubernetes picks).
    pub fn of<'a>(
        objects: impl Iterator<Item = &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
        annotation: &str,
    ) -> Classes {
        let mut names = Vec::new();
        let mut default = None;
        for meta in objects.filter(|m| m.deletion_timestamp.is_none()) {
            let Some(name) = meta.name.clone() else {
                continue;
            };
            let marked = meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(annotation))
                .is_some_and(|v| v == "true");
            if marked {
                let created = meta.creation_timestamp.as_ref().map(|t| t.0);
                if default.as_ref().is_none_or(|(at, _)| created >= *at) {
                    default = Some((created, name.clone()));
                }
            }
            names.push(name);
        }
        Classes {
            names,
            default: default.map(|(_, name)| name),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

/// Which classes: of Ingresses, or of volumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClassKind {
    Ingress,
    Storage,
}

impl Clients {
    /// The client for `key` (hashed; it may hold a credential), made by
    /// `make` the first time.
    pub async fn get_or_make<F, Fut>(
        &self,
        key: &[&str],
        make: F,
    ) -> Result<kube::Client, KubeError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<kube::Client, KubeError>>,
    {
        let key = key_hash(key);
        if let Some(client) = self.lock().get(&key) {
            return Ok(client.clone());
        }
        let client = make().await?;
        self.lock().insert(key, client.clone());
        Ok(client)
    }

    /// Whether the cluster `key` names serves `addon`'s APIs, asked once
    /// per process however many workloads' plans ask at once: the first
    /// to need it fills it.
    pub fn served(&self, key: &[&str], addon: addons::Addon) -> Asked<bool> {
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        served.entry((key_hash(key), addon)).or_default().clone()
    }

    /// The classes of `kind` of the cluster `key` names, listed once per
    /// process however many workloads ask.
    pub async fn classes(
        &self,
        key: &[&str],
        kind: ClassKind,
        client: &kube::Client,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<Classes, KubeError> {
        let listed = {
            let mut classes = self.classes.lock().unwrap_or_else(|e| e.into_inner());
            classes.entry((key_hash(key), kind)).or_default().clone()
        };
        let classes = listed
            .get_or_try_init(|| async {
                match kind {
                    ClassKind::Ingress => ingress_classes::classes(client, stop).await,
                    ClassKind::Storage => storage_classes::classes(client, stop).await,
                }
            })
            .await?;
        Ok(classes.clone())
    }

    /// The reads of the cluster `key` names, shared by its workloads'
    /// refreshes.
    pub fn shared(&self, key: &[&str]) -> listings::ClusterListings {
        listings::ClusterListings {
            listings: self.listings.clone(),
            cluster: key_hash(key),
        }
    }

    /// The client for a cluster's endpoint, CA and token.
    pub async fn for_cluster(
        &self,
        endpoint: &str,
        ca_base64: &str,
        token: &str,
    ) -> Result<kube::Client, KubeError> {
        self.get_or_make(&[endpoint, ca_base64, token], || {
            connect(endpoint, ca_base64, token)
        })
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, kube::Client>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }
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
