//! Restarting a workload's pods, as `kubectl rollout restart` does: the
//! pod template of its Deployment or StatefulSet gets the annotation
//! `kubectl.kubernetes.io/restartedAt`, so the controller rolls every pod
//! by the workload's own rollout strategy. Written by another field
//! manager than Genesis's, so that the workload's state never reads it and
//! Genesis's next apply leaves it.

use kube::api::{Patch, PatchParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::kube::{KubeError, retried};

pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// kubectl's own field manager for `rollout restart`.
const FIELD_MANAGER: &str = "kubectl-rollout";
/// The kinds whose pods a restart rolls.
const KINDS: [&str; 2] = ["Deployment", "StatefulSet"];

/// Which of the restartable kinds `name` is; `None` when it is neither.
pub async fn kind_of(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    stop: &CancellationToken,
) -> Result<Option<&'static str>, KubeError> {
    for kind in KINDS {
        let Some(api) = super::api(client, kind, namespace) else {
            continue;
        };
        let found = retried(stop, || api.get_opt(name))
            .await
            .map_err(|e| KubeError::from_kube(&format!("reading {kind} {name}"), e))?;
        if found.is_some() {
            return Ok(Some(kind));
        }
    }
    Ok(None)
}

/// Marks the pod template of `kind` `name` restarted at `at` (RFC 3339).
pub async fn restart(
    client: &kube::Client,
    namespace: &str,
    (kind, name): (&str, &str),
    at: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let Some(api) = super::api(client, kind, namespace) else {
        return Err(KubeError::Refused(format!("{kind} has no pods to restart")));
    };
    let patch = Patch::Merge(json!({
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}
    }));
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    retried(stop, || api.patch(name, &params, &patch))
        .await
        .map_err(|e| KubeError::from_kube(&format!("restarting {kind} {name}"), e))?;
    Ok(())
}
