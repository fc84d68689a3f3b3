//! CustomResourceDefinitions (apiextensions.k8s.io/v1), as a real API
//! server serves them: a definition is admitted (its name is
//! `PLURAL.GROUP`, one version is the storage version), established by the
//! apiextensions controller (names accepted, stored versions recorded), and
//! from then on its served versions appear in discovery and OpenAPI, and
//! their resources are stored like built-in ones: defaulted, pruned of the
//! fields their structural schema does not declare, and validated against
//! it with the API server's messages. Deleting a definition deletes its
//! resources.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value as Json, json};

use super::objects::KubeError;
use super::resources::{self, ResourceType};

pub const GROUP: &str = "apiextensions.k8s.io";
pub const PLURAL: &str = "customresourcedefinitions";

/// The store key of a definition by its name, `plural.group`.
fn definition_key(name: &str) -> String {
    format!("{GROUP}/{PLURAL}//{name}")
}

/// Whether `rt` is CustomResourceDefinition itself.
pub fn is_definition(rt: &ResourceType) -> bool {
    rt.group == GROUP && rt.plural == PLURAL
}

/// The definitions in a store.
fn definitions(objects: &BTreeMap<String, Json>) -> impl Iterator<Item = &Json> {
    let prefix = format!("{GROUP}/{PLURAL}//");
    objects
        .range(prefix.clone()..)
        .take_while(move |(k, _)| k.starts_with(&prefix))
        .map(|(_, v)| v)
}

fn established(definition: &Json) -> bool {
    definition["metadata"]["deletionTimestamp"].is_null()
        && definition["status"]["conditions"]
            .as_array()
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            })
}

/// The versions of a definition its resources are served at.
fn served(definition: &Json) -> impl Iterator<Item = &Json> {
    definition["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"] == true)
}

/// Types live as long as the simulator: a definition's type is made once
/// per distinct shape and leaked, so that custom types are `&'static` like
/// the built-in ones (a test registers a handful).
fn intern(rt: ResourceType) -> &'static ResourceType {
    static TYPES: Mutex<Vec<&'static ResourceType>> = Mutex::new(Vec::new());
    let mut types = TYPES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = types.iter().find(|t| ***t == rt) {
        return found;
    }
    let leaked: &'static ResourceType = Box::leak(Box::new(rt));
    types.push(leaked);
    leaked
}

fn leak(s: &str) -> &'static str {
    static STRINGS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut strings = STRINGS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = strings.iter().find(|t| **t == s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    strings.push(leaked);
    leaked
}

fn type_of(definition: &Json, version: &Json) -> &'static ResourceType {
    let spec = &definition["spec"];
    let names = &spec["names"];
    let text = |v: &Json| leak(v.as_str().unwrap_or_default());
    let short_names: Vec<&'static str> = names["shortNames"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let subresources: Vec<&'static str> = ["status", "scale"]
        .into_iter()
        .filter(|s| version["subresources"][*s].is_object())
        .collect();
    intern(ResourceType {
        group: text(&spec["group"]),
        version: text(&version["name"]),
        plural: text(&names["plural"]),
        singular: text(&names["singular"]),
        kind: text(&names["kind"]),
        namespaced: spec["scope"] == "Namespaced",
        short_names: Box::leak(short_names.into_boxed_slice()),
        subresources: Box::leak(subresources.into_boxed_slice()),
        generation: true,
    })
}

/// The type an established definition in `objects` serves at
/// `group/version/plural`.
pub fn find(
    objects: &BTreeMap<String, Json>,
    group: &str,
    version: &str,
    plural: &str,
) -> Option<&'static ResourceType> {
    let definition = objects.get(&definition_key(&format!("{plural}.{group}")))?;
    if !established(definition) {
        return None;
    }
    let version = served(definition).find(|v| v["name"] == version)?;
    Some(type_of(definition, version))
}

/// Every type the established definitions in `objects` serve, for
/// discovery.
pub fn types(objects: &BTreeMap<String, Json>) -> Vec<&'static ResourceType> {
    definitions(objects)
        .filter(|d| established(d))
        .flat_map(|d| served(d).map(move |v| type_of(d, v)))
        .collect()
}

/// Whether `rt` is defined by a CustomResourceDefinition.
pub fn is_custom(rt: &ResourceType) -> bool {
    resources::find(rt.group, rt.version, rt.plural).is_none()
}

