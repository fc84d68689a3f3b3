//! The simulated controllers that run on every tick: deployment rollouts
//! (status, conditions, revisions; images matching a failing pattern never
//! become ready and end in ProgressDeadlineExceeded), the autoscaler
//! keeping deployments within their HPA's bounds, load-balancer addresses,
//! garbage collection and namespace termination.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::objects::Objects;

/// What the controllers need to know from the simulator's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a rollout takes to become available.
    pub rollout_time: Duration,
    /// Images containing one of these never become ready.
    pub failing_images: Vec<String>,
    /// Upper bound on a deployment's progress deadline, so tests of failed
    /// rollouts need not wait ten minutes.
    pub progress_deadline_cap: Option<Duration>,
}

/// Per-object controller memory that is not part of the API objects.
#[derive(Debug, Default)]
pub struct Memory {
    rollouts: HashMap<String, Rollout>,
    terminating: HashMap<String, Instant>,
}

#[derive(Debug)]
struct Rollout {
    template: Json,
    revision: u64,
    started: Instant,
}

pub fn run(objects: &mut Objects, memory: &mut Memory, settings: &Settings) {
    deployments(objects, memory, settings);
    autoscalers(objects);
    load_balancers(objects);
    objects.collect_garbage(&mut memory.terminating);
}

fn deployments(objects: &mut Objects, memory: &mut Memory, settings: &Settings) {
    let keys: Vec<String> = objects
        .objects
        .keys()
        .filter(|k| k.starts_with("apps/deployments/"))
        .cloned()
        .collect();
    memory.rollouts.retain(|k, _| keys.contains(k));
    for key in keys {
        let obj = objects.objects[&key].clone();
        if !obj["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let template = obj["spec"]["template"].clone();
        let rollout = memory
            .rollouts
            .entry(key.clone())
            .or_insert_with(|| Rollout {
                template: template.clone(),
                revision: 1,
                started: Instant::now(),
            });
        if rollout.template != template {
            rollout.template = template.clone();
            rollout.revision += 1;
            rollout.started = Instant::now();
        }
        let desired = obj["spec"]["replicas"].as_i64().unwrap_or(1);
        let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1);
        let failing = template["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str())
            .any(|image| {
                settings
                    .failing_images
                    .iter()
                    .any(|p| !p.is_empty() && image.contains(p.as_str()))
            });
        let elapsed = rollout.started.elapsed();
        let mut deadline = Duration::from_secs(
            obj["spec"]["progressDeadlineSeconds"]
                .as_u64()
                .unwrap_or(600),
        );
        if let Some(cap) = settings.progress_deadline_cap {
            deadline = deadline.min(cap);
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let rs = format!("{name}-{:010x}", hash(&template) & 0xff_ffff_ffff);
        let ready = !failing && elapsed >= settings.rollout_time;
        let available = if ready { desired } else { 0 };
        let previous = &obj["status"]["conditions"];
        let condition = |kind: &str, status: &str, reason: &str, message: String| {
            let same = previous
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
                .filter(|c| c["status"] == status);
            let since = same.map_or_else(now, |c| {
                c["lastTransitionTime"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            });
            json!({"type": kind, "status": status, "lastUpdateTime": now(), "lastTransitionTime": since, "reason": reason, "message": message})
        };
        let available_condition = if ready {
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            )
        } else {
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            )
        };
        let progressing = if ready {
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet \"{rs}\" has successfully progressed."),
            )
        } else if elapsed >= deadline {
            condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{rs}\" has timed out progressing."),
            )
        } else {
            condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{rs}\" is progressing."),
            )
        };
        let mut status = json!({
            "observedGeneration": generation,
            "replicas": desired,
            "updatedReplicas": desired,
            "terminatingReplicas": 0,
            "conditions": [available_condition, progressing],
        });
        if ready {
            status["readyReplicas"] = json!(desired);
            status["availableReplicas"] = json!(available);
        } else if desired > 0 {
            status["unavailableReplicas"] = json!(desired);
        }
        let revision = json!(rollout.revision.to_string());
        let unchanged = same_status(&obj["status"], &status)
            && obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision;
        if unchanged {
            continue;
        }
        objects.controller_write(&key, |o| {
            o["status"] = status;
            o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = revision;
        });
    }
}

/// Conditions carry times; compare without them.
fn same_status(a: &Json, b: &Json) -> bool {
    let strip = |s: &Json| {
        let mut s = s.clone();
        for c in s["conditions"].as_array_mut().into_iter().flatten() {
            if let Some(o) = c.as_object_mut() {
                o.remove("lastUpdateTime");
                o.remove("lastTransitionTime");
            }
        }
        s
    };
    strip(a) == strip(b)
}

/// Keeps each HPA's target within its bounds, writing through the scale
/// subresource as the real autoscaler does (so the field is the
/// autoscaler's, and an applier that leaves replicas out never fights it).
fn autoscalers(objects: &mut Objects) {
    let hpas: Vec<Json> = objects
        .objects
        .iter()
        .filter(|(k, _)| k.starts_with("autoscaling/horizontalpodautoscalers/"))
        .map(|(_, v)| v.clone())
        .collect();
    for hpa in hpas {
        let ns = hpa["metadata"]["namespace"].as_str().unwrap_or_default();
        let target = &hpa["spec"]["scaleTargetRef"];
        if target["kind"] != "Deployment" {
            continue;
        }
        let key = format!(
            "apps/deployments/{ns}/{}",
            target["name"].as_str().unwrap_or_default()
        );
        let Some(deployment) = objects.objects.get(&key) else {
            continue;
        };
        let current = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
        let min = hpa["spec"]["minReplicas"].as_i64().unwrap_or(1);
        let max = hpa["spec"]["maxReplicas"].as_i64().unwrap_or(current);
        let desired = current.clamp(min, max.max(min));
        if desired != current {
            objects.scale_as(&key, desired, "horizontal-pod-autoscaler");
        }
        let hpa_key = format!(
            "autoscaling/horizontalpodautoscalers/{ns}/{}",
            hpa["metadata"]["name"].as_str().unwrap_or_default()
        );
        let status = json!({"currentReplicas": current, "desiredReplicas": desired});
        if hpa["status"] != status {
            objects.controller_write(&hpa_key, |o| o["status"] = status);
        }
    }
}

/// LoadBalancer services get an address, as a cloud controller gives one.
fn load_balancers(objects: &mut Objects) {
    let keys: Vec<String> = objects
        .objects
        .iter()
        .filter(|(k, v)| {
            k.starts_with("/services/")
                && v["spec"]["type"] == "LoadBalancer"
                && v["status"]["loadBalancer"]["ingress"].is_null()
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in keys {
        let ip = format!("203.0.113.{}", hash(&json!(key)) % 250 + 2);
        objects.controller_write(&key, |o| {
            o["status"]["loadBalancer"] = json!({"ingress": [{"ip": ip, "ipMode": "VIP"}]})
        });
    }
}

fn hash(v: &Json) -> u64 {
    v.to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

fn now() -> String {
    let s = crate::google::now_rfc3339();
    format!("{}Z", &s[..19])
}
