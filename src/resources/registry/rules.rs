//! The repository's rules across attributes and its planned values, read
//! from a typed view of the configuration (`framework::view`): each
//! attribute a rule reads is a `Field`, known, null or unknown, with the
//! schema's default where the configuration leaves it out, so a rule never
//! reads an unknown as a value and a default is written once, in the
//! schema.

use std::collections::BTreeMap;

use super::{ecr_name, repository_url, schema};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;

/// What the rules read of a repository's configuration.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct RegistryView {
    cloud: Field<String>,
    project_id: Field<String>,
    region: Field<String>,
    name: Field<String>,
    format: Field<String>,
    cleanup_policies: Field<BTreeMap<String, Field<PolicyView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PolicyView {
    action: Field<String>,
    tag_state: Field<String>,
    tag_prefixes: Field<Vec<String>>,
    version_name_prefixes: Field<Vec<String>>,
    package_name_prefixes: Field<Vec<String>>,
    older_than: Field<String>,
    newer_than: Field<String>,
    keep_count: Field<i64>,
}

impl RegistryView {
    /// The configuration (or plan) with the schema's defaults.
    pub(super) fn of(config: &Value) -> Result<RegistryView, Diagnostics> {
        view::effective(&schema().block, config)
    }

    fn aws(&self) -> bool {
        self.cloud.as_str() == Some("aws")
    }

    /// The policies by ID that are known (none while the map is unknown).
    fn policies(&self) -> impl Iterator<Item = (&String, &PolicyView)> {
        let policies = self.cleanup_policies.known().into_iter().flatten();
        policies.filter_map(|(id, p)| Some((id, p.known()?)))
    }
}

/// The rules across attributes; each waits while a value it needs is
/// unknown (Terraform validates again once it is known).
pub(super) fn validate(config: &RegistryView, diags: &mut Diagnostics) {
    // Which naming rules apply depends on the cloud.
    if let (Some(name), false) = (config.name.as_str(), config.cloud.is_unknown()) {
        let result = if config.aws() {
            ecr_name(name)
        } else {
            validators::google_resource_name(&name.into())
        };
        if let Err(message) = result {
            diags.attribute_error(
                AttributePath::attr("name"),
                "Invalid repository name",
                message,
            );
        }
    }
    if config.aws() && config.format.as_str().is_some_and(|f| f != "DOCKER") {
        diags.attribute_error(
            AttributePath::attr("format"),
            "ECR holds container images only",
            "On AWS, repositories are ECR repositories, which are always DOCKER: remove format or set it to \"DOCKER\".",
        );
    }
    for (id, policy) in config.policies() {
        validate_policy(id, policy, diags);
    }
    if config.aws() {
        validate_ecr_policies(config, diags);
    }
}

fn validate_policy(id: &str, policy: &PolicyView, diags: &mut Diagnostics) {
    let path = AttributePath::attr("cleanup_policies").key(id);
    if !validators::is_dns1123_label(id) {
        diags.attribute_error(
            path.clone(),
            "Invalid cleanup policy ID",
            format!("{id:?} is not a valid policy ID: use lowercase letters, digits and '-'."),
        );
    }
    let action = policy.action.as_str();
    let conditions = [
        ("tag_prefixes", policy.tag_prefixes.set()),
        ("version_name_prefixes", policy.version_name_prefixes.set()),
        ("package_name_prefixes", policy.package_name_prefixes.set()),
        ("older_than", policy.older_than.set()),
        ("newer_than", policy.newer_than.set()),
    ];
    if policy.keep_count.is_set() {
        if action == Some("DELETE") {
            diags.attribute_error(
                path.join("keep_count"),
                "keep_count needs a KEEP policy",
                "keep_count keeps the most recent versions, so the policy's action must be \"KEEP\".",
            );
        }
        for (name, set) in conditions {
            // Package names narrow a KEEP by count too.
            if name != "package_name_prefixes" && set == Some(true) {
                diags.attribute_error(
                    path.join(name),
                    "Condition conflicts with keep_count",
                    format!("A policy with keep_count matches versions by recency only: move `{name}` to a policy of its own."),
                );
            }
        }
    } else if action == Some("DELETE")
        && conditions.iter().all(|(_, set)| *set == Some(false))
        && policy.tag_state.as_str() == Some("ANY")
    {
        diags.attribute_error(
            path.clone(),
            "Cleanup policy deletes everything",
            "A DELETE policy with no condition matches every version in the repository. Add a condition such as older_than = \"90d\" or tag_state = \"UNTAGGED\".",
        );
    }
    if policy.tag_state.as_str() == Some("UNTAGGED") && policy.tag_prefixes.is_set() {
        diags.attribute_error(
            path.join("tag_prefixes"),
            "Tag prefixes on untagged versions",
            "tag_prefixes cannot match versions with tag_state = \"UNTAGGED\": set tag_state to \"TAGGED\" or remove tag_prefixes.",
        );
    }
}

