//! The OpenAPI v3 documents a v1.36 API server publishes (copies of
//! `../shared/kube/openapi-v3`, and apiextensions.k8s.io/v1, batch/v1 and storage.k8s.io/v1 from the Kubernetes v1.36.3
//! sources' `api/openapi-spec/v3`): served to clients, and read for the
//! list semantics server-side apply needs (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The documents by their path under `/openapi/v3/`.
pub const DOCUMENTS: &[(&str, &str)] = &[
    ("api", include_str!("../../kube-openapi-v3/api.json")),
    ("api/v1", include_str!("../../kube-openapi-v3/api__v1.json")),
    ("apis", include_str!("../../kube-openapi-v3/apis.json")),
    (
        "apis/apps/v1",
        include_str!("../../kube-openapi-v3/apis__apps__v1.json"),
    ),
    (
        "apis/apiextensions.k8s.io/v1",
        include_str!("../../kube-openapi-v3/apis__apiextensions.k8s.io__v1.json"),
    ),
    (
        "apis/autoscaling/v2",
        include_str!("../../kube-openapi-v3/apis__autoscaling__v2.json"),
    ),
    (
        "apis/batch/v1",
        include_str!("../../kube-openapi-v3/apis__batch__v1.json"),
    ),
    (
        "apis/networking.k8s.io/v1",
        include_str!("../../kube-openapi-v3/apis__networking.k8s.io__v1.json"),
    ),
    (
        "apis/policy/v1",
        include_str!("../../kube-openapi-v3/apis__policy__v1.json"),
    ),
    (
        "apis/storage.k8s.io/v1",
        include_str!("../../kube-openapi-v3/apis__storage.k8s.io__v1.json"),
    ),
    (
        "version",
        include_str!("../../kube-openapi-v3/version.json"),
    ),
];

/// The index at `/openapi/v3`.
/// The index at `/openapi/v3`: the built-in documents and one per group
/// version the `custom` types (the cluster's CustomResourceDefinitions)
/// serve.
pub fn index(custom: &[&'static super::resources::ResourceType]) -> Json {
    let mut paths: serde_json::Map<String, Json> = DOCUMENTS
        .iter()
        .map(|(path, body)| {
            let url = format!("/openapi/v3/{path}?hash={:016X}", hash(body));
            (
                path.to_string(),
                serde_json::json!({ "serverRelativeURL": url }),
            )
        })
        .collect();
    for rt in custom {
        let path = format!("apis/{}/{}", rt.group, rt.version);
        let kinds: Vec<&str> = custom
            .iter()
            .filter(|t| t.group == rt.group && t.version == rt.version)
            .map(|t| t.kind)
            .collect();
        let url = format!("/openapi/v3/{path}?hash={:016X}", hash(&kinds.join(",")));
        paths.insert(path, serde_json::json!({ "serverRelativeURL": url }));
    }
    serde_json::json!({ "paths": paths })
}

pub fn document(path: &str) -> Option<&'static str> {
    DOCUMENTS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, body)| *body)
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How a list field merges under server-side apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    /// Replaced whole.
    Atomic,
    /// A set of scalars.
    Set,
    /// A list of objects identified by these keys.
    Map(Vec<String>),
}

/// The built-in documents, parsed once: a custom group's document is put
/// together from parts of them on every request.
pub fn parsed(path: &str) -> Option<&'static Json> {
    static PARSED: OnceLock<HashMap<&'static str, Json>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            DOCUMENTS
                .iter()
                .filter_map(|(path, body)| Some((*path, serde_json::from_str(body).ok()?)))
                .collect()
        })
        .get(path)
}

/// All schemas from every document, by name.
fn schemas() -> &'static HashMap<String, Json> {
    static SCHEMAS: OnceLock<HashMap<String, Json>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut out = HashMap::new();
        for (path, _) in DOCUMENTS {
            let Some(doc) = parsed(path) else {
                continue;
            };
            if let Some(s) = doc["components"]["schemas"].as_object() {
                for (k, v) in s {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        out
    })
}

/// A schema of the built-in documents by name.
pub fn named(name: &str) -> Option<&'static Json> {
    schemas().get(name)
}

/// A schema by name as the document at `path` has it (the meta/v1 schemas
/// differ in their defaults between documents).
pub fn named_in(path: &str, name: &str) -> Option<Json> {
    Some(parsed(path)?["components"]["schemas"][name].clone()).filter(|s| !s.is_null())
}

/// The schema name of a kind, e.g. `io.k8s.api.apps.v1.Deployment`.
pub fn kind_schema(group: &str, version: &str, kind: &str) -> Option<String> {
    schemas().iter().find_map(|(name, s)| {
        s["x-kubernetes-group-version-kind"]
            .as_array()?
            .iter()
            .any(|gvk| gvk["group"] == group && gvk["version"] == version && gvk["kind"] == kind)
            .then(|| name.clone())
    })
}

fn resolve(schema: &Json) -> Option<&'static Json> {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"].as_array()?.first()?["$ref"].as_str())?;
    schemas().get(reference.trim_start_matches("#/components/schemas/"))
}

/// The schema of the field at `path` (object keys; list items are entered
/// by a `[]` step) below a root schema.
pub fn field_schema(root: &str, path: &[&str]) -> Option<&'static Json> {
    let mut current: &Json = schemas().get(root)?;
    for step in path {
        if let Some(resolved) = resolve(current) {
            current = resolved;
        }
        current = if *step == "[]" {
            &current["items"]
        } else {
            let p = &current["properties"][*step];
            if p.is_null() {
                &current["additionalProperties"]
            } else {
                p
            }
        };
        if current.is_null() {
            return None;
        }
    }
    Some(current)
}

/// Whether the object field at `path` is atomic (`x-kubernetes-map-type:
/// atomic`, as label selectors are): owned and replaced whole.
pub fn is_atomic_map(root: &str, path: &[&str]) -> bool {
    let Some(schema) = field_schema(root, path) else {
        return false;
    };
    schema["x-kubernetes-map-type"] == "atomic"
        || resolve(schema).is_some_and(|s| s["x-kubernetes-map-type"] == "atomic")
}

/// The list type of the list field at `path`.
pub fn list_type(root: &str, path: &[&str]) -> ListType {
    let Some(schema) = field_schema(root, path) else {
        return ListType::Atomic;
    };
    match schema["x-kubernetes-list-type"].as_str() {
        Some("map") => ListType::Map(
            schema["x-kubernetes-list-map-keys"]
                .as_array()
                .map(|keys| {
                    keys.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Some("set") => ListType::Set,
        // Lists without the extension merge by their patch merge key, as
        // the API server's structured-merge-diff does for built-in types.
        _ => match schema["x-kubernetes-patch-merge-key"].as_str() {
            Some(key)
                if schema["x-kubernetes-patch-strategy"]
                    .as_str()
                    .is_some_and(|s| s.contains("merge")) =>
            {
                ListType::Map(vec![key.to_string()])
            }
            _ => ListType::Atomic,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_semantics_come_from_the_documents() {
        let root = kind_schema("apps", "v1", "Deployment").unwrap();
        assert_eq!(root, "io.k8s.api.apps.v1.Deployment");
        let containers = ["spec", "template", "spec", "containers"];
        assert_eq!(
            list_type(&root, &containers),
            ListType::Map(vec!["name".into()])
        );
        let ports = ["spec", "template", "spec", "containers", "[]", "ports"];
        assert_eq!(
            list_type(&root, &ports),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        let args = ["spec", "template", "spec", "containers", "[]", "args"];
        assert_eq!(list_type(&root, &args), ListType::Atomic);
    }
}
