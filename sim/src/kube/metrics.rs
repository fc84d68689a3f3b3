//! Resource metrics (`metrics.k8s.io/v1beta1`), which HorizontalPodAutoscalers
//! scale on. GKE serves them built in; an EKS cluster only through the
//! metrics-server add-on, whose APIService is registered once the add-on is
//! created and answers once its pods run (the add-on ACTIVE). Without them
//! the autoscaler controller reports `ScalingActive` False, as the real one
//! does, and `kubectl get hpa` shows `<unknown>` targets.

use serde_json::{Value as Json, json};

use crate::World;

/// Whether a cluster serves resource metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metrics {
    Served,
    /// Registered, not answering yet: discovery answers 503.
    Starting,
    /// Not registered: discovery answers 404.
    Absent,
}

/// What serves metrics in the cluster the simulator keys by `cluster` (an
/// EKS cluster's ARN, a GKE cluster's name).
pub fn of(world: &World, cluster: &str) -> Metrics {
    if !cluster.starts_with("arn:aws:eks:") {
        return Metrics::Served;
    }
    match world
        .eks
        .addons
        .get(cluster)
        .and_then(|a| a.get("metrics-server"))
    {
        Some(addon) if addon["status"] == "ACTIVE" => Metrics::Served,
        Some(_) => Metrics::Starting,
        None => Metrics::Absent,
    }
}

/// The group's resource list, as metrics-server serves it.
pub fn resource_list() -> Json {
    let resource = |name: &str, kind: &str, namespaced: bool| json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["get", "list"]});
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "metrics.k8s.io/v1beta1",
        "resources": [resource("nodes", "NodeMetrics", false), resource("pods", "PodMetrics", true)],
    })
}

/// The utilisation every simulated pod reports, in percent of its request.
const UTILIZATION: i64 = 35;

/// An autoscaler's `currentMetrics` while metrics are served: each
/// resource metric at the simulated utilisation.
pub fn current(spec: &Json) -> Json {
    let metrics: Vec<Json> = spec["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["type"] == "Resource")
        .map(|m| {
            json!({"type": "Resource", "resource": {
                "name": m["resource"]["name"],
                "current": {"averageUtilization": UTILIZATION},
            }})
        })
        .collect();
    if metrics.is_empty() {
        Json::Null
    } else {
        json!(metrics)
    }
}

/// The autoscaler's conditions, as the controller words them: able to
/// scale, and scaling on a metric or failing to get one.
pub fn conditions(
    spec: &Json,
    served: bool,
) -> Vec<(&'static str, &'static str, &'static str, String)> {
    let first = spec["metrics"][0]["resource"]["name"]
        .as_str()
        .unwrap_or("cpu");
    let able = (
        "AbleToScale",
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".to_string(),
    );
    let active = if served {
        (
            "ScalingActive",
            "True",
            "ValidMetricFound",
            format!(
                "the HPA was able to successfully calculate a replica count from {first} resource utilization (percentage of request)"
            ),
        )
    } else {
        (
            "ScalingActive",
            "False",
            "FailedGetResourceMetric",
            format!(
                "the HPA was unable to compute the replica count: failed to get {first} utilization: unable to get metrics for resource {first}: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
            ),
        )
    };
    vec![able, active]
}

/// `conditions` as status entries, keeping the transition time of those
/// whose status did not change (so a steady autoscaler is not rewritten).
pub fn condition_entries(
    wanted: Vec<(&'static str, &'static str, &'static str, String)>,
    previous: &Json,
    now: &str,
) -> Json {
    let entries: Vec<Json> = wanted
        .into_iter()
        .map(|(kind, status, reason, message)| {
            let before = previous
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == kind && c["status"] == status);
            let since = before
                .and_then(|c| c["lastTransitionTime"].as_str())
                .unwrap_or(now);
            json!({"type": kind, "status": status, "lastTransitionTime": since, "reason": reason, "message": message})
        })
        .collect();
    json!(entries)
}

/// The TARGETS column of `kubectl get hpa`, as the API server prints it:
/// `cpu: 35%/70%`, `<unknown>` for a current value not known, at most two
/// metrics then `+ N more...`.
pub fn targets(hpa: &Json) -> String {
    let spec = hpa["spec"]["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if spec.is_empty() {
        return "<none>".into();
    }
    let current = hpa["status"]["currentMetrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let list: Vec<String> = spec
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if m["type"] != "Resource" {
                return "<unknown>/<unknown>".to_string();
            }
            let name = m["resource"]["name"].as_str().unwrap_or_default();
            let target = &m["resource"]["target"];
            let now = &current
                .get(i)
                .map_or(Json::Null, |c| c["resource"]["current"].clone());
            match target["averageValue"].as_str() {
                Some(value) => {
                    let at = now["averageValue"].as_str().unwrap_or("<unknown>");
                    format!("{name}: {at}/{value}")
                }
                None => {
                    let at = now["averageUtilization"]
                        .as_i64()
                        .map_or("<unknown>".to_string(), |u| format!("{u}%"));
                    let wanted = target["averageUtilization"]
                        .as_i64()
                        .map_or("<auto>".to_string(), |u| format!("{u}%"));
                    format!("{name}: {at}/{wanted}")
                }
            }
        })
        .collect();
    if list.len() > 2 {
        format!("{} + {} more...", list[..2].join(", "), list.len() - 2)
    } else {
        list.join(", ")
    }
}
