//! What EKS Auto Mode puts in a cluster while its compute capability is on:
//!
//! - the CustomResourceDefinitions of the objects users write, with the
//!   parts of their schemas Genesis writes: `IngressClassParams` (for its
//!   ALB controller), Karpenter's `NodePool` (`karpenter.sh/v1`) and EKS's
//!   `NodeClass` (`eks.amazonaws.com/v1`);
//! - its built-in `default` NodeClass and the built-in NodePools named in
//!   the cluster's `computeConfig.nodePools` (`general-purpose`, `system`),
//!   made by EKS and put back when deleted;
//! - Karpenter's status: a NodeClass is Ready, and a NodePool is Ready
//!   when the NodeClass it names exists (`NodeClassReady`), as Karpenter
//!   reports it.
//!
//! EKS leaves the definitions when the mode goes. The simulator has no
//! nodes: that Karpenter makes them for pending pods is not simulated.

use serde_json::{Value as Json, json};

use super::custom;
use super::objects::Objects;
use super::platform::Platform;

pub const NODE_POOLS: &str = "karpenter.sh/nodepools//";
pub const NODE_CLASSES: &str = "eks.amazonaws.com/nodeclasses//";
/// Who makes the built-in objects.
const EKS: &str = "eks";

pub(super) fn definition(group: &str, kind: &str, plural: &str, spec: Json, status: bool) -> Json {
    let mut version = json!({
        "name": "v1",
        "served": true,
        "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        }}},
    });
    if status {
        version["subresources"] = json!({"status": {}});
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "scope": "Cluster",
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind, "listKind": format!("{kind}List")},
            "versions": [version],
        },
    })
}

pub(super) fn strings() -> Json {
    json!({"type": "array", "items": {"type": "string"}})
}

pub(super) fn string_map() -> Json {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

/// The definitions, as EKS installs them with the mode.
pub fn definitions() -> Vec<Json> {
    let key_values = json!({"type": "array", "items": {"type": "object", "required": ["key"], "properties": {
        "key": {"type": "string"}, "value": {"type": "string"},
    }}});
    let ingress_class_params = json!({"type": "object", "properties": {
        "scheme": {"type": "string", "enum": ["internal", "internet-facing"]},
        "ipAddressType": {"type": "string", "enum": ["ipv4", "dualstack", "dualstack-without-public-ipv4"]},
        "group": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "subnets": {"type": "object", "properties": {
            "ids": strings(),
            "tags": {"type": "object", "additionalProperties": strings()},
        }},
        "certificateARNs": strings(),
        "sslPolicy": {"type": "string"},
        "namespaceSelector": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "tags": key_values,
        "loadBalancerAttributes": key_values,
    }});
    let taints = json!({"type": "array", "items": {"type": "object", "required": ["key", "effect"], "properties": {
        "key": {"type": "string"},
        "value": {"type": "string"},
        "effect": {"type": "string", "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
    }}});
    let node_pool = json!({"type": "object", "required": ["template"], "properties": {
        "weight": {"type": "integer"},
        "limits": {"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": true}},
        "disruption": {"type": "object", "properties": {
            "consolidationPolicy": {"type": "string", "enum": ["WhenEmpty", "WhenEmptyOrUnderutilized"]},
            "consolidateAfter": {"type": "string"},
            "budgets": {"type": "array", "items": {"type": "object", "properties": {
                "nodes": {"type": "string"},
                "schedule": {"type": "string"},
                "duration": {"type": "string"},
                "reasons": strings(),
            }}},
        }},
        "template": {"type": "object", "required": ["spec"], "properties": {
            "metadata": {"type": "object", "properties": {"labels": string_map(), "annotations": string_map()}},
            "spec": {"type": "object", "required": ["nodeClassRef", "requirements"], "properties": {
                "nodeClassRef": {"type": "object", "required": ["group", "kind", "name"], "properties": {
                    "group": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
                }},
                "requirements": {"type": "array", "items": {"type": "object", "required": ["key", "operator"], "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]},
                    "values": strings(),
                    "minValues": {"type": "integer"},
                }}},
                "taints": taints,
                "startupTaints": taints,
                "expireAfter": {"type": "string"},
                "terminationGracePeriod": {"type": "string"},
            }},
        }},
    }});
    let selector_terms = json!({"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "tags": string_map(),
    }}});
    let node_class = json!({"type": "object", "properties": {
        "role": {"type": "string"},
        "subnetSelectorTerms": selector_terms,
        "securityGroupSelectorTerms": selector_terms,
        "ephemeralStorage": {"type": "object", "properties": {
            "size": {"x-kubernetes-int-or-string": true},
            "iops": {"type": "integer"},
            "throughput": {"type": "integer"},
            "kmsKeyID": {"type": "string"},
        }},
        "networkPolicy": {"type": "string", "enum": ["DefaultAllow", "DefaultDeny"]},
        "snatPolicy": {"type": "string", "enum": ["Random", "Disabled"]},
        "tags": string_map(),
    }});
    vec![
        definition(
            "eks.amazonaws.com",
            "IngressClassParams",
            "ingressclassparams",
            ingress_class_params,
            false,
        ),
        definition("karpenter.sh", "NodePool", "nodepools", node_pool, true),
        definition(
            "eks.amazonaws.com",
            "NodeClass",
            "nodeclasses",
            node_class,
            true,
        ),
    ]
}

