//! Google API discovery documents as the contract of the Google faces: they
//! give the routes (method id, HTTP method, path template) and the schemas
//! every request body is checked against, so the simulator accepts exactly
//! what the real API accepts, field by field.

use std::collections::HashMap;

use serde_json::Value as Json;

/// One API method, e.g. `container.projects.locations.clusters.setSize`.
#[derive(Clone, Debug)]
pub struct Method {
    pub id: String,
    pub http_method: String,
    /// The path split at '/', with `{name}` segments as parameters; the last
    /// segment may carry a `:verb`.
    segments: Vec<Segment>,
    verb: Option<String>,
    pub request: Option<String>,
}

#[derive(Clone, Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A parsed discovery document.
pub struct Api {
    methods: Vec<Method>,
    schemas: HashMap<String, Json>,
}

/// A request matched to a method, with its path parameters.
#[derive(Debug)]
pub struct Route<'a> {
    pub method: &'a Method,
    pub params: HashMap<String, String>,
}

/// A field that breaks the schema, in Google's wording.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Api {
    pub fn parse(document: &str) -> Api {
        let doc: Json = serde_json::from_str(document).expect("discovery document is JSON");
        let mut methods = Vec::new();
        collect_methods(&doc["resources"], &mut methods);
        let schemas = doc["schemas"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Api { methods, schemas }
    }

    /// Finds the method for an HTTP method and path (`/v1/projects/...`).
    pub fn route(&self, http_method: &str, path: &str) -> Option<Route<'_>> {
        let path = path.trim_start_matches('/');
        let (path, verb) = match path.rsplit_once('/') {
            Some((head, last)) => match last.split_once(':') {
                Some((last, verb)) => (format!("{head}/{last}"), Some(verb.to_string())),
                None => (path.to_string(), None),
            },
            None => (path.to_string(), None),
        };
        let parts: Vec<&str> = path.split('/').collect();
        'methods: for method in &self.methods {
            if method.http_method != http_method
                || method.verb != verb
                || method.segments.len() != parts.len()
            {
                continue;
            }
            let mut params = HashMap::new();
            for (segment, part) in method.segments.iter().zip(&parts) {
                match segment {
                    Segment::Literal(l) if l == part => {}
                    Segment::Literal(_) => continue 'methods,
                    Segment::Param(name) if !part.is_empty() => {
                        params.insert(name.clone(), percent_decode(part));
                    }
                    Segment::Param(_) => continue 'methods,
                }
            }
            return Some(Route { method, params });
        }
        None
    }

    /// Checks a request body against the named schema: unknown fields, wrong
    /// types and values outside an enum are violations.
    pub fn check(&self, schema: &str, body: &Json) -> Vec<Violation> {
        let mut out = Vec::new();
        if let Some(s) = self.schemas.get(schema) {
            self.check_object(s, body, "", &mut out, 0);
        }
        out
    }

    /// Rewrites enum values sent as numbers (proto3 JSON allows both, and
    /// google-cloud-rust sends numbers) to their names, as the service
    /// stores them.
    pub fn normalize(&self, schema: &str, body: &mut Json) {
        if let Some(s) = self.schemas.get(schema) {
            self.normalize_object(s, body, 0);
        }
    }

    fn normalize_object(&self, schema: &Json, value: &mut Json, depth: usize) {
        if depth > 32 {
            return;
        }
        let owner = schema["id"].as_str().unwrap_or_default();
        let Some(object) = value.as_object_mut() else {
            return;
        };
        let Some(properties) = schema["properties"].as_object() else {
            return;
        };
        for (key, v) in object.iter_mut() {
            let field = if properties.contains_key(key) {
                key.clone()
            } else {
                camel_case(key)
            };
            if let Some(prop) = properties.get(&field) {
                self.normalize_value(prop, v, &format!("{owner}.{field}"), depth + 1);
            }
        }
    }

    fn normalize_value(&self, prop: &Json, value: &mut Json, field: &str, depth: usize) {
        if let Some(reference) = prop["$ref"].as_str() {
            if let Some(schema) = self.schemas.get(reference) {
                self.normalize_object(schema, value, depth);
            }
            return;
        }
        match (prop["type"].as_str(), &mut *value) {
            (Some("string"), Json::Number(n)) => {
                if let Some(name) = n.as_u64().and_then(|n| enum_name(field, prop, n)) {
                    *value = Json::String(name);
                }
            }
            (Some("array"), Json::Array(items)) => {
                for item in items {
                    self.normalize_value(&prop["items"], item, field, depth + 1);
                }
            }
            (Some("object"), Json::Object(entries)) if prop["additionalProperties"].is_object() => {
                for v in entries.values_mut() {
                    self.normalize_value(&prop["additionalProperties"], v, field, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn check_object(
        &self,
        schema: &Json,
        value: &Json,
        path: &str,
        out: &mut Vec<Violation>,
        depth: usize,
    ) {
        if depth > 32 {
            return;
        }
        let Some(object) = value.as_object() else {
            out.push(Violation {
                field: path.to_string(),
                description: format!("Invalid value at '{}', expected an object.", display(path)),
            });
            return;
        };
        let properties = schema["properties"].as_object();
        for (key, v) in object {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let prop = properties.and_then(|p| p.get(key).or_else(|| p.get(&camel_case(key))));
            match prop {
                Some(prop) => self.check_value(prop, v, &field, out, depth + 1),
                None => out.push(Violation {
                    field: field.clone(),
                    description: format!(
                        "Invalid JSON payload received. Unknown name \"{key}\" at '{}': Cannot find field.",
                        display(path)
                    ),
                }),
            }
        }
    }

    fn check_value(
        &self,
        prop: &Json,
        value: &Json,
        field: &str,
        out: &mut Vec<Violation>,
        depth: usize,
    ) {
        if value.is_null() {
            return;
        }
        if let Some(reference) = prop["$ref"].as_str() {
            if let Some(schema) = self.schemas.get(reference) {
                self.check_object(schema, value, field, out, depth);
            }
            return;
        }
        let bad = |expected: &str| Violation {
            field: field.to_string(),
            description: format!(
                "Invalid value at '{}' ({expected}), {value}",
                display(field)
            ),
        };
        match prop["type"].as_str() {
            Some("string") => {
                let Some(s) = value.as_str() else {
                    // An enum may come as its number.
                    let in_range = value
                        .as_u64()
                        .zip(prop["enum"].as_array())
                        .is_some_and(|(n, names)| (n as usize) < names.len());
                    if !in_range {
                        out.push(bad("TYPE_STRING"));
                    }
                    return;
                };
                if let Some(allowed) = prop["enum"].as_array()
                    && !allowed.iter().any(|a| a == s)
                {
                    out.push(bad("enum"));
                }
                if prop["format"] == "google-duration" && !is_duration(s) {
                    out.push(bad("type.googleapis.com/google.protobuf.Duration"));
                }
                if prop["format"] == "int64" && s.parse::<i64>().is_err() {
                    out.push(bad("TYPE_INT64"));
                }
            }
            Some("integer") => {
                let ok = match prop["format"].as_str() {
                    Some("int32") => {
                        value.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
                            || value.as_str().and_then(|s| s.parse::<i32>().ok()).is_some()
                    }
                    Some("uint32") => value.as_u64().is_some_and(|n| u32::try_from(n).is_ok()),
                    _ => {
                        value.as_i64().is_some()
                            || value.as_str().and_then(|s| s.parse::<i64>().ok()).is_some()
                    }
                };
                if !ok {
                    out.push(bad("TYPE_INT32"));
                }
            }
            Some("number") if !value.is_number() => out.push(bad("TYPE_DOUBLE")),
            Some("boolean") if !value.is_boolean() => out.push(bad("TYPE_BOOL")),
            Some("array") => match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(
                            &prop["items"],
                            item,
                            &format!("{field}[{i}]"),
                            out,
                            depth + 1,
                        );
                    }
                }
                None => out.push(bad("list")),
            },
            Some("object") => match value.as_object() {
                Some(entries) if prop["additionalProperties"].is_object() => {
                    for (k, v) in entries {
                        self.check_value(
                            &prop["additionalProperties"],
                            v,
                            &format!("{field}[{k:?}]"),
                            out,
                            depth + 1,
                        );
                    }
                }
                Some(_) => {}
                None => out.push(bad("map")),
            },
            _ => {}
        }
    }
}

fn collect_methods(resources: &Json, out: &mut Vec<Method>) {
    let Some(resources) = resources.as_object() else {
        return;
    };
    for resource in resources.values() {
        if let Some(methods) = resource["methods"].as_object() {
            for m in methods.values() {
                let template = m["flatPath"]
                    .as_str()
                    .or_else(|| m["path"].as_str())
                    .unwrap_or_default();
                let (template, verb) = match template.rsplit_once('/') {
                    Some((head, last)) => match last.split_once(':') {
                        Some((last, verb)) => (format!("{head}/{last}"), Some(verb.to_string())),
                        None => (template.to_string(), None),
                    },
                    None => (template.to_string(), None),
                };
                let segments = template
                    .split('/')
                    .map(
                        |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some(name) => Segment::Param(name.to_string()),
                            None => Segment::Literal(s.to_string()),
                        },
                    )
                    .collect();
                out.push(Method {
                    id: m["id"].as_str().unwrap_or_default().to_string(),
                    http_method: m["httpMethod"].as_str().unwrap_or_default().to_string(),
                    segments,
                    verb,
                    request: m["request"]["$ref"].as_str().map(str::to_string),
                });
            }
        }
        collect_methods(&resource["resources"], out);
    }
}

