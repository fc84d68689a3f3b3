//! genesis-sim: a local GKE, Artifact Registry and (soon) Kubernetes API
//! simulator with fault injection, for the provider's tests and for users
//! who want to run Terraform against a platform without a cloud account.
//!
//! Each face listens on its own loopback port: the Google faces follow the
//! discovery documents in `api/` (copies of `../shared/api`), and the
//! control API under `/_sim/` resets, dumps and perturbs the state.

pub mod artifact_registry;
mod control;
pub mod discovery;
pub mod eks;
pub mod faults;
pub mod gke;
pub mod google;
pub mod iam;
pub mod kube;
mod snapshot;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value as Json, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::discovery::Api;
use crate::faults::Faults;
use crate::google::{ApiError, bearer};

/// Google's discovery documents, the contract of the Google faces.
pub const GKE_DISCOVERY: &str = include_str!("../api/container.v1.json");
pub const ARTIFACT_REGISTRY_DISCOVERY: &str = include_str!("../api/artifactregistry.v1.json");
pub const IAM_DISCOVERY: &str = include_str!("../api/iam.v1.json");

/// The EKS service model, the contract of the EKS face.
pub const EKS_MODEL: &str = include_str!("../api/eks-2017-11-01.service-2.json");

/// The token accepted when no `--token` is given. Development only.
pub const DEV_TOKEN: &str = "genesis-sim-dev-token";

/// How to run the simulator.
#[derive(Clone, Debug)]
pub struct Config {
    /// First port; the faces take consecutive ports. 0 picks free ports.
    pub port: u16,
    /// Bearer tokens accepted on every face.
    pub tokens: Vec<String>,
    /// How long long-running operations take.
    pub operation_time: Duration,
    /// Seed for fault rates, so runs are reproducible.
    pub seed: u64,
    /// How long a deployment rollout takes to become available.
    pub rollout_time: Duration,
    /// Images containing one of these never become ready.
    pub failing_images: Vec<String>,
    /// Pods with images containing one of these run and turn ready, but
    /// answer every HTTP request through the API server's pod proxy with
    /// 503 (a version whose own health check fails).
    pub unhealthy_images: Vec<String>,
    /// Upper bound on deployments' progress deadlines.
    pub progress_deadline_cap: Option<Duration>,
    /// Where to keep the simulated state across restarts.
    pub state_file: Option<std::path::PathBuf>,
    /// AWS access keys and their secrets: EKS tokens signed with them are
    /// accepted by the EKS clusters' API servers.
    pub aws_credentials: Vec<(String, String)>,
    /// A real Kubernetes API server that every GKE cluster publishes as its
    /// own (endpoint `HOST:PORT` and CA PEM) instead of a simulated one:
    /// the control plane simulated, the API server real. It must accept
    /// the simulator's token.
    pub kube_upstream: Option<KubeUpstream>,
}

/// See [`Config::kube_upstream`].
#[derive(Clone, Debug)]
pub struct KubeUpstream {
    pub endpoint: String,
    pub ca_pem: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            tokens: vec![DEV_TOKEN.to_string()],
            operation_time: Duration::ZERO,
            seed: 1,
            rollout_time: Duration::ZERO,
            failing_images: vec!["does-not-exist".to_string(), ":broken".to_string()],
            unhealthy_images: vec![":unhealthy".to_string()],
            progress_deadline_cap: None,
            state_file: None,
            aws_credentials: vec![("testing".to_string(), "testing".to_string())],
            kube_upstream: None,
        }
    }
}