/// What ECR lifecycle rules can say: expire by age (whole days) or beyond
/// a count, for tagged images with prefixes, untagged ones, or any (one
/// such rule at most, evaluated last).
fn validate_ecr_policies(config: &RegistryView, diags: &mut Diagnostics) {
    let mut any = Vec::new();
    for (id, policy) in config.policies() {
        let path = AttributePath::attr("cleanup_policies").key(id);
        for (name, set) in [
            ("newer_than", policy.newer_than.is_set()),
            (
                "version_name_prefixes",
                policy.version_name_prefixes.is_set(),
            ),
            (
                "package_name_prefixes",
                policy.package_name_prefixes.is_set(),
            ),
        ] {
            if set {
                diags.attribute_error(
                    path.join(name),
                    "Not available on ECR",
                    format!("ECR lifecycle rules cannot match on `{name}`: remove it."),
                );
            }
        }
        match policy.action.as_str() {
            Some("KEEP") if policy.keep_count.is_null() => diags.attribute_error(
                path.join("action"),
                "KEEP needs keep_count on ECR",
                "ECR keeps images only by count: set keep_count (the rule expires all but that many most recent images).",
            ),
            Some("DELETE") if !policy.older_than.is_unknown() => {
                match policy.older_than.as_str().and_then(validators::parse_duration) {
                    None => diags.attribute_error(
                        path.join("older_than"),
                        "DELETE needs older_than on ECR",
                        "ECR deletes images by age: set older_than, in whole days (e.g. \"30d\").",
                    ),
                    Some(seconds) if seconds % 86_400.0 != 0.0 => diags.attribute_error(
                        path.join("older_than"),
                        "Not a whole number of days",
                        "ECR counts image age in days: write older_than as whole days, e.g. \"30d\".",
                    ),
                    Some(_) => {}
                }
            }
            _ => {}
        }
        let (Some(state), Some(prefixes)) = (policy.tag_state.as_str(), policy.tag_prefixes.set())
        else {
            continue;
        };
        match state {
            "TAGGED" if !prefixes => diags.attribute_error(
                path.join("tag_state"),
                "TAGGED needs tag_prefixes on ECR",
                "An ECR rule for tagged images needs tag_prefixes.",
            ),
            "UNTAGGED" if prefixes => diags.attribute_error(
                path.join("tag_prefixes"),
                "Untagged images have no tags",
                "Remove tag_prefixes from a policy for UNTAGGED images.",
            ),
            "ANY" => any.push(id.as_str()),
            _ => {}
        }
    }
    if any.len() > 1 {
        diags.attribute_error(
            AttributePath::attr("cleanup_policies"),
            "More than one policy for any tag state",
            format!(
                "ECR allows one lifecycle rule for images in any tag state, evaluated last; {} all match ANY. Give the others tag_state = \"TAGGED\" (with tag_prefixes) or \"UNTAGGED\".",
                any.join(", ")
            ),
        );
    }
}

/// An Artifact Registry repository's ID and URL, known once its project,
/// region, name and format are; `None` otherwise (they stay unknown).
pub(super) fn planned_identity(planned: &RegistryView) -> Option<(String, Option<String>)> {
    let (Some(project), Some(region), Some(name)) = (
        planned.project_id.as_str(),
        planned.region.as_str(),
        planned.name.as_str(),
    ) else {
        return None;
    };
    let id = format!("projects/{project}/locations/{region}/repositories/{name}");
    let url = planned
        .format
        .as_str()
        .map(|format| repository_url(region, format, project, name));
    Some((id, url))
}

/// Whether the plan is for Artifact Registry; `None` while the cloud is
/// unknown.
pub(super) fn on_gcp(planned: &RegistryView) -> Option<bool> {
    planned.cloud.known().map(|c| c == "gcp")
}
