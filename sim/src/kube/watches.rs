//! Watches (`?watch=1`) and field selectors, as `kubectl rollout status`,
//! `kubectl wait` and informers use them: a stream of newline-separated
//! JSON events (ADDED, MODIFIED, DELETED, and the BOOKMARK that ends the
//! initial events when they are asked for), from a resource version on,
//! until `timeoutSeconds`. The store keeps no change log but its latest
//! deletions, so the stream replays those after the version asked for and
//! then compares listings on a short period; every change between two
//! looks is seen, intermediate states of one object may be folded into
//! one event.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::{Value as Json, json};

use super::objects::KubeError;
use super::resources::ResourceType;
use crate::Sim;

/// How often a watch looks for changes.
const PERIOD: Duration = Duration::from_millis(100);

/// The API server's default (`--min-request-timeout`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// A field selector's requirements: `metadata.name=x,metadata.namespace!=y`.
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(selector: Option<&str>) -> Result<FieldSelector, KubeError> {
        let mut requirements = Vec::new();
        for part in selector.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(KubeError::bad_request(format!(
                    "invalid field selector: {part:?}"
                )));
            };
            if !matches!(field, "metadata.name" | "metadata.namespace") {
                return Err(KubeError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            requirements.push((field.to_string(), equal, value.to_string()));
        }
        Ok(FieldSelector(requirements))
    }

    pub fn matches(&self, object: &Json) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let actual = match field.as_str() {
                "metadata.name" => &object["metadata"]["name"],
                _ => &object["metadata"]["namespace"],
            };
            (actual.as_str().unwrap_or_default() == value) == *equal
        })
    }
}

/// What a watch is on.
pub struct Request {
    pub cluster: String,
    pub rt: &'static ResourceType,
    pub namespace: String,
    pub labels: Option<String>,
    pub fields: FieldSelector,
    /// `resourceVersion`: changes after it; none or "0": every object first.
    pub since: Option<u64>,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
}

struct Stream {
    sim: Arc<Sim>,
    request: Request,
    /// What the watcher has been told of: key -> (resource version, object).
    known: BTreeMap<String, (u64, Json)>,
    pending: VecDeque<Json>,
    deadline: Instant,
    first: bool,
}

fn version_of(object: &Json) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn key_of(object: &Json) -> String {
    format!(
        "{}/{}",
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

impl Stream {
    /// The objects watched, as they are now, and the store's version; None
    /// when the cluster is gone.
    fn look(&self) -> Option<Result<(Vec<Json>, u64), KubeError>> {
        let world = self.sim.world();
        let kube = world.kube.get(&self.request.cluster)?;
        let r = &self.request;
        Some(
            kube.objects
                .list(r.rt, &r.namespace, r.labels.as_deref())
                .map(|list| {
                    let version = list["metadata"]["resourceVersion"]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let items = list["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|o| r.fields.matches(o))
                        .cloned()
                        .collect();
                    (items, version)
                }),
        )
    }

    /// The objects watched that were deleted after `since`, as they went.
    fn deleted_since(&self, since: u64) -> Option<Result<Vec<Json>, KubeError>> {
        let world = self.sim.world();
        let kube = world.kube.get(&self.request.cluster)?;
        let r = &self.request;
        Some(
            kube.objects
                .deleted_since(r.rt, &r.namespace, r.labels.as_deref(), since)
                .map(|gone| gone.into_iter().filter(|o| r.fields.matches(o)).collect()),
        )
    }

    /// Ends the watch with an ERROR event carrying `e`'s Status, as the
    /// real server ends one.
    fn fail(&mut self, e: &KubeError) {
        self.pending
            .push_back(json!({"type": "ERROR", "object": e.status()}));
        self.deadline = Instant::now();
    }

    /// Queues the events between what was known and `now`.
    fn compare(&mut self, now: Vec<Json>) {
        let mut seen = BTreeMap::new();
        for object in now {
            let key = key_of(&object);
            let version = version_of(&object);
            match self.known.get(&key) {
                None => self.pending.push_back(event("ADDED", &object)),
                Some((v, _)) if *v != version => self.pending.push_back(event("MODIFIED", &object)),
                Some(_) => {}
            }
            seen.insert(key, (version, object));
        }
        for (key, (_, object)) in &self.known {
            if !seen.contains_key(key) {
                self.pending.push_back(event("DELETED", object));
            }
        }
        self.known = seen;
    }

    /// The first look: what the watcher already has is known, the rest is
    /// sent (all of it, without a resource version to start from).
    fn start(&mut self, now: Vec<Json>, version: u64) {
        if let Some(since) = self.request.since {
            for object in &now {
                if version_of(object) <= since {
                    self.known
                        .insert(key_of(object), (version_of(object), object.clone()));
                }
            }
        }
        self.compare(now);
        if self.request.send_initial_events {
            let rt = self.request.rt;
            self.pending.push_back(json!({
                "type": "BOOKMARK",
                "object": {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version(),
                    "metadata": {
                        "resourceVersion": version.to_string(),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                },
            }));
        }
    }

    async fn next(mut self) -> Option<(Bytes, Stream)> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                let mut line = serde_json::to_vec(&e).unwrap_or_default();
                line.push(b'\n');
                return Some((Bytes::from(line), self));
            }
            if Instant::now() >= self.deadline {
                return None;
            }
            if !self.first {
                tokio::time::sleep(PERIOD).await;
            }
            let (now, version) = match self.look()? {
                Ok(found) => found,
                Err(e) => {
                    self.fail(&e);
                    continue;
                }
            };
            if std::mem::take(&mut self.first) {
                // Deletions after the version asked for come first, as the
                // real server replays them from its watch cache.
                if let Some(since) = self.request.since {
                    match self.deleted_since(since)? {
                        Ok(gone) => self
                            .pending
                            .extend(gone.iter().map(|o| event("DELETED", o))),
                        Err(e) => {
                            self.fail(&e);
                            continue;
                        }
                    }
                }
                self.start(now, version);
            } else {
                self.compare(now);
            }
        }
    }
}

fn event(kind: &str, object: &Json) -> Json {
    json!({"type": kind, "object": object})
}

/// The streaming response of a watch.
pub fn respond(sim: Arc<Sim>, request: Request) -> Response {
    let deadline = Instant::now() + request.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let stream = Stream {
        sim,
        request,
        known: BTreeMap::new(),
        pending: VecDeque::new(),
        deadline,
        first: true,
    };
    let body =
        futures_util::stream::unfold(stream, Stream::next).map(Ok::<_, std::convert::Infallible>);
    (
        [("content-type", "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}