/// The simulated world.
#[derive(Debug, Default, Serialize)]
pub struct World {
    pub gke: gke::Gke,
    pub artifact_registry: artifact_registry::ArtifactRegistry,
    /// Service accounts and their IAM policies.
    pub iam: iam::Iam,
    pub eks: eks::Eks,
    /// Each cluster's Kubernetes API objects, by cluster name (the ARN of
    /// an EKS cluster).
    pub kube: BTreeMap<String, kube::KubeCluster>,
    /// API calls served, by method id.
    pub requests: BTreeMap<String, u64>,
    /// The User-Agent headers of those calls, with how many sent each
    /// (`x-amz-user-agent` on the EKS face, where the AWS SDKs put theirs).
    pub user_agents: BTreeMap<String, u64>,
    /// How far tests moved the simulator's time ahead of the wall clock.
    pub clock_offset_seconds: i64,
    /// The values in the cloud's secret stores (Secret Manager, Secrets
    /// Manager, Vault alike), by key (`key#version` for a version other
    /// than the latest), which External Secrets Operator controllers read.
    /// Only tests put them there; never dumped.
    #[serde(skip)]
    pub secret_values: BTreeMap<String, String>,
    #[serde(skip)]
    next_id: u64,
}

impl World {
    fn advance(&mut self) {
        let now = Instant::now();
        self.gke.advance(now);
        self.artifact_registry.advance(now);
        self.eks.advance(now);
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Counts one API call, and the client that made it.
    pub(crate) fn served(&mut self, method_id: String, headers: &HeaderMap, agent_header: &str) {
        *self.requests.entry(method_id).or_default() += 1;
        let agent = headers
            .get(agent_header)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)");
        *self.user_agents.entry(agent.to_string()).or_default() += 1;
    }
}

/// The shared simulator behind every face.
pub struct Sim {
    config: Config,
    gke_api: Api,
    artifact_registry_api: Api,
    iam_api: Api,
    eks_model: eks::model::Model,
    world: Mutex<World>,
    faults: Mutex<Faults>,
    urls: Mutex<Urls>,
    /// Stop signals of the running Kubernetes API servers, by cluster.
    kube_servers: Mutex<std::collections::HashMap<String, watch::Sender<bool>>>,
}

/// Where each face listens, as printed in the ready line.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Urls {
    pub gke: String,
    pub artifact_registry: String,
    pub iam: String,
    pub eks: String,
    pub control: String,
    pub token: String,
}

impl Sim {
    pub fn new(config: Config) -> Arc<Sim> {
        Arc::new(Sim {
            gke_api: Api::parse(GKE_DISCOVERY),
            artifact_registry_api: Api::parse(ARTIFACT_REGISTRY_DISCOVERY),
            iam_api: Api::parse(IAM_DISCOVERY),
            eks_model: eks::model::Model::parse(EKS_MODEL),
            faults: Mutex::new(Faults::with_seed(config.seed)),
            world: Mutex::new(World::default()),
            urls: Mutex::new(Urls::default()),
            kube_servers: Mutex::new(std::collections::HashMap::new()),
            config,
        })
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The whole simulated state as JSON, with operations finished up to now.
    pub fn dump(&self) -> Json {
        let mut world = self.world();
        world.advance();
        serde_json::to_value(&*world).unwrap_or(Json::Null)
    }

    /// The fault rules still in force (`GET /_sim/faults`); a rule with a
    /// count leaves once it has hit that many requests.
    /// Adds a fault rule, as `POST /_sim/faults` does.
    pub fn add_fault(&self, rule: faults::FaultRule) {
        self.faults().rules.push(rule);
    }

    /// Removes every fault, as `DELETE /_sim/faults` does.
    pub fn clear_faults(&self) {
        self.faults().clear();
    }

    pub fn fault_rules(&self) -> Json {
        serde_json::to_value(&*self.faults()).unwrap_or(Json::Null)
    }

    pub fn reset(&self) {
        *self.world() = World::default();
        self.faults().clear();
        for (_, stop) in self
            .kube_servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            let _ = stop.send(true);
        }
    }

    /// Puts a value in the cloud's secret stores (`POST /_sim/secrets`),
    /// under `key`, or `key#version` for a version other than the latest.
    pub fn put_secret(&self, key: &str, value: &str) {
        self.world()
            .secret_values
            .insert(key.to_string(), value.to_string());
    }

    /// Forgets the API call counts (`DELETE /_sim/requests`).
    pub fn reset_requests(&self) {
        let mut world = self.world();
        world.requests.clear();
        world.user_agents.clear();
    }

