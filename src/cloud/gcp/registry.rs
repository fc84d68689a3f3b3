//! Artifact Registry repositories through
//! `google-cloud-artifactregistry-v1`: created and deleted through
//! long-running operations, changed with an update mask.

use std::collections::BTreeMap;

use async_trait::async_trait;
use google_cloud_artifactregistry_v1::model::{
    self as ar, CleanupPolicyCondition, CleanupPolicyMostRecentVersions, Repository,
    cleanup_policy, repository,
};
use google_cloud_gax::options::RequestOptionsBuilder;
use google_cloud_lro::Poller;

use super::{Gcp, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;
use crate::cloud::origin;
use crate::cloud::registry::{CleanupPolicy, ObservedRegistry, Registries, RegistrySpec};
use crate::cloud::retry::{Backoff, read_once_it_exists, read_optional, retry};

fn repo_name(project: &str, location: &str, name: &str) -> String {
    format!("projects/{project}/locations/{location}/repositories/{name}")
}

fn duration(seconds: i64) -> google_cloud_wkt::Duration {
    google_cloud_wkt::Duration::clamp(seconds, 0)
}

fn policy_body(id: &str, p: &CleanupPolicy) -> ar::CleanupPolicy {
    let policy = ar::CleanupPolicy::new()
        .set_id(id)
        .set_action(cleanup_policy::Action::from(p.action.as_str()));
    if let Some(keep) = p.keep_count {
        return policy.set_most_recent_versions(
            CleanupPolicyMostRecentVersions::new()
                .set_keep_count(keep as i32)
                .set_package_name_prefixes(p.package_name_prefixes.clone()),
        );
    }
    let mut condition = CleanupPolicyCondition::new()
        .set_tag_state(ar::cleanup_policy_condition::TagState::from(
            p.tag_state.as_str(),
        ))
        .set_tag_prefixes(p.tag_prefixes.clone())
        .set_version_name_prefixes(p.version_name_prefixes.clone())
        .set_package_name_prefixes(p.package_name_prefixes.clone());
    if let Some(s) = p.older_than_seconds {
        condition = condition.set_older_than(duration(s));
    }
    if let Some(s) = p.newer_than_seconds {
        condition = condition.set_newer_than(duration(s));
    }
    policy.set_condition(condition)
}

/// The repository body for create and update requests.
pub fn repository_body(spec: &RegistrySpec) -> Repository {
    use repository::vulnerability_scanning_config::EnablementConfig;
    let mut r = Repository::new()
        .set_name(repo_name(&spec.project, &spec.location, &spec.name))
        .set_format(repository::Format::from(spec.format.as_str()))
        .set_description(spec.description.clone().unwrap_or_default())
        .set_labels(spec.labels.clone())
        .set_cleanup_policies(
            spec.cleanup_policies
                .iter()
                .map(|(id, p)| (id.clone(), policy_body(id, p))),
        )
        .set_cleanup_policy_dry_run(spec.cleanup_dry_run)
        .set_vulnerability_scanning_config(
            repository::VulnerabilityScanningConfig::new().set_enablement_config(
                if spec.vulnerability_scanning {
                    EnablementConfig::Inherited
                } else {
                    EnablementConfig::Disabled
                },
            ),
        );
    if spec.format == "DOCKER" {
        r = r.set_docker_config(
            repository::DockerRepositoryConfig::new().set_immutable_tags(spec.immutable_tags),
        );
    }
    r
}

pub fn observe(project: &str, location: &str, r: &Repository) -> ObservedRegistry {
    let name = r.name.rsplit('/').next().unwrap_or_default().to_string();
    let policies: BTreeMap<String, CleanupPolicy> = r
        .cleanup_policies
        .iter()
        .map(|(id, p)| {
            let mut out = CleanupPolicy {
                action: p.action.name().unwrap_or_default().to_string(),
                ..CleanupPolicy::default()
            };
            if let Some(c) = p.condition() {
                out.tag_state = c
                    .tag_state
                    .as_ref()
                    .and_then(|t| t.name())
                    .unwrap_or("ANY")
                    .to_string();
                out.tag_prefixes = c.tag_prefixes.clone();
                out.version_name_prefixes = c.version_name_prefixes.clone();
                out.package_name_prefixes = c.package_name_prefixes.clone();
                out.older_than_seconds = c.older_than.as_ref().map(|d| d.seconds());
                out.newer_than_seconds = c.newer_than.as_ref().map(|d| d.seconds());
            }
            if let Some(m) = p.most_recent_versions() {
                out.keep_count = m.keep_count.map(i64::from);
                out.package_name_prefixes = m.package_name_prefixes.clone();
                out.tag_state = "ANY".into();
            }
            (id.clone(), out)
        })
        .collect();
    let scanning = r.vulnerability_scanning_config.as_ref().is_none_or(|v| {
        v.enablement_config != repository::vulnerability_scanning_config::EnablementConfig::Disabled
    });
    ObservedRegistry {
        id: repo_name(project, location, &name),
        spec: RegistrySpec {
            project: project.to_string(),
            location: location.to_string(),
            name,
            description: (!r.description.is_empty()).then(|| r.description.clone()),
            format: r.format.name().unwrap_or_default().to_string(),
            immutable_tags: r.docker_config().is_some_and(|d| d.immutable_tags),
            vulnerability_scanning: scanning,
            cleanup_policies: policies,
            cleanup_dry_run: r.cleanup_policy_dry_run,
            labels: r
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != origin::LABEL)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        },
        url: r.registry_uri.clone(),
    }
}

