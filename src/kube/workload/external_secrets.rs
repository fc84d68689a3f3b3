//! The External Secrets Operator's ExternalSecret for a workload's
//! `external_secrets`: one per workload, named after it, each variable a
//! `data` entry naming its own store, synced by the operator into a Secret
//! (`target`) the container reads. Typed here, as much of the operator's
//! v1 API as Genesis sets, and read back into the same model. The values
//! stay between the store, the operator and the Secret.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::resources::workload::{ExternalSecret, WorkloadSpec};

/// The operator's API group and version, which the cluster must serve.
pub const GROUP: (&str, &str) = crate::kube::addons::EXTERNAL_SECRETS;

/// (kind, group, version, plural), for reading and deleting.
pub const KIND: (&str, &str, &str, &str) = (
    "ExternalSecret",
    "external-secrets.io",
    "v1",
    "externalsecrets",
);

/// The kind of store every entry names: stores are the cluster's
/// (`genesis_cluster.secret_stores`), shared by its namespaces.
const STORE_KIND: &str = "ClusterSecretStore";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalSecretSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_interval: Option<String>,
    #[serde(default)]
    secret_store_ref: StoreRef,
    #[serde(default)]
    target: Target,
    #[serde(default)]
    data: Vec<Data>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct StoreRef {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    name: String,
    /// `Owner`: the Secret goes with the ExternalSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    creation_policy: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    #[serde(default)]
    secret_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_ref: Option<SourceRef>,
    #[serde(default)]
    remote_ref: RemoteRef,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SourceRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    store_ref: Option<StoreRef>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct RemoteRef {
    #[serde(default)]
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    property: Option<String>,
}

/// The Secret the operator writes for the workload, which its container
/// reads: named apart from the workload, so a Secret the user made under
/// the workload's name is never taken over.
pub fn target(workload: &str) -> String {
    format!("{workload}-external-secrets")
}

fn store(name: &str) -> StoreRef {
    StoreRef {
        name: name.to_string(),
        kind: STORE_KIND.to_string(),
    }
}

/// The workload's ExternalSecret, when it has external secrets.
pub fn render(w: &WorkloadSpec, metadata: ObjectMeta) -> Option<Json> {
    // The spec needs a default store; each entry names its own anyway.
    let first = w.external_secrets.values().next()?;
    let data = w
        .external_secrets
        .iter()
        .map(|(variable, from)| Data {
            secret_key: variable.clone(),
            source_ref: Some(SourceRef {
                store_ref: Some(store(&from.store)),
            }),
            remote_ref: RemoteRef {
                key: from.key.clone(),
                version: from.version.clone(),
                property: from.property.clone(),
            },
        })
        .collect();
    let spec = ExternalSecretSpec {
        refresh_interval: Some(w.external_secrets_refresh_interval.clone()),
        secret_store_ref: store(&first.store),
        target: Target {
            name: target(&w.name),
            creation_policy: Some("Owner".into()),
        },
        data,
    };
    let (group, version) = GROUP;
    Some(super::custom::object(
        &format!("{group}/{version}"),
        KIND.0,
        metadata,
        spec,
    ))
}

/// The external secrets the live ExternalSecret holds, with its refresh
/// interval; `None` without one.
pub fn read(live: &BTreeMap<&str, Json>) -> Option<(BTreeMap<String, ExternalSecret>, String)> {
    let spec = super::custom::spec::<ExternalSecretSpec>(live.get(KIND.0))?;
    let secrets = spec
        .data
        .into_iter()
        .map(|d| {
            let store = d
                .source_ref
                .and_then(|s| s.store_ref)
                .map_or_else(|| spec.secret_store_ref.name.clone(), |s| s.name);
            let secret = ExternalSecret {
                store,
                key: d.remote_ref.key,
                version: d.remote_ref.version,
                property: d.remote_ref.property,
            };
            (d.secret_key, secret)
        })
        .collect();
    let refresh = spec.refresh_interval.unwrap_or_else(|| "1h".into());
    Some((secrets, refresh))
}

/// Where the operator is with an ExternalSecret, from its `Ready`
/// condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Sync {
    Synced,
    Pending,
    /// The operator's reason and message.
    Failed(String),
}

pub fn sync_of(object: &Json) -> Sync {
    let generation = &object["metadata"]["generation"];
    let ready = object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let Some(ready) = ready else {
        return Sync::Pending;
    };
    // The operator records no observed generation: a refresh after the
    // latest change is what says it read the change.
    let refreshed = object["status"]["refreshTime"].is_string();
    let current = object["status"]["syncedResourceVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with(&format!("{}-", generation.as_i64().unwrap_or(1))));
    // A failure is not tied to a generation: the waiter gives the operator
    // time to replace one from before the latest change.
    match ready["status"].as_str() {
        Some("True") if refreshed && current => Sync::Synced,
        Some("False") => Sync::Failed(format!(
            "{}: {}",
            ready["reason"].as_str().unwrap_or("NotReady"),
            ready["message"].as_str().unwrap_or_default()
        )),
        _ => Sync::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sync_is_read_from_the_ready_condition_of_the_latest_generation() {
        let es = |generation: i64, synced: &str, status: &str| {
            json!({
                "metadata": {"generation": generation},
                "status": {
                    "refreshTime": "2026-12-02T08:00:00Z",
                    "syncedResourceVersion": synced,
                    "conditions": [{"type": "Ready", "status": status, "reason": "SecretSyncedError", "message": "could not get secret data from provider"}],
                },
            })
        };
        assert_eq!(sync_of(&es(2, "2-ab12", "True")), Sync::Synced);
        assert_eq!(sync_of(&es(3, "2-ab12", "True")), Sync::Pending);
        assert_eq!(
            sync_of(&es(2, "2-ab12", "False")),
            Sync::Failed("SecretSyncedError: could not get secret data from provider".into())
        );
        assert_eq!(sync_of(&json!({"metadata": {}})), Sync::Pending);
    }
}