    /// Brings the world up to date: finishes due operations, gives every
    /// cluster its Kubernetes API server (published once the cluster runs),
    /// and stops the servers of deleted clusters. The controllers run on
    /// the tick.
    pub fn reconcile(self: &Arc<Self>) {
        let mut world = self.world();
        world.advance();
        let mut servers = self.kube_servers.lock().unwrap_or_else(|e| e.into_inner());
        let names: Vec<String> = world
            .gke
            .clusters
            .keys()
            .chain(world.eks.clusters.keys())
            .cloned()
            .collect();
        for name in &names {
            if let (Some(upstream), Some(cluster)) =
                (&self.config.kube_upstream, world.gke.clusters.get_mut(name))
            {
                let serving = matches!(
                    cluster["status"].as_str(),
                    Some("RUNNING" | "RECONCILING" | "DEGRADED")
                );
                if serving && cluster["endpoint"].is_null() {
                    cluster["endpoint"] = json!(upstream.endpoint);
                    cluster["masterAuth"]["clusterCaCertificate"] =
                        json!(base64::engine::general_purpose::STANDARD.encode(&upstream.ca_pem));
                }
                continue;
            }
            if !world.kube.contains_key(name) {
                match kube::prepare(name) {
                    Ok(mut started) => {
                        let eks = world.eks.clusters.contains_key(name);
                        kube::storage_classes::install(&mut started.cluster.objects, eks);
                        let (stop, stopped) = watch::channel(false);
                        kube::serve(
                            self.clone(),
                            name.clone(),
                            started.listener,
                            started.tls,
                            stopped,
                        );
                        servers.insert(name.clone(), stop);
                        world.kube.insert(name.clone(), started.cluster);
                    }
                    Err(e) => {
                        tracing::error!(cluster = %name, error = %e, "cannot start the cluster's API server")
                    }
                }
            }
            let World { gke, eks, kube, .. } = &mut *world;
            if let (Some(cluster), Some(k)) = (eks.clusters.get_mut(name), kube.get(name)) {
                let serving = matches!(cluster["status"].as_str(), Some("ACTIVE" | "UPDATING"));
                if serving && cluster["endpoint"].is_null() {
                    cluster["endpoint"] = json!(format!("https://{}", k.endpoint));
                    cluster["certificateAuthority"]["data"] = json!(k.ca_base64());
                }
            }
            if let (Some(cluster), Some(k)) = (gke.clusters.get_mut(name), kube.get(name)) {
                let serving = matches!(
                    cluster["status"].as_str(),
                    Some("RUNNING" | "RECONCILING" | "DEGRADED")
                );
                if serving && cluster["endpoint"].is_null() {
                    cluster["endpoint"] = json!(k.endpoint);
                    cluster["masterAuth"]["clusterCaCertificate"] = json!(k.ca_base64());
                }
            }
        }
        let gone: Vec<String> = world
            .kube
            .keys()
            .filter(|k| {
                !world.gke.clusters.contains_key(*k) && !world.eks.clusters.contains_key(*k)
            })
            .cloned()
            .collect();
        for name in gone {
            world.kube.remove(&name);
            if let Some(stop) = servers.remove(&name) {
                let _ = stop.send(true);
            }
        }
    }

    /// The simulator's time: the wall clock, plus what tests advanced it
    /// by (`POST /_sim/clock`), which CronJobs' schedules follow.
    pub fn now(&self) -> jiff::Timestamp {
        let ahead = jiff::SignedDuration::from_secs(self.world().clock_offset_seconds);
        jiff::Timestamp::now()
            .checked_add(ahead)
            .unwrap_or(jiff::Timestamp::MAX)
    }

    /// Moves the simulator's time forward.
    pub fn advance_clock(&self, seconds: i64) -> jiff::Timestamp {
        self.world().clock_offset_seconds += seconds.max(0);
        self.now()
    }