impl Gcp {
    /// The repository as Artifact Registry serves it, labels included.
    async fn get_repository(
        &self,
        client: &google_cloud_artifactregistry_v1::client::ArtifactRegistry,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<Repository>, CloudError> {
        let full = repo_name(project, location, name);
        read_optional(wait, || async {
            client
                .get_repository()
                .set_name(&full)
                .with_user_agent(&self.user_agent)
                .send()
                .await
                .map_err(|e| api_error("reading the Artifact Registry repository", e))
        })
        .await
    }
}

#[async_trait]
impl Registries for Gcp {
    async fn create(
        &self,
        spec: &RegistrySpec,
        wait: &Wait,
    ) -> Result<ObservedRegistry, (CloudError, Option<ObservedRegistry>)> {
        let client = self.artifact_registry().await.map_err(|e| (e, None))?;
        let mut body = repository_body(spec);
        body.labels
            .insert(origin::LABEL.into(), origin::fingerprint(spec));
        let call = "creating the Artifact Registry repository";
        // Retried until the timeout like any call: a repeat that meets the
        // first attempt's repository adopts it below.
        let created = tokio::time::timeout(
            wait.timeout,
            retry(Backoff::until(wait.deadline()), &wait.stop, || async {
                client
                    .create_repository()
                    .set_parent(format!(
                        "projects/{}/locations/{}",
                        spec.project, spec.location
                    ))
                    .set_repository_id(&spec.name)
                    .set_repository(body.clone())
                    .with_user_agent(&self.user_agent)
                    .poller()
                    .until_done()
                    .await
                    .map_err(|e| api_error(call, e))
            }),
        )
        .await;
        match created {
            Ok(Ok(r)) => Ok(observe(&spec.project, &spec.location, &r)),
            Ok(Err(error)) => {
                if error.is_already_exists() {
                    // An earlier attempt of this create made it (see
                    // `origin`): it is ours. Anything else is not. It may
                    // still be being made (its create operation running):
                    // it is judged once it can be read.
                    let own = read_once_it_exists(wait, || {
                        self.get_repository(client, &spec.project, &spec.location, &spec.name, wait)
                    })
                    .await
                    .ok()
                    .flatten()
                    .filter(|r| {
                        origin::made_by(r.labels.iter(), origin::LABEL, &origin::fingerprint(spec))
                    });
                    return match own {
                        Some(r) => {
                            tracing::info!(repository = %spec.name, "adopting the repository an earlier attempt of this create made");
                            Ok(observe(&spec.project, &spec.location, &r))
                        }
                        None => Err((error, None)),
                    };
                }
                // Any other failure may have left the repository behind:
                // report what exists, so Terraform keeps it.
                let existing = self
                    .get(&spec.project, &spec.location, &spec.name, wait)
                    .await
                    .ok()
                    .flatten();
                Err((error, existing))
            }
            Err(_) => {
                let existing = self
                    .get(&spec.project, &spec.location, &spec.name, wait)
                    .await
                    .ok()
                    .flatten();
                Err((
                    CloudError::Timeout {
                        call: "creating the Artifact Registry repository".into(),
                        operation: String::new(),
                        after: wait.timeout,
                    },
                    existing,
                ))
            }
        }
    }

    async fn list(
        &self,
        project: &str,
        location: &str,
        wait: &Wait,
    ) -> Result<Vec<String>, CloudError> {
        let client = self.artifact_registry().await?;
        let parent = format!("projects/{project}/locations/{location}");
        let mut ids = Vec::new();
        let mut token = String::new();
        loop {
            let page = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
                client
                    .list_repositories()
                    .set_parent(&parent)
                    .set_page_token(&token)
                    .with_user_agent(&self.user_agent)
                    .send()
                    .await
                    .map_err(|e| api_error("listing the Artifact Registry repositories", e))
            })
            .await?;
            ids.extend(page.repositories.into_iter().map(|r| r.name));
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        ids.sort();
        Ok(ids)
    }

    async fn get(
        &self,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedRegistry>, CloudError> {
        let client = self.artifact_registry().await?;
        let repository = self
            .get_repository(client, project, location, name, wait)
            .await?;
        Ok(repository.map(|r| observe(project, location, &r)))
    }

    async fn update(
        &self,
        from: &RegistrySpec,
        to: &RegistrySpec,
        wait: &Wait,
    ) -> Result<ObservedRegistry, CloudError> {
        let client = self.artifact_registry().await?;
        let mut mask = Vec::new();
        if from.description != to.description {
            mask.push("description");
        }
        if from.labels != to.labels {
            mask.push("labels");
        }
        if from.cleanup_policies != to.cleanup_policies {
            mask.push("cleanup_policies");
        }
        if from.cleanup_dry_run != to.cleanup_dry_run {
            mask.push("cleanup_policy_dry_run");
        }
        if from.immutable_tags != to.immutable_tags {
            mask.push("docker_config");
        }
        if from.vulnerability_scanning != to.vulnerability_scanning {
            mask.push("vulnerability_scanning_config");
        }
        let body = repository_body(to);
        let updated = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
            client
                .update_repository()
                .set_repository(body.clone())
                .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(mask.clone()))
                .with_user_agent(&self.user_agent)
                .send()
                .await
                .map_err(|e| api_error("updating the Artifact Registry repository", e))
        })
        .await?;
        Ok(observe(&to.project, &to.location, &updated))
    }

    async fn delete(
        &self,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let client = self.artifact_registry().await?;
        let full = repo_name(project, location, name);
        let deleted = tokio::time::timeout(
            wait.timeout,
            client
                .delete_repository()
                .set_name(&full)
                .with_user_agent(&self.user_agent)
                .poller()
                .until_done(),
        )
        .await;
        match deleted {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => match api_error("deleting the Artifact Registry repository", e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
            Err(_) => Err(CloudError::Timeout {
                call: "deleting the Artifact Registry repository".into(),
                operation: String::new(),
                after: wait.timeout,
            }),
        }
    }
}
