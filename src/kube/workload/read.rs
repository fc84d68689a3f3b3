//! The inverse of `render`: a workload's attributes read back from the
//! objects in its cluster, so that a change made behind Terraform's back
//! shows in the next plan and an import fills in every attribute.
//!
//! Only the parts of each object that are Genesis's are read (`ours`):
//! fields the `genesis` field manager owns, and fields Genesis applied last
//! time even if another manager has since taken them over (that is what an
//! edit with kubectl does). Fields added by others, such as an admission
//! controller's annotations or the HPA's replicas, are never read.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::NAME_LABEL;
use crate::cloud::origin;
use crate::framework::value::Value;
use crate::kube::{FIELD_MANAGER, MANAGED_BY};
use crate::resources::node_pool::{LABEL_NODE_POOL, LABEL_POOL_TYPE};

/// The parts of `live` that are Genesis's: what the `genesis` manager owns
/// by its managedFields, plus what Genesis last applied (`applied`, null
/// when unknown). An object no Genesis apply ever touched (an import of
/// something made by other tools) is taken whole.
pub fn ours(live: &Json, applied: &Json) -> Json {
    let owned = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|entry| {
            entry["manager"] == FIELD_MANAGER
                && entry["operation"] == "Apply"
                && entry["subresource"].as_str().unwrap_or_default().is_empty()
        })
        .map(|entry| &entry["fieldsV1"]);
    match owned {
        None if applied.is_null() => {
            let mut whole = live.clone();
            if let Some(fields) = whole.as_object_mut() {
                fields.remove("status");
            }
            if let Some(meta) = whole["metadata"].as_object_mut() {
                meta.retain(|k, _| {
                    matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations")
                });
            }
            whole
        }
        owned => prune(live, owned.unwrap_or(&Json::Null), applied),
    }
}

/// `live` cut down to the fields in the FieldsV1 set `owned` or in
/// `applied`.
fn prune(live: &Json, owned: &Json, applied: &Json) -> Json {
    match live {
        Json::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                let o = owned.get(format!("f:{key}"));
                let a = applied.get(key);
                if o.is_none() && a.is_none() {
                    continue;
                }
                // Leaves, atomic maps and lists, and lists of plain values
                // are owned as a whole.
                let whole = o.is_some_and(|o| o.as_object().is_some_and(Map::is_empty))
                    || a.is_some_and(|a| match a {
                        Json::Object(_) => false,
                        Json::Array(items) => !items.iter().any(Json::is_object),
                        _ => true,
                    });
                let kept = if whole {
                    value.clone()
                } else {
                    prune(value, o.unwrap_or(&Json::Null), a.unwrap_or(&Json::Null))
                };
                out.insert(key.clone(), kept);
            }
            Json::Object(out)
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let o = owned_item(owned, item);
                    let a = applied_item(applied, item, i);
                    if o.is_none() && a.is_none() {
                        return None;
                    }
                    Some(prune(
                        item,
                        o.unwrap_or(&Json::Null),
                        a.unwrap_or(&Json::Null),
                    ))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The FieldsV1 entry for a list element: `k:{...}` for keyed lists,
/// `v:...` for sets.
fn owned_item<'a>(owned: &'a Json, item: &Json) -> Option<&'a Json> {
    owned.as_object()?.iter().find_map(|(key, entry)| {
        let matches = if let Some(keys) = key.strip_prefix("k:") {
            serde_json::from_str::<Map<String, Json>>(keys)
                .is_ok_and(|keys| keys.iter().all(|(k, v)| &item[k] == v))
        } else if let Some(value) = key.strip_prefix("v:") {
            serde_json::from_str::<Json>(value).is_ok_and(|v| &v == item)
        } else {
            false
        };
        matches.then_some(entry)
    })
}

/// The element Genesis applied that corresponds to a live list element:
/// the one with the same merge key, else the one at the same position.
fn applied_item<'a>(applied: &'a Json, item: &Json, index: usize) -> Option<&'a Json> {
    let list = applied.as_array()?;
    for key in ["name", "mountPath", "containerPort", "port"] {
        if let Some(id) = item.get(key) {
            return list.iter().find(|a| a.get(key) == Some(id));
        }
    }
    list.get(index)
}

