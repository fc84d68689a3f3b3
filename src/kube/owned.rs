//! Cluster-scoped objects a configuration owns (StorageClasses,
//! ClusterSecretStores, the custom resources of node pools that live in a
//! cluster): labelled as Genesis's own, never taken over from whoever else
//! made one of the same name, and deleted once the configuration drops
//! them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use super::{FIELD_MANAGER, KubeError, MANAGED_BY, retried};

/// Whether Genesis made the object (its managed-by label).
pub fn is_ours(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY.0))
        .map(String::as_str)
        == Some(MANAGED_BY.1)
}

/// The label selector of the objects Genesis made.
pub fn selector() -> String {
    format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)
}

/// The refusal to take over `kind` `name`, which `others` manage.
pub fn not_ours(kind: &str, name: &str, others: &str) -> KubeError {
    KubeError::Refused(format!(
        "{kind} {name:?} already exists in the cluster and Genesis did not make it (it has no {}={} label); Genesis does not take over {others}. Give it another name, or delete the existing one first",
        MANAGED_BY.0, MANAGED_BY.1
    ))
}

/// Deletes `name`; one already gone is fine.
pub async fn delete<K>(
    api: &Api<K>,
    kind: &str,
    name: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = DeleteParams::default();
    match retried(stop, || api.delete(name, &params)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(KubeError::from_kube(&format!("deleting {kind} {name}"), e)),
    }
}

/// Deletes those of `existing` (Genesis's) that are not in `keep`.
pub async fn delete_dropped<K>(
    api: &Api<K>,
    kind: &str,
    existing: impl IntoIterator<Item = String>,
    keep: &BTreeSet<&str>,
    stop: &CancellationToken,
) -> Result<(), KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    for name in existing {
        if !keep.contains(name.as_str()) {
            delete(api, kind, &name, stop).await?;
        }
    }
    Ok(())
}

/// Server-side applies each of `objects` (API, kind, manifest) named
/// `name`, in order, after checking that none of them is taken by an
/// object Genesis did not make (`others` says whose they may be).
pub async fn apply_all(
    objects: &[(&Api<DynamicObject>, &str, Json)],
    name: &str,
    others: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    for (api, kind, _) in objects {
        if get_any(api, kind, name, stop)
            .await?
            .is_some_and(|o| !is_ours(&o.metadata))
        {
            return Err(not_ours(kind, name, others));
        }
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for (api, kind, manifest) in objects {
        let patch = Patch::Apply(manifest);
        retried(stop, || api.patch(name, &params, &patch))
            .await
            .map_err(|e| KubeError::from_kube(&format!("applying {kind} {name}"), e))?;
    }
    Ok(())
}

async fn get_any(
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
    stop: &CancellationToken,
) -> Result<Option<DynamicObject>, KubeError> {
    retried(stop, || api.get_opt(name))
        .await
        .map_err(|e| KubeError::from_kube(&format!("reading {kind} {name}"), e))
}

/// `name` as JSON when it exists and is Genesis's.
pub async fn get(
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
    stop: &CancellationToken,
) -> Result<Option<Json>, KubeError> {
    Ok(get_any(api, kind, name, stop)
        .await?
        .filter(|o| is_ours(&o.metadata))
        .map(|o| serde_json::to_value(o).unwrap_or_default()))
}

/// The names of the objects of `api` Genesis made, sorted.
pub async fn names(
    api: &Api<DynamicObject>,
    kinds: &str,
    stop: &CancellationToken,
) -> Result<Vec<String>, KubeError> {
    let ours = ListParams::default().labels(&selector());
    let listed = retried(stop, || api.list(&ours))
        .await
        .map_err(|e| KubeError::from_kube(&format!("listing {kinds}"), e))?;
    let mut names: Vec<String> = listed
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Deletes each of `objects` (API, kind) named `name` in order, waiting
/// until one is gone before the next, for at most `within` in all; `why`
/// says what may take long. Objects that are not Genesis's are left alone.
pub async fn delete_in_order(
    objects: &[(&Api<DynamicObject>, &str)],
    name: &str,
    within: Duration,
    why: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let deadline = Instant::now() + within;
    for (api, kind) in objects {
        let mut pause = Duration::from_millis(200);
        let mut deleted = false;
        while get(api, kind, name, stop).await?.is_some() {
            if !deleted {
                delete(*api, kind, name, stop).await?;
                deleted = true;
                continue;
            }
            if Instant::now() + pause > deadline {
                return Err(KubeError::Transport {
                    call: format!("deleting {kind} {name}"),
                    message: format!("still there after {within:?}{why}"),
                });
            }
            pause = pause_for(pause, stop, &format!("deleting {kind} {name}")).await?;
        }
    }
    Ok(())
}

/// Reads `name` with `read` until `ready` says it is (`Ok`), for at most
/// `within`; `ready` gives `Err(why)` while it is not.
pub async fn wait_until<T, R, Fut>(
    kind: &str,
    name: &str,
    within: Duration,
    stop: &CancellationToken,
    read: R,
    ready: impl Fn(&T) -> Result<(), String>,
) -> Result<T, KubeError>
where
    R: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, KubeError>>,
{
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(200);
    loop {
        let observed = read().await?.ok_or_else(|| {
            KubeError::Refused(format!("{kind} {name} disappeared while it was being made"))
        })?;
        let why = match ready(&observed) {
            Ok(()) => return Ok(observed),
            Err(why) => why,
        };
        if Instant::now() + pause > deadline {
            return Err(KubeError::Transport {
                call: format!("waiting for {kind} {name}"),
                message: format!("not ready after {within:?}{why}"),
            });
        }
        pause = pause_for(pause, stop, &format!("waiting for {kind} {name}")).await?;
    }
}

/// Sleeps `pause` (unless Terraform stops first); the next, longer pause.
async fn pause_for(
    pause: Duration,
    stop: &CancellationToken,
    call: &str,
) -> Result<Duration, KubeError> {
    tokio::select! {
        () = tokio::time::sleep(pause) => Ok((pause * 2).min(Duration::from_secs(5))),
        () = stop.cancelled() => Err(KubeError::Transport {
            call: call.to_string(),
            message: "stopped because Terraform is stopping".into(),
        }),
    }
}
