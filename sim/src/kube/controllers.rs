//! The simulated controllers that run on every tick: deployment rollouts
//! (status, conditions, revisions; images matching a failing pattern never
//! become ready and end in ProgressDeadlineExceeded; pods whose claims
//! cannot bind are not scheduled), StatefulSets (in `stateful_sets`), Jobs
//! (in `jobs`), CronJobs (in `cron_jobs`), volume claims (in `claims`), the autoscaler keeping deployments
//! and StatefulSets within their HPA's bounds, load-balancer addresses,
//! Services' endpoints (in `endpoint_slices`),
//! garbage collection and namespace termination.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::objects::Objects;

/// What the controllers need to know from the simulator's configuration.
#[derive(Clone, Debug)]
pub struct Settings<'a> {
    /// How long a rollout takes to become available.
    pub rollout_time: Duration,
    /// Images containing one of these never become ready.
    pub failing_images: Vec<String>,
    /// Upper bound on a deployment's progress deadline, so tests of failed
    /// rollouts need not wait ten minutes.
    pub progress_deadline_cap: Option<Duration>,
    /// The simulator's time, which CronJobs run on: the wall clock plus
    /// what `POST /_sim/clock` advanced it by.
    pub now: jiff::Timestamp,
    /// The simulator's secret store (`POST /_sim/secrets`), which the
    /// External Secrets Operator's controller reads.
    pub secret_values: &'a std::collections::BTreeMap<String, String>,
    /// What the cloud runs in the cluster (`kube::platform`).
    pub platform: super::platform::Platform,
}

/// Per-object controller memory that is not part of the API objects.
#[derive(Debug, Default)]
pub struct Memory {
    rollouts: HashMap<String, Rollout>,
    pub(super) stateful_sets: HashMap<String, super::stateful_sets::Revisions>,
    pub(super) jobs: HashMap<String, Instant>,
    pub(super) cron_jobs: HashMap<String, super::cron_jobs::Checked>,
    terminating: HashMap<String, Instant>,
}

#[derive(Debug)]
struct Rollout {
    template: Json,
    /// The ReplicaSet the template makes, named after its hash.
    replica_set: String,
    revision: u64,
    started: Instant,
    /// The deployment's resourceVersion when its rollout was last found
    /// complete with nothing to write: until it changes (or a pod goes),
    /// a pass has nothing to do for it. A hundred deployments would
    /// otherwise hold the store for most of every pass.
    settled: Option<Json>,
}

impl Rollout {
    fn new(template: &Json, revision: u64) -> Rollout {
        Rollout {
            template: template.clone(),
            replica_set: format!("{:010x}", hash(template) & 0xff_ffff_ffff),
            revision,
            started: Instant::now(),
            settled: None,
        }
    }
}

pub fn run(objects: &mut Objects, memory: &mut Memory, settings: &Settings) {
    let now = super::objects::now_rfc3339_seconds();
    // Definitions the cloud installs are established in the same pass.
    super::auto_mode::install(objects, &settings.platform);
    super::compute_classes::install(objects, &settings.platform);
    super::custom::run(objects, &now);
    super::auto_mode::run(objects, &settings.platform, &now);
    super::compute_classes::run(objects, &settings.platform, &now);
    // The operator refreshes on the simulator's time, which tests move.
    let clock = settings.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    super::external_secrets::run(objects, settings.secret_values, &clock);
    deployments(objects, memory, settings);
    super::stateful_sets::run(objects, memory, settings);
    super::cron_jobs::run(objects, memory, settings.now);
    super::jobs::run(objects, memory, settings);
    // After the pods it binds claims for on first use.
    super::claims::run(objects, &settings.platform);
    autoscalers(objects, settings.platform.metrics);
    load_balancers(objects);
    super::ingresses::run(objects, &settings.platform);
    super::endpoint_slices::run(objects);
    objects.collect_garbage(&mut memory.terminating);
}

