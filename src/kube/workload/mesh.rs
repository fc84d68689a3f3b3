//! Istio's objects for a workload in the mesh (`mesh`): a
//! PeerAuthentication for mutual TLS, a VirtualService for the service's
//! timeout and retries, and a DestinationRule ejecting failing pods, each
//! named after the workload. Typed here (k8s-openapi has no Istio types),
//! as much of Istio's v1 API as Genesis sets, and read back into the same
//! `Mesh`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::NAME_LABEL;
use super::colors::{COLOR_LABEL, Color};
use crate::resources::workload::{Mesh, OutlierDetection, Retries, WorkloadSpec};

/// The Istio API groups a meshed workload needs, with their version: the
/// cluster must serve them (Istio's CustomResourceDefinitions).
pub const GROUPS: [(&str, &str); 2] = crate::kube::addons::ISTIO;

/// The kinds, for reading and deleting: (kind, group, version, plural).
pub const KINDS: [(&str, &str, &str, &str); 3] = [
    (
        "PeerAuthentication",
        "security.istio.io",
        "v1",
        "peerauthentications",
    ),
    (
        "VirtualService",
        "networking.istio.io",
        "v1",
        "virtualservices",
    ),
    (
        "DestinationRule",
        "networking.istio.io",
        "v1",
        "destinationrules",
    ),
];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct PeerAuthenticationSpec {
    #[serde(default)]
    selector: Selector,
    #[serde(default)]
    mtls: Mtls,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Mtls {
    mode: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct VirtualServiceSpec {
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    http: Vec<HttpRoute>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct HttpRoute {
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<HttpRetry>,
    #[serde(default)]
    route: Vec<RouteDestination>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpRetry {
    attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_try_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_on: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct RouteDestination {
    destination: Destination,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Destination {
    host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subset: Option<String>,
}

/// A DestinationRule's subset: the pods of one color.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Subset {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DestinationRuleSpec {
    host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    traffic_policy: Option<TrafficPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    subsets: Vec<Subset>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrafficPolicy {
    outlier_detection: Option<Outliers>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outliers {
    #[serde(
        rename = "consecutive5xxErrors",
        skip_serializing_if = "Option::is_none"
    )]
    consecutive_5xx_errors: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_ejection_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_ejection_percent: Option<i64>,
}

/// The service's name inside the cluster: the mesh routes by it.
fn host(w: &WorkloadSpec) -> String {
    format!("{}.{}.svc.cluster.local", w.name, w.namespace)
}

fn object<S: Serialize>(kind: &str, group: &str, metadata: ObjectMeta, spec: S) -> Json {
    let version = GROUPS
        .iter()
        .find(|(g, _)| *g == group)
        .map_or("v1", |(_, v)| v);
    super::custom::object(&format!("{group}/{version}"), kind, metadata, spec)
}

/// The workload's Istio objects; `metadata` gives each its name and labels.
pub fn render(w: &WorkloadSpec, metadata: impl Fn(&str) -> ObjectMeta) -> Vec<Json> {
    let Some(mesh) = &w.mesh else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(mode) = &mesh.mtls {
        let spec = PeerAuthenticationSpec {
            selector: Selector {
                match_labels: [(NAME_LABEL.to_string(), w.name.clone())].into(),
            },
            mtls: Mtls {
                mode: Some(mode.clone()),
            },
        };
        out.push(object(
            "PeerAuthentication",
            "security.istio.io",
            metadata(&w.name),
            spec,
        ));
    }
    // A workload released by color is routed by the mesh: a subset per
    // color, all the traffic to one (the live one, once colored).
    let colors = w.releases_by_color();
    if mesh.timeout.is_some() || mesh.retries.is_some() || colors {
        let destination = |subset: Option<Color>, weight| RouteDestination {
            destination: Destination {
                host: host(w),
                subset: subset.map(|c| c.name().to_string()),
            },
            weight,
        };
        let route = if colors {
            vec![
                destination(Some(Color::Blue), Some(100)),
                destination(Some(Color::Green), Some(0)),
            ]
        } else {
            vec![destination(None, None)]
        };
        let spec = VirtualServiceSpec {
            hosts: vec![host(w)],
            http: vec![HttpRoute {
                timeout: mesh.timeout.clone(),
                retries: mesh.retries.as_ref().map(|r| HttpRetry {
                    attempts: r.attempts,
                    per_try_timeout: r.per_try_timeout.clone(),
                    retry_on: r.retry_on.clone(),
                }),
                route,
            }],
        };
        out.push(object(
            "VirtualService",
            "networking.istio.io",
            metadata(&w.name),
            spec,
        ));
    }
    if mesh.outlier_detection.is_some() || colors {
        let subsets = Color::BOTH
            .into_iter()
            .filter(|_| colors)
            .map(|c| Subset {
                name: c.name().to_string(),
                labels: [(COLOR_LABEL.to_string(), c.name().to_string())].into(),
            })
            .collect();
        let spec = DestinationRuleSpec {
            host: host(w),
            traffic_policy: mesh.outlier_detection.as_ref().map(|o| TrafficPolicy {
                outlier_detection: Some(Outliers {
                    consecutive_5xx_errors: o.consecutive_5xx_errors,
                    interval: o.interval.clone(),
                    base_ejection_time: o.base_ejection_time.clone(),
                    max_ejection_percent: o.max_ejection_percent,
                }),
            }),
            subsets,
        };
        out.push(object(
            "DestinationRule",
            "networking.istio.io",
            metadata(&w.name),
            spec,
        ));
    }
    out
}

/// A VirtualService rendered here with its colors' weights set.
pub fn weighted(virtual_service: &Json, weights: &[(Color, i64)]) -> Json {
    let mut vs = virtual_service.clone();
    for route in vs["spec"]["http"].as_array_mut().into_iter().flatten() {
        for to in route["route"].as_array_mut().into_iter().flatten() {
            let subset = to["destination"]["subset"].as_str().unwrap_or_default();
            if let Some((_, weight)) = weights.iter().find(|(c, _)| c.name() == subset) {
                to["weight"] = (*weight).into();
            }
        }
    }
    vs
}

/// The mesh settings the live objects (by kind) hold; `None` without any.
pub fn read(live: &BTreeMap<&str, Json>) -> Option<Mesh> {
    let peer = super::custom::spec::<PeerAuthenticationSpec>(live.get("PeerAuthentication"));
    let routes = super::custom::spec::<VirtualServiceSpec>(live.get("VirtualService"));
    let rule = super::custom::spec::<DestinationRuleSpec>(live.get("DestinationRule"));
    if peer.is_none() && routes.is_none() && rule.is_none() {
        return None;
    }
    let http = routes.and_then(|r| r.http.into_iter().next());
    Some(Mesh {
        mtls: peer.and_then(|p| p.mtls.mode),
        timeout: http.as_ref().and_then(|h| h.timeout.clone()),
        retries: http.and_then(|h| h.retries).map(|r| Retries {
            attempts: r.attempts,
            per_try_timeout: r.per_try_timeout,
            retry_on: r.retry_on,
        }),
        outlier_detection: rule
            .and_then(|r| r.traffic_policy?.outlier_detection)
            .map(|o| OutlierDetection {
                consecutive_5xx_errors: o.consecutive_5xx_errors,
                interval: o.interval,
                base_ejection_time: o.base_ejection_time,
                max_ejection_percent: o.max_ejection_percent,
            }),
    })
}
