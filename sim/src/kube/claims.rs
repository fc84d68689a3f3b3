//! The persistent-volume controller and the scheduler's part in it: a
//! claim is bound once its StorageClass's provisioner has made a volume,
//! at once with `Immediate` binding, when a pod that mounts it is
//! scheduled with `WaitForFirstConsumer`; a bound claim's capacity follows
//! its request (expansion, which admission allowed). A claim whose class
//! does not exist, or whose class's provisioner does not run in the
//! cluster (`platform`), stays Pending, and so do the pods that mount it.

use serde_json::{Value as Json, json};

use super::objects::Objects;
use super::platform::Platform;
use super::storage_classes;

const PREFIX: &str = "/persistentvolumeclaims/";

pub fn run(objects: &mut Objects, platform: &Platform) {
    let keys: Vec<String> = objects
        .objects
        .range(PREFIX.to_string()..)
        .take_while(|(k, _)| k.starts_with(PREFIX))
        .map(|(k, _)| k.clone())
        .collect();
    for key in keys {
        let Some(claim) = objects.objects.get(&key) else {
            continue;
        };
        if !claim["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let bound = claim["status"]["phase"] == "Bound";
        let binds = !bound
            && storage_classes::provisions(objects, claim, platform)
            && consumed(objects, claim);
        if !bound && !binds {
            continue;
        }
        let requested = claim["spec"]["resources"]["requests"]["storage"].clone();
        if !binds && claim["status"]["capacity"]["storage"] == requested {
            continue;
        }
        objects.controller_write(&key, |c| {
            if binds {
                c["status"]["phase"] = json!("Bound");
                c["status"]["accessModes"] = c["spec"]["accessModes"].clone();
            }
            c["status"]["capacity"]["storage"] = requested;
        });
    }
}

/// Whether the claim's volume gets made now: `Immediate` binding, or a
/// pod that mounts it (a StatefulSet's pods stand for theirs).
fn consumed(objects: &Objects, claim: &Json) -> bool {
    let class = claim["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default();
    let waits = objects
        .objects
        .get(&storage_classes::key(class))
        .is_some_and(|c| c["volumeBindingMode"] == "WaitForFirstConsumer");
    if !waits || claim["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet" {
        return true;
    }
    let ns = claim["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = &claim["metadata"]["name"];
    let pods = format!("/pods/{ns}/");
    objects
        .objects
        .range(pods.clone()..)
        .take_while(|(k, _)| k.starts_with(&pods))
        .any(|(_, pod)| mounted(&pod["spec"]).any(|c| c == name))
}

/// The claims a pod spec mounts.
fn mounted(spec: &Json) -> impl Iterator<Item = &Json> {
    spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| &v["persistentVolumeClaim"]["claimName"])
        .filter(|c| c.is_string())
}

/// Whether the scheduler can place a pod of `spec` in `ns`: every claim it
/// mounts exists and is bound, or its class can provision it.
pub fn schedulable(objects: &Objects, ns: &str, spec: &Json, platform: &Platform) -> bool {
    mounted(spec).all(|name| {
        let key = format!("{PREFIX}{ns}/{}", name.as_str().unwrap_or_default());
        objects.objects.get(&key).is_some_and(|c| {
            c["status"]["phase"] == "Bound" || storage_classes::provisions(objects, c, platform)
        })
    })
}