fn deployments(objects: &mut Objects, memory: &mut Memory, settings: &Settings) {
    let keys = keys_under(objects, "apps/deployments/", &mut memory.rollouts);
    for key in keys {
        let Some(found) = objects.objects.get(&key) else {
            continue;
        };
        if !found["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let rollout = memory
            .rollouts
            .entry(key.clone())
            .or_insert_with(|| Rollout::new(&found["spec"]["template"], 1));
        let version = &found["metadata"]["resourceVersion"];
        if rollout.settled.as_ref() == Some(version)
            && pods_of(objects, found, &rollout.replica_set) == found["spec"]["replicas"]
        {
            continue;
        }
        rollout.settled = None;
        if rollout.template != found["spec"]["template"] {
            *rollout = Rollout::new(&found["spec"]["template"], rollout.revision + 1);
        }
        let version = version.clone();
        // What the rollout reads, rather than a copy of the whole object
        // on every tick.
        let obj = json!({
            "metadata": {
                "name": found["metadata"]["name"],
                "namespace": found["metadata"]["namespace"],
                "uid": found["metadata"]["uid"],
                "generation": found["metadata"]["generation"],
                "annotations": found["metadata"]["annotations"],
            },
            "spec": {
                "replicas": found["spec"]["replicas"],
                "progressDeadlineSeconds": found["spec"]["progressDeadlineSeconds"],
            },
            "status": found["status"],
        });
        let template = &rollout.template;
        let desired = obj["spec"]["replicas"].as_i64().unwrap_or(1);
        let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1);
        let failing = cannot_pull(template, settings);
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
        let rs = format!("{name}-{}", rollout.replica_set);
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let placed = super::claims::schedulable(objects, ns, &template["spec"], &settings.platform);
        let ready = !failing && placed && elapsed >= settings.rollout_time;
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
        let containers = if !placed {
            Containers::Unschedulable
        } else if failing {
            Containers::CannotPull
        } else if ready {
            Containers::Running
        } else {
            Containers::Starting
        };
        sync_pods(objects, &obj, template, &rs, desired, containers, settings);
        let revision = json!(rollout.revision.to_string());
        let unchanged = same_status(&obj["status"], &status)
            && obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision;
        if unchanged {
            if ready {
                rollout.settled = Some(version);
            }
            continue;
        }
        objects.controller_write(&key, |o| {
            o["status"] = status;
            o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = revision;
        });
    }
}

/// How many pods a deployment's ReplicaSet (named by its template's hash)
/// has.
fn pods_of(objects: &Objects, deployment: &Json, replica_set: &str) -> Json {
    let prefix = format!(
        "/pods/{}/{}-{replica_set}-",
        deployment["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default(),
        deployment["metadata"]["name"].as_str().unwrap_or_default(),
    );
    let count = objects
        .objects
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .count();
    json!(count)
}

/// Where a pod's containers are.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Containers {
    Starting,
    Running,
    /// An image matching `--failing-image` cannot be pulled.
    CannotPull,
    /// The pod's claims are not bound: the scheduler cannot place it.
    Unschedulable,
}

/// Keeps a deployment's pods as its ReplicaSet and the kubelet would:
/// `desired` pods of the current template (`rs` names it), old ones gone,
/// each with the container states a client reads to explain a rollout.
fn sync_pods(
    objects: &mut Objects,
    deployment: &Json,
    template: &Json,
    rs: &str,
    desired: i64,
    containers: Containers,
    settings: &Settings,
) {
    let Some(pods) = super::resources::find("", "v1", "pods") else {
        return;
    };
    let ns = deployment["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    let uid = &deployment["metadata"]["uid"];
    let prefix = format!("/pods/{ns}/");
    // Pods are named after their deployment: look only there.
    let named = format!(
        "{prefix}{}-",
        deployment["metadata"]["name"].as_str().unwrap_or_default()
    );
    let owned: Vec<String> = objects
        .objects
        .range(named.clone()..)
        .take_while(|(k, _)| k.starts_with(&named))
        .filter(|(_, o)| o["metadata"]["ownerReferences"][0]["uid"] == *uid)
        .map(|(k, _)| k.clone())
        .collect();
    let wanted: Vec<String> = (0..desired.max(0))
        .map(|i| format!("{rs}-{}", pod_suffix(hash(&json!([rs, i])))))
        .collect();
    for key in &owned {
        if !wanted.iter().any(|name| key.ends_with(&format!("/{name}"))) {
            objects.remove(key);
        }
    }
    for name in &wanted {
        let key = format!("{prefix}{name}");
        if !objects.objects.contains_key(&key) {
            let mut labels = template["metadata"]["labels"].clone();
            labels["pod-template-hash"] = json!(rs.rsplit('-').next().unwrap_or_default());
            let pod = json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "labels": labels,
                    "ownerReferences": [{
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": deployment["metadata"]["name"],
                        "uid": uid,
                        "controller": true,
                        "blockOwnerDeletion": true,
                    }],
                },
                "spec": template["spec"],
            });
            objects.controller_create(pods, ns, pod);
        }
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

/// The objects under `prefix` (`apps/statefulsets/`), each a controller's
/// to tick; what the controller remembers of others is forgotten.
pub(super) fn keys_under<T>(
    objects: &Objects,
    prefix: &str,
    memory: &mut HashMap<String, T>,
) -> Vec<String> {
    let keys = objects.keys_under(prefix);
    memory.retain(|k, _| keys.binary_search(k).is_ok());
    keys
}

