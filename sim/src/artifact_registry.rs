//! The Artifact Registry v1 face: repositories with cleanup policies and
//! vulnerability scanning, created and deleted through long-running
//! operations (`google.longrunning.Operation`), patched with an update mask.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::faults::Outcome;
use crate::google::{ApiError, now_rfc3339};

const REPOSITORY_TYPE: &str = "type.googleapis.com/google.devtools.artifactregistry.v1.Repository";
const METADATA_TYPE: &str =
    "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata";
const EMPTY_TYPE: &str = "type.googleapis.com/google.protobuf.Empty";

/// Fields `updateMask` may name.
const MUTABLE: &[&str] = &[
    "description",
    "labels",
    "cleanupPolicies",
    "cleanupPolicyDryRun",
    "dockerConfig",
    "vulnerabilityScanningConfig",
    "mavenConfig",
    "platformLogsConfig",
];

#[derive(Debug, Default, Serialize)]
pub struct ArtifactRegistry {
    /// Repositories by full name.
    pub repositories: BTreeMap<String, Json>,
    pub operations: BTreeMap<String, Operation>,
}

#[derive(Debug, Serialize)]
pub struct Operation {
    pub body: Json,
    pub repository: String,
    /// The repository to store when a create finishes; `None` for a delete.
    pub creates: Option<Json>,
    pub outcome: Outcome,
    #[serde(skip)]
    pub finish_at: Instant,
}

pub struct Context<'a> {
    pub method: &'a str,
    pub params: &'a std::collections::HashMap<String, String>,
    pub query: &'a BTreeMap<String, String>,
    pub body: Json,
    pub operation_time: std::time::Duration,
    pub outcome: &'a mut dyn FnMut() -> Outcome,
    pub next_id: u64,
}

impl Context<'_> {
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    fn location(&self) -> String {
        format!(
            "projects/{}/locations/{}",
            self.param("projectsId"),
            self.param("locationsId")
        )
    }
}

impl ArtifactRegistry {
    pub fn advance(&mut self, now: Instant) {
        let due: Vec<String> = self
            .operations
            .iter()
            .filter(|(_, op)| {
                op.body["done"] == false && op.outcome != Outcome::Stick && op.finish_at <= now
            })
            .map(|(k, _)| k.clone())
            .collect();
        for name in due {
            let Some(op) = self.operations.get_mut(&name) else {
                continue;
            };
            op.body["done"] = json!(true);
            if op.outcome == Outcome::Fail {
                op.body["error"] =
                    json!({"code": 13, "message": "Internal error (injected by genesis-sim)."});
                continue;
            }
            match op.creates.take() {
                Some(repo) => {
                    op.body["response"] = with_type(&repo, REPOSITORY_TYPE);
                    self.repositories.insert(op.repository.clone(), repo);
                }
                None => {
                    op.body["response"] = json!({ "@type": EMPTY_TYPE });
                    self.repositories.remove(&op.repository);
                }
            }
        }
    }

