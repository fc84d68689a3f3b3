//! `genesis_registry`: an Artifact Registry repository (GCP) or an ECR
//! repository (AWS), with cleanup (lifecycle) policies and image scanning.
//! Durations are compared by length, so `90d` and `7776000s` (the API's
//! spelling) never show as a change.

mod data_source;
mod list;
mod model;
mod rules;

use std::collections::BTreeMap;

use async_trait::async_trait;

use self::model::{PolicyModel, RegistryModel};
use self::rules::RegistryView;

use super::common::{self, Owner, bad_import_id, only_for_cloud, state_with, wait_for};
use crate::cloud::registry::{CleanupPolicy, ObservedRegistry, Registries, RegistrySpec};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::identity::IdentitySchema;
use crate::framework::model::{decode, encode};
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::types::Type;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::provider::ProviderContext;

pub use self::data_source::data_source;
pub use self::list::RegistryList;

pub const TYPE_NAME: &str = "genesis_registry";

const FORMATS: &[&str] = &[
    "DOCKER", "MAVEN", "NPM", "APT", "YUM", "GOOGET", "PYTHON", "KFP", "GO", "GENERIC", "RUBY",
    "CONDA",
];
const ACTIONS: &[&str] = &["DELETE", "KEEP"];
const TAG_STATES: &[&str] = &["TAGGED", "UNTAGGED", "ANY"];

pub struct Registry;

fn duration(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .validate(validators::duration)
        .equivalent_when(validators::same_duration)
        .describe(description)
}

/// The schema, built once: validation and planning read it on every
/// call, and building it (descriptions, validators) costs more than the
/// rules it serves.
fn schema() -> &'static Schema {
    static SCHEMA: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(build_schema);
    &SCHEMA
}

fn build_schema() -> Schema {
    let policy = vec![
        Attribute::string("action")
            .required()
            .validate(validators::one_of(ACTIONS))
            .describe("`DELETE` the matching versions, or `KEEP` them whatever delete policies say."),
        Attribute::string("tag_state")
            .default("ANY")
            .validate(validators::one_of(TAG_STATES))
            .describe("Match `TAGGED`, `UNTAGGED` or `ANY` (default) versions."),
        Attribute::string_list("tag_prefixes").describe("Match versions with a tag starting with one of these."),
        Attribute::string_list("version_name_prefixes").describe("Match versions whose name starts with one of these."),
        Attribute::string_list("package_name_prefixes").describe("Match versions of packages whose name starts with one of these."),
        duration("older_than", "Match versions older than this, e.g. `90d` or `7776000s`."),
        duration("newer_than", "Match versions newer than this, e.g. `7d`."),
        Attribute::number("keep_count")
            .validate(validators::int_between(1, 10_000))
            .describe("With `action = \"KEEP\"`: keep this many most recent versions of each package (instead of matching by the conditions above)."),
    ];
    let attributes = vec![
        Attribute::string("id")
            .computed()
            .describe("The repository's ID: `projects/PROJECT/locations/REGION/repositories/NAME` on GCP, the repository ARN on AWS."),
        common::cloud_attribute(),
        Attribute::string("project_id")
            .optional_computed()
            .force_new()
            .describe("The Google Cloud project (GCP only). Defaults to the provider's `project`."),
        Attribute::string("region")
            .optional_computed()
            .force_new()
            .describe("The repository's location, a region such as `us-central1` or a multi-region such as `us`. Defaults to the provider's region."),
        Attribute::string("name")
            .required()
            .force_new()
            .describe("The repository's name: lowercase letters, digits and hyphens, starting with a letter (ECR also allows `_`, `.` and `/`)."),
        Attribute::string("description").describe("A description of the repository (GCP only: ECR repositories have none)."),
        Attribute::string("format")
            .default("DOCKER")
            .force_new()
            .validate(validators::one_of(FORMATS))
            .describe("The package format: `DOCKER` (default), `MAVEN`, `NPM`, `PYTHON`, `APT`, `YUM`, `GO`, `GENERIC`, ... ECR repositories are always `DOCKER`."),
        Attribute::bool("immutable_tags")
            .default(false)
            .describe("Refuse to move or delete tags once pushed (Docker)."),
        Attribute::bool("vulnerability_scanning")
            .default(true)
            .describe("Scan pushed images for vulnerabilities (Artifact Analysis; ECR scan on push)."),
        Attribute::object_map("cleanup_policies", policy)
            .describe("Cleanup policies by ID, e.g. `{ delete-old = { action = \"DELETE\", older_than = \"90d\" }, keep-recent = { action = \"KEEP\", keep_count = 10 } }`. On AWS they become the ECR lifecycle policy, one rule each: `DELETE` with `older_than` (whole days) expires images pushed longer ago, `KEEP` with `keep_count` expires all but that many most recent images; one policy at most may match `ANY` tag state there."),
        Attribute::bool("cleanup_policy_dry_run")
            .default(false)
            .describe("Evaluate cleanup policies without deleting anything (GCP)."),
        Attribute::string_map("labels")
            .validate(validators::gcp_labels)
            .describe("Labels on the repository (GCP labels, AWS tags)."),
        Attribute::string("repository_url")
            .computed()
            .describe("Where to push and pull, e.g. `us-central1-docker.pkg.dev/PROJECT/NAME`."),
    ];
    Schema::new(
        0,
        Block::new(
            "An Artifact Registry (GCP) or ECR (AWS) repository with cleanup policies and vulnerability scanning.",
            attributes,
        )
        .with_block(common::timeouts_block(&[("create", "10m"), ("update", "10m"), ("delete", "10m")])),
    )
}

