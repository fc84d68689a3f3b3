//! ECR repositories through `aws-sdk-ecr`: tag mutability, scan on push,
//! tags, and cleanup policies as the repository's lifecycle policy. ECR
//! calls finish at once; there are no operations to wait on.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability, Repository, Tag};
use serde_json::{Value as Json, json};

use super::{Aws, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;
use crate::cloud::origin;
use crate::cloud::registry::{CleanupPolicy, ObservedRegistry, Registries, RegistrySpec};

const DAY: i64 = 86_400;

fn is_code(e: &CloudError, code: &str) -> bool {
    matches!(e, CloudError::Api { status, .. } if status == code)
}

fn mutability(immutable: bool) -> ImageTagMutability {
    if immutable {
        ImageTagMutability::Immutable
    } else {
        ImageTagMutability::Mutable
    }
}

fn scanning(on_push: bool) -> ImageScanningConfiguration {
    ImageScanningConfiguration::builder()
        .scan_on_push(on_push)
        .build()
}

fn tags(labels: &BTreeMap<String, String>) -> Result<Vec<Tag>, CloudError> {
    labels
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| CloudError::Invalid(e.to_string()))
        })
        .collect()
}

/// The ECR lifecycle policy for the cleanup policies, `None` for none.
/// Each becomes one rule named after its ID: `DELETE` with `older_than`
/// expires images pushed more than that many days ago, `KEEP` with
/// `keep_count` expires all but the most recent. ECR evaluates a rule for
/// `any` tag state last, so rules for tagged images come first, then
/// untagged, then any.
pub fn lifecycle_policy(
    policies: &BTreeMap<String, CleanupPolicy>,
) -> Result<Option<String>, CloudError> {
    let order = |p: &CleanupPolicy| match p.tag_state.as_str() {
        "TAGGED" => 0,
        "UNTAGGED" => 1,
        _ => 2,
    };
    let mut ordered: Vec<(&String, &CleanupPolicy)> = policies.iter().collect();
    ordered.sort_by_key(|(id, p)| (order(p), *id));
    if ordered.iter().filter(|(_, p)| order(p) == 2).count() > 1 {
        return Err(CloudError::Invalid(
            "ECR allows one lifecycle rule for images in any tag state".into(),
        ));
    }
    let mut rules = Vec::new();
    for (priority, (id, p)) in ordered.into_iter().enumerate() {
        if p.newer_than_seconds.is_some()
            || !p.version_name_prefixes.is_empty()
            || !p.package_name_prefixes.is_empty()
        {
            return Err(CloudError::Invalid(format!(
                "cleanup policy {id:?}: ECR lifecycle rules have no newer_than, version_name_prefixes or package_name_prefixes"
            )));
        }
        let mut selection = json!({"tagStatus": p.tag_state.to_lowercase()});
        if !p.tag_prefixes.is_empty() {
            selection["tagPrefixList"] = json!(p.tag_prefixes);
        }
        match (p.action.as_str(), p.keep_count, p.older_than_seconds) {
            ("KEEP", Some(keep), _) => {
                selection["countType"] = json!("imageCountMoreThan");
                selection["countNumber"] = json!(keep);
            }
            ("DELETE", None, Some(seconds)) if seconds > 0 && seconds % DAY == 0 => {
                selection["countType"] = json!("sinceImagePushed");
                selection["countUnit"] = json!("days");
                selection["countNumber"] = json!(seconds / DAY);
            }
            _ => {
                return Err(CloudError::Invalid(format!(
                    "cleanup policy {id:?} has no ECR equivalent: use action = \"DELETE\" with older_than in whole days, or action = \"KEEP\" with keep_count"
                )));
            }
        }
        rules.push(json!({
            "rulePriority": priority + 1,
            "description": id,
            "selection": selection,
            "action": {"type": "expire"},
        }));
    }
    Ok((!rules.is_empty()).then(|| json!({ "rules": rules }).to_string()))
}