/// The OpenAPI v3 schema of a custom type's version.
fn schema<'a>(objects: &'a BTreeMap<String, Json>, rt: &ResourceType) -> Option<&'a Json> {
    let definition = objects.get(&definition_key(&format!("{}.{}", rt.plural, rt.group)))?;
    let version = served(definition).find(|v| v["name"] == rt.version)?;
    Some(&version["schema"]["openAPIV3Schema"])
}

/// The OpenAPI v3 document of a custom group version
/// (`/openapi/v3/apis/GROUP/VERSION`), as the API server publishes it from
/// the definitions' schemas: each kind with the standard `apiVersion`,
/// `kind` and `metadata`, its list, and the meta/v1 schemas they refer to.
/// Of its paths, each object's PATCH operation, where kubectl learns that
/// the server validates fields.
pub fn document(objects: &BTreeMap<String, Json>, group: &str, version: &str) -> Option<Json> {
    const META: [&str; 13] = [
        "DeleteOptions",
        "FieldsV1",
        "ListMeta",
        "ManagedFieldsEntry",
        "ObjectMeta",
        "OwnerReference",
        "Patch",
        "Preconditions",
        "ShardInfo",
        "Status",
        "StatusCause",
        "StatusDetails",
        "Time",
    ];
    let standard = |field: &str| {
        super::openapi::named("io.k8s.api.apps.v1.Deployment")
            .map(|d| d["properties"][field].clone())
            .unwrap_or_default()
    };
    let meta_ref = |name: &str| json!([{"$ref": format!("#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.{name}")}]);
    let mut schemas = serde_json::Map::new();
    for rt in types(objects)
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
    {
        let mut s = schema(objects, rt).cloned().unwrap_or_else(|| json!({}));
        let mut metadata = standard("metadata");
        if let Some(m) = metadata.as_object_mut() {
            m.remove("default");
        }
        metadata["allOf"] = meta_ref("ObjectMeta");
        s["properties"]["apiVersion"] = standard("apiVersion");
        s["properties"]["kind"] = standard("kind");
        s["properties"]["metadata"] = metadata;
        s["x-kubernetes-group-version-kind"] =
            json!([{"group": group, "kind": rt.kind, "version": version}]);
        let name = schema_name(rt);
        let list = json!({
            "description": format!("{}List is a list of {}", rt.kind, rt.kind),
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": standard("apiVersion"),
                "items": {
                    "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", rt.plural),
                    "type": "array",
                    "items": {"$ref": format!("#/components/schemas/{name}")},
                },
                "kind": standard("kind"),
                "metadata": {
                    "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                    "allOf": meta_ref("ListMeta"),
                },
            },
            "x-kubernetes-group-version-kind": [{"group": group, "kind": format!("{}List", rt.kind), "version": version}],
        });
        schemas.insert(format!("{name}List"), list);
        schemas.insert(name, s);
    }
    if schemas.is_empty() {
        return None;
    }
    let mut paths = serde_json::Map::new();
    for rt in types(objects)
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
    {
        let (path, operation) = patch_operation(rt);
        paths.insert(path, json!({ "patch": operation }));
    }
    // As the apiextensions server's own document has them.
    for meta in META {
        let name = format!("io.k8s.apimachinery.pkg.apis.meta.v1.{meta}");
        if let Some(s) = super::openapi::named_in("apis/apiextensions.k8s.io/v1", &name) {
            schemas.insert(name, s);
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// An object's path and its PATCH operation, with the query parameters a
/// built-in kind's has: kubectl looks for `fieldValidation` there to learn
/// that the server validates fields itself.
fn patch_operation(rt: &ResourceType) -> (String, Json) {
    let scope = if rt.namespaced {
        "namespaces/{namespace}/"
    } else {
        ""
    };
    let path = format!(
        "/apis/{}/{}/{scope}{}/{{name}}",
        rt.group, rt.version, rt.plural
    );
    let parameters = super::openapi::parsed("apis/apps/v1")
        .map(|d| {
            d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
                ["parameters"]
                .clone()
        })
        .unwrap_or_default();
    // `networking.istio.io` and `v1` make `networkingIstioIo_v1` and
    // `NetworkingIstioIoV1`.
    let mut camel = String::new();
    for (i, word) in rt.group.split(['.', '-']).enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                camel.extend(first.to_lowercase());
            } else {
                camel.extend(first.to_uppercase());
            }
            camel.push_str(chars.as_str());
        }
    }
    let mut upper = camel.clone();
    if let Some(first) = upper.get(..1) {
        upper = format!("{}{}", first.to_uppercase(), &upper[1..]);
    }
    let version = format!("{}{}", rt.version[..1].to_uppercase(), &rt.version[1..]);
    let namespaced = if rt.namespaced { "Namespaced" } else { "" };
    let schema = json!({"$ref": format!("#/components/schemas/{}", schema_name(rt))});
    let patch = json!({"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}});
    let operation = json!({
        "tags": [format!("{camel}_{}", rt.version)],
        "description": format!("partially update the specified {}", rt.kind),
        "operationId": format!("patch{upper}{version}{namespaced}{}", rt.kind),
        "parameters": parameters,
        "requestBody": {
            "content": {
                "application/apply-patch+yaml": patch,
                "application/json-patch+json": patch,
                "application/merge-patch+json": patch,
            },
            "required": true,
        },
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}, "application/yaml": {"schema": schema}}},
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    });
    (path, operation)
}

