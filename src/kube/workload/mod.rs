//! A `genesis_workload` in its cluster: the objects it renders to
//! (`render`), read back from what the cluster holds (`read`), applied with
//! server-side apply, waited on, observed and deleted.

pub mod analysis;
mod claims;
pub mod colors;
mod custom;
pub mod endpoints;
mod external_secrets;
pub mod list;
mod mesh;
mod read;
mod render;
pub mod restart;
pub mod run;

pub use crate::kube::addons::{Addon, serves};
use claims::remake_pending_claims;
pub use claims::{VOLUME_LABEL, WHEN_DELETED, deletable, expand_claims};
pub use external_secrets::{Sync, target as external_secrets_target};
pub use mesh::weighted as mesh_weighted;
pub use read::{ours, spec_of};
pub use render::{claim_of, origin_of, render, same_objects};

use std::collections::BTreeMap;

use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::kube::retried;

/// The label naming the workload on every object and pod.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";

/// The kinds that run a workload's pods.
const CONTROLLERS: [&str; 4] = ["Deployment", "StatefulSet", "Job", "CronJob"];

/// The kinds a workload may render, with their API coordinates: (kind,
/// group, version, plural).
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("ServiceAccount", "", "v1", "serviceaccounts"),
    ("ConfigMap", "", "v1", "configmaps"),
    ("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
    ("Deployment", "apps", "v1", "deployments"),
    ("StatefulSet", "apps", "v1", "statefulsets"),
    ("Job", "batch", "v1", "jobs"),
    ("CronJob", "batch", "v1", "cronjobs"),
    ("Service", "", "v1", "services"),
    (
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
    ),
    (
        "PodDisruptionBudget",
        "policy",
        "v1",
        "poddisruptionbudgets",
    ),
    (
        "NetworkPolicy",
        "networking.k8s.io",
        "v1",
        "networkpolicies",
    ),
    ("Ingress", "networking.k8s.io", "v1", "ingresses"),
    external_secrets::KIND,
    mesh::KINDS[0],
    mesh::KINDS[1],
    mesh::KINDS[2],
];

fn api(
    client: &kube::Client,
    kind: &str,
    namespace: &str,
) -> Option<kube::Api<kube::api::DynamicObject>> {
    let (_, group, version, plural) = KINDS.iter().find(|k| k.0 == kind)?;
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    let resource = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
    Some(kube::Api::namespaced_with(
        client.clone(),
        namespace,
        &resource,
    ))
}

/// Applies `objects`, a new rendering of a workload that was rendered
/// `prior`: volume claims still pending at another size are made again
/// first (`remake_pending_claims`).
pub async fn apply_over(
    client: &kube::Client,
    (prior, objects): (&[Json], &[Json]),
    timeout: std::time::Duration,
    stop: &CancellationToken,
) -> Result<(), crate::kube::KubeError> {
    remake_pending_claims(client, (prior, objects), timeout, stop).await?;
    apply(client, objects, stop).await
}

/// Applies every object with server-side apply (field manager `genesis`).
pub async fn apply(
    client: &kube::Client,
    objects: &[Json],
    stop: &CancellationToken,
) -> Result<(), crate::kube::KubeError> {
    use kube::api::{Patch, PatchParams};
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let Some(api) = api(client, kind, namespace) else {
            continue;
        };
        let params = PatchParams::apply(crate::kube::FIELD_MANAGER).force();
        let patch = Patch::Apply(object);
        let call = format!("applying {kind} {namespace}/{name}");
        let started = std::time::Instant::now();
        loop {
            let applied = retried(stop, || api.patch(name, &params, &patch))
                .await
                .map_err(|e| crate::kube::KubeError::from_kube(&call, e))?;
            // Applied to an object on its way out (another resource
            // instance deleting it in the same apply): it would be gone
            // with the change. Wait it out and make it again.
            let Some(uid) = applied
                .metadata
                .deletion_timestamp
                .as_ref()
                .and(applied.metadata.uid.clone())
            else {
                break;
            };
            tracing::info!(
                kind,
                namespace,
                name,
                "applied to an object being deleted: waiting to make it again"
            );
            let going = [Going {
                kind,
                name,
                uid: Some(uid.as_str()),
                version: None,
            }];
            wait_until_gone(
                client,
                namespace,
                &going,
                (started, APPLY_AFTER_DELETE),
                stop,
            )
            .await?;
        }
    }
    Ok(())
}

/// How long an apply waits for an object someone else is deleting to go.
const APPLY_AFTER_DELETE: std::time::Duration = std::time::Duration::from_secs(300);

