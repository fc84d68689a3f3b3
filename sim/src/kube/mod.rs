//! The Kubernetes face: one API server per simulated cluster, on its own
//! loopback port, over TLS with the cluster's own CA, authenticating bearer
//! tokens. It answers as the recorded v1.36 server in
//! `../shared/kube/transcripts` does.

pub mod auto_mode;
pub mod claims;
pub mod compute_classes;
pub mod controllers;
pub mod cron_jobs;
pub mod custom;
pub mod defaults;
mod endpoint_slices;
mod external_secrets;
pub mod fields;
pub mod immutable;
mod ingresses;
pub mod jobs;
pub mod metrics;
pub mod objects;
pub mod openapi;
pub mod platform;
pub mod protobuf;
mod proxy;
pub mod quantity;
pub mod resources;
pub mod stateful_sets;
pub mod storage_classes;
pub mod table;
pub mod watches;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value as Json, json};
use tokio::sync::watch;

use crate::Sim;
use crate::google::bearer;
use objects::{KubeError, Objects, Write};

/// One simulated cluster's API server: its address, CA and objects.
#[derive(Debug, Serialize)]
pub struct KubeCluster {
    /// `127.0.0.1:PORT`, published as the cluster's `endpoint`.
    pub endpoint: String,
    /// The cluster CA in PEM, published base64-encoded as
    /// `masterAuth.clusterCaCertificate`.
    pub ca_pem: String,
    /// The CA's key, kept for restarts from a state file; never dumped.
    #[serde(skip)]
    pub ca_key_pem: String,
    pub objects: Objects,
    #[serde(skip)]
    pub memory: controllers::Memory,
}

/// A server being started: the listener is bound (so the endpoint is known)
/// and the TLS configuration ready.
pub struct Started {
    pub cluster: KubeCluster,
    pub listener: std::net::TcpListener,
    pub tls: Arc<rustls::ServerConfig>,
}

/// Binds a port and makes a CA and server certificate for a new cluster.
pub fn prepare(name: &str) -> std::io::Result<Started> {
    prepare_with(name, 0, None)
}

/// Binds `port` (0: any) and serves with the given CA (certificate and key
/// PEM), or a new one: a restored simulator keeps its clusters' endpoints
/// and CAs, so kubeconfigs written before a restart still work.
pub fn prepare_with(name: &str, port: u16, ca: Option<(&str, &str)>) -> std::io::Result<Started> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType,
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    listener.set_nonblocking(true)?;
    let endpoint = listener.local_addr()?.to_string();
    let err = |e: rcgen::Error| std::io::Error::other(e.to_string());
    let ca_key = match ca {
        Some((_, key_pem)) => KeyPair::from_pem(key_pem).map_err(err)?,
        None => KeyPair::generate().map_err(err)?,
    };
    let ca_key_pem = ca_key.serialize_pem();
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("genesis-sim CA for {name}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_pem = match ca {
        Some((cert_pem, _)) => cert_pem.to_string(),
        None => params.self_signed(&ca_key).map_err(err)?.pem(),
    };
    let ca_der = rustls::pki_types::pem::PemObject::from_pem_slice(ca_pem.as_bytes())
        .map(|c: rustls::pki_types::CertificateDer<'static>| c)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    // The same subject and key as the CA certificate, so the chain holds.
    let issuer = rcgen::Issuer::new(params, ca_key);
    let server_key = KeyPair::generate().map_err(err)?;
    let mut server = CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes".into(),
        "kubernetes.default".into(),
    ])
    .map_err(err)?;
    server
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    server
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let server_cert = server.signed_by(&server_key, &issuer).map_err(err)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone(), ca_der],
            rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Started {
        cluster: KubeCluster {
            endpoint,
            ca_pem,
            ca_key_pem,
            objects: Objects::default(),
            memory: controllers::Memory::default(),
        },
        listener,
        tls: Arc::new(tls),
    })
}

impl KubeCluster {
    pub fn ca_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }
}

/// Serves a cluster's API until `stop` says so.
pub fn serve(
    sim: Arc<Sim>,
    cluster: String,
    started_listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    mut stop: watch::Receiver<bool>,
) {
    let router = axum::Router::new()
        .fallback(request)
        .with_state((sim, cluster));
    tokio::spawn(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(started_listener) else {
            return;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => match accepted { Ok(c) => c, Err(_) => continue },
                _ = stop.wait_for(|s| *s) => break,
            };
            // Responses go out in several writes; without this, delayed
            // ACKs hold each one back by 40 ms.
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let io = hyper_util::rt::TokioIo::new(tls);
                let service = hyper_util::service::TowerToHyperService::new(router);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(io, service)
                .await;
            });
        }
    });
}