/// `io.istio.networking.v1.VirtualService` for
/// `networking.istio.io/v1 VirtualService`: the group reversed.
fn schema_name(rt: &ResourceType) -> String {
    let group: Vec<&str> = rt.group.split('.').rev().collect();
    format!("{}.{}.{}", group.join("."), rt.version, rt.kind)
}

/// A definition as the API server admits it: defaulted, and refused with
/// its messages where a client could not use it.
pub fn admit_definition(obj: &mut Json) -> Result<(), KubeError> {
    let rt = resources::find(GROUP, "v1", PLURAL).expect("a built-in type");
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let spec = &mut obj["spec"];
    let kind = spec["names"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if spec["names"]["singular"].is_null() {
        spec["names"]["singular"] = json!(kind.to_lowercase());
    }
    if spec["names"]["listKind"].is_null() && !kind.is_empty() {
        spec["names"]["listKind"] = json!(format!("{kind}List"));
    }
    if spec["conversion"].is_null() {
        spec["conversion"] = json!({"strategy": "None"});
    }
    let mut causes = Vec::new();
    let (group, plural) = (
        spec["group"].as_str().unwrap_or_default(),
        spec["names"]["plural"].as_str().unwrap_or_default(),
    );
    if name != format!("{plural}.{group}") {
        causes.push((
            "metadata.name".to_string(),
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if !matches!(spec["scope"].as_str(), Some("Namespaced" | "Cluster")) {
        causes.push((
            "spec.scope".to_string(),
            format!(
                "Unsupported value: {}: supported values: \"Cluster\", \"Namespaced\"",
                spec["scope"]
            ),
        ));
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push((
            "spec.versions".into(),
            "Invalid value: \"null\": must have exactly one version marked as storage version"
                .into(),
        ));
    } else if versions.iter().filter(|v| v["storage"] == true).count() != 1 {
        causes.push((
            "spec.versions".into(),
            format!(
                "Invalid value: {}: must have exactly one version marked as storage version",
                serde_json::to_string(&versions).unwrap_or_default()
            ),
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if !v["schema"]["openAPIV3Schema"].is_object() {
            causes.push((
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "Required value: schemas are required".into(),
            ));
        }
    }
    if causes.is_empty() {
        return Ok(());
    }
    Err(KubeError::invalid_causes(rt, &name, &causes))
}

/// What the apiextensions controller writes in a definition's status once
/// its names are accepted (no other definition claims them).
pub fn establish(definition: &mut Json, now: &str) {
    let names = definition["spec"]["names"].clone();
    let storage: Vec<Json> = definition["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == true)
        .map(|v| v["name"].clone())
        .collect();
    let mut stored: Vec<Json> = definition["status"]["storedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for v in storage {
        if !stored.contains(&v) {
            stored.push(v);
        }
    }
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    let previous = definition["status"]["conditions"].clone();
    let kept = |kind: &str, fresh: Json| {
        previous
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == kind).cloned())
            .unwrap_or(fresh)
    };
    definition["status"] = json!({
        "acceptedNames": names,
        "conditions": [
            kept("NamesAccepted", condition("NamesAccepted", "NoConflicts", "no conflicts found")),
            kept("Established", condition("Established", "InitialNamesAccepted", "the initial names have been accepted")),
        ],
        "storedVersions": stored,
    });
}

/// The apiextensions controller: establishes each definition whose names
/// or stored versions its status does not show yet.
pub fn run(objects: &mut super::objects::Objects, now: &str) {
    // Compared in place: definitions run to megabytes (Istio's), and this
    // runs on every pass of the controllers.
    let settled = |d: &Json| {
        let stored = d["status"]["storedVersions"].as_array();
        established(d)
            && d["status"]["acceptedNames"] == d["spec"]["names"]
            && d["spec"]["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| v["storage"] == true)
                .all(|v| stored.is_some_and(|s| s.contains(&v["name"])))
    };
    let pending: Vec<String> = definitions(&objects.objects)
        .filter(|d| d["metadata"]["deletionTimestamp"].is_null() && !settled(d))
        .filter_map(|d| d["metadata"]["name"].as_str())
        .map(definition_key)
        .collect();
    for key in pending {
        objects.controller_write(&key, |d| establish(d, now));
    }
}

/// The keys of the resources a definition defines, which go with it.
pub fn instances(objects: &BTreeMap<String, Json>, definition: &Json) -> Vec<String> {
    let group = definition["spec"]["group"].as_str().unwrap_or_default();
    let plural = definition["spec"]["names"]["plural"]
        .as_str()
        .unwrap_or_default();
    let prefix = format!("{group}/{plural}/");
    objects
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

/// A custom resource as the API server admits it against its version's
/// structural schema: fields the schema does not declare are pruned
/// (unless it preserves unknown fields), defaults filled, and types,
/// required fields, enums and bounds checked, every violation reported.
pub fn admit(
    objects: &BTreeMap<String, Json>,
    rt: &ResourceType,
    obj: &mut Json,
) -> Result<(), KubeError> {
    let Some(schema) = schema(objects, rt).cloned() else {
        return Ok(());
    };
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut causes = Vec::new();
    let Some(root) = obj.as_object_mut() else {
        return Err(KubeError::bad_request("the object must be a JSON object"));
    };
    for (field, value) in root.iter_mut() {
        if matches!(field.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        let property = &schema["properties"][field];
        if property.is_null() && schema["x-kubernetes-preserve-unknown-fields"] != true {
            continue;
        }
        check(property, value, field, &mut causes);
    }
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
    root.retain(|field, value| {
        matches!(field.as_str(), "apiVersion" | "kind" | "metadata")
            || (!value.is_null() && (preserve || schema["properties"][field].is_object()))
    });
    required(&schema, root, "", &mut causes);
    if causes.is_empty() {
        return Ok(());
    }
    Err(KubeError::invalid_causes(rt, &name, &causes))
}

/// A server-side apply patch must fit the schema before anything else:
/// the API server's structured-merge-diff refuses undeclared fields and
/// values of the wrong kind (with status 500 and no reason, as it answers
/// errors that are not API statuses), where other writes prune them.
pub fn check_apply_patch(
    objects: &BTreeMap<String, Json>,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    patch: &Json,
) -> Result<(), KubeError> {
    let Some(schema) = schema(objects, rt) else {
        return Ok(());
    };
    let mut errors = Vec::new();
    if let Some(root) = patch.as_object() {
        for (field, value) in root {
            if matches!(field.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            typed(schema, field, value, &format!(".{field}"), &mut errors);
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let said = match errors.as_slice() {
        [one] => one.clone(),
        many => format!("errors:\n  {}", many.join("\n  ")),
    };
    let at = if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    };
    Err(KubeError {
        code: 500,
        reason: "",
        message: format!(
            "failed to create typed patch object ({at}; {}, Kind={}): {said}",
            rt.api_version(),
            rt.kind
        ),
        details: Json::Null,
    })
}

/// `value`, the field `field` of an object whose schema is `parent`,
/// checked as structured-merge-diff converts it to its typed form.
fn typed(parent: &Json, field: &str, value: &Json, path: &str, errors: &mut Vec<String>) {
    let declared = &parent["properties"][field];
    let schema = if declared.is_object() {
        declared
    } else if parent["additionalProperties"].is_object() {
        &parent["additionalProperties"]
    } else if parent["x-kubernetes-preserve-unknown-fields"] == true
        || parent["additionalProperties"] == true
    {
        return;
    } else {
        errors.push(format!("{path}: field not declared in schema"));
        return;
    };
    if value.is_null() || schema["x-kubernetes-int-or-string"] == true {
        return;
    }
    let found = type_name(value);
    let wrong = match schema["type"].as_str() {
        Some("integer" | "number") if !value.is_number() => Some("numeric (int or float)"),
        Some("string") if !value.is_string() => Some("string"),
        Some("boolean") if !value.is_boolean() => Some("boolean"),
        Some("array") if !value.is_array() => Some("list"),
        Some("object") if !value.is_object() => Some("map"),
        _ => None,
    };
    if let Some(expected) = wrong {
        errors.push(format!("{path}: expected {expected}, got {found}"));
        return;
    }
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                typed(schema, k, v, &format!("{path}.{k}"), errors);
            }
        }
        Json::Array(items) => {
            let wrapper = json!({"properties": {"item": schema["items"]}});
            for (i, item) in items.iter().enumerate() {
                typed(&wrapper, "item", item, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Checks `value` at `path` against `schema`, pruning and defaulting
/// within it.
fn check(schema: &Json, value: &mut Json, path: &str, causes: &mut Vec<(String, String)>) {
    if schema["x-kubernetes-int-or-string"] == true {
        if !(value.is_string() || type_name(value) == "integer") {
            causes.push((
                path.to_string(),
                format!(
                    "Invalid value: \"{}\": {path} in body must be of type integer,string: \"{}\"",
                    type_name(value),
                    type_name(value)
                ),
            ));
        }
        return;
    }
    if let Some(wanted) = schema["type"].as_str() {
        let found = type_name(value);
        let fits = found == wanted || (wanted == "number" && found == "integer");
        if !fits {
            causes.push((
                path.to_string(),
                format!("Invalid value: \"{found}\": {path} in body must be of type {wanted}: \"{found}\""),
            ));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Json::to_string).collect();
        causes.push((
            path.to_string(),
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        ));
    }
    if let (Some(n), Some(min)) = (value.as_f64(), schema["minimum"].as_f64())
        && n < min
    {
        causes.push((
            path.to_string(),
            format!(
                "Invalid value: {value}: {path} in body should be greater than or equal to {min}"
            ),
        ));
    }
    if let (Some(n), Some(max)) = (value.as_f64(), schema["maximum"].as_f64())
        && n > max
    {
        causes.push((
            path.to_string(),
            format!("Invalid value: {value}: {path} in body should be less than or equal to {max}"),
        ));
    }
    match value {
        Json::Object(map) => {
            let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
            let properties = schema["properties"].as_object();
            let additional = &schema["additionalProperties"];
            for (field, v) in map.iter_mut() {
                let at = format!("{path}.{field}");
                match properties.and_then(|p| p.get(field)) {
                    Some(s) => check(s, v, &at, causes),
                    None if additional.is_object() => check(additional, v, &at, causes),
                    None => {}
                }
            }
            map.retain(|field, v| {
                let declared = properties.is_some_and(|p| p.contains_key(field))
                    || additional.is_object()
                    || additional == &json!(true)
                    || preserve;
                let nullable =
                    properties.and_then(|p| p.get(field)).unwrap_or(additional)["nullable"] == true;
                declared && (!v.is_null() || nullable)
            });
            if let Some(properties) = properties {
                for (field, s) in properties {
                    if !map.contains_key(field) && !s["default"].is_null() {
                        map.insert(field.clone(), s["default"].clone());
                    }
                }
            }
            required(schema, map, path, causes);
        }
        Json::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                check(&schema["items"], item, &format!("{path}[{i}]"), causes);
            }
        }
        _ => {}
    }
}

fn required(
    schema: &Json,
    map: &serde_json::Map<String, Json>,
    path: &str,
    causes: &mut Vec<(String, String)>,
) {
    for field in schema["required"].as_array().into_iter().flatten() {
        let Some(field) = field.as_str() else {
            continue;
        };
        if !map.contains_key(field) {
            let at = if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            };
            causes.push((at, "Required value".to_string()));
        }
    }
}