fn text(j: &Json) -> Value {
    j.as_str().map_or(Value::Null, Value::from)
}

fn number(j: &Json) -> Value {
    j.as_i64().map_or(Value::Null, Value::from)
}

/// A number the API server never writes when it is zero (a plain int32
/// with `omitempty` in the Kubernetes Go types).
fn zero_omitted(j: &Json) -> Value {
    Value::from(j.as_i64().unwrap_or(0))
}

fn boolean(j: &Json) -> Value {
    j.as_bool().map_or(Value::Null, Value::from)
}

/// IntOrString as the attribute's string (`1`, `25%`).
fn int_or_percent(j: &Json) -> Value {
    match j {
        Json::Number(n) => n.to_string().into(),
        Json::String(s) => s.as_str().into(),
        _ => Value::Null,
    }
}

/// A map of strings, null when empty or absent (the configuration's
/// "left out").
fn string_map(j: &Json, without: &[&str]) -> Value {
    let entries: BTreeMap<String, Value> = j
        .as_object()
        .into_iter()
        .flatten()
        // The origin marker is Genesis's own, never an attribute's.
        .filter(|(k, _)| !without.contains(&k.as_str()) && k.as_str() != origin::ANNOTATION)
        .filter_map(|(k, v)| Some((k.clone(), Value::from(v.as_str()?))))
        .collect();
    if entries.is_empty() {
        Value::Null
    } else {
        Value::Map(entries)
    }
}

fn strings(j: &Json) -> Value {
    match j.as_array() {
        Some(items) => Value::List(items.iter().map(text).collect()),
        None => Value::Null,
    }
}

fn list_or_null(items: Vec<Value>) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        Value::List(items)
    }
}

fn object_or_null<'a>(attributes: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    let object = Value::object(attributes);
    match &object {
        Value::Object(m) if m.values().all(Value::is_null) => Value::Null,
        _ => object,
    }
}

