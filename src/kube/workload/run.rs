//! Running a CronJob's job now, as `kubectl create job --from=cronjob/NAME`
//! does: a Job from the CronJob's template, owned by the CronJob (so the
//! CronJob's history limits clean it up) and marked as started by hand.

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, PostParams};
use tokio_util::sync::CancellationToken;

use crate::kube::{FIELD_MANAGER, KubeError, retried};

/// The annotation the CronJob controller and kubectl put on a Job started
/// by hand.
const INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";

/// How a Job ended, or that it is still running.
#[derive(Debug, PartialEq, Eq)]
pub enum JobEnd {
    Succeeded,
    Failed(String),
}

/// The Job for `cron` started at `now` (seconds since the epoch).
pub fn job_from(cron: &CronJob, now: u64) -> Option<Job> {
    let name = cron.metadata.name.clone()?;
    let template = cron.spec.job_template.clone();
    let mut annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    annotations.insert(INSTANTIATE.into(), "manual".into());
    Some(Job {
        metadata: ObjectMeta {
            // Short enough for the pods' names: at most 63 characters.
            name: Some(format!("{}-manual-{now}", truncate(&name, 40))),
            namespace: cron.metadata.namespace.clone(),
            labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name,
                uid: cron.metadata.uid.clone()?,
                controller: Some(true),
                block_owner_deletion: None,
            }]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    })
}

fn truncate(name: &str, at: usize) -> &str {
    name.get(..at).unwrap_or(name).trim_end_matches('-')
}

/// Starts a Job from the CronJob `name`; its name.
pub async fn run_now(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    stop: &CancellationToken,
) -> Result<String, KubeError> {
    let crons: Api<CronJob> = Api::namespaced(client.clone(), namespace);
    let call = format!("reading CronJob {namespace}/{name}");
    let cron = retried(stop, || crons.get(name))
        .await
        .map_err(|e| KubeError::from_kube(&call, e))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let job = job_from(&cron, now).ok_or_else(|| {
        KubeError::Refused(format!("CronJob {namespace}/{name} has no job template"))
    })?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let made = retried(stop, || jobs.create(&params, &job))
        .await
        .map_err(|e| KubeError::from_kube(&format!("creating a Job from CronJob {name}"), e))?;
    Ok(made.metadata.name.unwrap_or_default())
}

/// Waits until the Job ends, for at most `within`; `None` when it still
/// runs then.
pub async fn wait_job(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    within: Duration,
    stop: &CancellationToken,
) -> Result<Option<JobEnd>, KubeError> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(200);
    let call = format!("reading Job {namespace}/{name}");
    loop {
        let job = retried(stop, || jobs.get(name))
            .await
            .map_err(|e| KubeError::from_kube(&call, e))?;
        let conditions = job.status.and_then(|s| s.conditions).unwrap_or_default();
        let ended = |kind: &str| {
            conditions
                .iter()
                .find(|c| c.type_ == kind && c.status == "True")
        };
        if ended("Complete").is_some() {
            return Ok(Some(JobEnd::Succeeded));
        }
        if let Some(failed) = ended("Failed") {
            return Ok(Some(JobEnd::Failed(
                failed
                    .message
                    .clone()
                    .or(failed.reason.clone())
                    .unwrap_or_default(),
            )));
        }
        if Instant::now() + pause > deadline {
            return Ok(None);
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = stop.cancelled() => return Ok(None),
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{CronJobSpec, JobTemplateSpec};

    #[test]
    fn a_manual_job_is_the_cron_jobs_own() {
        let cron = CronJob {
            metadata: ObjectMeta {
                name: Some("report".into()),
                namespace: Some("shop".into()),
                uid: Some("u1".into()),
                ..ObjectMeta::default()
            },
            spec: CronJobSpec {
                schedule: "0 * * * *".into(),
                job_template: JobTemplateSpec::default(),
                ..CronJobSpec::default()
            },
            status: None,
        };
        let job = job_from(&cron, 1_796_607_982).unwrap();
        assert_eq!(
            job.metadata.name.as_deref(),
            Some("report-manual-1796607982")
        );
        let owner = &job.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("CronJob", "u1"));
        assert_eq!(job.metadata.annotations.unwrap()[INSTANTIATE], "manual");
    }
}