/// The cleanup policies a lifecycle policy holds (the inverse of
/// `lifecycle_policy`); rules without a description are named by priority.
pub fn policies_of(text: &str) -> BTreeMap<String, CleanupPolicy> {
    let policy: Json = serde_json::from_str(text).unwrap_or_default();
    policy["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| {
            let id = rule["description"]
                .as_str()
                .map_or_else(|| format!("rule-{}", rule["rulePriority"]), str::to_string);
            let s = &rule["selection"];
            let count = s["countNumber"].as_i64();
            let mut p = CleanupPolicy {
                tag_state: s["tagStatus"].as_str().unwrap_or("any").to_uppercase(),
                tag_prefixes: s["tagPrefixList"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect(),
                ..CleanupPolicy::default()
            };
            if s["countType"] == "imageCountMoreThan" {
                p.action = "KEEP".into();
                p.keep_count = count;
            } else {
                p.action = "DELETE".into();
                p.older_than_seconds = count.map(|days| days * DAY);
            }
            (id, p)
        })
        .collect()
}

impl Aws {
    /// The repository, its lifecycle policy and tags, read together.
    async fn observe(
        &self,
        client: &aws_sdk_ecr::Client,
        region: &str,
        repository: &Repository,
    ) -> Result<ObservedRegistry, CloudError> {
        let name = repository.repository_name().unwrap_or_default();
        let policy = match client
            .get_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .map_err(|e| api_error("reading the ECR lifecycle policy", e))
        {
            Ok(out) => out.lifecycle_policy_text().map(policies_of),
            Err(e) if is_code(&e, "LifecyclePolicyNotFoundException") => None,
            Err(e) => return Err(e),
        };
        let arn = repository.repository_arn().unwrap_or_default();
        let tags = client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| api_error("reading the ECR repository's tags", e))?;
        Ok(ObservedRegistry {
            id: arn.to_string(),
            url: repository.repository_uri().unwrap_or_default().to_string(),
            spec: RegistrySpec {
                project: String::new(),
                location: region.to_string(),
                name: name.to_string(),
                description: None,
                format: "DOCKER".into(),
                immutable_tags: repository.image_tag_mutability()
                    == Some(&ImageTagMutability::Immutable),
                vulnerability_scanning: repository
                    .image_scanning_configuration()
                    .is_some_and(ImageScanningConfiguration::scan_on_push),
                cleanup_policies: policy.unwrap_or_default(),
                cleanup_dry_run: false,
                labels: tags
                    .tags()
                    .iter()
                    .filter(|t| t.key() != origin::LABEL)
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
            },
        })
    }

    async fn describe(
        &self,
        client: &aws_sdk_ecr::Client,
        name: &str,
    ) -> Result<Option<Repository>, CloudError> {
        match client
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .map_err(|e| api_error("reading the ECR repository", e))
        {
            Ok(out) => Ok(out.repositories().first().cloned()),
            Err(e) if is_code(&e, "RepositoryNotFoundException") => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put_lifecycle_policy(
        &self,
        client: &aws_sdk_ecr::Client,
        spec: &RegistrySpec,
    ) -> Result<(), CloudError> {
        match lifecycle_policy(&spec.cleanup_policies)? {
            Some(text) => {
                client
                    .put_lifecycle_policy()
                    .repository_name(&spec.name)
                    .lifecycle_policy_text(text)
                    .send()
                    .await
                    .map_err(|e| api_error("setting the ECR lifecycle policy", e))?;
            }
            None => match client
                .delete_lifecycle_policy()
                .repository_name(&spec.name)
                .send()
                .await
                .map_err(|e| api_error("removing the ECR lifecycle policy", e))
            {
                Ok(_) => {}
                Err(e) if is_code(&e, "LifecyclePolicyNotFoundException") => {}
                Err(e) => return Err(e),
            },
        }
        Ok(())
    }

    /// Whether the repository a create met is this create's own (see
    /// `origin`).
    async fn own_repository(&self, client: &aws_sdk_ecr::Client, spec: &RegistrySpec) -> bool {
        let Ok(Some(repository)) = self.describe(client, &spec.name).await else {
            return false;
        };
        let Ok(tags) = client
            .list_tags_for_resource()
            .resource_arn(repository.repository_arn().unwrap_or_default())
            .send()
            .await
        else {
            return false;
        };
        let fingerprint = origin::fingerprint(spec);
        tags.tags()
            .iter()
            .any(|t| t.key() == origin::LABEL && t.value() == fingerprint)
    }

    async fn get_or_gone(
        &self,
        client: &aws_sdk_ecr::Client,
        spec: &RegistrySpec,
        call: &str,
    ) -> Result<ObservedRegistry, CloudError> {
        let repository =
            self.describe(client, &spec.name)
                .await?
                .ok_or_else(|| CloudError::Transport {
                    call: call.into(),
                    message: format!("the repository {} is gone", spec.name),
                })?;
        self.observe(client, &spec.location, &repository).await
    }
}

#[async_trait]
impl Registries for Aws {
    async fn create(
        &self,
        spec: &RegistrySpec,
        _wait: &Wait,
    ) -> Result<ObservedRegistry, (CloudError, Option<ObservedRegistry>)> {
        // Refused before anything exists.
        lifecycle_policy(&spec.cleanup_policies).map_err(|e| (e, None))?;
        let client = self.ecr(&spec.location).await;
        let mut labels = spec.labels.clone();
        labels.insert(origin::LABEL.into(), origin::fingerprint(spec));
        let created = client
            .create_repository()
            .repository_name(&spec.name)
            .image_tag_mutability(mutability(spec.immutable_tags))
            .image_scanning_configuration(scanning(spec.vulnerability_scanning))
            .set_tags(Some(tags(&labels).map_err(|e| (e, None))?))
            .send()
            .await
            .map_err(|e| api_error("creating the ECR repository", e));
        match created {
            Ok(_) => {}
            // An earlier attempt of this create made it: carry on with it.
            Err(e) if e.is_already_exists() && self.own_repository(&client, spec).await => {
                tracing::info!(repository = %spec.name, "adopting the repository an earlier attempt of this create made");
            }
            Err(e) => return Err((e, None)),
        }
        // From here on the repository exists: a failure returns it, so
        // Terraform keeps it (tainted) rather than forgetting it.
        let created = self
            .get_or_gone(&client, spec, "creating the ECR repository")
            .await
            .map_err(|e| (e, None))?;
        if let Err(e) = self.put_lifecycle_policy(&client, spec).await {
            return Err((e, Some(created)));
        }
        self.get_or_gone(&client, spec, "creating the ECR repository")
            .await
            .map_err(|e| (e, Some(created)))
    }

    async fn list(
        &self,
        _project: &str,
        location: &str,
        _wait: &Wait,
    ) -> Result<Vec<String>, CloudError> {
        let client = self.ecr(location).await;
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = client
                .describe_repositories()
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| api_error("listing the ECR repositories", e))?;
            ids.extend(
                page.repositories()
                    .iter()
                    .filter_map(|r| r.repository_arn().map(str::to_string)),
            );
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        ids.sort();
        Ok(ids)
    }

    async fn get(
        &self,
        _project: &str,
        location: &str,
        name: &str,
        _wait: &Wait,
    ) -> Result<Option<ObservedRegistry>, CloudError> {
        let client = self.ecr(location).await;
        match self.describe(&client, name).await? {
            Some(repository) => self.observe(&client, location, &repository).await.map(Some),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        from: &RegistrySpec,
        to: &RegistrySpec,
        _wait: &Wait,
    ) -> Result<ObservedRegistry, CloudError> {
        let client = self.ecr(&to.location).await;
        if from.immutable_tags != to.immutable_tags {
            client
                .put_image_tag_mutability()
                .repository_name(&to.name)
                .image_tag_mutability(mutability(to.immutable_tags))
                .send()
                .await
                .map_err(|e| api_error("changing the ECR tag mutability", e))?;
        }
        if from.vulnerability_scanning != to.vulnerability_scanning {
            client
                .put_image_scanning_configuration()
                .repository_name(&to.name)
                .image_scanning_configuration(scanning(to.vulnerability_scanning))
                .send()
                .await
                .map_err(|e| api_error("changing the ECR scanning", e))?;
        }
        if from.cleanup_policies != to.cleanup_policies {
            self.put_lifecycle_policy(&client, to).await?;
        }
        if from.labels != to.labels {
            let current = self
                .get_or_gone(&client, to, "changing the ECR repository's tags")
                .await?;
            let gone: Vec<String> = current
                .spec
                .labels
                .keys()
                .filter(|k| !to.labels.contains_key(*k))
                .cloned()
                .collect();
            if !gone.is_empty() {
                client
                    .untag_resource()
                    .resource_arn(&current.id)
                    .set_tag_keys(Some(gone))
                    .send()
                    .await
                    .map_err(|e| api_error("removing the ECR repository's tags", e))?;
            }
            if !to.labels.is_empty() {
                client
                    .tag_resource()
                    .resource_arn(&current.id)
                    .set_tags(Some(tags(&to.labels)?))
                    .send()
                    .await
                    .map_err(|e| api_error("tagging the ECR repository", e))?;
            }
        }
        self.get_or_gone(&client, to, "updating the ECR repository")
            .await
    }

    async fn delete(
        &self,
        _project: &str,
        location: &str,
        name: &str,
        _wait: &Wait,
    ) -> Result<(), CloudError> {
        let client = self.ecr(location).await;
        // With its images, as an Artifact Registry repository goes.
        match client
            .delete_repository()
            .repository_name(name)
            .force(true)
            .send()
            .await
            .map_err(|e| api_error("deleting the ECR repository", e))
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, "RepositoryNotFoundException") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(action: &str, tag_state: &str) -> CleanupPolicy {
        CleanupPolicy {
            action: action.into(),
            tag_state: tag_state.into(),
            ..CleanupPolicy::default()
        }
    }

    #[test]
    fn cleanup_policies_round_trip_through_a_lifecycle_policy() {
        let mut policies = BTreeMap::new();
        policies.insert(
            "delete-old".to_string(),
            CleanupPolicy {
                older_than_seconds: Some(90 * DAY),
                ..policy("DELETE", "ANY")
            },
        );
        policies.insert(
            "keep-releases".to_string(),
            CleanupPolicy {
                keep_count: Some(20),
                tag_prefixes: vec!["v".into()],
                ..policy("KEEP", "TAGGED")
            },
        );
        let text = lifecycle_policy(&policies).unwrap().unwrap();
        let rules: Json = serde_json::from_str(&text).unwrap();
        // The `any` rule is evaluated last, as ECR requires.
        assert_eq!(rules["rules"][0]["description"], "keep-releases");
        assert_eq!(rules["rules"][1]["selection"]["tagStatus"], "any");
        assert_eq!(rules["rules"][1]["selection"]["countNumber"], 90);
        assert_eq!(policies_of(&text), policies);
        assert_eq!(lifecycle_policy(&BTreeMap::new()).unwrap(), None);
    }

    #[test]
    fn policies_without_an_ecr_equivalent_are_refused() {
        for p in [
            CleanupPolicy {
                older_than_seconds: Some(DAY + 1),
                ..policy("DELETE", "ANY")
            },
            policy("KEEP", "ANY"),
            CleanupPolicy {
                newer_than_seconds: Some(DAY),
                ..policy("DELETE", "ANY")
            },
        ] {
            let policies = BTreeMap::from([("p".to_string(), p)]);
            assert!(matches!(
                lifecycle_policy(&policies),
                Err(CloudError::Invalid(_))
            ));
        }
    }
}