/// Protobuf numbers of enum values, which discovery documents leave out.
/// Clients may send an enum as its number (google-cloud-rust does); numbers
/// skip retired values, so the position in the document's list is not the
/// number. Taken from the clients' generated code; a test checks them
/// against the clients.
const ENUM_NUMBERS: &str = include_str!("../api/enum-numbers.json");

fn enum_numbers() -> &'static HashMap<String, HashMap<u64, String>> {
    static TABLE: std::sync::OnceLock<HashMap<String, HashMap<u64, String>>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let raw: HashMap<String, HashMap<String, u64>> =
            serde_json::from_str(ENUM_NUMBERS).expect("enum-numbers.json is valid");
        raw.into_iter()
            .map(|(field, values)| {
                (
                    field,
                    values.into_iter().map(|(name, n)| (n, name)).collect(),
                )
            })
            .collect()
    })
}

/// The name of enum value `n` of `field` (`Schema.field`): by its protobuf
/// number where known, else by its position in the document.
fn enum_name(field: &str, prop: &Json, n: u64) -> Option<String> {
    if let Some(values) = enum_numbers().get(field) {
        return values.get(&n).cloned();
    }
    prop["enum"]
        .as_array()?
        .get(n as usize)?
        .as_str()
        .map(str::to_string)
}

