//! The simulated StatefulSet controller: pods `NAME-0..N-1` of the current
//! or the update revision (a partition keeps the lower ordinals on the
//! current one; OnDelete updates nothing by itself), one claim per pod and
//! claim template (`TEMPLATE-NAME-ORDINAL`, bound once its StorageClass
//! exists, its pods unschedulable until then; growing when its request
//! grows), and the claims' retention policy: owned by the
//! StatefulSet (so deleted with it) only when `whenDeleted` is Delete,
//! removed on scale-in only when `whenScaled` is Delete.

use std::time::Instant;

use serde_json::{Value as Json, json};

use super::controllers::{
    Containers, Memory, Settings, cannot_pull, hash, keys_under, pod_status, same_pod_status,
    same_status,
};
use super::objects::Objects;
use super::resources;

/// What the controller remembers of a StatefulSet between ticks.
#[derive(Debug)]
pub struct Revisions {
    current: String,
    update: String,
    started: Instant,
}

pub fn run(objects: &mut Objects, memory: &mut Memory, settings: &Settings) {
    let keys = keys_under(objects, "apps/statefulsets/", &mut memory.stateful_sets);
    for key in keys {
        let Some(set) = objects.objects.get(&key).cloned() else {
            continue;
        };
        if !set["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let name = set["metadata"]["name"].as_str().unwrap_or_default();
        let template = &set["spec"]["template"];
        let revision = format!("{name}-{:010x}", hash(template) & 0xff_ffff_ffff);
        let revisions = memory
            .stateful_sets
            .entry(key.clone())
            .or_insert_with(|| Revisions {
                current: revision.clone(),
                update: revision.clone(),
                started: Instant::now(),
            });
        if revisions.update != revision {
            revisions.update = revision.clone();
            revisions.started = Instant::now();
        }
        let failing = cannot_pull(template, settings);
        let desired = set["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
        let unbound = !sync_claims(objects, &set, desired, &settings.platform);
        let ready = !failing && !unbound && revisions.started.elapsed() >= settings.rollout_time;
        let strategy = &set["spec"]["updateStrategy"];
        let on_delete = strategy["type"] == "OnDelete";
        let partition = strategy["rollingUpdate"]["partition"]
            .as_i64()
            .unwrap_or(0)
            .clamp(0, desired);
        let first = revisions.current == revisions.update;
        // Ordinals that move to the update revision (all of them on a
        // first rollout), and whether they have.
        let moving = if first {
            desired
        } else if on_delete {
            0
        } else {
            desired - partition
        };
        if ready && partition == 0 && !on_delete {
            revisions.current = revisions.update.clone();
        }
        let (current, update) = (revisions.current.clone(), revisions.update.clone());
        let updated = if ready { moving } else { 0 };
        let ready_pods = if ready {
            desired
        } else if first {
            0
        } else {
            desired - moving
        };
        let containers = if unbound {
            Some(Containers::Unschedulable)
        } else if failing {
            Some(Containers::CannotPull)
        } else {
            None
        };
        sync_pods(
            objects,
            &set,
            desired,
            partition,
            (&current, &update),
            ready,
            containers,
            settings,
        );
        let mut status = json!({
            "observedGeneration": set["metadata"]["generation"],
            "replicas": desired,
            "readyReplicas": ready_pods,
            "currentReplicas": if current == update { desired } else { desired - updated },
            "updatedReplicas": updated,
            "currentRevision": current,
            "updateRevision": update,
            "collisionCount": 0,
            "availableReplicas": ready_pods,
        });
        if ready_pods == 0 {
            status.as_object_mut().map(|s| s.remove("readyReplicas"));
        }
        if !same_status(&set["status"], &status) {
            objects.controller_write(&key, |o| o["status"] = status);
        }
    }
}

/// The claims of every pod, made from the claim templates (which the
/// volume controller in `claims` binds and grows); owned by the
/// StatefulSet only when it is to delete them. Whether every pod's claims
/// are bound or can be (their StorageClass exists).
fn sync_claims(
    objects: &mut Objects,
    set: &Json,
    desired: i64,
    platform: &super::platform::Platform,
) -> bool {
    let Some(claims) = resources::find("", "v1", "persistentvolumeclaims") else {
        return true;
    };
    let mut all_bound = true;
    let ns = set["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = set["metadata"]["name"].as_str().unwrap_or_default();
    let policy = &set["spec"]["persistentVolumeClaimRetentionPolicy"];
    let owners = if policy["whenDeleted"] == "Delete" {
        json!([{
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "name": name,
            "uid": set["metadata"]["uid"],
            "controller": true,
            "blockOwnerDeletion": true,
        }])
    } else {
        Json::Null
    };
    let selector = set["spec"]["selector"]["matchLabels"].clone();
    for template in set["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let claim = template["metadata"]["name"].as_str().unwrap_or_default();
        let prefix = format!("/persistentvolumeclaims/{ns}/{claim}-{name}-");
        if policy["whenScaled"] == "Delete" {
            remove_past(objects, &prefix, desired, |_| true);
        }
        for ordinal in 0..desired {
            let key = format!("{prefix}{ordinal}");
            if !objects.objects.contains_key(&key) {
                let mut labels = template["metadata"]["labels"].clone();
                for (k, v) in selector.as_object().into_iter().flatten() {
                    labels[k] = v.clone();
                }
                let mut metadata =
                    json!({"name": format!("{claim}-{name}-{ordinal}"), "labels": labels});
                if !owners.is_null() {
                    metadata["ownerReferences"] = owners.clone();
                }
                let spec = template["spec"].clone();
                objects.controller_create(
                    claims,
                    ns,
                    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec, "status": {"phase": "Pending"}}),
                );
            }
            let Some(existing) = objects.objects.get(&key) else {
                continue;
            };
            if existing["status"]["phase"] != "Bound"
                && !super::storage_classes::provisions(objects, existing, platform)
            {
                all_bound = false;
            }
            if existing["metadata"]["ownerReferences"] != owners {
                objects.controller_write(&key, |c| match c["metadata"].as_object_mut() {
                    Some(m) if owners.is_null() => {
                        m.remove("ownerReferences");
                    }
                    Some(m) => {
                        m.insert("ownerReferences".into(), owners.clone());
                    }
                    None => {}
                });
            }
        }
    }
    all_bound
}

/// Pods `NAME-ORDINAL`, on the update revision from the partition up (or
/// when new), the current one below it; none past the replicas.
#[allow(clippy::too_many_arguments)]
fn sync_pods(
    objects: &mut Objects,
    set: &Json,
    desired: i64,
    partition: i64,
    (current, update): (&str, &str),
    ready: bool,
    trouble: Option<Containers>,
    settings: &Settings,
) {
    let Some(pods) = resources::find("", "v1", "pods") else {
        return;
    };
    let ns = set["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = set["metadata"]["name"].as_str().unwrap_or_default();
    let uid = &set["metadata"]["uid"];
    let prefix = format!("/pods/{ns}/{name}-");
    adopt(objects, set, &prefix);
    remove_past(objects, &prefix, desired, |o| {
        o["metadata"]["ownerReferences"][0]["uid"] == *uid
    });
    let template = &set["spec"]["template"];
    for ordinal in 0..desired {
        let key = format!("{prefix}{ordinal}");
        let revision = if ordinal >= partition && ready {
            update
        } else {
            objects.objects.get(&key).map_or(update, |p| {
                if p["metadata"]["labels"]["controller-revision-hash"] == current {
                    current
                } else {
                    update
                }
            })
        };
        let stale = objects
            .objects
            .get(&key)
            .is_some_and(|p| p["metadata"]["labels"]["controller-revision-hash"] != revision);
        if stale {
            objects.remove(&key);
        }
        if !objects.objects.contains_key(&key) {
            let mut labels = template["metadata"]["labels"].clone();
            labels["controller-revision-hash"] = json!(revision);
            labels["statefulset.kubernetes.io/pod-name"] = json!(format!("{name}-{ordinal}"));
            labels["apps.kubernetes.io/pod-index"] = json!(ordinal.to_string());
            let pod = json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": format!("{name}-{ordinal}"),
                    "labels": labels,
                    "ownerReferences": [{
                        "apiVersion": "apps/v1",
                        "kind": "StatefulSet",
                        "name": name,
                        "uid": uid,
                        "controller": true,
                        "blockOwnerDeletion": true,
                    }],
                },
                "spec": pod_spec(set, ordinal),
            });
            objects.controller_create(pods, ns, pod);
        }
        let containers = match (trouble, ready) {
            (Some(trouble), _) => trouble,
            (None, true) => Containers::Running,
            (None, false) if revision == current && current != update => Containers::Running,
            _ => Containers::Starting,
        };
        let status = pod_status(&template["spec"], containers, settings);
        if objects
            .objects
            .get(&key)
            .is_some_and(|p| !same_pod_status(&p["status"], &status))
        {
            objects.controller_write(&key, |p| p["status"] = status);
        }
    }
}