/// A built-in NodePool, as EKS makes it: on-demand instances of the
/// general-purpose families; `system` is tainted for critical add-ons.
fn built_in_pool(name: &str) -> Json {
    let mut pool = json!({
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "eks"}},
        "spec": {
            "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "30s", "budgets": [{"nodes": "10%"}]},
            "template": {"spec": {
                "nodeClassRef": {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": "default"},
                "expireAfter": "336h",
                "requirements": [
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                    {"key": "eks.amazonaws.com/instance-category", "operator": "In", "values": ["c", "m", "r"]},
                    {"key": "eks.amazonaws.com/instance-generation", "operator": "Gt", "values": ["4"]},
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                ],
            }},
        },
    });
    if name == "system" {
        pool["spec"]["template"]["spec"]["taints"] =
            json!([{"key": "CriticalAddonsOnly", "effect": "NoSchedule"}]);
    }
    pool
}

/// Installs the definitions where the mode is on and they are not yet,
/// and once they are served, the built-in NodeClass and NodePools.
pub fn install(objects: &mut Objects, platform: &Platform) {
    if !platform.auto_mode {
        return;
    }
    let Some(rt) = super::resources::find(custom::GROUP, "v1", custom::PLURAL) else {
        return;
    };
    for definition in definitions() {
        let name = definition["metadata"]["name"].as_str().unwrap_or_default();
        let key = format!("{}/{}//{name}", custom::GROUP, custom::PLURAL);
        if !objects.objects.contains_key(&key) {
            objects.create_as(EKS, rt, "", definition);
        }
    }
    let classes = custom::find(&objects.objects, "eks.amazonaws.com", "v1", "nodeclasses");
    let pools = custom::find(&objects.objects, "karpenter.sh", "v1", "nodepools");
    let (Some(classes), Some(pools)) = (classes, pools) else {
        return;
    };
    if !objects.exists(classes, "", "default") {
        let class = json!({
            "apiVersion": "eks.amazonaws.com/v1",
            "kind": "NodeClass",
            "metadata": {"name": "default", "labels": {"app.kubernetes.io/managed-by": "eks"}},
            "spec": {"ephemeralStorage": {"size": "80Gi", "iops": 3000, "throughput": 125}},
        });
        objects.create_as(EKS, classes, "", class);
    }
    for name in &platform.auto_mode_node_pools {
        if !objects.exists(pools, "", name) {
            objects.create_as(EKS, pools, "", built_in_pool(name));
        }
    }
}

/// Karpenter's and EKS's controllers' status: Ready NodeClasses, and
/// NodePools Ready when their NodeClass exists.
pub fn run(objects: &mut Objects, platform: &Platform, now: &str) {
    if !platform.auto_mode {
        return;
    }
    let classes: Vec<String> = objects
        .keys_under(NODE_CLASSES)
        .into_iter()
        .filter_map(|k| k.strip_prefix(NODE_CLASSES).map(str::to_string))
        .collect();
    let mut writes = Vec::new();
    for key in objects.keys_under(NODE_CLASSES) {
        writes.push((key, ready(None)));
    }
    for key in objects.keys_under(NODE_POOLS) {
        let Some(pool) = objects.objects.get(&key) else {
            continue;
        };
        let reference = &pool["spec"]["template"]["spec"]["nodeClassRef"];
        let found = reference["group"] == "eks.amazonaws.com"
            && reference["kind"] == "NodeClass"
            && reference["name"]
                .as_str()
                .is_some_and(|n| classes.iter().any(|c| c == n));
        let missing = (!found).then(|| {
            format!(
                "NodeClass {} not found",
                reference["name"].as_str().unwrap_or_default()
            )
        });
        writes.push((key, ready(missing)));
    }
    for (key, (status, reason, message)) in writes {
        let Some(object) = objects.objects.get(&key) else {
            continue;
        };
        let generation = object["metadata"]["generation"].clone();
        let current = object["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
        if current.is_some_and(|c| {
            c["status"] == status && c["reason"] == reason && c["observedGeneration"] == generation
        }) {
            continue;
        }
        let condition = json!({
            "type": "Ready", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now, "observedGeneration": generation,
        });
        objects.write_as("karpenter", &key, Some("status"), |o| {
            o["status"]["conditions"] = json!([condition]);
        });
    }
}

/// (status, reason, message) of a Ready condition.
fn ready(problem: Option<String>) -> (&'static str, &'static str, String) {
    match problem {
        None => ("True", "Ready", String::new()),
        Some(message) => ("False", "NodeClassNotFound", message),
    }
}