/// The rendered attributes of the workload `name` as the objects in `live`
/// (by kind, each cut down by `ours`) have them. Attributes that produce no
/// object read as null when the object is missing, so the next plan puts it
/// back.
pub fn attributes_of(live: &BTreeMap<&str, Json>, name: &str) -> Value {
    let none = Json::Null;
    let d = live.get("Deployment").unwrap_or(&none);
    let pod = &d["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    let c = containers
        .iter()
        .find(|c| c["name"] == name)
        .or(containers.first())
        .unwrap_or(&none);

    let mut attributes = container(c);
    let (node_selector, node_pool, node_pool_type, tolerations) = placement(pod);
    let labels = string_map(&d["metadata"]["labels"], &[NAME_LABEL, MANAGED_BY.0]);
    let autoscaling = live
        .get("HorizontalPodAutoscaler")
        .map_or(Value::Null, autoscaler);
    // The autoscaler's count is not the configuration's.
    let replicas = match &autoscaling {
        Value::Null => number(&d["spec"]["replicas"]),
        _ => Value::Null,
    };
    let config_mount_path = c["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == "config")
        .map_or(Value::Null, |m| text(&m["mountPath"]));
    let spec = &d["spec"];
    for (attribute, value) in [
        ("replicas", replicas),
        ("autoscaling", autoscaling),
        ("strategy", strategy(&spec["strategy"])),
        ("min_ready_seconds", zero_omitted(&spec["minReadySeconds"])),
        (
            "progress_deadline_seconds",
            number(&spec["progressDeadlineSeconds"]),
        ),
        (
            "termination_grace_period_seconds",
            number(&pod["terminationGracePeriodSeconds"]),
        ),
        (
            "security_context",
            security_context(&pod["securityContext"], &c["securityContext"]),
        ),
        ("node_selector", node_selector),
        ("node_pool", node_pool),
        ("node_pool_type", node_pool_type),
        ("tolerations", tolerations),
        ("labels", labels),
        (
            "annotations",
            string_map(&d["spec"]["template"]["metadata"]["annotations"], &[]),
        ),
        (
            "config_data",
            live.get("ConfigMap")
                .map_or(Value::Null, |m| string_map(&m["data"], &[])),
        ),
        ("config_mount_path", config_mount_path),
        (
            "service",
            live.get("Service").map_or(Value::Null, |s| service(s, c)),
        ),
        ("ingress", live.get("Ingress").map_or(Value::Null, ingress)),
        (
            "disruption_budget",
            live.get("PodDisruptionBudget").map_or(Value::Null, |p| {
                Value::object([
                    ("min_available", int_or_percent(&p["spec"]["minAvailable"])),
                    (
                        "max_unavailable",
                        int_or_percent(&p["spec"]["maxUnavailable"]),
                    ),
                ])
            }),
        ),
        (
            "network_policy",
            live.get("NetworkPolicy")
                .map_or(Value::Null, network_policy),
        ),
        (
            "service_account",
            service_account(live.get("ServiceAccount"), pod, name),
        ),
    ] {
        attributes.set_attr(attribute, value);
    }
    attributes
}

/// What the workload's own container says: image, command, env, ports,
/// resources, probes.
fn container(c: &Json) -> Value {
    let env = c["env"].as_array().cloned().unwrap_or_default();
    let plain: BTreeMap<String, Value> = env
        .iter()
        .filter(|e| e.get("value").is_some())
        .filter_map(|e| Some((e["name"].as_str()?.to_string(), text(&e["value"]))))
        .collect();
    let from_secrets: BTreeMap<String, Value> = env
        .iter()
        .filter_map(|e| {
            let secret = &e["valueFrom"]["secretKeyRef"];
            secret.as_object()?;
            Some((
                e["name"].as_str()?.to_string(),
                Value::object([
                    ("secret", text(&secret["name"])),
                    ("key", text(&secret["key"])),
                ]),
            ))
        })
        .collect();
    let env_from_secrets: Vec<Value> = c["envFrom"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["secretRef"]["name"].as_str().map(Value::from))
        .collect();
    let ports = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            Value::object([
                ("name", text(&p["name"])),
                ("container_port", number(&p["containerPort"])),
                ("protocol", text(&p["protocol"])),
            ])
        })
        .collect();
    Value::object([
        ("image", text(&c["image"])),
        ("image_pull_policy", text(&c["imagePullPolicy"])),
        ("command", strings(&c["command"])),
        ("args", strings(&c["args"])),
        (
            "env",
            if plain.is_empty() {
                Value::Null
            } else {
                Value::Map(plain)
            },
        ),
        (
            "secret_env",
            if from_secrets.is_empty() {
                Value::Null
            } else {
                Value::Map(from_secrets)
            },
        ),
        ("env_from_secrets", list_or_null(env_from_secrets)),
        ("ports", list_or_null(ports)),
        ("resources", resources(&c["resources"])),
        ("liveness_probe", probe(&c["livenessProbe"])),
        ("readiness_probe", probe(&c["readinessProbe"])),
        ("startup_probe", probe(&c["startupProbe"])),
    ])
}

fn resources(r: &Json) -> Value {
    let amounts = |m: &Json| {
        object_or_null([
            ("cpu", text(&m["cpu"])),
            ("memory", text(&m["memory"])),
            ("ephemeral_storage", text(&m["ephemeral-storage"])),
        ])
    };
    object_or_null([
        ("requests", amounts(&r["requests"])),
        ("limits", amounts(&r["limits"])),
    ])
}

