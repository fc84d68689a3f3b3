//! Objects of kinds a CustomResourceDefinition adds (Istio's, the External
//! Secrets Operator's), which k8s-openapi does not type: Kubernetes
//! metadata around a spec typed by the module that renders it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object<S> {
    // Genesis's part of a live object may hold the spec alone.
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: S,
}

/// The object of `kind` in `api_version` (`group/version`).
pub(super) fn object<S: Serialize>(
    api_version: &str,
    kind: &str,
    metadata: ObjectMeta,
    spec: S,
) -> Json {
    serde_json::to_value(Object {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        metadata,
        spec,
    })
    .unwrap_or_default()
}

/// A live object's spec; an unreadable one reads as the default spec,
/// which shows as drift rather than hiding the object.
pub(super) fn spec<S: serde::de::DeserializeOwned + Default>(live: Option<&Json>) -> Option<S> {
    live.map(|o| {
        serde_json::from_value::<Object<S>>(o.clone())
            .map(|o| o.spec)
            .unwrap_or_default()
    })
}