    pub fn handle(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let repo_name = format!(
            "{}/repositories/{}",
            ctx.location(),
            ctx.param("repositoriesId")
        );
        match ctx
            .method
            .trim_start_matches("artifactregistry.projects.locations.")
        {
            "repositories.get" => self
                .repositories
                .get(&repo_name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&repo_name)),
            "repositories.list" => {
                let prefix = format!("{}/repositories/", ctx.location());
                let repos: Vec<Json> = self
                    .repositories
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, v)| v.clone())
                    .collect();
                Ok(json!({ "repositories": repos }))
            }
            "repositories.create" => self.create(ctx),
            "repositories.patch" => self.patch(ctx, &repo_name),
            "repositories.delete" => {
                if !self.repositories.contains_key(&repo_name) {
                    return Err(ApiError::not_found(&repo_name));
                }
                Ok(self.start(ctx, repo_name, None))
            }
            "operations.get" => {
                let name = format!(
                    "{}/operations/{}",
                    ctx.location(),
                    ctx.param("operationsId")
                );
                self.operations
                    .get(&name)
                    .map(|op| op.body.clone())
                    .ok_or_else(|| ApiError::not_found(&name))
            }
            "operations.cancel" => {
                let name = format!(
                    "{}/operations/{}",
                    ctx.location(),
                    ctx.param("operationsId")
                );
                let op = self
                    .operations
                    .get_mut(&name)
                    .ok_or_else(|| ApiError::not_found(&name))?;
                if op.body["done"] == false {
                    op.body["done"] = json!(true);
                    op.body["error"] = json!({"code": 1, "message": "Operation was cancelled."});
                }
                Ok(json!({}))
            }
            _ => Err(ApiError::unimplemented(ctx.method)),
        }
    }

    fn start(&mut self, ctx: &mut Context<'_>, repository: String, creates: Option<Json>) -> Json {
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-a000-{:012x}",
            unix_secs(),
            ctx.next_id & 0xffff,
            ctx.next_id & 0xfff,
            ctx.next_id
        );
        let name = format!("{}/operations/{id}", ctx.location());
        let outcome = (ctx.outcome)();
        let body = json!({
            "name": name,
            "metadata": { "@type": METADATA_TYPE },
            "done": false,
        });
        self.operations.insert(
            name.clone(),
            Operation {
                body,
                repository,
                creates,
                outcome,
                finish_at: Instant::now() + ctx.operation_time,
            },
        );
        if ctx.operation_time.is_zero() {
            self.advance(Instant::now());
        }
        self.operations[&name].body.clone()
    }

    fn create(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let id = ctx.query.get("repositoryId").cloned().unwrap_or_default();
        if id.is_empty() {
            return Err(ApiError::invalid_argument("repository_id must be set."));
        }
        let valid = id.len() <= 63
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && !id.ends_with('-')
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(ApiError::invalid_argument(format!(
                "Invalid repository ID \"{id}\": it must start with a lowercase letter, contain only lowercase letters, numbers and hyphens, not end with a hyphen, and be at most 63 characters."
            )));
        }
        let name = format!("{}/repositories/{id}", ctx.location());
        let pending = self
            .operations
            .values()
            .any(|op| op.repository == name && op.body["done"] == false && op.creates.is_some());
        if self.repositories.contains_key(&name) || pending {
            return Err(ApiError::already_exists(&name));
        }
        let mut repo = ctx.body.clone();
        if !repo.is_object() {
            repo = json!({});
        }
        let format = repo["format"].as_str().unwrap_or("").to_string();
        if format.is_empty() || format == "FORMAT_UNSPECIFIED" {
            return Err(ApiError::invalid_argument(
                "Repository format must be specified.",
            ));
        }
        check_policies(&repo["cleanupPolicies"])?;
        let now = now_rfc3339();
        let location = ctx.param("locationsId");
        repo["name"] = json!(name);
        repo["createTime"] = json!(now);
        repo["updateTime"] = json!(now);
        repo["mode"] = json!(repo["mode"].as_str().unwrap_or("STANDARD_REPOSITORY"));
        repo["registryUri"] = json!(registry_uri(
            location,
            &format,
            ctx.param("projectsId"),
            &id
        ));
        repo["sizeBytes"] = json!("0");
        repo["satisfiesPzs"] = json!(false);
        scanning_state(&mut repo);
        Ok(self.start(ctx, name, Some(repo)))
    }

    fn patch(&mut self, ctx: &mut Context<'_>, name: &str) -> Result<Json, ApiError> {
        let current = self
            .repositories
            .get(name)
            .ok_or_else(|| ApiError::not_found(name))?
            .clone();
        let body = &ctx.body;
        let mask: Vec<String> = match ctx.query.get("updateMask") {
            Some(m) if !m.is_empty() => m.split(',').map(|f| camel(f.trim())).collect(),
            _ => body
                .as_object()
                .map(|o| {
                    o.keys()
                        .filter(|k| MUTABLE.contains(&k.as_str()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        };
        let mut repo = current;
        for field in &mask {
            let top = field.split('.').next().unwrap_or_default();
            if !MUTABLE.contains(&top) {
                return Err(ApiError::invalid_argument(format!(
                    "Field \"{field}\" cannot be updated."
                )));
            }
            if top == "cleanupPolicies" {
                check_policies(&body["cleanupPolicies"])?;
            }
            set_path(&mut repo, field, get_path(body, field));
        }
        repo["updateTime"] = json!(now_rfc3339());
        scanning_state(&mut repo);
        self.repositories.insert(name.to_string(), repo.clone());
        Ok(repo)
    }
}

fn check_policies(policies: &Json) -> Result<(), ApiError> {
    let Some(map) = policies.as_object() else {
        return Ok(());
    };
    if map.len() > 10 {
        return Err(ApiError::invalid_argument(
            "A repository can have at most 10 cleanup policies.",
        ));
    }
    for (key, p) in map {
        if let Some(id) = p["id"].as_str()
            && id != key
        {
            return Err(ApiError::invalid_argument(format!(
                "Cleanup policy \"{key}\" has id \"{id}\": they must match."
            )));
        }
        match p["action"].as_str() {
            Some("DELETE" | "KEEP") => {}
            _ => {
                return Err(ApiError::invalid_argument(format!(
                    "Cleanup policy \"{key}\" must have an action, DELETE or KEEP."
                )));
            }
        }
        let recent = !p["mostRecentVersions"].is_null();
        if recent && p["action"] != "KEEP" {
            return Err(ApiError::invalid_argument(format!(
                "Cleanup policy \"{key}\": mostRecentVersions may only be specified with a Keep action."
            )));
        }
        if recent && !p["condition"].is_null() {
            return Err(ApiError::invalid_argument(format!(
                "Cleanup policy \"{key}\": condition and mostRecentVersions cannot both be set."
            )));
        }
        if p["condition"]["tagState"] == "UNTAGGED" && !p["condition"]["tagPrefixes"].is_null() {
            return Err(ApiError::invalid_argument(format!(
                "Cleanup policy \"{key}\": tagPrefixes cannot be used with tagState UNTAGGED."
            )));
        }
    }
    Ok(())
}

/// Output fields of the scanning configuration follow from its setting.
fn scanning_state(repo: &mut Json) {
    let docker = repo["format"] == "DOCKER";
    let disabled = repo["vulnerabilityScanningConfig"]["enablementConfig"] == "DISABLED";
    let (state, reason) = match (docker, disabled) {
        (true, false) => (
            "SCANNING_ACTIVE",
            "Repository has vulnerability scanning enabled.",
        ),
        (true, true) => (
            "SCANNING_DISABLED",
            "Repository has vulnerability scanning disabled.",
        ),
        (false, _) => (
            "SCANNING_UNSUPPORTED",
            "Vulnerability scanning is not supported for this format.",
        ),
    };
    let config = &mut repo["vulnerabilityScanningConfig"];
    if !config.is_object() {
        *config = json!({});
    }
    config["enablementState"] = json!(state);
    config["enablementStateReason"] = json!(reason);
    if state == "SCANNING_ACTIVE" && config["lastEnableTime"].is_null() {
        config["lastEnableTime"] = json!(now_rfc3339());
    }
}

pub fn registry_uri(location: &str, format: &str, project: &str, id: &str) -> String {
    let host = match format {
        "DOCKER" | "KFP" => "docker",
        other => &other.to_lowercase(),
    };
    format!("{location}-{host}.pkg.dev/{project}/{id}")
}

fn with_type(v: &Json, ty: &str) -> Json {
    let mut out = json!({ "@type": ty });
    for (k, val) in v.as_object().into_iter().flatten() {
        out[k] = val.clone();
    }
    out
}

fn camel(s: &str) -> String {
    s.split('.')
        .map(|part| {
            let mut out = String::new();
            let mut upper = false;
            for c in part.chars() {
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
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn get_path(v: &Json, path: &str) -> Json {
    path.split('.').fold(v.clone(), |acc, key| acc[key].clone())
}

fn set_path(v: &mut Json, path: &str, value: Json) {
    let mut current = v;
    let parts: Vec<&str> = path.split('.').collect();
    for key in &parts[..parts.len() - 1] {
        if !current[*key].is_object() {
            current[*key] = json!({});
        }
        current = &mut current[*key];
    }
    let last = parts[parts.len() - 1];
    if value.is_null() {
        if let Some(obj) = current.as_object_mut() {
            obj.remove(last);
        }
    } else {
        current[last] = value;
    }
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