#[async_trait]
impl Resource for Registry {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema().clone()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        only_for_cloud(
            config,
            "gcp",
            &["project_id", "cleanup_policy_dry_run", "description"],
            diags,
        );
        match RegistryView::of(config) {
            Ok(view) => rules::validate(&view, diags),
            Err(refused) => diags.extend(refused),
        }
    }

    fn modify_plan(&self, ctx: &PlanContext<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        common::plan_location(planned, ctx.config, &ctx.provider.config, diags);
        let view = match RegistryView::of(planned) {
            Ok(view) => view,
            Err(refused) => return diags.extend(refused),
        };
        match rules::on_gcp(&view) {
            Some(true) => {
                if let Some((id, url)) = rules::planned_identity(&view) {
                    planned.set_attr("id", id.into());
                    if let Some(url) = url {
                        planned.set_attr("repository_url", url.into());
                    }
                }
            }
            Some(false) => planned.set_attr("cleanup_policy_dry_run", Value::Null),
            // Null on ECR, the default on Artifact Registry: unknown until
            // the cloud is known (a value written out stays as written).
            None if ctx.config.get("cleanup_policy_dry_run").is_null() => {
                planned.set_attr("cleanup_policy_dry_run", Value::Unknown);
            }
            None => {}
        }
    }

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied {
        let spec = match spec_of(planned) {
            Ok(spec) => spec,
            Err(d) => return Applied::failed(Value::Null, d),
        };
        let wait = wait_for(provider, planned, "create", 10);
        match registries(provider, planned).create(&spec, &wait).await {
            Ok(observed) => Applied::ok(state_from(planned, &observed)),
            Err((e, Some(observed))) => Applied::failed(
                state_from(planned, &observed),
                e.diagnostic("create the repository").into(),
            ),
            Err((e, None)) => {
                Applied::failed(Value::Null, e.diagnostic("create the repository").into())
            }
        }
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        let spec = spec_of(state)?;
        let wait = wait_for(provider, state, "read", 10);
        match registries(provider, state)
            .get(&spec.project, &spec.location, &spec.name, &wait)
            .await
        {
            Ok(Some(observed)) => Ok(Some((state_from(state, &observed), private.to_vec()))),
            Ok(None) => Ok(None),
            Err(e) => Err(e.diagnostic("read the repository").into()),
        }
    }

    async fn update(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        planned: &Value,
        private: &[u8],
    ) -> Applied {
        let (from, to) = match (spec_of(prior), spec_of(planned)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(d), _) | (_, Err(d)) => return Applied::failed(prior.clone(), d),
        };
        let wait = wait_for(provider, planned, "update", 10);
        match registries(provider, planned)
            .update(&from, &to, &wait)
            .await
        {
            Ok(observed) => Applied {
                state: state_from(planned, &observed),
                private: private.to_vec(),
                diagnostics: Diagnostics::new(),
            },
            Err(e) => Applied::failed(prior.clone(), e.diagnostic("update the repository").into()),
        }
    }

    async fn delete(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        _private: &[u8],
    ) -> Diagnostics {
        let spec = match spec_of(prior) {
            Ok(spec) => spec,
            Err(d) => return d,
        };
        let wait = wait_for(provider, prior, "delete", 10);
        match registries(provider, prior)
            .delete(&spec.project, &spec.location, &spec.name, &wait)
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(e) => e.diagnostic("delete the repository").into(),
        }
    }

    fn import(&self, _provider: &ProviderContext, id: &str) -> Result<Value, Diagnostics> {
        let forms = [
            "projects/PROJECT/locations/REGION/repositories/NAME",
            "PROJECT/REGION/NAME",
            "arn:aws:ecr:REGION:ACCOUNT:repository/NAME (ECR)",
        ];
        if let Some(rest) = id.strip_prefix("arn:aws:ecr:") {
            let (region, name) = match rest.splitn(3, ':').collect::<Vec<_>>().as_slice() {
                [region, _account, resource] => (
                    *region,
                    resource.strip_prefix("repository/").unwrap_or_default(),
                ),
                _ => return Err(bad_import_id(id, &forms)),
            };
            if region.is_empty() || ecr_name(name).is_err() {
                return Err(bad_import_id(id, &forms));
            }
            return Ok(state_with(
                &schema().block,
                &[
                    ("id", id.into()),
                    ("cloud", "aws".into()),
                    ("region", region.into()),
                    ("name", name.into()),
                ],
            ));
        }
        let parts: Vec<&str> = id.split('/').collect();
        let (project, region, name) = match parts.as_slice() {
            ["projects", p, "locations", l, "repositories", n] | [p, l, n] => (*p, *l, *n),
            _ => return Err(bad_import_id(id, &forms)),
        };
        if [project, region, name].iter().any(|s| s.is_empty()) {
            return Err(bad_import_id(id, &forms));
        }
        Ok(state_with(
            &schema().block,
            &[
                (
                    "id",
                    format!("projects/{project}/locations/{region}/repositories/{name}").into(),
                ),
                ("cloud", "gcp".into()),
                ("project_id", project.into()),
                ("region", region.into()),
                ("name", name.into()),
            ],
        ))
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(common::cloud_identity_schema())
    }

    fn identity(&self, state: &Value) -> Option<Value> {
        let (owner, region, name) = repository_of(state.get("id").as_str()?)?;
        common::cloud_identity(owner, region, name)
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        Ok(match common::cloud_identity_parts(identity)? {
            (Owner::Project(project), region, name) => {
                format!("projects/{project}/locations/{region}/repositories/{name}")
            }
            (Owner::Account(account), region, name) => {
                format!("arn:aws:ecr:{region}:{account}:repository/{name}")
            }
        })
    }
}

