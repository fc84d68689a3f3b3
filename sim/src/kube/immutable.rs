//! What the API server refuses to change once an object exists, with its
//! words: a StatefulSet's spec outside the fields its strategy updates, a
//! Job's pod template and selector, a claim's spec other than its storage
//! request, which may grow but never shrink (and grows only where its
//! StorageClass allows expansion), a StorageClass's provisioner,
//! parameters, reclaim policy and binding mode.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::objects::KubeError;
use super::quantity;
use super::resources::ResourceType;

/// The StatefulSet fields an update may change.
const STATEFUL_SET_MUTABLE: [&str; 6] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// `objects` is the cluster's store, for admission checks that look at
/// other objects (a claim's StorageClass).
pub fn check(
    rt: &ResourceType,
    name: &str,
    current: &Json,
    next: &Json,
    objects: &BTreeMap<String, Json>,
) -> Result<(), KubeError> {
    match rt.kind {
        "StorageClass" => {
            for field in [
                "parameters",
                "provisioner",
                "reclaimPolicy",
                "volumeBindingMode",
            ] {
                if current[field] != next[field] {
                    return Err(KubeError::immutable(rt, name, field, &next[field]));
                }
            }
        }
        "StatefulSet" => {
            let fixed = |o: &Json| {
                let mut spec = o["spec"].clone();
                if let Some(m) = spec.as_object_mut() {
                    m.retain(|k, _| !STATEFUL_SET_MUTABLE.contains(&k.as_str()));
                }
                spec
            };
            if fixed(current) != fixed(next) {
                return Err(KubeError::forbidden_field(
                    rt,
                    name,
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden".into(),
                ));
            }
        }
        "Job" => {
            for field in ["template", "selector", "completions", "completionMode"] {
                if current["spec"][field] != next["spec"][field] {
                    return Err(KubeError::invalid(
                        rt,
                        name,
                        &format!("spec.{field}"),
                        "field is immutable".into(),
                    ));
                }
            }
        }
        "PersistentVolumeClaim" => {
            let storage = |o: &Json| o["spec"]["resources"]["requests"]["storage"].clone();
            let rest = |o: &Json| {
                let mut spec = o["spec"].clone();
                spec["resources"]["requests"]["storage"] = Json::Null;
                spec
            };
            if rest(current) != rest(next) {
                return Err(KubeError::forbidden_field(
                    rt,
                    name,
                    "spec",
                    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims".into(),
                ));
            }
            let amount = |o: &Json| storage(o).as_str().and_then(quantity::amount);
            if let (Some(was), Some(now)) = (amount(current), amount(next))
                && now < was
            {
                return Err(KubeError::invalid(
                    rt,
                    name,
                    "spec.resources.requests.storage",
                    "Forbidden: field can not be less than status.capacity".into(),
                ));
            }
            if let (Some(was), Some(now)) = (amount(current), amount(next))
                && now > was
            {
                expansion_allowed(rt, name, current, objects)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The PersistentVolumeClaimResize admission plugin: only a bound claim
/// grows, and only when its StorageClass sets `allowVolumeExpansion`.
fn expansion_allowed(
    rt: &ResourceType,
    name: &str,
    claim: &Json,
    objects: &BTreeMap<String, Json>,
) -> Result<(), KubeError> {
    if claim["status"]["phase"] != "Bound" {
        return Err(KubeError::admission(
            rt,
            name,
            "Only bound persistent volume claims can be expanded",
        ));
    }
    let class = claim["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default();
    let allowed = !class.is_empty()
        && objects
            .get(&super::storage_classes::key(class))
            .is_some_and(|c| c["allowVolumeExpansion"] == true);
    if allowed {
        Ok(())
    } else {
        Err(KubeError::admission(
            rt,
            name,
            "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
        ))
    }
}