    /// One tick of the simulated controllers, in every cluster.
    fn tick(self: &Arc<Self>) {
        self.reconcile();
        let now = self.now();
        let mut world = self.world();
        let world = &mut *world;
        let platforms: std::collections::BTreeMap<String, kube::platform::Platform> = world
            .kube
            .keys()
            .map(|c| (c.clone(), kube::platform::of(world, c)))
            .collect();
        let mut settings = kube::controllers::Settings {
            rollout_time: self.config.rollout_time,
            failing_images: self.config.failing_images.clone(),
            progress_deadline_cap: self.config.progress_deadline_cap,
            now,
            secret_values: &world.secret_values,
            platform: kube::platform::Platform::default(),
        };
        for (cluster, k) in world.kube.iter_mut() {
            settings.platform = platforms.get(cluster).cloned().unwrap_or_default();
            kube::controllers::run(&mut k.objects, &mut k.memory, &settings);
        }
    }
}

/// A running simulator; dropping it does not stop it, `shutdown` does.
pub struct Running {
    pub urls: Urls,
    pub sim: Arc<Sim>,
    stop: watch::Sender<bool>,
}

impl Running {
    /// Writes the state file now, when there is one (before exiting).
    pub fn save_state(&self) {
        if let Some(path) = &self.sim.config.state_file {
            snapshot::save(&self.sim, path, &mut String::new());
        }
    }

    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

/// Which Google API a face serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Face {
    Gke,
    ArtifactRegistry,
    Iam,
}

impl Face {
    fn name(self) -> &'static str {
        match self {
            Face::Gke => "gke",
            Face::ArtifactRegistry => "artifactregistry",
            Face::Iam => "iam",
        }
    }
}

/// Starts every face on loopback and returns their addresses.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let sim = Sim::new(config.clone());
    let (stop, stopped) = watch::channel(false);
    let port = |offset: u16| {
        if config.port == 0 {
            0
        } else {
            config.port + offset
        }
    };
    let gke = bind(port(0)).await?;
    let registry = bind(port(1)).await?;
    let control_listener = bind(port(2)).await?;
    let eks_listener = bind(port(3)).await?;
    let iam_listener = bind(port(4)).await?;
    let url = |l: &TcpListener| l.local_addr().map(|a: SocketAddr| format!("http://{a}"));
    let urls = Urls {
        gke: url(&gke)?,
        artifact_registry: url(&registry)?,
        iam: url(&iam_listener)?,
        eks: url(&eks_listener)?,
        control: url(&control_listener)?,
        token: config.tokens.first().cloned().unwrap_or_default(),
    };
    *sim.urls.lock().unwrap_or_else(|e| e.into_inner()) = urls.clone();
    serve(gke, google_router(sim.clone(), Face::Gke), stopped.clone());
    serve(
        registry,
        google_router(sim.clone(), Face::ArtifactRegistry),
        stopped.clone(),
    );
    serve(
        iam_listener,
        google_router(sim.clone(), Face::Iam),
        stopped.clone(),
    );
    serve(
        eks_listener,
        Router::new().fallback(eks_request).with_state(sim.clone()),
        stopped.clone(),
    );
    serve(
        control_listener,
        control::router(sim.clone()),
        stopped.clone(),
    );
    if let Some(path) = &config.state_file
        && path.exists()
    {
        let text = std::fs::read_to_string(path)?;
        let snapshot: snapshot::Snapshot = serde_json::from_str(&text).map_err(|e| {
            std::io::Error::other(format!(
                "{}: not a genesis-sim state file: {e}",
                path.display()
            ))
        })?;
        snapshot::restore(&sim, snapshot)?;
    }
    // The simulated controllers run on a tick, like the real ones.
    let ticking = sim.clone();
    let mut stopped = stopped;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut saved = String::new();
        let mut ticks = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    ticking.tick();
                    ticks += 1;
                    if ticks.is_multiple_of(10) && let Some(path) = &ticking.config.state_file {
                        snapshot::save(&ticking, path, &mut saved);
                    }
                }
                _ = stopped.wait_for(|s| *s) => {
                    ticking.reset();
                    break;
                }
            }
        }
    });
    Ok(Running { urls, sim, stop })
}

async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
}

fn serve(listener: TcpListener, router: Router, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        use axum::serve::ListenerExt;
        // Without it, delayed ACKs hold responses back by 40 ms.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
    });
}