fn status_response(e: &KubeError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(e.status())).into_response()
}

/// The parts of a resource path.
pub(crate) struct Target<'a> {
    pub rt: &'static resources::ResourceType,
    pub namespace: &'a str,
    pub name: Option<&'a str>,
    pub subresource: Option<&'a str>,
}

/// The parts of a resource path; `custom` are the types the cluster's
/// CustomResourceDefinitions serve.
pub(crate) fn parse_target<'a>(
    path: &'a str,
    custom: &[&'static resources::ResourceType],
) -> Option<Target<'a>> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (*ns, more),
        _ => ("", rest),
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return None,
    };
    let rt = resources::find_in(custom, group, version, plural)?;
    // `/api/v1/namespaces/NAME` addresses a namespace itself.
    if rt.plural == "namespaces" && namespace.is_empty() {
        return Some(Target {
            rt,
            namespace: "",
            name,
            subresource: sub,
        });
    }
    if rt.namespaced == namespace.is_empty() && name.is_some() {
        return None;
    }
    if let Some(s) = sub
        && !rt.subresources.contains(&s)
    {
        return None;
    }
    Some(Target {
        rt,
        namespace,
        name,
        subresource: sub,
    })
}

fn query_map(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .map(|q| {
            q.split('&')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (k.to_string(), decode(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A query value: `+` is a space, then percent-decoding.
fn decode(s: &str) -> String {
    crate::discovery::percent_decode(&s.replace('+', " "))
}

/// The field manager of a write: `fieldManager`, else the client's
/// user agent up to the first '/', as the API server does.
fn manager<'a>(query: &'a BTreeMap<String, String>, headers: &'a HeaderMap) -> &'a str {
    if let Some(m) = query.get("fieldManager").filter(|m| !m.is_empty()) {
        return m;
    }
    headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
}

/// GKE clusters take the simulator's tokens; an EKS cluster takes only an
/// EKS token signed for it, as its authenticator does.
fn authenticated(sim: &Sim, cluster: &str, headers: &HeaderMap) -> bool {
    let Some(token) = bearer(headers) else {
        return false;
    };
    match cluster.strip_prefix("arn:aws:eks:") {
        Some(rest) => {
            let name = rest.rsplit('/').next().unwrap_or_default();
            match crate::eks::token::verify(
                token,
                name,
                &sim.config.aws_credentials,
                std::time::SystemTime::now(),
            ) {
                Ok(()) => true,
                Err(why) => {
                    tracing::info!(cluster = %name, %why, "refused an EKS token");
                    false
                }
            }
        }
        None => sim.config.tokens.iter().any(|ok| ok == token),
    }
}

async fn request(
    AxumState((sim, cluster)): AxumState<(Arc<Sim>, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authenticated(&sim, &cluster, &headers) {
        return status_response(&KubeError::unauthorized());
    }
    let path = uri.path();
    sim.world().served(
        format!("kube {} {}", method, path_kind(path)),
        &headers,
        "user-agent",
    );
    let effect = sim.faults().on_request(
        "kube",
        &format!("{} {}", method.as_str().to_lowercase(), path_kind(path)),
    );
    if effect.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effect.latency_ms)).await;
    }
    if let Some(code) = effect.status {
        // As the API server words them; a wait asked for is also in the
        // body, where clients such as kube-rs read it.
        let e = KubeError {
            code,
            reason: match code {
                429 => "TooManyRequests",
                503 => "ServiceUnavailable",
                504 => "Timeout",
                _ => "InternalError",
            },
            message: "fault injected by genesis-sim".into(),
            details: effect
                .retry_after
                .map_or(Json::Null, |s| json!({"retryAfterSeconds": s})),
        };
        let mut r = status_response(&e);
        if let Some(s) = effect.retry_after
            && let Ok(v) = s.to_string().parse()
        {
            r.headers_mut().insert("retry-after", v);
        }
        return r;
    }
    // What the cluster's CustomResourceDefinitions serve.
    let custom = sim
        .world()
        .kube
        .get(&cluster)
        .map(|k| custom::types(&k.objects.objects))
        .unwrap_or_default();
    // Discovery and OpenAPI.
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let wants_aggregated = accept.contains("as=APIGroupDiscoveryList");
    if method == Method::GET && path.trim_end_matches('/') == "/apis/metrics.k8s.io/v1beta1" {
        match metrics::of(&sim.world(), &cluster) {
            metrics::Metrics::Served => {
                return axum::Json(metrics::resource_list()).into_response();
            }
            metrics::Metrics::Starting => {
                return status_response(&KubeError {
                    code: 503,
                    reason: "ServiceUnavailable",
                    message: "the server is currently unable to handle the request".into(),
                    details: Json::Null,
                });
            }
            metrics::Metrics::Absent => {}
        }
    }
    let discovery = match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/version") => Some(resources::version()),
        ("GET", "/api") if wants_aggregated => {
            return (
                [(
                    "content-type",
                    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                )],
                axum::Json(resources::aggregated(&custom, true)),
            )
                .into_response();
        }
        ("GET", "/apis") if wants_aggregated => {
            return (
                [(
                    "content-type",
                    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                )],
                axum::Json(resources::aggregated(&custom, false)),
            )
                .into_response();
        }
        ("GET", "/api") => Some(resources::core_versions()),
        ("GET", "/apis") => Some(resources::groups(&custom)),
        ("GET", "/openapi/v3") => Some(openapi::index(&custom)),
        ("GET", p) if p.starts_with("/openapi/v3/") => {
            let path = &p["/openapi/v3/".len()..];
            if let Some(doc) = openapi::document(path) {
                return ([("content-type", "application/json")], doc).into_response();
            }
            let custom_doc = match path.split('/').collect::<Vec<_>>().as_slice() {
                ["apis", group, version] => sim
                    .world()
                    .kube
                    .get(&cluster)
                    .and_then(|k| custom::document(&k.objects.objects, group, version)),
                _ => None,
            };
            return match custom_doc {
                Some(doc) => axum::Json(doc).into_response(),
                None => status_response(&KubeError::path_not_found()),
            };
        }
        ("GET", p) => {
            let parts: Vec<&str> = p.trim_matches('/').split('/').collect();
            match parts.as_slice() {
                ["api", v] => resources::resource_list(&custom, "", v),
                ["apis", g, v] => resources::resource_list(&custom, g, v),
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(d) = discovery {
        return axum::Json(d).into_response();
    }
    if let Some(at) = proxy::target(path) {
        let found = sim.world().kube.get(&cluster).and_then(|k| {
            let pods = resources::find("", "v1", "pods")?;
            k.objects.get(pods, at.namespace, at.pod).ok()
        });
        return proxy::answer(found.as_ref(), &at, &sim.config.unhealthy_images);
    }
    let Some(target) = parse_target(path, &custom) else {
        return status_response(&KubeError::path_not_found());
    };
    let query = query_map(&uri);
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let parsed: Result<Json, KubeError> = if content_type.contains("protobuf") {
        protobuf::decode(&body, content_type)
    } else if content_type.contains("cbor") {
        // JSON (and YAML for apply) otherwise; clients fall back to JSON
        // when a server refuses other encodings with 415.
        Err(KubeError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/merge-patch+json, application/strategic-merge-patch+json; got {content_type}"
            ),
            details: Json::Null,
        })
    } else if body.is_empty() {
        Ok(Json::Null)
    } else if content_type.starts_with("application/apply-patch+yaml")
        || content_type.contains("yaml")
    {
        serde_yaml::from_slice::<Json>(&body)
            .map_err(|e| KubeError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| KubeError::bad_request(format!("error decoding JSON: {e}")))
    };
    let body = match parsed {
        Ok(b) => b,
        Err(e) => return status_response(&e),
    };
    let fields = match watches::FieldSelector::parse(query.get("fieldSelector").map(String::as_str))
    {
        Ok(f) => f,
        Err(e) => return status_response(&e),
    };
    let watching = query
        .get("watch")
        .is_some_and(|w| matches!(w.as_str(), "true" | "1"));
    if method == Method::GET && target.name.is_none() && watching {
        return watches::respond(
            sim.clone(),
            watches::Request {
                cluster: cluster.clone(),
                rt: target.rt,
                namespace: target.namespace.to_string(),
                labels: query.get("labelSelector").cloned(),
                fields,
                since: query
                    .get("resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .filter(|v| *v > 0),
                send_initial_events: query.get("sendInitialEvents").is_some_and(|v| v == "true"),
                timeout: query
                    .get("timeoutSeconds")
                    .and_then(|v| v.parse().ok())
                    .map(std::time::Duration::from_secs),
            },
        );
    }
    let write = Write {
        manager: manager(&query, &headers),
        force: query.get("force").is_some_and(|f| f == "true"),
        subresource: target.subresource,
    };
    let result: Result<(StatusCode, Json), KubeError> = {
        let mut world = sim.world();
        let Some(kube) = world.kube.get_mut(&cluster) else {
            return status_response(&KubeError::internal("the cluster is gone"));
        };
        let objects = &mut kube.objects;
        let rt = target.rt;
        let ns = target.namespace;
        match (method.as_str(), target.name, target.subresource) {
            ("GET", None, _) => objects
                .list(rt, ns, query.get("labelSelector").map(String::as_str))
                .map(|mut l| {
                    if let Some(items) = l["items"].as_array_mut() {
                        items.retain(|o| fields.matches(o));
                    }
                    (StatusCode::OK, l)
                }),
            ("GET", Some(name), Some("scale")) => objects
                .get(rt, ns, name)
                .map(|o| (StatusCode::OK, scale_of(&o))),
            ("GET", Some(name), _) => objects.get(rt, ns, name).map(|o| (StatusCode::OK, o)),
            ("POST", None, None) => objects
                .create(rt, ns, body, &write)
                .map(|o| (StatusCode::CREATED, o)),
            ("PUT", Some(name), Some("scale")) => set_scale(objects, rt, ns, name, &body, &write),
            ("PUT", Some(name), _) => objects
                .update(rt, ns, name, body, &write)
                .map(|o| (StatusCode::OK, o)),
            ("PATCH", Some(name), Some("scale")) => set_scale(objects, rt, ns, name, &body, &write),
            ("PATCH", Some(name), _) if content_type.starts_with("application/apply-patch") => {
                objects
                    .apply(rt, ns, name, body, &write)
                    .map(|(o, created)| {
                        (
                            if created {
                                StatusCode::CREATED
                            } else {
                                StatusCode::OK
                            },
                            o,
                        )
                    })
            }
            ("PATCH", Some(name), _)
                if content_type.starts_with("application/merge-patch")
                    || content_type.starts_with("application/strategic-merge-patch") =>
            {
                objects
                    .merge_patch(rt, ns, name, &body, &write)
                    .map(|o| (StatusCode::OK, o))
            }
            ("PATCH", Some(_), _) => Err(KubeError {
                code: 415,
                reason: "UnsupportedMediaType",
                message: format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got {content_type}"
                ),
                details: Json::Null,
            }),
            ("DELETE", Some(name), None) => {
                let propagation = query
                    .get("propagationPolicy")
                    .cloned()
                    .or_else(|| body["propagationPolicy"].as_str().map(str::to_string));
                objects
                    .delete(rt, ns, name, propagation.as_deref(), &body["preconditions"])
                    .map(|o| (StatusCode::OK, o))
            }
            _ => Err(KubeError {
                code: 405,
                reason: "MethodNotAllowed",
                message: "the server does not allow this method on the requested resource"
                    .to_string(),
                details: Json::Null,
            }),
        }
    };
    let response = match result {
        Ok((code, v))
            if method == Method::GET && target.subresource.is_none() && table::wanted(accept) =>
        {
            (code, axum::Json(table::of(target.rt, &v))).into_response()
        }
        Ok((code, v)) => (code, axum::Json(v)).into_response(),
        Err(e) => status_response(&e),
    };
    if effect.drop_connection {
        return crate::cut_short(response).await;
    }
    response
}

/// A short description of a path for fault rules and counters:
/// `deployments`, `deployments/scale`, `namespaces`...
fn path_kind(path: &str) -> String {
    if proxy::target(path).is_some() {
        return "pods/proxy".into();
    }
    match parse_target(path, &[]) {
        Some(t) => match t.subresource {
            Some(s) => format!("{}/{s}", t.rt.plural),
            None => t.rt.plural.to_string(),
        },
        // A custom resource's plural, from its path.
        None => match path
            .trim_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["apis", _, _, "namespaces", _, plural, ..] | ["apis", _, _, plural, ..]
                if *plural != "namespaces" =>
            {
                plural.to_string()
            }
            _ => "discovery".into(),
        },
    }
}

/// The autoscaling/v1 Scale view of a deployment.
fn scale_of(o: &Json) -> Json {
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": o["metadata"]["name"],
            "namespace": o["metadata"]["namespace"],
            "uid": o["metadata"]["uid"],
            "resourceVersion": o["metadata"]["resourceVersion"],
            "creationTimestamp": o["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": o["spec"]["replicas"]},
        "status": {
            "replicas": o["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": o["spec"]["selector"]["matchLabels"].as_object().map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(",")).unwrap_or_default(),
        },
    })
}

/// Writes `spec.replicas` through the scale subresource, owned by the
/// writer under subresource "scale".
fn set_scale(
    objects: &mut Objects,
    rt: &resources::ResourceType,
    ns: &str,
    name: &str,
    body: &Json,
    w: &Write<'_>,
) -> Result<(StatusCode, Json), KubeError> {
    let replicas = body["spec"]["replicas"].clone();
    if !replicas.is_i64() {
        return Err(KubeError::bad_request("spec.replicas must be an integer"));
    }
    let patch = json!({"spec": {"replicas": replicas}});
    let updated = objects.merge_patch(rt, ns, name, &patch, w)?;
    Ok((StatusCode::OK, scale_of(&updated)))
}