fn probe(p: &Json) -> Value {
    if !p.is_object() {
        return Value::Null;
    }
    let port = |h: &Json| {
        if h.is_object() {
            Value::object([("port", number(&h["port"]))])
        } else {
            Value::Null
        }
    };
    let http = &p["httpGet"];
    Value::object([
        (
            "http_get",
            if http.is_object() {
                Value::object([
                    ("path", text(&http["path"])),
                    ("port", number(&http["port"])),
                    ("scheme", text(&http["scheme"])),
                ])
            } else {
                Value::Null
            },
        ),
        ("tcp_socket", port(&p["tcpSocket"])),
        ("grpc", port(&p["grpc"])),
        (
            "exec",
            if p["exec"].is_object() {
                Value::object([("command", strings(&p["exec"]["command"]))])
            } else {
                Value::Null
            },
        ),
        (
            "initial_delay_seconds",
            zero_omitted(&p["initialDelaySeconds"]),
        ),
        ("period_seconds", number(&p["periodSeconds"])),
        ("timeout_seconds", number(&p["timeoutSeconds"])),
        ("failure_threshold", number(&p["failureThreshold"])),
        ("success_threshold", number(&p["successThreshold"])),
    ])
}

fn strategy(s: &Json) -> Value {
    if !s.is_object() {
        return Value::Null;
    }
    Value::object([
        ("type", text(&s["type"])),
        ("max_surge", int_or_percent(&s["rollingUpdate"]["maxSurge"])),
        (
            "max_unavailable",
            int_or_percent(&s["rollingUpdate"]["maxUnavailable"]),
        ),
    ])
}

/// The restricted security context reads as null (left out) when every
/// setting is the default.
fn security_context(pod: &Json, container: &Json) -> Value {
    let capabilities = &container["capabilities"]["add"];
    let read = Value::object([
        ("run_as_non_root", boolean(&pod["runAsNonRoot"])),
        ("run_as_user", number(&pod["runAsUser"])),
        ("run_as_group", number(&pod["runAsGroup"])),
        ("fs_group", number(&pod["fsGroup"])),
        (
            "read_only_root_filesystem",
            boolean(&container["readOnlyRootFilesystem"]),
        ),
        (
            "allow_privilege_escalation",
            boolean(&container["allowPrivilegeEscalation"]),
        ),
        ("capabilities_add", strings(capabilities)),
        ("seccomp_profile", text(&pod["seccompProfile"]["type"])),
    ]);
    let defaults = Value::object([
        ("run_as_non_root", true.into()),
        ("run_as_user", Value::Null),
        ("run_as_group", Value::Null),
        ("fs_group", Value::Null),
        ("read_only_root_filesystem", true.into()),
        ("allow_privilege_escalation", false.into()),
        ("capabilities_add", Value::Null),
        ("seccomp_profile", "RuntimeDefault".into()),
    ]);
    if read == defaults { Value::Null } else { read }
}