fn google_router(sim: Arc<Sim>, face: Face) -> Router {
    Router::new()
        .fallback(google_request)
        .with_state((sim, face))
}

/// Serves one request on a Google face: route by the discovery document,
/// authenticate, apply faults, check the body, then run the method.
async fn google_request(
    AxumState((sim, face)): AxumState<(Arc<Sim>, Face)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let api = match face {
        Face::Gke => &sim.gke_api,
        Face::ArtifactRegistry => &sim.artifact_registry_api,
        Face::Iam => &sim.iam_api,
    };
    let Some(route) = api.route(method.as_str(), uri.path()) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"code": 404, "message": format!("The requested URL {} was not found on this server.", uri.path()), "status": "NOT_FOUND"}})),
        )
            .into_response();
    };
    let method_id = route.method.id.clone();
    sim.world()
        .served(method_id.clone(), &headers, "user-agent");
    if !bearer(&headers).is_some_and(|t| sim.config.tokens.iter().any(|ok| ok == t)) {
        return ApiError::unauthenticated().into_response();
    }
    let effect = sim.faults().on_request(face.name(), &method_id);
    if effect.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(effect.latency_ms)).await;
    }
    if let Some(status) = effect.status {
        return ApiError::injected(status, effect.retry_after).into_response();
    }
    let mut json_body: Json = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return ApiError::invalid_argument(format!("Invalid JSON payload received. {e}"))
                    .into_response();
            }
        }
    };
    if let Some(schema) = &route.method.request {
        let violations = api.check(schema, &json_body);
        if !violations.is_empty() {
            return ApiError::bad_body(violations).into_response();
        }
        api.normalize(schema, &mut json_body);
    }
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
                .map(|(k, v)| (k.to_string(), v.replace("%2C", ",").replace("%2c", ",")))
                .collect()
        })
        .unwrap_or_default();
    let result = {
        let mut world = sim.world();
        world.advance();
        let next_id = world.next_id();
        let mut outcome = || sim.faults().next_outcome();
        match face {
            Face::Gke => {
                let base_url = sim
                    .urls
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .gke
                    .clone();
                let mut ctx = gke::Context {
                    method: &method_id,
                    params: &route.params,
                    query: &query,
                    body: json_body,
                    base_url: &base_url,
                    operation_time: sim.config.operation_time,
                    outcome: &mut outcome,
                    next_id,
                };
                world.gke.handle(&mut ctx)
            }
            Face::ArtifactRegistry => {
                let mut ctx = artifact_registry::Context {
                    method: &method_id,
                    params: &route.params,
                    query: &query,
                    body: json_body,
                    operation_time: sim.config.operation_time,
                    outcome: &mut outcome,
                    next_id,
                };
                world.artifact_registry.handle(&mut ctx)
            }
            Face::Iam => {
                let mut ctx = iam::Context {
                    method: &method_id,
                    params: &route.params,
                    body: json_body,
                    next_id,
                };
                world.iam.handle(&mut ctx)
            }
        }
    };
    sim.reconcile();
    let result = match (face, result) {
        // A read of a cluster that has just become RUNNING shows its endpoint.
        (Face::Gke, Ok(v)) if method_id.ends_with("clusters.get") => {
            let name = format!(
                "projects/{}/locations/{}/clusters/{}",
                route.params.get("projectsId").map_or("", String::as_str),
                route.params.get("locationsId").map_or("", String::as_str),
                route.params.get("clustersId").map_or("", String::as_str)
            );
            let world = sim.world();
            Ok(world
                .gke
                .clusters
                .get(&name)
                .map_or(v, |c| gke::public(c.clone())))
        }
        (_, r) => r,
    };
    tracing::debug!(face = face.name(), method = %method_id, ok = result.is_ok(), "served");
    let response = match result {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => e.into_response(),
    };
    if effect.drop_connection {
        return cut_short(response).await;
    }
    response
}

