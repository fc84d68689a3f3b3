//! Planning what a workload's apply will observe: its rollout's `status`,
//! its load balancer's address and, released by color, the live color and
//! how long the previous one stays.

use super::{Model, workload};
use crate::framework::path::AttributePath;
use crate::framework::value::Value;

/// Whether the workload has a LoadBalancer service; `None` while unknown.
pub(super) fn has_load_balancer(planned: &Value) -> Option<bool> {
    match planned.get("service") {
        Value::Null => Some(false),
        Value::Unknown => None,
        service => match service.get("type") {
            Value::Unknown => None,
            t => Some(t.as_str() == Some("LoadBalancer")),
        },
    }
}

/// Plans `status`, `load_balancer_ip` and `ingress_address` of an update:
/// each keeps its prior value unless the objects it comes from change. A
/// new rollout's outcome, and a changed load balancer's address, are known
/// only after apply; a workload without a LoadBalancer service (or an
/// Ingress) has no such address at all.
pub(super) fn plan_observed(prior: &Value, planned: &mut Value) {
    let mut after = planned.clone();
    for observed in ["status", "load_balancer_ip", "ingress_address"] {
        after.set_attr(observed, prior.get(observed).clone());
    }
    let rendered = |v: &Value| {
        Model::decode(v)
            .map(|m| workload::colors::comparable(&m.spec))
            .ok()
    };
    let (before, after) = match (after.is_wholly_known(), rendered(prior), rendered(&after)) {
        (true, Some(before), Some(after)) => (before, after),
        _ => (Vec::new(), Vec::new()),
    };
    let unchanged = |kind: &str| {
        let find =
            |objects: &[serde_json::Value]| objects.iter().find(|o| o["kind"] == kind).cloned();
        !after.is_empty() && find(&before) == find(&after)
    };
    // Only a finished rollout stays as it was: one still going (or failed)
    // is waited on again by the apply, and may end otherwise. An apply
    // that does not wait has nothing to wait on again: no perpetual diff.
    let settled = matches!(prior.get("status").as_str(), Some("Available" | "Complete"))
        || planned.get("wait_for_rollout").as_bool() == Some(false);
    let controller = |v: &Value| v.get("kind").as_str().unwrap_or("Deployment").to_string();
    let status =
        if unchanged(&controller(planned)) && controller(prior) == controller(planned) && settled {
            prior.get("status").clone()
        } else {
            Value::Unknown
        };
    planned.set_attr("status", status);
    let address = match has_load_balancer(planned) {
        Some(false) => Value::Null,
        Some(true) if unchanged("Service") => prior.get("load_balancer_ip").clone(),
        _ => Value::Unknown,
    };
    planned.set_attr("load_balancer_ip", address);
    let ingress = match planned.at(&AttributePath::attr("ingress")) {
        Value::Null => Value::Null,
        Value::Unknown => Value::Unknown,
        _ if unchanged("Ingress") => prior.at(&AttributePath::attr("ingress_address")).clone(),
        _ => Value::Unknown,
    };
    planned.set_attr("ingress_address", ingress);
    plan_release(prior, planned, unchanged("Deployment"));
}

/// A blue-green workload's colors: the live one changes with a new pod
/// template (or a new strategy), and the previous one is scaled down by the
/// first apply after its time, which the plan shows.
pub(super) fn plan_release(prior: &Value, planned: &mut Value, same_deployment: bool) {
    let by_color = |v: &Value| {
        v.get("rollout").is_set() && v.get("kind").as_str().is_none_or(|k| k == "Deployment")
    };
    let (live, kept) = match (by_color(prior), by_color(planned)) {
        (_, false) if planned.get("rollout").is_wholly_known() => (Value::Null, Value::Null),
        (true, true) if same_deployment => {
            let until = prior.get("previous_kept_until");
            let passed = until
                .as_str()
                .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .is_some_and(|t| t <= k8s_openapi::jiff::Timestamp::now());
            let kept = if passed { Value::Null } else { until.clone() };
            (prior.get("live_color").clone(), kept)
        }
        _ => (Value::Unknown, Value::Unknown),
    };
    planned.set_attr("live_color", live);
    planned.set_attr("previous_kept_until", kept);
}
