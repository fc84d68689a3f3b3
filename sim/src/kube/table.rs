//! The Table view (`meta.k8s.io/v1`) that `kubectl get` asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`: the columns a
//! real API server prints for each kind (READY, UP-TO-DATE and AVAILABLE
//! for deployments, STATUS and RESTARTS for pods...), and NAME and AGE for
//! the rest. Rows carry the object's metadata, as a real server's do.

use serde_json::{Value as Json, json};

use super::resources::ResourceType;

/// Whether the client asked for a Table.
pub fn wanted(accept: &str) -> bool {
    accept.contains("as=Table") && accept.contains("g=meta.k8s.io")
}

/// One object, or a list, as a Table.
pub fn of(rt: &ResourceType, result: &Json) -> Json {
    let objects: Vec<&Json> = match result["items"].as_array() {
        Some(items) => items.iter().collect(),
        None => vec![result],
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let columns = columns(rt.kind);
    let rows: Vec<Json> = objects
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            cells.extend(cells_of(rt.kind, o));
            cells.push(json!(age(o, now)));
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                },
            })
        })
        .collect();
    let mut definitions = vec![column("Name", "string", "name")];
    definitions.extend(columns.iter().map(|(name, kind)| column(name, kind, "")));
    definitions.push(column("Age", "string", ""));
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": result["metadata"]["resourceVersion"]},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn column(name: &str, kind: &str, format: &str) -> Json {
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": 0})
}

/// The columns between NAME and AGE, by kind.
fn columns(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "Deployment" => &[
            ("Ready", "string"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
        ],
        "Pod" => &[
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "string"),
        ],
        "Service" => &[
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
        ],
        "HorizontalPodAutoscaler" => &[
            ("Reference", "string"),
            ("Targets", "string"),
            ("MinPods", "string"),
            ("MaxPods", "integer"),
            ("Replicas", "integer"),
        ],
        "Namespace" => &[("Status", "string")],
        "ConfigMap" => &[("Data", "integer")],
        "Secret" => &[("Type", "string"), ("Data", "integer")],
        "ServiceAccount" => &[("Secrets", "integer")],
        "Ingress" => &[
            ("Class", "string"),
            ("Hosts", "string"),
            ("Address", "string"),
            ("Ports", "string"),
        ],
        "PodDisruptionBudget" => &[
            ("Min Available", "string"),
            ("Max Unavailable", "string"),
            ("Allowed Disruptions", "integer"),
        ],
        "NetworkPolicy" => &[("Pod-Selector", "string")],
        _ => &[],
    }
}