/// Node selector and tolerations, with the node-pool shortcuts taken back
/// out: (node_selector, node_pool, node_pool_type, tolerations).
fn placement(pod: &Json) -> (Value, Value, Value, Value) {
    let selector = &pod["nodeSelector"];
    let node_pool = text(&selector[LABEL_NODE_POOL]);
    let node_pool_type = text(&selector[LABEL_POOL_TYPE]);
    let shortcut = |t: &Json| {
        t["key"] == LABEL_POOL_TYPE
            && t["effect"] == "NoSchedule"
            && ((!node_pool.is_null() && t["operator"] == "Exists")
                || (t["operator"] == "Equal"
                    && node_pool_type
                        .as_str()
                        .is_some_and(|kind| t["value"] == kind)))
    };
    let tolerations = pod["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| !shortcut(t))
        .map(|t| {
            Value::object([
                ("key", text(&t["key"])),
                ("operator", text(&t["operator"])),
                ("value", text(&t["value"])),
                ("effect", text(&t["effect"])),
                ("toleration_seconds", number(&t["tolerationSeconds"])),
            ])
        })
        .collect();
    (
        string_map(selector, &[LABEL_NODE_POOL, LABEL_POOL_TYPE]),
        node_pool,
        node_pool_type,
        list_or_null(tolerations),
    )
}

fn autoscaler(h: &Json) -> Value {
    let spec = &h["spec"];
    let target = |resource: &str| {
        spec["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["resource"]["name"] == resource)
            .map_or(Value::Null, |m| {
                number(&m["resource"]["target"]["averageUtilization"])
            })
    };
    let rule = |r: &Json| {
        if !r.is_object() {
            return Value::Null;
        }
        let policies = r["policies"].as_array().cloned().unwrap_or_default();
        let limit = |kind: &str| {
            policies
                .iter()
                .find(|p| p["type"] == kind)
                .map_or(Value::Null, |p| number(&p["value"]))
        };
        Value::object([
            (
                "stabilization_window_seconds",
                number(&r["stabilizationWindowSeconds"]),
            ),
            ("max_percent", limit("Percent")),
            ("max_pods", limit("Pods")),
            (
                "period_seconds",
                policies
                    .first()
                    .map_or(Value::from(60), |p| number(&p["periodSeconds"])),
            ),
            ("select_policy", text(&r["selectPolicy"])),
        ])
    };
    Value::object([
        (
            "min_replicas",
            spec["minReplicas"].as_i64().unwrap_or(1).into(),
        ),
        ("max_replicas", number(&spec["maxReplicas"])),
        ("cpu_target", target("cpu")),
        ("memory_target", target("memory")),
        ("scale_up", rule(&spec["behavior"]["scaleUp"])),
        ("scale_down", rule(&spec["behavior"]["scaleDown"])),
    ])
}

/// The service; its ports read as left out when they are the ones the
/// container ports give.
fn service(s: &Json, container: &Json) -> Value {
    let spec = &s["spec"];
    let ports: Vec<&Json> = spec["ports"].as_array().into_iter().flatten().collect();
    let derived = container["ports"].as_array().is_some_and(|cports| {
        cports.len() == ports.len()
            && cports.iter().zip(&ports).all(|(c, p)| {
                p["port"] == c["containerPort"]
                    && p["targetPort"] == c["containerPort"]
                    && p["protocol"] == c["protocol"]
                    && p["name"] == c["name"]
                    && p.get("nodePort").is_none()
            })
    });
    let ports = if derived {
        Value::Null
    } else {
        list_or_null(
            ports
                .iter()
                .map(|p| {
                    Value::object([
                        ("name", text(&p["name"])),
                        ("port", number(&p["port"])),
                        (
                            "target_port",
                            if p["targetPort"] == p["port"] {
                                Value::Null
                            } else {
                                number(&p["targetPort"])
                            },
                        ),
                        ("protocol", text(&p["protocol"])),
                        ("node_port", number(&p["nodePort"])),
                    ])
                })
                .collect(),
        )
    };
    Value::object([
        ("type", text(&spec["type"])),
        ("ports", ports),
        (
            "annotations",
            string_map(&s["metadata"]["annotations"], &[]),
        ),
        (
            "load_balancer_source_ranges",
            strings(&spec["loadBalancerSourceRanges"]),
        ),
    ])
}

fn ingress(i: &Json) -> Value {
    let spec = &i["spec"];
    let rule = &spec["rules"][0];
    let path = &rule["http"]["paths"][0];
    Value::object([
        ("host", text(&rule["host"])),
        ("path", text(&path["path"])),
        ("path_type", text(&path["pathType"])),
        ("tls_secret", text(&spec["tls"][0]["secretName"])),
        ("class_name", text(&spec["ingressClassName"])),
        (
            "annotations",
            string_map(&i["metadata"]["annotations"], &[]),
        ),
    ])
}

fn network_policy(n: &Json) -> Value {
    let spec = &n["spec"];
    let is_dns = |rule: &Json| {
        rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            == "kube-system"
            && rule["ports"]
                .as_array()
                .is_some_and(|p| p.iter().all(|p| p["port"] == 53))
    };
    let rules = |key: &str, direction: &str| -> Vec<Value> {
        spec[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| !is_dns(r))
            .map(|r| {
                let peer = &r[direction][0];
                let ports: Vec<Value> = r["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| number(&p["port"]))
                    .collect();
                Value::object([
                    (
                        "namespace_labels",
                        string_map(&peer["namespaceSelector"]["matchLabels"], &[]),
                    ),
                    (
                        "pod_labels",
                        string_map(&peer["podSelector"]["matchLabels"], &[]),
                    ),
                    ("cidr", text(&peer["ipBlock"]["cidr"])),
                    ("ports", list_or_null(ports)),
                ])
            })
            .collect()
    };
    let allow_dns = spec["egress"]
        .as_array()
        .is_some_and(|rules| rules.iter().any(is_dns));
    Value::object([
        ("enabled", true.into()),
        ("allow_from", list_or_null(rules("ingress", "from"))),
        ("allow_to", list_or_null(rules("egress", "to"))),
        ("allow_dns", allow_dns.into()),
    ])
}

/// The service account: created by the workload when its ServiceAccount
/// is there, otherwise one made elsewhere that the pods run as.
fn service_account(sa: Option<&Json>, pod: &Json, name: &str) -> Value {
    let runs_as = pod["serviceAccountName"].as_str().unwrap_or(name);
    let other_name = if runs_as == name {
        Value::Null
    } else {
        runs_as.into()
    };
    let Some(sa) = sa else {
        return Value::object([("create", false.into()), ("name", other_name)]);
    };
    let annotations = &sa["metadata"]["annotations"];
    let gcp = "iam.gke.io/gcp-service-account";
    let aws = "eks.amazonaws.com/role-arn";
    let read = Value::object([
        ("create", true.into()),
        ("name", other_name),
        ("gcp_service_account", text(&annotations[gcp])),
        ("aws_role_arn", text(&annotations[aws])),
        ("annotations", string_map(annotations, &[gcp, aws])),
    ]);
    // Everything else at its default reads as left out.
    let mut rest = read.clone();
    rest.set_attr("create", Value::Null);
    if rest
        .entries()
        .is_some_and(|m| m.values().all(Value::is_null))
    {
        Value::Null
    } else {
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> Json {
        json!({
            "metadata": {
                "name": "api",
                "uid": "1",
                "annotations": {"injected.example/by": "webhook"},
                "managedFields": [
                    {"manager": "genesis", "operation": "Apply", "fieldsV1": {
                        "f:spec": {"f:template": {"f:spec": {"f:containers": {
                            "k:{\"name\":\"api\"}": {".": {}, "f:name": {}, "f:image": {}, "f:args": {}}
                        }}}}
                    }},
                    {"manager": "webhook", "operation": "Update", "fieldsV1": {
                        "f:metadata": {"f:annotations": {"f:injected.example/by": {}}}
                    }},
                ],
            },
            "spec": {"replicas": 7, "template": {"spec": {"containers": [
                {"name": "api", "image": "nginx:1", "args": ["a", "b"], "imagePullPolicy": "IfNotPresent"},
                {"name": "istio-proxy", "image": "proxy"},
            ]}}},
            "status": {"replicas": 7},
        })
    }

    #[test]
    fn only_what_genesis_owns_is_read() {
        let ours = ours(&live(), &Json::Null);
        assert_eq!(
            ours,
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "api", "image": "nginx:1", "args": ["a", "b"]}
            ]}}}})
        );
    }

    #[test]
    fn fields_genesis_applied_are_read_after_another_manager_took_them() {
        // kubectl edit of the image moves its ownership away from genesis.
        let mut live = live();
        live["metadata"]["managedFields"][0]["fieldsV1"] = json!({});
        let applied = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "api", "image": "nginx:0"}]}}}});
        let ours = ours(&live, &applied);
        assert_eq!(ours["spec"]["replicas"], 7);
        assert_eq!(
            ours["spec"]["template"]["spec"]["containers"],
            json!([{"name": "api", "image": "nginx:1"}])
        );
    }

    #[test]
    fn objects_genesis_never_applied_are_read_whole() {
        let mut live = live();
        live["metadata"]["managedFields"] = json!([]);
        let ours = ours(&live, &Json::Null);
        assert!(ours["status"].is_null() && ours["metadata"]["uid"].is_null());
        assert_eq!(
            ours["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
