//! The EKS service model (botocore's `service-2.json`, copied to `api/`) as
//! the contract of the EKS face: routes from each operation's HTTP method
//! and path, checks of request bodies against the input shapes (required
//! members, enum values, JSON types), and the HTTP status of each error.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

pub use crate::discovery::percent_decode as decode;

/// One operation's route.
#[derive(Debug)]
pub struct Operation {
    pub name: String,
    method: String,
    /// Path segments: literal, or `{param}` (a `+` suffix takes the rest).
    segments: Vec<String>,
    pub input: Option<String>,
}

/// The parsed model.
#[derive(Debug)]
pub struct Model {
    operations: Vec<Operation>,
    shapes: serde_json::Map<String, Json>,
}

/// A request matched to its operation.
pub struct Route<'a> {
    pub operation: &'a Operation,
    pub params: HashMap<String, String>,
}

impl Model {
    pub fn parse(text: &str) -> Model {
        let doc: Json = serde_json::from_str(text).expect("the EKS service model is JSON");
        let operations = doc["operations"]
            .as_object()
            .map(|ops| {
                ops.iter()
                    .map(|(name, op)| {
                        let uri = op["http"]["requestUri"].as_str().unwrap_or("/");
                        let path = uri.split('?').next().unwrap_or(uri);
                        Operation {
                            name: name.clone(),
                            method: op["http"]["method"].as_str().unwrap_or("GET").to_string(),
                            segments: path
                                .split('/')
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .collect(),
                            input: op["input"]["shape"].as_str().map(str::to_string),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let shapes = doc["shapes"].as_object().cloned().unwrap_or_default();
        Model { operations, shapes }
    }

    /// The operation for a method and (percent-encoded) path.
    pub fn route(&self, method: &str, path: &str) -> Option<Route<'_>> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for op in &self.operations {
            if op.method != method {
                continue;
            }
            if let Some(params) = match_segments(&op.segments, &parts) {
                return Some(Route {
                    operation: op,
                    params,
                });
            }
        }
        None
    }

    /// What is wrong with a request body for `shape`: missing required
    /// members, unknown enum values and wrong JSON types (empty when fine).
    pub fn check(&self, shape: &str, body: &Json) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_value(shape, body, "", &mut problems);
        problems
    }

    fn check_value(&self, shape: &str, value: &Json, path: &str, problems: &mut Vec<String>) {
        let Some(def) = self.shapes.get(shape) else {
            return;
        };
        let at = if path.is_empty() { "the request" } else { path };
        match def["type"].as_str().unwrap_or_default() {
            "structure" => {
                let Some(object) = value.as_object() else {
                    problems.push(format!("{at} must be an object"));
                    return;
                };
                let members = def["members"].as_object().cloned().unwrap_or_default();
                for required in def["required"].as_array().into_iter().flatten() {
                    let Some(name) = required.as_str() else {
                        continue;
                    };
                    // Members bound to the path or query are not in the body.
                    if members[name].get("location").is_some() {
                        continue;
                    }
                    if object.get(name).is_none_or(Json::is_null) {
                        problems.push(format!("{} is required", join(path, name)));
                    }
                }
                for (name, member) in &members {
                    if member.get("location").is_some() {
                        continue;
                    }
                    if let (Some(v), Some(inner)) = (object.get(name), member["shape"].as_str())
                        && !v.is_null()
                    {
                        self.check_value(inner, v, &join(path, name), problems);
                    }
                }
            }
            "list" => match value.as_array() {
                Some(items) => {
                    let inner = def["member"]["shape"].as_str().unwrap_or_default();
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(inner, item, &format!("{at}[{i}]"), problems);
                    }
                }
                None => problems.push(format!("{at} must be a list")),
            },
            "map" => match value.as_object() {
                Some(entries) => {
                    let inner = def["value"]["shape"].as_str().unwrap_or_default();
                    for (k, v) in entries {
                        self.check_value(inner, v, &format!("{at}.{k}"), problems);
                    }
                }
                None => problems.push(format!("{at} must be a map")),
            },
            "string" => match value.as_str() {
                Some(s) => {
                    if let Some(allowed) = def["enum"].as_array()
                        && !allowed.iter().any(|a| a.as_str() == Some(s))
                    {
                        problems.push(format!(
                            "Value '{s}' at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                            allowed
                                .iter()
                                .filter_map(Json::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
                None => problems.push(format!("{at} must be a string")),
            },
            "boolean" if !value.is_boolean() => problems.push(format!("{at} must be a boolean")),
            "integer" | "long" if !value.is_i64() && !value.is_u64() => {
                problems.push(format!("{at} must be an integer"))
            }
            _ => {}
        }
    }

    /// The HTTP status of an error shape (`ResourceInUseException` -> 409).
    pub fn error_status(&self, name: &str) -> u16 {
        self.shapes
            .get(name)
            .and_then(|s| s["error"]["httpStatusCode"].as_u64())
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(400)
    }

    /// Whether `name` is an error the model knows.
    pub fn is_error(&self, name: &str) -> bool {
        self.shapes
            .get(name)
            .is_some_and(|s| s["exception"].as_bool() == Some(true))
    }
}

/// The path parameters when `parts` fits the pattern `segments`.
fn match_segments(segments: &[String], parts: &[&str]) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                if let Some(greedy) = name.strip_suffix('+') {
                    (i < parts.len()).then_some(())?;
                    params.insert(greedy.to_string(), decode(&parts[i..].join("/")));
                    return Some(params);
                }
                params.insert(name.to_string(), decode(parts.get(i)?));
            }
            None if parts.get(i) == Some(&segment.as_str()) => {}
            None => return None,
        }
    }
    (parts.len() == segments.len()).then_some(params)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A query string as name -> values (`tagKeys=a&tagKeys=b`).
pub fn query(q: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in q.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(decode(k))
            .or_default()
            .push(decode(&v.replace('+', " ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model::parse(crate::EKS_MODEL)
    }

    #[test]
    fn routes_follow_the_model() {
        let m = model();
        let r = m.route("GET", "/clusters/prod").unwrap();
        assert_eq!(r.operation.name, "DescribeCluster");
        assert_eq!(r.params["name"], "prod");
        let r = m
            .route("POST", "/clusters/prod/node-groups/system/update-config")
            .unwrap();
        assert_eq!(r.operation.name, "UpdateNodegroupConfig");
        assert_eq!(r.params["nodegroupName"], "system");
        let r = m
            .route(
                "POST",
                "/clusters/prod/access-entries/arn%3Aaws%3Aiam%3A%3A1%3Arole%2FAdmin/access-policies",
            )
            .unwrap();
        assert_eq!(r.operation.name, "AssociateAccessPolicy");
        assert_eq!(r.params["principalArn"], "arn:aws:iam::1:role/Admin");
        assert_eq!(
            m.route("GET", "/clusters").unwrap().operation.name,
            "ListClusters"
        );
        assert!(m.route("GET", "/nothing/here").is_none());
    }

    #[test]
    fn bodies_are_checked_against_the_input_shape() {
        let m = model();
        let problems = m.check(
            "CreateClusterRequest",
            &serde_json::json!({"name": "x", "resourcesVpcConfig": {}, "kubernetesNetworkConfig": {"ipFamily": "ipv5"}}),
        );
        assert!(
            problems.iter().any(|p| p.contains("roleArn is required")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("'ipv5'")),
            "{problems:?}"
        );
        assert_eq!(m.error_status("ResourceInUseException"), 409);
        assert_eq!(m.error_status("ResourceNotFoundException"), 404);
    }
}
