//! The External Secrets Operator's controllers, for clusters where its
//! CustomResourceDefinitions are installed: a ClusterSecretStore is
//! validated (`Ready`, "store validated"), and an ExternalSecret is synced
//! into its target Secret from the simulator's secret store (the values
//! tests put there with `POST /_sim/secrets`, standing for Secret Manager,
//! Secrets Manager or Vault alike), with the conditions, status and
//! ownership the operator (v0.16) writes. A value the store lacks, or a
//! store that does not exist, leaves it `SecretSyncedError` with the
//! operator's message.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Value as Json, json};

use super::controllers::hash;
use super::objects::Objects;

const GROUP: &str = "external-secrets.io";
const STORES: &str = "external-secrets.io/clustersecretstores/";
const EXTERNAL_SECRETS: &str = "external-secrets.io/externalsecrets/";
/// The operator's field manager.
const MANAGER: &str = "external-secrets";

/// The operator's labels and annotation on the Secrets it writes.
const LABEL_MANAGED: &str = "reconcile.external-secrets.io/managed";
const LABEL_OWNER: &str = "reconcile.external-secrets.io/created-by";
const ANNOTATION_DATA_HASH: &str = "reconcile.external-secrets.io/data-hash";

pub fn run(objects: &mut Objects, values: &BTreeMap<String, String>, now: &str) {
    validate_stores(objects, now);
    sync(objects, values, now);
}

fn condition(status: &str, reason: &str, message: &str, since: &str) -> Json {
    json!({"type": "Ready", "status": status, "reason": reason, "message": message, "lastTransitionTime": since})
}

/// The time a Ready condition keeps when its status does not change.
fn since<'a>(object: &'a Json, status: &str, now: &'a str) -> &'a str {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready" && c["status"] == status)
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(now)
}

fn validate_stores(objects: &mut Objects, now: &str) {
    for key in objects.keys_under(STORES) {
        let Some(store) = objects.objects.get(&key) else {
            continue;
        };
        if store["status"]["conditions"][0]["status"] == "True" {
            continue;
        }
        let status = json!({
            "conditions": [condition("True", "Valid", "store validated", now)],
            "capabilities": "ReadWrite",
        });
        objects.write_as(MANAGER, &key, Some("status"), |s| s["status"] = status);
    }
}

/// A store ready to be read, by name.
fn store_ready(objects: &Objects, name: &str) -> bool {
    objects
        .objects
        .get(&format!("{STORES}/{name}"))
        .is_some_and(|s| s["status"]["conditions"][0]["status"] == "True")
}

/// The value of one `data` entry, from the simulator's store: `key` (or
/// `key#version` for a version other than the latest), and a `property`
/// of a JSON value.
fn value_of(values: &BTreeMap<String, String>, remote: &Json) -> Option<String> {
    let key = remote["key"].as_str()?;
    let value = match remote["version"].as_str() {
        None | Some("latest") => values.get(key)?,
        Some(version) => values.get(&format!("{key}#{version}"))?,
    };
    match remote["property"].as_str() {
        None => Some(value.clone()),
        Some(property) => {
            let parsed: Json = serde_json::from_str(value).ok()?;
            match &parsed[property] {
                Json::String(s) => Some(s.clone()),
                Json::Null => None,
                other => Some(other.to_string()),
            }
        }
    }
}

/// The operator's `syncedResourceVersion`: the generation and a hash of
/// the labels and annotations.
fn synced_version(es: &Json) -> String {
    let meta = json!([es["metadata"]["labels"], es["metadata"]["annotations"]]);
    format!(
        "{}-{:x}",
        es["metadata"]["generation"].as_i64().unwrap_or(1),
        hash(&meta)
    )
}

/// Whether an ExternalSecret's refresh interval has passed since its last
/// read.
fn refresh_due(es: &Json, now: &str) -> bool {
    let interval = es["spec"]["refreshInterval"].as_str().unwrap_or("1h");
    let (Some(interval), Ok(last), Ok(now)) = (
        go_duration(interval),
        es["status"]["refreshTime"]
            .as_str()
            .unwrap_or_default()
            .parse::<jiff::Timestamp>(),
        now.parse::<jiff::Timestamp>(),
    ) else {
        return false;
    };
    !interval.is_zero()
        && now.duration_since(last)
            >= jiff::SignedDuration::try_from(interval).unwrap_or(jiff::SignedDuration::MAX)
}

/// A duration as Go's time.ParseDuration reads it (`1h30m`, `10s`, `0`).
fn go_duration(text: &str) -> Option<std::time::Duration> {
    if text == "0" {
        return Some(std::time::Duration::ZERO);
    }
    let mut rest = text;
    let mut seconds = 0.0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(digits);
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .into_iter()
            .filter(|u| tail.starts_with(u))
            .max_by_key(|u| u.len())?;
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            _ => 1e-9,
        };
        seconds += number.parse::<f64>().ok()? * scale;
        rest = &tail[unit.len()..];
    }
    std::time::Duration::try_from_secs_f64(seconds).ok()
}