/// Google accepts both `snake_case` and `camelCase` field names in JSON.
fn camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn display(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        path.to_string()
    }
}

/// A protobuf Duration in JSON: seconds with an optional fraction and `s`.
pub fn is_duration(s: &str) -> bool {
    let Some(number) = s.strip_suffix('s') else {
        return false;
    };
    let number = number.strip_prefix('-').unwrap_or(number);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.len() <= 9
        && fraction.chars().all(|c| c.is_ascii_digit())
}

/// Percent-decoding of a URL path segment or query value.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gke() -> Api {
        Api::parse(crate::GKE_DISCOVERY)
    }

    #[test]
    fn routes_match_paths_and_verbs() {
        let api = gke();
        let r = api
            .route(
                "POST",
                "/v1/projects/p/locations/us-central1/clusters/c/nodePools/np:setSize",
            )
            .unwrap();
        assert_eq!(
            r.method.id,
            "container.projects.locations.clusters.nodePools.setSize"
        );
        assert_eq!(r.params["nodePoolsId"], "np");
        let r = api
            .route("GET", "/v1/projects/p/locations/us-central1/clusters")
            .unwrap();
        assert_eq!(r.method.id, "container.projects.locations.clusters.list");
        assert!(api.route("GET", "/v1/projects/p/nothing").is_none());
    }

    #[test]
    fn bodies_are_checked_against_the_schema() {
        let api = gke();
        let ok = json!({"cluster": {"name": "c", "releaseChannel": {"channel": "STABLE"}, "initialNodeCount": 3}});
        assert!(api.check("CreateClusterRequest", &ok).is_empty());
        let bad = json!({"cluster": {"name": "c", "colour": "red", "releaseChannel": {"channel": "FAST"}, "initialNodeCount": "x"}});
        let v = api.check("CreateClusterRequest", &bad);
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert!(fields.contains(&"cluster.colour"), "{v:?}");
        assert!(fields.contains(&"cluster.releaseChannel.channel"), "{v:?}");
        assert!(fields.contains(&"cluster.initialNodeCount"), "{v:?}");
        assert!(
            v[0].description.contains("Unknown name")
                || v.iter().any(|v| v.description.contains("Unknown name"))
        );
    }

    #[test]
    fn durations_follow_protobuf_json() {
        assert!(is_duration("7776000s"));
        assert!(is_duration("1.5s"));
        assert!(!is_duration("90d"));
        assert!(!is_duration("s"));
    }
}