/// (owner, region, name) of a repository by its ID (either cloud's).
fn repository_of(id: &str) -> Option<(Owner<'_>, &str, &str)> {
    if let Some(rest) = id.strip_prefix("arn:aws:ecr:") {
        let [region, account, resource] = rest.splitn(3, ':').collect::<Vec<_>>()[..] else {
            return None;
        };
        return Some((
            Owner::Account(account),
            region,
            resource.strip_prefix("repository/")?,
        ));
    }
    match id.split('/').collect::<Vec<_>>()[..] {
        [
            "projects",
            project,
            "locations",
            region,
            "repositories",
            name,
        ] => Some((Owner::Project(project), region, name)),
        _ => None,
    }
}

fn cloud_of(state: &Value) -> &str {
    state.get("cloud").as_str().unwrap_or("gcp")
}

/// The back end for the resource's cloud.
fn registries<'a>(provider: &'a ProviderContext, state: &Value) -> &'a dyn Registries {
    match cloud_of(state) {
        "aws" => provider.aws.as_ref(),
        _ => provider.gcp.as_ref(),
    }
}

fn seconds(duration: Option<&str>) -> Option<i64> {
    duration
        .and_then(validators::parse_duration)
        .map(|s| s.round() as i64)
}

/// The configuration (a plan or a state), decoded once.
fn model_of(state: &Value) -> Result<RegistryModel, Diagnostics> {
    decode(state).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Provider error: the repository does not fit its model",
            format!("{e}. This is a bug in the provider; please report it."),
        ))
    })
}

/// The configuration in the back end's terms.
fn spec_of(state: &Value) -> Result<RegistrySpec, Diagnostics> {
    let m = model_of(state)?;
    let list = |l: &Option<Vec<String>>| l.clone().unwrap_or_default();
    Ok(RegistrySpec {
        project: m.project_id.unwrap_or_default(),
        location: m.region.unwrap_or_default(),
        name: m.name,
        description: m.description,
        format: m.format,
        immutable_tags: m.immutable_tags,
        vulnerability_scanning: m.vulnerability_scanning,
        cleanup_policies: m
            .cleanup_policies
            .unwrap_or_default()
            .into_iter()
            .map(|(id, p)| {
                let policy = CleanupPolicy {
                    tag_prefixes: list(&p.tag_prefixes),
                    version_name_prefixes: list(&p.version_name_prefixes),
                    package_name_prefixes: list(&p.package_name_prefixes),
                    older_than_seconds: seconds(p.older_than.as_deref()),
                    newer_than_seconds: seconds(p.newer_than.as_deref()),
                    keep_count: p.keep_count,
                    action: p.action,
                    tag_state: p.tag_state,
                };
                (id, policy)
            })
            .collect(),
        cleanup_dry_run: m.cleanup_policy_dry_run,
        labels: m.labels.unwrap_or_default(),
    })
}

