//! What GKE puts in every cluster it runs (since 1.30.3): the definition
//! of custom ComputeClasses (`cloud.google.com/v1`), with the parts of its
//! schema Genesis writes, and GKE's verdict on each class, its `Health`
//! condition: healthy when every priority names a machine (a type or a
//! family), as GKE requires of a class that makes nodes.
//!
//! Nodes are not simulated: that Autopilot makes nodes of a class for the
//! pods that select it is not.

use serde_json::{Value as Json, json};

use super::auto_mode::{definition, string_map, strings};
use super::custom;
use super::objects::Objects;
use super::platform::Platform;

pub const CLASSES: &str = "cloud.google.com/computeclasses//";
/// Who makes the definition and reports on the classes.
const GKE: &str = "gke";

/// The definition, as GKE installs it.
pub fn definition_of_classes() -> Json {
    let taints = json!({"type": "array", "items": {"type": "object", "required": ["key", "effect"], "properties": {
        "key": {"type": "string"},
        "value": {"type": "string"},
        "effect": {"type": "string", "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
    }}});
    let priority = json!({"type": "object", "properties": {
        "machineFamily": {"type": "string"},
        "machineType": {"type": "string"},
        "minCores": {"type": "integer"},
        "minMemoryGb": {"type": "integer"},
        "spot": {"type": "boolean"},
        "gpu": {"type": "object", "required": ["type", "count"], "properties": {
            "type": {"type": "string"},
            "count": {"type": "integer", "minimum": 1},
            "driverVersion": {"type": "string", "enum": ["default", "latest"]},
        }},
        "storage": {"type": "object", "properties": {
            "bootDiskSize": {"type": "integer", "minimum": 10},
            "bootDiskType": {"type": "string"},
            "bootDiskKMSKey": {"type": "string"},
            "localSSDCount": {"type": "integer"},
        }},
        "maxPodsPerNode": {"type": "integer"},
    }});
    let spec = json!({"type": "object", "required": ["priorities"], "properties": {
        "description": {"type": "string"},
        "priorities": {"type": "array", "items": priority},
        "whenUnsatisfiable": {"type": "string", "enum": ["ScaleUpAnyway", "DoNotScaleUp"]},
        "nodePoolAutoCreation": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
        "activeMigration": {"type": "object", "properties": {"optimizeRulePriority": {"type": "boolean"}}},
        "priorityDefaults": {"type": "object", "properties": {
            "location": {"type": "object", "properties": {"zones": strings()}},
        }},
        "nodePoolConfig": {"type": "object", "properties": {
            "imageType": {"type": "string"},
            "serviceAccount": {"type": "string"},
            "nodeLabels": string_map(),
            "taints": taints,
            "autoRepair": {"type": "boolean"},
            "autoUpgrade": {"type": "boolean"},
        }},
    }});
    definition(
        "cloud.google.com",
        "ComputeClass",
        "computeclasses",
        spec,
        true,
    )
}

/// Installs the definition in a GKE cluster where it is not yet.
pub fn install(objects: &mut Objects, platform: &Platform) {
    if !platform.compute_classes {
        return;
    }
    let Some(rt) = super::resources::find(custom::GROUP, "v1", custom::PLURAL) else {
        return;
    };
    let definition = definition_of_classes();
    let name = definition["metadata"]["name"].as_str().unwrap_or_default();
    let key = format!("{}/{}//{name}", custom::GROUP, custom::PLURAL);
    if !objects.objects.contains_key(&key) {
        objects.create_as(GKE, rt, "", definition);
    }
}

/// GKE's `Health` condition on every class.
pub fn run(objects: &mut Objects, platform: &Platform, now: &str) {
    if !platform.compute_classes {
        return;
    }
    for key in objects.keys_under(CLASSES) {
        let Some(class) = objects.objects.get(&key) else {
            continue;
        };
        let priorities = class["spec"]["priorities"].as_array();
        let unnamed = priorities.into_iter().flatten().any(|p| {
            p["machineType"].as_str().is_none_or(str::is_empty)
                && p["machineFamily"].as_str().is_none_or(str::is_empty)
        });
        let (status, reason, message) = if priorities.is_none_or(Vec::is_empty) {
            ("False", "NoPriorities", "the class has no priorities")
        } else if unnamed {
            (
                "False",
                "InvalidPriority",
                "every priority must name a machineType or a machineFamily",
            )
        } else {
            ("True", "Health", "ComputeClass is healthy")
        };
        let generation = class["metadata"]["generation"].clone();
        let current = class["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Health"));
        if current.is_some_and(|c| c["status"] == status && c["observedGeneration"] == generation) {
            continue;
        }
        let condition = json!({
            "type": "Health", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now, "observedGeneration": generation,
        });
        objects.write_as(GKE, &key, Some("status"), |o| {
            o["status"]["conditions"] = json!([condition]);
        });
    }
}