/// The response with only its first half sent before the connection is
/// closed: the request took effect, but the client never learns how.
pub(crate) async fn cut_short(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection dropped by genesis-sim",
        )),
    ];
    let mut response =
        Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)));
    if let Ok(len) = bytes.len().to_string().parse() {
        response.headers_mut().insert("content-length", len);
    }
    response
}

/// The AWS region a SigV4 request was signed for (its credential scope).
fn signed_region(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")?
        .split(", ")
        .find_map(|p| p.strip_prefix("Credential="))?;
    let mut scope = credential.split('/');
    let (_key, _day, region) = (scope.next()?, scope.next()?, scope.next()?);
    Some(region.to_string())
}

/// An error in AWS's JSON shape: the status from the service model, the
/// type in `x-amzn-ErrorType` and the message in the body.
fn aws_error(sim: &Sim, kind: &str, message: &str) -> Response {
    let status = if sim.eks_model.is_error(kind) {
        sim.eks_model.error_status(kind)
    } else {
        match kind {
            "ThrottlingException" => 429,
            "NotImplementedException" => 501,
            "MissingAuthenticationTokenException" => 403,
            _ => 400,
        }
    };
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({"message": message})),
    )
        .into_response();
    if let Ok(v) = kind.parse() {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response
}

/// Serves one request on the EKS face: route by the service model, check
/// the signature's presence and region, apply faults, check the body, then
/// run the operation.
async fn eks_request(
    AxumState(sim): AxumState<Arc<Sim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(route) = sim.eks_model.route(method.as_str(), uri.path()) else {
        return aws_error(
            &sim,
            "NotImplementedException",
            &format!("No operation for {method} {}", uri.path()),
        );
    };
    let operation = route.operation.name.clone();
    sim.world()
        .served(format!("eks.{operation}"), &headers, "x-amz-user-agent");
    let Some(region) = signed_region(&headers) else {
        return aws_error(
            &sim,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
    };
    let effect = sim.faults().on_request("eks", &operation);
    if effect.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(effect.latency_ms)).await;
    }
    if let Some(status) = effect.status {
        let (kind, message) = match status {
            429 => (
                "ThrottlingException",
                "Rate exceeded (injected by genesis-sim)",
            ),
            409 => (
                "ResourceInUseException",
                "An update is in progress (injected by genesis-sim)",
            ),
            503 => (
                "ServiceUnavailableException",
                "Service unavailable (injected by genesis-sim)",
            ),
            _ => (
                "ServerException",
                "Internal error (injected by genesis-sim)",
            ),
        };
        return aws_error(&sim, kind, message);
    }
    let json_body: Json = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return aws_error(
                    &sim,
                    "InvalidParameterException",
                    &format!("The request body is not JSON: {e}"),
                );
            }
        }
    };
    if let Some(shape) = &route.operation.input {
        let problems = sim.eks_model.check(shape, &json_body);
        if !problems.is_empty() {
            return aws_error(&sim, "InvalidParameterException", &problems.join("; "));
        }
    }
    let query = eks::model::query(uri.query());
    let result = {
        let mut world = sim.world();
        world.advance();
        let next_id = world.next_id();
        let mut outcome = || sim.faults().next_outcome();
        let mut ctx = eks::Context {
            operation: &operation,
            params: &route.params,
            query: &query,
            body: json_body,
            region,
            operation_time: sim.config.operation_time,
            outcome: &mut outcome,
            next_id,
        };
        world.eks.handle(&mut ctx)
    };
    sim.reconcile();
    // A read of a cluster that has just become ACTIVE shows its endpoint.
    let result = match result {
        Ok(mut v) if v["cluster"]["arn"].is_string() => {
            let arn = v["cluster"]["arn"].as_str().unwrap_or_default().to_string();
            if let Some(c) = sim.world().eks.clusters.get(&arn) {
                v["cluster"] = c.clone();
            }
            Ok(v)
        }
        other => other,
    };
    tracing::debug!(face = "eks", %operation, ok = result.is_ok(), "served");
    let response = match result {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => aws_error(&sim, e.kind, &e.message),
    };
    if effect.drop_connection {
        return cut_short(response).await;
    }
    response
}