fn cells_of(kind: &str, o: &Json) -> Vec<Json> {
    let status = &o["status"];
    let count = |v: &Json| v.as_i64().unwrap_or(0);
    match kind {
        "Deployment" => vec![
            json!(format!(
                "{}/{}",
                count(&status["readyReplicas"]),
                count(&o["spec"]["replicas"])
            )),
            json!(count(&status["updatedReplicas"])),
            json!(count(&status["availableReplicas"])),
        ],
        "Pod" => {
            let containers = status["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let ready = containers.iter().filter(|c| c["ready"] == true).count();
            let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
            // A waiting container's reason is what kubectl shows first.
            let shown = containers
                .iter()
                .find_map(|c| c["state"]["waiting"]["reason"].as_str())
                .or(status["phase"].as_str())
                .unwrap_or("Pending");
            let restarts: i64 = containers.iter().map(|c| count(&c["restartCount"])).sum();
            vec![
                json!(format!("{ready}/{total}")),
                json!(shown),
                json!(restarts.to_string()),
            ]
        }
        "Service" => {
            let spec = &o["spec"];
            let external = match spec["type"].as_str() {
                Some("LoadBalancer") => status["loadBalancer"]["ingress"][0]["ip"]
                    .as_str()
                    .unwrap_or("<pending>")
                    .to_string(),
                _ => "<none>".to_string(),
            };
            let ports: Vec<String> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let protocol = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(node) => format!("{}:{node}/{protocol}", p["port"]),
                        None => format!("{}/{protocol}", p["port"]),
                    }
                })
                .collect();
            vec![
                spec["type"].clone(),
                json!(spec["clusterIP"].as_str().unwrap_or("<none>")),
                json!(external),
                json!(if ports.is_empty() {
                    "<none>".to_string()
                } else {
                    ports.join(",")
                }),
            ]
        }
        "HorizontalPodAutoscaler" => {
            let spec = &o["spec"];
            vec![
                json!(format!(
                    "{}/{}",
                    spec["scaleTargetRef"]["kind"].as_str().unwrap_or_default(),
                    spec["scaleTargetRef"]["name"].as_str().unwrap_or_default()
                )),
                json!(super::metrics::targets(o)),
                json!(spec["minReplicas"].as_i64().unwrap_or(1).to_string()),
                json!(count(&spec["maxReplicas"])),
                json!(count(&status["currentReplicas"])),
            ]
        }
        "Namespace" => vec![json!(status["phase"].as_str().unwrap_or("Active"))],
        "ConfigMap" => vec![json!(o["data"].as_object().map_or(0, |d| d.len()))],
        "Secret" => vec![
            json!(o["type"].as_str().unwrap_or("Opaque")),
            json!(o["data"].as_object().map_or(0, |d| d.len())),
        ],
        "ServiceAccount" => vec![json!(o["secrets"].as_array().map_or(0, Vec::len))],
        "Ingress" => {
            let spec = &o["spec"];
            let hosts: Vec<&str> = spec["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["host"].as_str())
                .collect();
            let tls = spec["tls"].as_array().is_some_and(|t| !t.is_empty());
            vec![
                json!(spec["ingressClassName"].as_str().unwrap_or("<none>")),
                json!(if hosts.is_empty() {
                    "*".to_string()
                } else {
                    hosts.join(",")
                }),
                json!(
                    status["loadBalancer"]["ingress"][0]["ip"]
                        .as_str()
                        .unwrap_or("")
                ),
                json!(if tls { "80, 443" } else { "80" }),
            ]
        }
        "PodDisruptionBudget" => {
            let text = |v: &Json| match v {
                Json::Null => "N/A".to_string(),
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            vec![
                json!(text(&o["spec"]["minAvailable"])),
                json!(text(&o["spec"]["maxUnavailable"])),
                json!(count(&status["disruptionsAllowed"])),
            ]
        }
        "NetworkPolicy" => {
            let labels: Vec<String> = o["spec"]["podSelector"]["matchLabels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            vec![json!(if labels.is_empty() {
                "<none>".to_string()
            } else {
                labels.join(",")
            })]
        }
        _ => Vec::new(),
    }
}

/// How long ago the object was created, as kubectl prints it.
fn age(o: &Json, now: i64) -> String {
    let Some(created) = o["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(seconds_since_epoch)
    else {
        return "<unknown>".into();
    };
    let s = (now - created).max(0);
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60),
        600..10_800 => format!("{}m", s / 60),
        10_800..28_800 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        28_800..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `2026-11-22T08:49:34Z` in seconds since the epoch.
fn seconds_since_epoch(t: &str) -> Option<i64> {
    let field = |range: std::ops::Range<usize>| t.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hour, minute, second) = (field(11..13)?, field(14..16)?, field(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_ages_read_as_kubectl_prints_them() {
        let t = seconds_since_epoch("2026-11-22T08:49:34Z").unwrap();
        assert_eq!(
            crate::google::rfc3339(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(t as u64)
            )[..19],
            *"2026-11-22T08:49:34"
        );
        let o = json!({"metadata": {"creationTimestamp": "2026-11-22T08:49:34Z"}});
        assert_eq!(age(&o, t + 5), "5s");
        assert_eq!(age(&o, t + 300), "5m0s");
        assert_eq!(age(&o, t + 3 * 86_400), "3d");
    }

    #[test]
    fn tables_have_the_columns_kubectl_prints() {
        let pdbs = crate::kube::resources::find("policy", "v1", "poddisruptionbudgets").unwrap();
        let list = json!({"metadata": {"resourceVersion": "7"}, "items": [
            {"metadata": {"name": "api", "namespace": "apps", "creationTimestamp": "2026-11-22T08:49:34Z"},
             "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}},
        ]});
        let table = of(pdbs, &list);
        let names: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Name",
                "Min Available",
                "Max Unavailable",
                "Allowed Disruptions",
                "Age"
            ]
        );
        let cells = &table["rows"][0]["cells"];
        assert_eq!(cells[0], "api");
        assert_eq!(cells[1], "50%");
        assert_eq!(cells[2], "N/A");
        assert_eq!(cells[3], 1);
        assert_eq!(table["rows"][0]["object"]["metadata"]["namespace"], "apps");
        assert_eq!(table["metadata"]["resourceVersion"], "7");
    }
}
