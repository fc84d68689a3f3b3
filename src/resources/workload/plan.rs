//! Planning what a workload's apply will observe: its rollout's `status`,
//! its load balancer's address and, released by color, the live color and
//! how long the previous one stays.

use super::schema::schema;
use super::{Model, workload};
use crate::framework::field::{Field, Whole};
use crate::framework::value::Value;
use crate::framework::view;

/// What planning the observed attributes reads of a prior state or a
/// plan, with the schema's defaults.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ObservedView {
    kind: Field<String>,
    wait_for_rollout: Field<bool>,
    service: Field<ServiceView>,
    ingress: Field<Whole>,
    rollout: Field<Whole>,
    status: Field<String>,
    load_balancer_ip: Field<String>,
    ingress_address: Field<String>,
    live_color: Field<String>,
    previous_kept_until: Field<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ServiceView {
    r#type: Field<String>,
}

impl ObservedView {
    /// `value` (a state or a plan) as the view; all unknown when it does
    /// not fit, so that nothing is planned from it.
    fn of(value: &Value) -> ObservedView {
        view::effective(&schema().block, value).unwrap_or_else(|_| ObservedView {
            kind: Field::Unknown,
            wait_for_rollout: Field::Unknown,
            service: Field::Unknown,
            ingress: Field::Unknown,
            rollout: Field::Unknown,
            ..ObservedView::default()
        })
    }

    /// Whether it has a LoadBalancer service; `None` while unknown.
    fn has_load_balancer(&self) -> Option<bool> {
        match &self.service {
            Field::Null => Some(false),
            Field::Unknown => None,
            Field::Known(service) => match &service.r#type {
                Field::Unknown => None,
                t => Some(t.as_str() == Some("LoadBalancer")),
            },
        }
    }

    /// Whether it is released by color (a Deployment with a `rollout`);
    /// `None` while unknown.
    fn by_color(&self) -> Option<bool> {
        match (&self.rollout, &self.kind) {
            (Field::Null, _) => Some(false),
            (Field::Unknown, _) | (_, Field::Unknown) => None,
            (Field::Known(_), kind) => Some(kind.as_str() == Some("Deployment")),
        }
    }
}

/// Whether the workload has a LoadBalancer service; `None` while unknown.
pub(super) fn has_load_balancer(planned: &Value) -> Option<bool> {
    ObservedView::of(planned).has_load_balancer()
}

/// Plans `status`, `load_balancer_ip` and `ingress_address` of an update:
/// each keeps its prior value unless the objects it comes from change. A
/// new rollout's outcome, and a changed load balancer's address, are known
/// only after apply; a workload without a LoadBalancer service (or an
/// Ingress) has no such address at all.
pub(super) fn plan_observed(prior: &Value, planned: &mut Value) {
    let (was, now) = (ObservedView::of(prior), ObservedView::of(planned));
    let mut after = planned.clone();
    after.set_attr("status", was.status.clone().into());
    after.set_attr("load_balancer_ip", was.load_balancer_ip.clone().into());
    after.set_attr("ingress_address", was.ingress_address.clone().into());
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
    let settled = matches!(was.status.as_str(), Some("Available" | "Complete"))
        || now.wait_for_rollout.known() == Some(&false);
    let status = match (was.kind.as_str(), now.kind.as_str()) {
        (Some(a), Some(b)) if a == b && unchanged(b) && settled => was.status.clone().into(),
        _ => Value::Unknown,
    };
    planned.set_attr("status", status);
    let address = match now.has_load_balancer() {
        Some(false) => Value::Null,
        Some(true) if unchanged("Service") => was.load_balancer_ip.clone().into(),
        _ => Value::Unknown,
    };
    planned.set_attr("load_balancer_ip", address);
    let ingress = match now.ingress {
        Field::Null => Value::Null,
        Field::Unknown => Value::Unknown,
        Field::Known(_) if unchanged("Ingress") => was.ingress_address.clone().into(),
        Field::Known(_) => Value::Unknown,
    };
    planned.set_attr("ingress_address", ingress);
    plan_release(prior, planned, unchanged("Deployment"));
}

/// A blue-green workload's colors: the live one changes with a new pod
/// template (or a new strategy), and the previous one is scaled down by the
/// first apply after its time, which the plan shows.
pub(super) fn plan_release(prior: &Value, planned: &mut Value, same_deployment: bool) {
    let (was, now) = (ObservedView::of(prior), ObservedView::of(planned));
    let (live, kept) = match (was.by_color(), now.by_color()) {
        (_, Some(false)) => (Value::Null, Value::Null),
        (Some(true), Some(true)) if same_deployment => {
            let until = was.previous_kept_until.clone();
            let passed = until
                .as_str()
                .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .is_some_and(|t| t <= k8s_openapi::jiff::Timestamp::now());
            let kept = if passed { Value::Null } else { until.into() };
            (was.live_color.clone().into(), kept)
        }
        _ => (Value::Unknown, Value::Unknown),
    };
    planned.set_attr("live_color", live);
    planned.set_attr("previous_kept_until", kept);
}