/// The template's pod spec with the pod's own claims mounted, as the
/// controller adds them: `TEMPLATE-NAME-ORDINAL`.
fn pod_spec(set: &Json, ordinal: i64) -> Json {
    let name = set["metadata"]["name"].as_str().unwrap_or_default();
    let mut spec = set["spec"]["template"]["spec"].clone();
    for template in set["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let volume = template["metadata"]["name"].as_str().unwrap_or_default();
        let mount = json!({"name": volume, "persistentVolumeClaim": {"claimName": format!("{volume}-{name}-{ordinal}")}});
        match spec["volumes"].as_array_mut() {
            Some(volumes) => volumes.push(mount),
            None => spec["volumes"] = json!([mount]),
        }
    }
    spec
}

/// Removes the objects `PREFIX-ORDINAL` at or past `desired` that `owned`
/// accepts: what a scale-in leaves behind.
fn remove_past(objects: &mut Objects, prefix: &str, desired: i64, owned: impl Fn(&Json) -> bool) {
    let past: Vec<String> = objects
        .objects
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(k, o)| {
            owned(o)
                && k[prefix.len()..]
                    .parse::<i64>()
                    .is_ok_and(|ordinal| ordinal >= desired)
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in past {
        objects.remove(&k);
    }
}

/// Takes over the pods a deleted StatefulSet of the same name left (an
/// `Orphan` delete): ones with no owner whose labels its selector matches.
fn adopt(objects: &mut Objects, set: &Json, prefix: &str) {
    let selector = set["spec"]["selector"]["matchLabels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let orphans: Vec<String> = objects
        .objects
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(_, p)| {
            p["metadata"]["ownerReferences"]
                .as_array()
                .is_none_or(Vec::is_empty)
                && selector
                    .iter()
                    .all(|(k, v)| p["metadata"]["labels"][k] == *v)
        })
        .map(|(k, _)| k.clone())
        .collect();
    let owner = json!([{
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": set["metadata"]["name"],
        "uid": set["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    }]);
    for key in orphans {
        objects.controller_write(&key, |p| p["metadata"]["ownerReferences"] = owner.clone());
    }
}
