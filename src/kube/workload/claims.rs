//! The claims Genesis makes for a workload's sized volumes: those a
//! Deployment's, Job's or CronJob's pods share (kept when the workload
//! goes unless told otherwise, and taken back by the next one of its
//! name), and growing those of a StatefulSet's pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use super::{Going, NAME_LABEL, api, identities, wait_until_gone};
use crate::kube::{KubeError, retried};

/// The label naming the volume a claim all the workload's pods share is
/// for (`size` on a Deployment, Job or CronJob).
pub const VOLUME_LABEL: &str = "genesis-platform.dev/volume";

/// The annotation on such a claim saying whether destroying the workload
/// deletes it (`Delete`) or leaves it with its data (`Retain`).
pub const WHEN_DELETED: &str = "genesis-platform.dev/when-deleted";

/// Whether `live` is a claim Genesis made for the same workload and volume
/// as `own`, and kept.
pub(super) fn kept_claim(live: &Json, own: &Json) -> bool {
    let (a, b) = (&live["metadata"]["labels"], &own["metadata"]["labels"]);
    own["kind"] == "PersistentVolumeClaim"
        && [NAME_LABEL, VOLUME_LABEL, crate::kube::MANAGED_BY.0]
            .iter()
            .all(|label| a[label].is_string() && a[label] == b[label])
}

/// (kind, name) of each object that goes when the workload does: all but
/// the claims it keeps (their data outlives it unless told otherwise).
pub fn deletable(objects: &[Json]) -> Vec<(String, String)> {
    let kept: Vec<&Json> = objects
        .iter()
        .filter(|o| {
            o["kind"] == "PersistentVolumeClaim"
                && o["metadata"]["annotations"][WHEN_DELETED] != "Delete"
        })
        .collect();
    identities(objects)
        .into_iter()
        .filter(|(kind, name)| {
            !kept
                .iter()
                .any(|o| o["kind"] == kind.as_str() && o["metadata"]["name"] == name.as_str())
        })
        .collect()
}

/// The claims Genesis made for `name`'s shared volumes (found by their
/// labels, as many as it has volumes), by name.
pub(super) async fn shared_claims(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    stop: &CancellationToken,
) -> Result<BTreeMap<String, Json>, KubeError> {
    let api = api(client, "PersistentVolumeClaim", namespace).expect("a known kind");
    let selector = format!(
        "{NAME_LABEL}={name},{},{VOLUME_LABEL}",
        format_args!(
            "{}={}",
            crate::kube::MANAGED_BY.0,
            crate::kube::MANAGED_BY.1
        )
    );
    let params = kube::api::ListParams::default().labels(&selector);
    let list = retried(stop, || api.list(&params))
        .await
        .map_err(|e| KubeError::from_kube("listing the volume claims", e))?;
    Ok(list
        .items
        .into_iter()
        .map(|c| {
            let claim = serde_json::to_value(&c).unwrap_or_default();
            (c.metadata.name.unwrap_or_default(), claim)
        })
        .collect())
}

/// Grows the live claims of a StatefulSet's pods: `sizes` gives, for each
/// claim template that grew, the prefix of its claims' names (the ordinal
/// follows) and the new size. The API server refuses where the claim's
/// StorageClass does not allow expansion, before anything else changes.
pub async fn expand_claims(
    client: &kube::Client,
    namespace: &str,
    set: &str,
    sizes: &[(String, String)],
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    use kube::api::{ListParams, Patch, PatchParams};
    if sizes.is_empty() {
        return Ok(());
    }
    let claims: kube::Api<PersistentVolumeClaim> = kube::Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().labels(&format!("{NAME_LABEL}={set}"));
    let list = retried(stop, || claims.list(&params))
        .await
        .map_err(|e| KubeError::from_kube("listing the volume claims", e))?;
    for claim in list.items {
        let name = claim.metadata.name.clone().unwrap_or_default();
        let Some((_, size)) = sizes.iter().find(|(prefix, _)| {
            name.strip_prefix(prefix.as_str())
                .is_some_and(|ordinal| ordinal.chars().all(|c| c.is_ascii_digit()))
        }) else {
            continue;
        };
        let patch = Patch::Merge(
            serde_json::json!({"spec": {"resources": {"requests": {"storage": size}}}}),
        );
        let params = PatchParams::default();
        retried(stop, || claims.patch(&name, &params, &patch))
            .await
            .map_err(|e| {
                KubeError::from_kube(
                    &format!("expanding PersistentVolumeClaim {namespace}/{name} to {size}"),
                    e,
                )
            })?;
    }
    Ok(())
}

/// A claim not bound yet has no volume and so no data, and Kubernetes
/// grows only bound claims: each shared claim in `objects` that is still
/// Pending at another size (a WaitForFirstConsumer claim no pod has used
/// yet) is deleted, for the apply to make it again at its new size. The
/// deletion holds only for the claim as read (its uid and version as
/// preconditions), so one that binds meanwhile is never lost. Only claims
/// rendered at another size than in `prior` (all of them on a create,
/// which may take back a kept claim) are read.
pub async fn remake_pending_claims(
    client: &kube::Client,
    (prior, objects): (&[Json], &[Json]),
    timeout: std::time::Duration,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    use kube::api::{DeleteParams, Preconditions};
    let started = std::time::Instant::now();
    let size = |o: &Json| o["spec"]["resources"]["requests"]["storage"].clone();
    let resized = |claim: &&Json| {
        !prior.iter().any(|p| {
            p["kind"] == "PersistentVolumeClaim"
                && p["metadata"]["name"] == claim["metadata"]["name"]
                && size(p) == size(claim)
        })
    };
    for object in objects
        .iter()
        .filter(|o| o["kind"] == "PersistentVolumeClaim")
        .filter(resized)
    {
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let claims: kube::Api<PersistentVolumeClaim> =
            kube::Api::namespaced(client.clone(), namespace);
        let live = retried(stop, || claims.get_opt(name)).await.map_err(|e| {
            KubeError::from_kube(
                &format!("reading PersistentVolumeClaim {namespace}/{name}"),
                e,
            )
        })?;
        let Some(live) = live else {
            continue;
        };
        let pending = live.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound");
        let size = live
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref()?.requests.as_ref()?.get("storage"))
            .map(|q| q.0.clone());
        let wanted = object["spec"]["resources"]["requests"]["storage"].as_str();
        let resized = size
            .as_deref()
            .map(crate::framework::validators::parse_quantity)
            != wanted.map(crate::framework::validators::parse_quantity);
        if !pending || !resized || live.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: live.metadata.uid.clone(),
                resource_version: live.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        let call = format!(
            "making PersistentVolumeClaim {namespace}/{name} again at its new size (it is not bound, so Kubernetes cannot grow it)"
        );
        retried(stop, || claims.delete(name, &params))
            .await
            .map_err(|e| KubeError::from_kube(&call, e))?;
        wait_until_gone(
            client,
            namespace,
            &[Going {
                kind: "PersistentVolumeClaim",
                name,
                uid: None,
                version: None,
            }],
            (started, timeout),
            stop,
        )
        .await?;
    }
    Ok(())
}