/// Whether a pod template's image matches a `--failing-image` pattern.
pub(super) fn cannot_pull(template: &Json, settings: &Settings) -> bool {
    template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .any(|image| failing_image(image, settings))
}

fn failing_image(image: &str, settings: &Settings) -> bool {
    settings
        .failing_images
        .iter()
        .any(|p| !p.is_empty() && image.contains(p.as_str()))
}

/// Five characters from the alphabet Kubernetes uses for generated names.
pub(super) fn pod_suffix(mut n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// A pod's status as the kubelet reports it.
pub(super) fn pod_status(spec: &Json, containers: Containers, settings: &Settings) -> Json {
    if containers == Containers::Unschedulable {
        return json!({
            "phase": "Pending",
            "conditions": [{
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": null,
                "lastTransitionTime": now(),
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
            }],
            "qosClass": "BestEffort",
        });
    }
    let names: Vec<&str> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let statuses: Vec<Json> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            let state = match containers {
                Containers::Running => json!({"running": {"startedAt": now()}}),
                Containers::CannotPull if failing_image(image, settings) => json!({"waiting": {
                    "reason": "ImagePullBackOff",
                    "message": format!("Back-off pulling image \"{image}\""),
                }}),
                _ => json!({"waiting": {"reason": "ContainerCreating"}}),
            };
            let running = containers == Containers::Running;
            json!({"name": c["name"], "image": image, "imageID": "", "ready": running, "started": running, "restartCount": 0, "state": state})
        })
        .collect();
    let ready = containers == Containers::Running;
    let mut condition = json!({"type": "Ready", "status": if ready { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now()});
    if !ready {
        condition["reason"] = json!("ContainersNotReady");
        condition["message"] = json!(format!(
            "containers with unready status: [{}]",
            names.join(" ")
        ));
    }
    json!({
        "phase": if ready { "Running" } else { "Pending" },
        "conditions": [condition],
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    })
}

/// Pod statuses carry times; compare what they say.
pub(super) fn same_pod_status(a: &Json, b: &Json) -> bool {
    let say = |s: &Json| {
        let states: Vec<Json> = s["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| json!([c["ready"], c["state"]["waiting"]["reason"], c["image"]]))
            .collect();
        json!([s["phase"], states])
    };
    say(a) == say(b)
}

/// Conditions carry times; compare without them.
pub(super) fn same_status(a: &Json, b: &Json) -> bool {
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
/// Its status says whether it gets metrics, as the real controller's does.
fn autoscalers(objects: &mut Objects, metrics: bool) {
    const PREFIX: &str = "autoscaling/horizontalpodautoscalers/";
    // What each pass reads of an autoscaler, not a copy of it.
    let hpas: Vec<(String, String, i64, Option<i64>, Json, Json)> = objects
        .objects
        .range(PREFIX.to_string()..)
        .take_while(|(k, _)| k.starts_with(PREFIX))
        .filter_map(|(k, hpa)| {
            let ns = hpa["metadata"]["namespace"].as_str().unwrap_or_default();
            let target = &hpa["spec"]["scaleTargetRef"];
            let plural = match target["kind"].as_str() {
                Some("Deployment") => "deployments",
                Some("StatefulSet") => "statefulsets",
                _ => return None,
            };
            let name = target["name"].as_str().unwrap_or_default();
            Some((
                k.clone(),
                format!("apps/{plural}/{ns}/{name}"),
                hpa["spec"]["minReplicas"].as_i64().unwrap_or(1),
                hpa["spec"]["maxReplicas"].as_i64(),
                hpa["status"].clone(),
                hpa["spec"].clone(),
            ))
        })
        .collect();
    let now = super::objects::now_rfc3339_seconds();
    for (hpa_key, key, min, max, previous, spec) in hpas {
        let Some(target) = objects.objects.get(&key) else {
            continue;
        };
        let current = target["spec"]["replicas"].as_i64().unwrap_or(1);
        let max = max.unwrap_or(current);
        let desired = current.clamp(min, max.max(min));
        if desired != current {
            objects.scale_as(&key, desired, "horizontal-pod-autoscaler");
        }
        let mut status = json!({"currentReplicas": current, "desiredReplicas": desired});
        if metrics {
            status["currentMetrics"] = super::metrics::current(&spec);
        }
        status["conditions"] = super::metrics::condition_entries(
            super::metrics::conditions(&spec, metrics),
            &previous["conditions"],
            &now,
        );
        if previous != status {
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

pub(super) fn hash(v: &Json) -> u64 {
    v.to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

pub(super) fn now() -> String {
    let s = crate::google::now_rfc3339();
    format!("{}Z", &s[..19])
}