/// Deletes a resource instance's objects (kind, name) as [`delete`] does,
/// but only those it still holds: an object whose claim annotation names
/// another instance (a newer create adopted it: a renamed `for_each` key,
/// a replacement under `create_before_destroy`) is left to it, and a
/// delete is made only on the version read (a precondition), so a claim
/// written between the read and the delete is never deleted under its new
/// owner. Returns the objects left to another instance.
pub async fn delete_held(
    client: &kube::Client,
    namespace: &str,
    objects: &[(String, String)],
    claim: Option<&str>,
    timeout: std::time::Duration,
    stop: &CancellationToken,
) -> Result<Vec<(String, String)>, crate::kube::KubeError> {
    let started = std::time::Instant::now();
    let mut going = Vec::new();
    let mut left = Vec::new();
    for (kind, name) in objects {
        let Some(api) = api(client, kind, namespace) else {
            continue;
        };
        let call = format!("deleting {kind} {namespace}/{name}");
        // A precondition fails only when the object changed between the
        // read and the delete: a few rounds settle it.
        for round in 1..=5 {
            let Some(live) = retried(stop, || api.get_opt(name))
                .await
                .map_err(|e| crate::kube::KubeError::from_kube(&call, e))?
            else {
                break;
            };
            let held = live
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(crate::cloud::origin::CLAIM_ANNOTATION));
            if held.is_some_and(|held| Some(held.as_str()) != claim) {
                left.push((kind.clone(), name.clone()));
                break;
            }
            let mut params = deletion(kind);
            params.preconditions = Some(kube::api::Preconditions {
                uid: live.metadata.uid.clone(),
                resource_version: live.metadata.resource_version.clone(),
            });
            match retried(stop, || api.delete(name, &params)).await {
                Ok(answer) => {
                    if let Some(version) = still_going(answer.left()) {
                        going.push((kind.as_str(), name.as_str(), live.metadata.uid, version));
                    }
                    break;
                }
                Err(kube::Error::Api(s)) if s.code == 404 => break,
                // Changed since it was read: read it again.
                Err(kube::Error::Api(s)) if s.code == 409 && round < 5 => continue,
                Err(e) => return Err(crate::kube::KubeError::from_kube(&call, e)),
            }
        }
    }
    let going: Vec<Going> = going
        .iter()
        .map(|(kind, name, uid, version)| Going {
            kind,
            name,
            uid: uid.as_deref(),
            version: Some(version),
        })
        .collect();
    wait_until_gone(client, namespace, &going, (started, timeout), stop).await?;
    Ok(left)
}

/// The resourceVersion to watch an object from after its DELETE answered,
/// or `None` when it is gone already: a DELETE either removes the object
/// (answering with a Status, or the object as it was) or marks it with a
/// deletionTimestamp (finalizers, foreground propagation) and answers
/// with it marked.
fn still_going(answered: Option<kube::api::DynamicObject>) -> Option<String> {
    answered
        .filter(|object| object.metadata.deletion_timestamp.is_some())
        .and_then(|object| object.metadata.resource_version)
}

/// An object on its way out, to wait for.
pub(crate) struct Going<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    /// With a uid, an object of the name made again since counts as gone.
    pub uid: Option<&'a str>,
    /// The version its DELETE answered with, watched from without a read.
    pub version: Option<&'a str>,
}

/// How an object of `kind` is deleted: the controllers of pods that hold
/// data or run work to an end (StatefulSets, Jobs, CronJobs) with
/// foreground propagation, so that the wait ends once their pods are gone;
/// the rest in the background, which removes them at once (what they own,
/// such as a Deployment's ReplicaSets and pods or a Service's
/// EndpointSlices, the garbage collector takes later, as it does for
/// `kubectl delete` and HashiCorp's kubernetes provider). A Deployment's
/// pods are interchangeable replicas, and waiting for them costs much:
/// the garbage collector's queue is rate-limited (10 a second), so
/// foreground deletes of 100 Deployments took 40 s on a real API server
/// (`cargo bench --bench scale`).
fn deletion(kind: &str) -> kube::api::DeleteParams {
    if CONTROLLERS.contains(&kind) && kind != "Deployment" {
        kube::api::DeleteParams::foreground()
    } else {
        kube::api::DeleteParams::background()
    }
}