fn sync(objects: &mut Objects, values: &BTreeMap<String, String>, now: &str) {
    let Some(secrets) = super::resources::find("", "v1", "secrets") else {
        return;
    };
    for key in objects.keys_under(EXTERNAL_SECRETS) {
        let Some(es) = objects.objects.get(&key).cloned() else {
            continue;
        };
        if !es["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let version = synced_version(&es);
        let ns = es["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = es["metadata"]["name"].as_str().unwrap_or_default();
        let target = es["spec"]["target"]["name"]
            .as_str()
            .unwrap_or(name)
            .to_string();
        let secret_key = format!("/secrets/{ns}/{target}");
        // The operator watches the Secrets it owns: one deleted is made again.
        let synced = es["status"]["syncedResourceVersion"] == version.as_str()
            && es["status"]["conditions"][0]["status"] == "True"
            && objects.objects.contains_key(&secret_key);
        // Synced, it is read again from the store once its refresh
        // interval has passed since the last read (never with "0").
        if synced && !refresh_due(&es, now) {
            continue;
        }
        let spec = &es["spec"];
        let default_store = spec["secretStoreRef"]["name"].as_str().unwrap_or_default();
        let mut data = serde_json::Map::new();
        let mut missing = false;
        for entry in spec["data"].as_array().into_iter().flatten() {
            let store = entry["sourceRef"]["storeRef"]["name"]
                .as_str()
                .unwrap_or(default_store);
            let value = store_ready(objects, store)
                .then(|| value_of(values, &entry["remoteRef"]))
                .flatten();
            match (value, entry["secretKey"].as_str()) {
                (Some(value), Some(name)) => {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(value);
                    data.insert(name.to_string(), json!(encoded));
                }
                _ => missing = true,
            }
        }
        if missing {
            let failed = json!([condition(
                "False",
                "SecretSyncedError",
                "could not get secret data from provider",
                since(&es, "False", now),
            )]);
            if es["status"]["conditions"] != failed {
                objects.write_as(MANAGER, &key, Some("status"), |o| {
                    o["status"]["conditions"] = failed;
                });
            }
            continue;
        }
        let owner = json!({
            "apiVersion": format!("{GROUP}/v1"),
            "kind": "ExternalSecret",
            "name": name,
            "uid": es["metadata"]["uid"],
            "controller": true,
            "blockOwnerDeletion": true,
        });
        let data = Json::Object(data);
        let data_hash = format!("{:x}", hash(&data));
        let labels = json!({
            LABEL_MANAGED: "true",
            LABEL_OWNER: format!("{:x}", hash(&json!(format!("{ns}/{name}")))),
        });
        match objects.objects.get(&secret_key) {
            // The operator does not take over a Secret another made.
            Some(existing)
                if existing["metadata"]["labels"][LABEL_MANAGED] != "true"
                    && spec["target"]["creationPolicy"] != "Merge" =>
            {
                let failed = json!([condition(
                    "False",
                    "SecretSyncedError",
                    "could not update secret",
                    since(&es, "False", now),
                )]);
                objects.write_as(MANAGER, &key, Some("status"), |o| {
                    o["status"]["conditions"] = failed;
                });
                continue;
            }
            Some(_) => objects.write_as(MANAGER, &secret_key, None, |s| {
                s["data"] = data;
                s["metadata"]["annotations"][ANNOTATION_DATA_HASH] = json!(data_hash);
            }),
            None => objects.create_as(
                MANAGER,
                secrets,
                ns,
                json!({
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": target,
                        "labels": labels,
                        "annotations": {ANNOTATION_DATA_HASH: data_hash},
                        "ownerReferences": [owner],
                    },
                    "type": "Opaque",
                    "data": data,
                }),
            ),
        }
        let ready = condition(
            "True",
            "SecretSynced",
            "secret synced",
            since(&es, "True", now),
        );
        objects.write_as(MANAGER, &key, Some("status"), |o| {
            o["status"]["conditions"] = json!([ready]);
            o["status"]["refreshTime"] = json!(now);
            o["status"]["syncedResourceVersion"] = json!(version);
            o["status"]["binding"] = json!({"name": target});
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_come_due_after_the_interval() {
        assert_eq!(
            go_duration("1h30m"),
            Some(std::time::Duration::from_secs(5400))
        );
        assert_eq!(go_duration("0"), Some(std::time::Duration::ZERO));
        assert_eq!(go_duration("1d"), None);
        let es = |interval: &str| json!({"spec": {"refreshInterval": interval}, "status": {"refreshTime": "2026-12-02T12:00:00Z"}});
        assert!(!refresh_due(&es("30m"), "2026-12-02T12:29:59Z"));
        assert!(refresh_due(&es("30m"), "2026-12-02T12:30:00Z"));
        assert!(
            !refresh_due(&es("0"), "2027-01-01T00:00:00Z"),
            "0 reads once"
        );
    }
}
