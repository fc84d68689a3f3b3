//! What a container registry back end does, in the provider's own terms.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::CloudError;
use super::cluster::Wait;

/// One cleanup policy (an ECR lifecycle rule on AWS).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanupPolicy {
    /// `DELETE` or `KEEP`.
    pub action: String,
    /// `TAGGED`, `UNTAGGED` or `ANY`.
    pub tag_state: String,
    pub tag_prefixes: Vec<String>,
    pub version_name_prefixes: Vec<String>,
    pub package_name_prefixes: Vec<String>,
    pub older_than_seconds: Option<i64>,
    pub newer_than_seconds: Option<i64>,
    /// Keep this many most recent versions (instead of the conditions).
    pub keep_count: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegistrySpec {
    pub project: String,
    pub location: String,
    pub name: String,
    pub description: Option<String>,
    pub format: String,
    pub immutable_tags: bool,
    pub vulnerability_scanning: bool,
    pub cleanup_policies: BTreeMap<String, CleanupPolicy>,
    pub cleanup_dry_run: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedRegistry {
    /// `projects/P/locations/L/repositories/N` on GCP, the ARN on AWS.
    pub id: String,
    pub spec: RegistrySpec,
    pub url: String,
}

/// A container registry back end (Artifact Registry, ECR).
#[async_trait]
pub trait Registries: Send + Sync {
    async fn create(
        &self,
        spec: &RegistrySpec,
        wait: &Wait,
    ) -> Result<ObservedRegistry, (CloudError, Option<ObservedRegistry>)>;

    async fn get(
        &self,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedRegistry>, CloudError>;

    async fn update(
        &self,
        from: &RegistrySpec,
        to: &RegistrySpec,
        wait: &Wait,
    ) -> Result<ObservedRegistry, CloudError>;

    async fn delete(
        &self,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError>;

    /// The IDs of the repositories in `project` (GCP) and `location`,
    /// sorted.
    async fn list(
        &self,
        project: &str,
        location: &str,
        wait: &Wait,
    ) -> Result<Vec<String>, CloudError>;
}
