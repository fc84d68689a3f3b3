//! Cluster-scoped objects a cluster's configuration owns (StorageClasses,
//! ClusterSecretStores): labelled as Genesis's own, never taken over from
//! whoever else made one of the same name, and deleted once the
//! configuration drops them.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams};
use tokio_util::sync::CancellationToken;

use super::{KubeError, MANAGED_BY, retried};

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