/// Deletes objects (kind, name) of a workload (see [`deletion`]) and
/// waits until all of them are gone.
pub async fn delete(
    client: &kube::Client,
    namespace: &str,
    objects: &[(String, String)],
    timeout: std::time::Duration,
    stop: &CancellationToken,
) -> Result<(), crate::kube::KubeError> {
    let started = std::time::Instant::now();
    let mut going = Vec::new();
    for (kind, name) in objects {
        let Some(api) = api(client, kind, namespace) else {
            continue;
        };
        let params = deletion(kind);
        match retried(stop, || api.delete(name, &params)).await {
            Ok(answer) => {
                if let Some(version) = still_going(answer.left()) {
                    going.push((kind.as_str(), name.as_str(), version));
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(crate::kube::KubeError::from_kube(
                    &format!("deleting {kind} {namespace}/{name}"),
                    e,
                ));
            }
        }
    }
    let going: Vec<Going> = going
        .iter()
        .map(|(kind, name, version)| Going {
            kind,
            name,
            uid: None,
            version: Some(version),
        })
        .collect();
    wait_until_gone(client, namespace, &going, (started, timeout), stop).await
}

/// Waits until the objects are gone, until `timeout` from `started`.
async fn wait_until_gone(
    client: &kube::Client,
    namespace: &str,
    objects: &[Going<'_>],
    deadline: (std::time::Instant, std::time::Duration),
    stop: &CancellationToken,
) -> Result<(), crate::kube::KubeError> {
    for going in objects {
        if let Some(api) = api(client, going.kind, namespace) {
            wait_gone(&api, namespace, going, deadline, stop).await?;
        }
    }
    Ok(())
}

/// Waits until one object is gone: its name is watched from the version
/// its DELETE answered with (or, without one, read first), so that however
/// long the garbage collector takes, the wait costs one call (a GET every
/// second would cost one per second per object). Where watching is
/// refused (RBAC without `watch`) or fails, it polls with backoff instead.
async fn wait_gone(
    api: &kube::Api<kube::api::DynamicObject>,
    namespace: &str,
    going: &Going<'_>,
    (started, timeout): (std::time::Instant, std::time::Duration),
    stop: &CancellationToken,
) -> Result<(), crate::kube::KubeError> {
    let Going {
        kind, name, uid, ..
    } = *going;
    let mut pause = std::time::Duration::from_millis(50);
    let mut known = going.version.map(str::to_string);
    loop {
        let version = match known.take() {
            Some(version) => version,
            None => {
                let live = retried(stop, || api.get_opt(name))
                    .await
                    .map_err(|e| crate::kube::KubeError::from_kube("waiting for a deletion", e))?
                    .filter(|o| uid.is_none_or(|uid| o.metadata.uid.as_deref() == Some(uid)));
                let Some(live) = live else {
                    return Ok(());
                };
                live.metadata.resource_version.unwrap_or_default()
            }
        };
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() || stop.is_cancelled() {
            let why = if stop.is_cancelled() {
                "still there when Terraform stopped".to_string()
            } else {
                format!("still there after {timeout:?}")
            };
            return Err(crate::kube::KubeError::Transport {
                call: format!("deleting {kind} {namespace}/{name}"),
                message: why,
            });
        }
        match watch_deletion(api, name, uid, &version, left, stop).await {
            Ok(true) => return Ok(()),
            // The watch ended (its timeout, an expired version): read again.
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(kind, namespace, name, error = %e, "watching a deletion failed: polling");
                tokio::select! {
                    () = tokio::time::sleep(pause.min(left)) => {}
                    () = stop.cancelled() => {}
                }
                pause = (pause * 2).min(std::time::Duration::from_secs(1));
            }
        }
    }
}

/// Watches `name` from `version` for at most `left`: true once it is
/// deleted (or made again under another uid), false when the watch ends
/// first or the wait is stopped.
async fn watch_deletion(
    api: &kube::Api<kube::api::DynamicObject>,
    name: &str,
    uid: Option<&str>,
    version: &str,
    left: std::time::Duration,
    stop: &CancellationToken,
) -> Result<bool, kube::Error> {
    use kube::api::{WatchEvent, WatchParams};
    use tokio_stream::StreamExt as _;
    // kube-rs refuses a server-side timeout of 295 s or more.
    let seconds = left.as_secs().clamp(1, 290) as u32;
    let params = WatchParams::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(seconds);
    let events = api.watch(&params, version).await?;
    tokio::pin!(events);
    let other = |o: &kube::api::DynamicObject| {
        uid.is_some_and(|uid| o.metadata.uid.as_deref() != Some(uid))
    };
    // The server ends the watch at its timeout; a little more here in case
    // it does not.
    let deadline = tokio::time::sleep(std::time::Duration::from_secs(u64::from(seconds) + 5));
    tokio::pin!(deadline);
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return Ok(false),
            () = &mut deadline => return Ok(false),
            event = events.next() => event,
        };
        match event {
            None => return Ok(false),
            Some(Err(e)) => return Err(e),
            Some(Ok(WatchEvent::Deleted(o))) if !other(&o) => return Ok(true),
            Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) if other(&o) => {
                return Ok(true);
            }
            Some(Ok(WatchEvent::Error(e))) => {
                tracing::debug!(code = e.code, reason = %e.reason, "deletion watch ended");
                return Ok(false);
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Whether going from `before` to `after` changes what a StatefulSet
/// cannot change in place (its claim templates, its pod management
/// policy): it is then deleted with its pods left running (`recreate`)
/// and applied again, adopting them.
pub fn rebuilds_stateful_set(before: &[Json], after: &[Json]) -> bool {
    let fixed = |objects: &[Json]| {
        objects
            .iter()
            .find(|o| o["kind"] == "StatefulSet")
            .map(|o| {
                (
                    o["spec"]["volumeClaimTemplates"].clone(),
                    o["spec"]["podManagementPolicy"].clone(),
                )
            })
    };
    matches!((fixed(before), fixed(after)), (Some(a), Some(b)) if a != b)
}

/// Whether going from `before` to `after` changes a Job, which Kubernetes
/// cannot change once made: it is deleted and made again, running the
/// task again.
pub fn reruns_job(before: &[Json], after: &[Json]) -> bool {
    let job = |objects: &[Json]| objects.iter().find(|o| o["kind"] == "Job").cloned();
    match (job(before), job(after)) {
        (Some(a), Some(b)) => !same_objects(&[a], &[b]),
        _ => false,
    }
}

/// Deletes a StatefulSet but not its pods (nor their claims), and waits
/// until it is gone, so that it can be applied again with what it cannot
/// change in place.
pub async fn orphan_stateful_set(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: std::time::Duration,
    stop: &CancellationToken,
) -> Result<(), crate::kube::KubeError> {
    let api = api(client, "StatefulSet", namespace).expect("StatefulSet is a known kind");
    let params = kube::api::DeleteParams::orphan();
    match retried(stop, || api.delete(name, &params)).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => {
            return Err(crate::kube::KubeError::from_kube(
                &format!("deleting StatefulSet {namespace}/{name} (its pods stay)"),
                e,
            ));
        }
    }
    let started = std::time::Instant::now();
    while retried(stop, || api.get_opt(name))
        .await
        .map_err(|e| crate::kube::KubeError::from_kube("waiting for the StatefulSet to go", e))?
        .is_some()
    {
        if started.elapsed() > timeout {
            return Err(crate::kube::KubeError::Transport {
                call: format!("deleting StatefulSet {namespace}/{name} (its pods stay)"),
                message: format!("still there after {timeout:?}"),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Which of `objects` already exist in the cluster and are not this
/// rendering's own (by their origin fingerprint: an earlier attempt of the
/// same create made those), as (kind, name), all read at once. A create
/// refuses to take these over: server-side apply with `force` would
/// otherwise silently rewrite another owner's objects. A claim Genesis
/// kept when a workload of this name was destroyed is its data: it is
/// taken back.
pub async fn foreign(
    client: &kube::Client,
    objects: &[Json],
    stop: &CancellationToken,
) -> Result<Vec<(String, String)>, crate::kube::KubeError> {
    let rendered = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    };
    let found = existing(client, objects, stop).await?;
    Ok(found
        .into_iter()
        .filter(|(kind, name, live)| {
            let Some(own) = rendered(kind, name) else {
                return true;
            };
            let same_origin = origin_of(live).is_some() && origin_of(live) == origin_of(own);
            !same_origin && !claims::kept_claim(live, own)
        })
        .map(|(kind, name, _)| (kind, name))
        .collect())
}

/// Which of `objects` exist in the cluster: (kind, name, the live object).
pub async fn existing(
    client: &kube::Client,
    objects: &[Json],
    stop: &CancellationToken,
) -> Result<Vec<(String, String, Json)>, crate::kube::KubeError> {
    let mut reads = tokio::task::JoinSet::new();
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(api) = api(client, &kind, namespace) else {
            continue;
        };
        let stop = stop.clone();
        reads.spawn(async move {
            let found = crate::kube::get_json(&api, &name, &stop)
                .await
                .map_err(|e| {
                    crate::kube::KubeError::from_kube(&format!("reading {kind} {name}"), e)
                })?;
            Ok::<_, crate::kube::KubeError>(found.map(|o| (kind, name, o)))
        });
    }
    let mut found = Vec::new();
    while let Some(read) = reads.join_next().await {
        let read = read.map_err(|e| crate::kube::KubeError::Transport {
            call: "reading the workload".into(),
            message: e.to_string(),
        })??;
        found.extend(read);
    }
    // In the order they are applied, so the message is stable.
    found.sort_by(|(k1, n1, _), (k2, n2, _)| {
        let at = |k: &str| KINDS.iter().position(|kind| kind.0 == k);
        (at(k1), n1).cmp(&(at(k2), n2))
    });
    Ok(found)
}

/// (kind, name) of each object, for deleting them.
pub fn identities(objects: &[Json]) -> Vec<(String, String)> {
    objects
        .iter()
        .filter_map(|o| {
            Some((
                o["kind"].as_str()?.to_string(),
                o["metadata"]["name"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// How a rollout ended.
#[derive(Debug, PartialEq)]
pub enum Rollout {
    Available,
    /// A Job's run succeeded.
    Complete,
    /// The deployment reported why it cannot finish.
    Failed(String),
    /// Still going when the wait ended.
    Progressing,
}

/// Waits until the new pods of the workload's Deployment or StatefulSet
/// (`kind`) are updated, ready and available, the rollout fails
/// (ProgressDeadlineExceeded), or `timeout` passes.
pub async fn wait_for_rollout(
    client: &kube::Client,
    namespace: &str,
    (kind, name): (&str, &str),
    timeout: std::time::Duration,
    stop: &CancellationToken,
) -> Result<Rollout, crate::kube::KubeError> {
    let Some(api) = api(client, kind, namespace) else {
        return Ok(Rollout::Available);
    };
    let started = std::time::Instant::now();
    // Quick rollouts are seen quickly, slow ones are not polled hard.
    let mut pause = std::time::Duration::from_millis(50);
    loop {
        let d = retried(stop, || api.get(name))
            .await
            .map_err(|e| crate::kube::KubeError::from_kube(&format!("reading the {kind}"), e))?;
        let mut d = serde_json::to_value(&d).unwrap_or_default();
        d["kind"] = Json::from(kind);
        let rollout = rollout_of(&d);
        if rollout != Rollout::Progressing || started.elapsed() >= timeout {
            return Ok(rollout);
        }
        tracing::debug!(%kind, %name, elapsed_ms = started.elapsed().as_millis() as u64, "waiting for the rollout");
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.cancelled() => return Ok(Rollout::Progressing),
        }
        pause = (pause * 2).min(std::time::Duration::from_secs(2));
    }
}

/// Waits until the operator has synced the workload's ExternalSecret into
/// its Secret, or says why it cannot (after a grace period, in which a
/// failure from before the latest change may still show), or `timeout`.
pub async fn wait_for_external_secrets(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: std::time::Duration,
    stop: &CancellationToken,
) -> Result<Sync, crate::kube::KubeError> {
    let Some(api) = api(client, external_secrets::KIND.0, namespace) else {
        return Ok(Sync::Synced);
    };
    let grace = std::time::Duration::from_secs(5).min(timeout);
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(50);
    loop {
        let found = retried(stop, || api.get(name))
            .await
            .map_err(|e| crate::kube::KubeError::from_kube("reading the ExternalSecret", e))?;
        let sync = external_secrets::sync_of(&serde_json::to_value(&found).unwrap_or_default());
        let waited = started.elapsed();
        match sync {
            Sync::Synced => return Ok(sync),
            Sync::Failed(_) if waited >= grace => return Ok(sync),
            _ if waited >= timeout => return Ok(Sync::Pending),
            _ => {}
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.cancelled() => return Ok(Sync::Pending),
        }
        pause = (pause * 2).min(std::time::Duration::from_secs(2));
    }
}

/// Why the workload's pods are not ready, as the scheduler's condition
/// (`Unschedulable: 0/3 nodes are available: ...`) or their container
/// states say (`ImagePullBackOff: Back-off pulling image "x"` on 2 pods),
/// for a rollout error; `None` when no pod says anything useful.
pub async fn pod_problems(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
) -> Option<String> {
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&kube::api::ListParams::default().labels(selector))
        .await
        .ok()?;
    let mut problems: BTreeMap<String, usize> = BTreeMap::new();
    let mut unscheduled: BTreeMap<String, usize> = BTreeMap::new();
    for pod in &list.items {
        // A pod the scheduler cannot place has no container to ask.
        let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
        if let Some(c) = conditions
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason.is_some())
        {
            let reason = c.reason.as_deref().unwrap_or_default();
            let problem = match &c.message {
                Some(m) => format!("{reason}: {m}"),
                None => reason.to_string(),
            };
            *unscheduled.entry(problem).or_default() += 1;
            continue;
        }
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref());
        for c in statuses.into_iter().flatten() {
            let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
            // A container that does not restart (a Job's) ends in its
            // state; one that does, in its last state.
            let terminated = c
                .state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .filter(|t| t.exit_code != 0)
                .or(c.last_state.as_ref().and_then(|s| s.terminated.as_ref()));
            let problem = match (waiting, terminated) {
                (Some(w), _)
                    if !matches!(
                        w.reason.as_deref(),
                        None | Some("ContainerCreating" | "PodInitializing")
                    ) =>
                {
                    let reason = w.reason.as_deref().unwrap_or_default();
                    match &w.message {
                        Some(m) => format!("{reason}: {m}"),
                        None => reason.to_string(),
                    }
                }
                (_, Some(t)) if !c.ready => format!(
                    "container {} exited with code {} ({})",
                    c.name,
                    t.exit_code,
                    t.reason.as_deref().unwrap_or("no reason given")
                ),
                _ => continue,
            };
            *problems.entry(problem).or_default() += 1;
        }
    }
    let counted = |found: BTreeMap<String, usize>, unit: &'static str| {
        found.into_iter().map(move |(problem, n)| {
            format!("{problem} ({n} {unit}{})", if n == 1 { "" } else { "s" })
        })
    };
    let said: Vec<String> = counted(unscheduled, "pod")
        .chain(counted(problems, "container"))
        .collect();
    (!said.is_empty()).then(|| said.join("; "))
}

/// The rollout state a Deployment's or StatefulSet's status shows, how a
/// Job's run went; a CronJob has nothing to wait for.
pub fn rollout_of(d: &Json) -> Rollout {
    match d["kind"].as_str() {
        Some("CronJob") => return Rollout::Available,
        Some("Job") => return run_of(d),
        _ => {}
    }
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &d["status"];
    let observed = status["observedGeneration"].as_i64().unwrap_or(0)
        >= d["metadata"]["generation"].as_i64().unwrap_or(1);
    // Until the controller has seen this generation, its status describes
    // the previous rollout.
    if !observed {
        return Rollout::Progressing;
    }
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded")
    {
        return Rollout::Failed(
            c["message"]
                .as_str()
                .unwrap_or("the rollout exceeded its progress deadline")
                .to_string(),
        );
    }
    let count = |k: &str| status[k].as_i64().unwrap_or(0);
    // A Deployment's ready and available counts include the old
    // ReplicaSets' pods: it is done only once every pod is an updated one
    // (as `kubectl rollout status` waits), lest an old pod stand in for a
    // new one that never gets ready.
    let done = if d["kind"] == "StatefulSet" {
        stateful_set_done(d, desired)
    } else {
        count("updatedReplicas") >= desired && count("replicas") <= count("updatedReplicas")
    };
    if done && count("readyReplicas") >= desired && count("availableReplicas") >= desired {
        Rollout::Available
    } else {
        Rollout::Progressing
    }
}

/// How a Job's run went, by its conditions.
fn run_of(job: &Json) -> Rollout {
    let conditions = job["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|c| c["type"] == kind && c["status"] == "True")
    };
    if holds("Complete").is_some() {
        return Rollout::Complete;
    }
    match holds("Failed") {
        Some(c) => Rollout::Failed(format!(
            "{}: {}",
            c["reason"].as_str().unwrap_or("Failed"),
            c["message"].as_str().unwrap_or("the job failed")
        )),
        None => Rollout::Progressing,
    }
}

/// Whether a StatefulSet's pods run its current template: all of them,
/// or those at or above the partition in a staged rollout; with OnDelete,
/// pods take it only when deleted, so there is nothing to wait for.
fn stateful_set_done(s: &Json, desired: i64) -> bool {
    let status = &s["status"];
    let strategy = &s["spec"]["updateStrategy"];
    if strategy["type"] == "OnDelete" {
        return true;
    }
    let partition = strategy["rollingUpdate"]["partition"].as_i64().unwrap_or(0);
    let updated = status["updatedReplicas"].as_i64().unwrap_or(0);
    if partition > 0 {
        return updated >= desired - partition.min(desired);
    }
    updated >= desired
        && status["currentRevision"].as_str().is_some()
        && status["currentRevision"] == status["updateRevision"]
}

/// What exists of a workload in the cluster: each object found, by kind,
/// as the server returned it.
#[derive(Debug, Default)]
pub struct Observed {
    pub objects: BTreeMap<&'static str, Json>,
    /// The claims Genesis made for the workload's volumes that all its pods
    /// share, by name.
    pub claims: BTreeMap<String, Json>,
    /// A blue-green workload's colors, taken off `objects`.
    pub release: Option<colors::Released>,
}

impl Observed {
    /// Objects as a cluster would hold them, by kind and claims by name.
    pub fn of(objects: &[Json]) -> Observed {
        let mut out = Observed::default();
        for object in objects {
            let Some(kind) = KINDS.iter().map(|k| k.0).find(|k| object["kind"] == *k) else {
                continue;
            };
            if kind == "PersistentVolumeClaim" {
                let name = object["metadata"]["name"].as_str().unwrap_or_default();
                out.claims.insert(name.to_string(), object.clone());
            } else {
                out.objects.insert(kind, object.clone());
            }
        }
        out
    }

    /// Genesis's parts of the objects that belong to workload `name`: what
    /// `applied` (the last rendering) set, and what Genesis always owns.
    pub fn ours(&self, name: &str, applied: &[Json]) -> Observed {
        let last = |kind: &str, name: Option<&str>| {
            applied
                .iter()
                .find(|o| o["kind"] == kind && name.is_none_or(|n| o["metadata"]["name"] == n))
                .unwrap_or(&Json::Null)
        };
        Observed {
            objects: self
                .objects
                .iter()
                .filter(|(_, object)| belongs(object, name, self))
                .map(|(kind, object)| (*kind, ours(object, last(kind, None))))
                .collect(),
            claims: self
                .claims
                .iter()
                .map(|(claim, object)| {
                    let last = last("PersistentVolumeClaim", Some(claim));
                    (claim.clone(), ours(object, last))
                })
                .collect(),
            release: self.release.clone(),
        }
    }

    /// The Deployment or StatefulSet that runs the pods.
    pub fn controller(&self) -> Option<&Json> {
        CONTROLLERS.iter().find_map(|k| self.objects.get(k))
    }

    /// Where the operator is with the workload's ExternalSecret; `None`
    /// without one.
    pub fn external_secrets_sync(&self) -> Option<Sync> {
        self.objects
            .get(external_secrets::KIND.0)
            .map(external_secrets::sync_of)
    }

    pub fn load_balancer_ip(&self) -> Option<String> {
        self.objects.get("Service")?["status"]["loadBalancer"]["ingress"][0]["ip"]
            .as_str()
            .map(str::to_string)
    }

    /// The Ingress's address: an IP (GKE) or a DNS name (an ALB).
    pub fn ingress_address(&self) -> Option<String> {
        let address = &self.objects.get("Ingress")?["status"]["loadBalancer"]["ingress"][0];
        address["ip"]
            .as_str()
            .or_else(|| address["hostname"].as_str())
            .map(str::to_string)
    }
}

/// Whether a live object is the workload's: one Genesis made for it (its
/// labels say so), or any object of its name when the workload was not
/// made by Genesis at all (an import adopting it). So a ServiceAccount
/// someone else made, that the pods merely run as, is never taken for the
/// workload's own.
pub fn belongs(object: &Json, name: &str, observed: &Observed) -> bool {
    let made_by_genesis = |o: &Json| {
        let labels = &o["metadata"]["labels"];
        labels[crate::kube::MANAGED_BY.0] == crate::kube::MANAGED_BY.1 && labels[NAME_LABEL] == name
    };
    made_by_genesis(object) || !observed.controller().is_some_and(made_by_genesis)
}

/// Reads the workload's objects of the given kinds, all at once. The
/// ServiceAccount is the one the pods run as. A refresh reads through the
/// cluster's `shared` reads (one list of a kind serves many workloads);
/// a read right after an apply, by GET.
pub async fn observe(
    client: &kube::Client,
    shared: Option<crate::kube::listings::ClusterListings>,
    (namespace, name): (&str, &str),
    kinds: &[&'static str],
    stop: &CancellationToken,
) -> Result<Observed, crate::kube::KubeError> {
    let get = |kind: &'static str, object: String| {
        let api = api(client, kind, namespace);
        let stop = stop.clone();
        let shared = shared.clone();
        let namespace = namespace.to_string();
        async move {
            let Some(api) = api else {
                return Ok((kind, None));
            };
            let found = match shared {
                Some(shared) => shared.get(&api, kind, &namespace, &object, &stop).await,
                None => crate::kube::get_json(&api, &object, &stop).await,
            };
            let found = found.map_err(|e| {
                crate::kube::KubeError::from_kube(&format!("reading {kind} {object}"), e)
            })?;
            Ok((kind, found))
        }
    };
    let mut out = Observed::default();
    let mut account = name.to_string();
    for kind in CONTROLLERS.into_iter().filter(|k| kinds.contains(k)) {
        if let (_, Some(d)) = get(kind, name.to_string()).await? {
            if let Some(sa) = d["spec"]["template"]["spec"]["serviceAccountName"].as_str() {
                account = sa.to_string();
            }
            out.objects.insert(kind, d);
            break;
        }
    }
    // No Deployment of the workload's name: a blue-green one has two.
    let colors = if out.controller().is_none() && kinds.contains(&"Deployment") {
        // Their live color is the Service's, read below with the others.
        let colors = if kinds.contains(&"Service") {
            colors::Colors::read_deployments(client, namespace, name, stop).await?
        } else {
            colors::Colors::read(client, namespace, name, stop).await?
        };
        let pods = |d: &Json| d["spec"]["template"]["spec"]["serviceAccountName"].clone();
        if let Some(sa) = [&colors.blue, &colors.green]
            .into_iter()
            .flatten()
            .find_map(|d| pods(d).as_str().map(str::to_string))
        {
            account = sa;
        }
        Some(colors)
    } else {
        None
    };
    // Only pods that mount a claim can have one Genesis made for them.
    let colored = colors.iter().flat_map(|c| [&c.blue, &c.green]).flatten();
    let pods = out.controller().into_iter().chain(colored).next();
    if kinds.contains(&"PersistentVolumeClaim") && pods.is_some_and(mounts_claims) {
        out.claims = claims::shared_claims(client, namespace, name, stop).await?;
    }
    let mut reads = tokio::task::JoinSet::new();
    let single = |k: &&&str| !CONTROLLERS.contains(*k) && **k != "PersistentVolumeClaim";
    for kind in kinds.iter().filter(single) {
        let object = if *kind == "ServiceAccount" {
            account.clone()
        } else {
            name.to_string()
        };
        reads.spawn(get(kind, object));
    }
    while let Some(read) = reads.join_next().await {
        let (kind, found) = read.map_err(|e| crate::kube::KubeError::Transport {
            call: "reading the workload".into(),
            message: e.to_string(),
        })??;
        if let Some(object) = found {
            out.objects.insert(kind, object);
        }
    }
    if let Some(mut colors) = colors {
        if kinds.contains(&"Service") {
            colors.live = colors::Colors::live_in(out.objects.get("Service"));
        }
        colors::uncolor(&mut out, name, &colors);
    }
    Ok(out)
}

/// Whether a controller's pods mount a PersistentVolumeClaim (a CronJob's
/// through its Job template).
fn mounts_claims(controller: &Json) -> bool {
    let spec = &controller["spec"];
    let template = if spec["jobTemplate"].is_object() {
        &spec["jobTemplate"]["spec"]["template"]
    } else {
        &spec["template"]
    };
    template["spec"]["volumes"]
        .as_array()
        .is_some_and(|v| v.iter().any(|v| v["persistentVolumeClaim"].is_object()))
}

/// Whether `kind` is one of an add-on's.
fn owned_by(addon: Addon, kind: &str) -> bool {
    match addon {
        Addon::Istio => mesh::KINDS.iter().any(|m| m.0 == kind),
        Addon::ExternalSecrets => external_secrets::KIND.0 == kind,
        Addon::Metrics => false,
    }
}

/// The kinds a workload may own, without an add-on's unless in `addons`:
/// most clusters have neither, and a read asks for each kind.
/// Of `kinds`, those a refresh of a workload `rendered` so reads: the
/// kinds its objects have, and always the pods' controllers (a blue-green
/// Deployment is rendered under its colors' names) and claims (shared ones
/// are found through the pods that mount them). Objects of other kinds are
/// not the workload's, whatever their names.
pub fn kinds_rendered(rendered: &[Json], kinds: &[&'static str]) -> Vec<&'static str> {
    kinds
        .iter()
        .copied()
        .filter(|kind| {
            CONTROLLERS.contains(kind)
                || *kind == "PersistentVolumeClaim"
                || rendered.iter().any(|o| o["kind"] == *kind)
        })
        .collect()
}

pub fn kinds(addons: &[Addon]) -> Vec<&'static str> {
    KINDS
        .iter()
        .map(|k| k.0)
        .filter(|k| {
            Addon::WITH_OBJECTS
                .iter()
                .all(|a| addons.contains(a) || !owned_by(*a, k))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, observed: i64, ready: i64, condition: Option<&str>) -> Json {
        let mut d = json!({
            "metadata": {"generation": generation},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": observed, "updatedReplicas": ready, "readyReplicas": ready, "availableReplicas": ready, "conditions": []},
        });
        if let Some(reason) = condition {
            d["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": reason, "message": "ReplicaSet \"x\" has timed out progressing."}]);
        }
        d
    }

    #[test]
    fn rollouts_are_read_from_the_status() {
        assert_eq!(rollout_of(&deployment(2, 2, 2, None)), Rollout::Available);
        assert_eq!(rollout_of(&deployment(2, 2, 1, None)), Rollout::Progressing);
        assert!(
            matches!(rollout_of(&deployment(2, 2, 0, Some("ProgressDeadlineExceeded"))), Rollout::Failed(m) if m.contains("timed out"))
        );
        // An old pod, still ready, does not stand in for a new one.
        let mut replacing = deployment(2, 2, 2, None);
        replacing["status"]["replicas"] = json!(3);
        replacing["status"]["updatedReplicas"] = json!(2);
        replacing["status"]["readyReplicas"] = json!(2);
        assert_eq!(rollout_of(&replacing), Rollout::Progressing);
        replacing["status"]["replicas"] = json!(2);
        assert_eq!(rollout_of(&replacing), Rollout::Available);
        // A status from before the latest change says nothing about it.
        assert_eq!(
            rollout_of(&deployment(3, 2, 0, Some("ProgressDeadlineExceeded"))),
            Rollout::Progressing
        );
    }
}
