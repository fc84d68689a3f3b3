//! The control API, `/_sim/...` on its own port: reset, a dump of the whole
//! simulated state, fault injection, request counts and the clients'
//! User-Agents, and changes made "behind Terraform's back" to test drift
//! detection.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::Sim;
use crate::faults::FaultRule;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/reset", post(reset))
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/requests", get(requests).delete(clear_requests))
        .route("/_sim/user-agents", get(user_agents))
        .route("/_sim/clock", get(clock).post(advance_clock))
        .route("/_sim/secrets", post(put_secret))
        .route(
            "/_sim/objects",
            axum::routing::patch(patch_object).delete(delete_object),
        )
        .route(
            "/_sim/kube",
            axum::routing::patch(patch_kube).delete(delete_kube),
        )
        .with_state(sim)
}

async fn state(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(sim.dump()).into_response()
}

async fn reset(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(sim.fault_rules()).into_response()
}

/// Either a rule, or counters for the next operations.
#[derive(Deserialize)]
#[serde(untagged)]
enum FaultRequest {
    // A rule refuses unknown fields, so operation counters fall through.
    Rule(FaultRule),
    Operations {
        #[serde(default)]
        fail_operations: u32,
        #[serde(default)]
        stuck_operations: u32,
    },
}

async fn add_fault(State(sim): State<Arc<Sim>>, body: axum::Json<Json>) -> Response {
    let request: FaultRequest = match serde_json::from_value(body.0) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("invalid fault: {e}")).into_response(),
    };
    let mut faults = sim.faults();
    match request {
        FaultRequest::Operations {
            fail_operations,
            stuck_operations,
        } => {
            faults.fail_operations += fail_operations;
            faults.stuck_operations += stuck_operations;
        }
        FaultRequest::Rule(rule) => {
            if rule.api.is_empty() {
                return (
                    StatusCode::BAD_REQUEST,
                    "a fault rule needs \"api\": gke, artifactregistry, kube or *",
                )
                    .into_response();
            }
            faults.rules.push(rule);
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.faults().clear();
    StatusCode::NO_CONTENT
}

async fn requests(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(json!(sim.world().requests)).into_response()
}

async fn user_agents(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(json!(sim.world().user_agents)).into_response()
}

async fn clock(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(json!({"now": sim.now().to_string()})).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

/// Moves the simulator's time forward (CronJobs run on it): `{"seconds": N}`.
async fn advance_clock(State(sim): State<Arc<Sim>>, body: axum::Json<Advance>) -> Response {
    let now = sim.advance_clock(body.seconds);
    axum::Json(json!({"now": now.to_string()})).into_response()
}

#[derive(Deserialize)]
struct SecretValue {
    key: String,
    value: String,
}

/// Puts a value in the cloud's secret stores, which the simulated External
/// Secrets Operator reads: `{"key": "db-password", "value": "..."}` (the
/// key `db-password#2` for version 2). The value is never shown again.
async fn put_secret(State(sim): State<Arc<Sim>>, body: axum::Json<SecretValue>) -> StatusCode {
    sim.put_secret(&body.key, &body.value);
    StatusCode::NO_CONTENT
}

async fn clear_requests(State(sim): State<Arc<Sim>>) -> StatusCode {
    let mut world = sim.world();
    world.requests.clear();
    world.user_agents.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct ObjectName {
    name: String,
}

/// Finds a stored object by its full API name.
fn with_object<T>(sim: &Sim, name: &str, f: impl FnOnce(Option<&mut Json>) -> T) -> T {
    let mut world = sim.world();
    world.advance();
    if let Some((cluster, pool)) = name.split_once("/nodePools/") {
        let pool_ref = world
            .gke
            .clusters
            .get_mut(cluster)
            .and_then(|c| c["nodePools"].as_array_mut())
            .and_then(|pools| pools.iter_mut().find(|p| p["name"] == pool));
        return f(pool_ref);
    }
    if name.contains("/clusters/") {
        return f(world.gke.clusters.get_mut(name));
    }
    if name.starts_with("arn:aws:eks:") {
        return f(world.eks.object(name));
    }
    f(world.artifact_registry.repositories.get_mut(name))
}

/// Applies a JSON merge patch (RFC 7386) to a stored object.
async fn patch_object(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<ObjectName>,
    patch: axum::Json<Json>,
) -> Response {
    with_object(&sim, &q.name, |object| match object {
        Some(object) => {
            merge(object, &patch.0);
            axum::Json(object.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, format!("no object named {}", q.name)).into_response(),
    })
}

/// Removes a stored object without an operation, as if someone deleted it
/// outside Terraform.
async fn delete_object(State(sim): State<Arc<Sim>>, Query(q): Query<ObjectName>) -> Response {
    let mut world = sim.world();
    let removed = if let Some((cluster, pool)) = q.name.split_once("/nodePools/") {
        world
            .gke
            .clusters
            .get_mut(cluster)
            .and_then(|c| c["nodePools"].as_array_mut())
            .map(|pools| {
                let before = pools.len();
                pools.retain(|p| p["name"] != pool);
                before != pools.len()
            })
            .unwrap_or(false)
    } else if q.name.contains("/clusters/") {
        world.gke.clusters.remove(&q.name).is_some()
    } else if q.name.starts_with("arn:aws:eks:") {
        world.eks.remove(&q.name)
    } else {
        world
            .artifact_registry
            .repositories
            .remove(&q.name)
            .is_some()
    };
    if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, format!("no object named {}", q.name)).into_response()
    }
}

fn merge(target: &mut Json, patch: &Json) {
    match (target, patch) {
        (Json::Object(t), Json::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Json::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[derive(Deserialize)]
struct KubeObject {
    /// The cluster's full name, `projects/P/locations/L/clusters/C`.
    cluster: String,
    /// The object's API path, e.g. `/apis/apps/v1/namespaces/apps/deployments/api`.
    path: String,
}

/// Runs `change` on the object a `/_sim/kube` request names.
fn with_kube_object(
    sim: &Sim,
    q: &KubeObject,
    change: impl FnOnce(
        &mut crate::kube::objects::Objects,
        &'static crate::kube::resources::ResourceType,
        &str,
        &str,
        Option<&str>,
    ) -> Result<Response, crate::kube::objects::KubeError>,
) -> Response {
    let mut world = sim.world();
    let Some(kube) = world.kube.get_mut(&q.cluster) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no cluster named {}", q.cluster),
        )
            .into_response();
    };
    let custom = crate::kube::custom::types(&kube.objects.objects);
    let Some(target) = crate::kube::parse_target(&q.path, &custom) else {
        return (
            StatusCode::BAD_REQUEST,
            format!("{} is not an object path", q.path),
        )
            .into_response();
    };
    let Some(name) = target.name else {
        return (StatusCode::BAD_REQUEST, "the path must name an object").into_response();
    };
    change(
        &mut kube.objects,
        target.rt,
        target.namespace,
        name,
        target.subresource,
    )
    .unwrap_or_else(|e| {
        (
            StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(e.status()),
        )
            .into_response()
    })
}

/// Changes a Kubernetes object as someone with kubectl would (a merge patch
/// under the field manager `behind-your-back`), to test drift detection.
async fn patch_kube(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<KubeObject>,
    patch: axum::Json<Json>,
) -> Response {
    with_kube_object(&sim, &q, |objects, rt, ns, name, subresource| {
        let write = crate::kube::objects::Write {
            manager: "behind-your-back",
            force: false,
            subresource,
        };
        objects
            .merge_patch(rt, ns, name, &patch.0, &write)
            .map(|o| axum::Json(o).into_response())
    })
}

/// Deletes a Kubernetes object behind the applier's back.
async fn delete_kube(State(sim): State<Arc<Sim>>, Query(q): Query<KubeObject>) -> Response {
    with_kube_object(&sim, &q, |objects, rt, ns, name, _| {
        objects
            .delete(rt, ns, name, None, &serde_json::Value::Null)
            .map(|_| StatusCode::NO_CONTENT.into_response())
    })
}