/// A list from the API, left out where the configuration left it out.
fn list_or_none(items: &[String], before: Option<&Vec<String>>) -> Option<Vec<String>> {
    (!items.is_empty() || before.is_some()).then(|| items.to_vec())
}

/// The state after reading the repository. Durations come back in the
/// API's spelling (`7776000s`); the framework keeps the configuration's
/// (`90d`) when they are the same length. What only one cloud has is null
/// on the other.
fn state_from(base: &Value, observed: &ObservedRegistry) -> Value {
    let spec = &observed.spec;
    let before = decode::<RegistryModel>(base).unwrap_or_default();
    let aws = before.cloud == "aws";
    let policies: BTreeMap<String, PolicyModel> = spec
        .cleanup_policies
        .iter()
        .map(|(id, p)| {
            let was = before
                .cleanup_policies
                .as_ref()
                .and_then(|ps| ps.get(id))
                .cloned()
                .unwrap_or_default();
            let duration = |s: Option<i64>| s.map(|s| format!("{s}s"));
            let policy = PolicyModel {
                action: p.action.clone(),
                tag_state: p.tag_state.clone(),
                tag_prefixes: list_or_none(&p.tag_prefixes, was.tag_prefixes.as_ref()),
                version_name_prefixes: list_or_none(
                    &p.version_name_prefixes,
                    was.version_name_prefixes.as_ref(),
                ),
                package_name_prefixes: list_or_none(
                    &p.package_name_prefixes,
                    was.package_name_prefixes.as_ref(),
                ),
                older_than: duration(p.older_than_seconds),
                newer_than: duration(p.newer_than_seconds),
                keep_count: p.keep_count,
            };
            (id.clone(), policy)
        })
        .collect();
    let read = RegistryModel {
        project_id: (!aws).then(|| spec.project.clone()),
        region: Some(spec.location.clone()),
        name: spec.name.clone(),
        description: spec.description.clone(),
        format: spec.format.clone(),
        immutable_tags: spec.immutable_tags,
        vulnerability_scanning: spec.vulnerability_scanning,
        cleanup_policies: (!policies.is_empty() || before.cleanup_policies.is_some())
            .then_some(policies),
        cleanup_policy_dry_run: spec.cleanup_dry_run,
        labels: (!spec.labels.is_empty() || before.labels.is_some()).then(|| spec.labels.clone()),
        ..before
    };
    let mut state = encode(&read, &value_type());
    if aws {
        state.set_attr("cleanup_policy_dry_run", Value::Null);
    }
    state.set_attr("timeouts", base.get("timeouts").clone());
    state.set_attr("id", observed.id.clone().into());
    state.set_attr("repository_url", observed.url.clone().into());
    state
}

/// The host Artifact Registry serves a format from: `REGION-docker.pkg.dev`.
pub fn repository_url(region: &str, format: &str, project: &str, name: &str) -> String {
    let service = match format {
        "DOCKER" | "KFP" => "docker",
        "MAVEN" => "maven",
        "NPM" => "npm",
        "PYTHON" => "python",
        "APT" => "apt",
        "YUM" => "yum",
        "GO" => "go",
        "GOOGET" => "googet",
        "RUBY" => "ruby",
        "CONDA" => "conda",
        _ => "generic",
    };
    format!("{region}-{service}.pkg.dev/{project}/{name}")
}

fn ecr_name(name: &str) -> Result<(), String> {
    let valid = (2..=256).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid ECR repository name: use 2 to 256 lowercase letters, digits, '-', '_', '.' and '/', starting with a letter or digit."
        ))
    }
}

pub fn value_type() -> Type {
    schema().value_type()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_follow_the_format() {
        assert_eq!(
            repository_url("us-central1", "DOCKER", "p", "r"),
            "us-central1-docker.pkg.dev/p/r"
        );
        assert_eq!(
            repository_url("us", "PYTHON", "p", "r"),
            "us-python.pkg.dev/p/r"
        );
    }

    #[test]
    fn ecr_names_are_checked() {
        assert!(ecr_name("team/app").is_ok());
        assert!(ecr_name("Team").is_err());
        assert!(ecr_name("a").is_err());
    }
}
