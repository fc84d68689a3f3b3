//! `genesis_registry` in typed form, field names being the attributes'
//! (see `framework::model`): decoded once at the resource's boundary and
//! encoded back from what the cloud reports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the configuration says of a repository (`id` and `repository_url`
/// are observed; `timeouts` is the framework's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistryModel {
    /// `gcp` or `aws`.
    pub cloud: String,
    pub project_id: Option<String>,
    pub region: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub format: String,
    pub immutable_tags: bool,
    pub vulnerability_scanning: bool,
    /// `None` where the configuration leaves them out.
    pub cleanup_policies: Option<BTreeMap<String, PolicyModel>>,
    pub cleanup_policy_dry_run: bool,
    pub labels: Option<BTreeMap<String, String>>,
}

impl Default for RegistryModel {
    fn default() -> Self {
        RegistryModel {
            cloud: "gcp".into(),
            project_id: None,
            region: None,
            name: String::new(),
            description: None,
            format: "DOCKER".into(),
            immutable_tags: false,
            vulnerability_scanning: true,
            cleanup_policies: None,
            cleanup_policy_dry_run: false,
            labels: None,
        }
    }
}

/// A cleanup policy; durations as written (`90d`, or the API's `7776000s`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyModel {
    /// `DELETE` or `KEEP`.
    pub action: String,
    /// `TAGGED`, `UNTAGGED` or `ANY`.
    pub tag_state: String,
    pub tag_prefixes: Option<Vec<String>>,
    pub version_name_prefixes: Option<Vec<String>>,
    pub package_name_prefixes: Option<Vec<String>>,
    pub older_than: Option<String>,
    pub newer_than: Option<String>,
    pub keep_count: Option<i64>,
}

impl Default for PolicyModel {
    fn default() -> Self {
        PolicyModel {
            action: String::new(),
            tag_state: "ANY".into(),
            tag_prefixes: None,
            version_name_prefixes: None,
            package_name_prefixes: None,
            older_than: None,
            newer_than: None,
            keep_count: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::model::model_coverage_problems;

    /// An attribute added to the schema but not to the model (or named or
    /// defaulted differently) fails here.
    #[test]
    fn the_model_covers_every_attribute_both_ways() {
        let problems = model_coverage_problems::<RegistryModel>(super::super::schema());
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
