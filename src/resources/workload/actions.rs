//! `action "genesis_workload_run"`: runs a CronJob workload's job now
//! (Terraform 1.14+, `terraform apply -invoke=action.genesis_workload_run.NAME`),
//! as `kubectl create job --from=cronjob/NAME` does, and waits for it to
//! end. The workload's state does not change: the Job is the CronJob's
//! own, and its history limits clean it up.

use async_trait::async_trait;

use super::super::cluster::cluster_id;
use super::super::common::client_for;
use crate::framework::action::{Action, Progress};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::workload::run::{JobEnd, run_now, wait_job};
use crate::provider::ProviderContext;

pub struct WorkloadRun;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Config {
    cluster: Field<String>,
    namespace: Field<String>,
    name: Field<String>,
    wait: Field<bool>,
    timeout: Field<String>,
}

impl Config {
    /// (cluster, namespace, name) once all three are known.
    fn target(&self) -> Option<(&str, &str, &str)> {
        Some((
            self.cluster.as_str()?,
            self.namespace.as_str()?,
            self.name.as_str()?,
        ))
    }
}

#[async_trait]
impl Action for WorkloadRun {
    fn type_name(&self) -> &'static str {
        "genesis_workload_run"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new(
                "Runs a CronJob workload's job now, as `kubectl create job --from=cronjob/NAME` does, and waits for it to end. The workload's state does not change.",
                vec![
                    Attribute::string("cluster")
                        .required()
                        .validate(cluster_id)
                        .describe("The cluster's ID (`genesis_cluster.NAME.id`)."),
                    Attribute::string("namespace")
                        .required()
                        .validate(validators::dns1123_label)
                        .describe("The workload's namespace."),
                    Attribute::string("name")
                        .required()
                        .validate(validators::dns1123_label)
                        .describe("The CronJob workload's name."),
                    Attribute::bool("wait")
                        .describe("Wait until the job ends and fail if it fails (default `true`)."),
                    Attribute::string("timeout")
                        .validate(validators::duration)
                        .describe("How long to wait (default `10m`); a job still running then is a warning."),
                ],
            ),
        )
    }

    async fn plan(&self, provider: &ProviderContext, config: &Value) -> Diagnostics {
        let Ok(config) = view::as_written::<Config>(config) else {
            return Diagnostics::new();
        };
        // Known only at apply (a cluster made in the same run): checked then.
        let Some((cluster, namespace, name)) = config.target() else {
            return Diagnostics::new();
        };
        let client = match client_for(provider, cluster, AttributePath::attr("cluster")).await {
            Ok(c) => c,
            Err(d) => return d,
        };
        let crons: kube::Api<k8s_openapi::api::batch::v1::CronJob> =
            kube::Api::namespaced(client, namespace);
        match crons.get_opt(name).await {
            Ok(Some(_)) => Diagnostics::new(),
            Ok(None) => Diagnostic::error(
                "No such CronJob",
                format!("The cluster has no CronJob {namespace}/{name}: this action runs a genesis_workload of kind CronJob."),
            )
            .at(AttributePath::attr("name"))
            .into(),
            Err(e) => Diagnostic::error("Failed to read the CronJob", e.to_string()).into(),
        }
    }

    async fn invoke(
        &self,
        provider: &ProviderContext,
        config: &Value,
        progress: &Progress,
    ) -> Diagnostics {
        let config = match view::as_written::<Config>(config) {
            Ok(c) => c,
            Err(d) => return d,
        };
        let Some((cluster, namespace, name)) = config.target() else {
            return Diagnostic::error(
                "Unknown target",
                "cluster, namespace and name must be known to run the job.",
            )
            .into();
        };
        let client = match client_for(provider, cluster, AttributePath::attr("cluster")).await {
            Ok(c) => c,
            Err(d) => return d,
        };
        let job = match run_now(&client, namespace, name, &provider.stop).await {
            Ok(job) => job,
            Err(e) => return Diagnostic::error("Failed to start the job", e.to_string()).into(),
        };
        progress.say(format!("started Job {namespace}/{job}"));
        if config.wait.known() == Some(&false) {
            return Diagnostics::new();
        }
        let within = config
            .timeout
            .as_str()
            .and_then(validators::parse_duration)
            .map_or(
                std::time::Duration::from_secs(600),
                std::time::Duration::from_secs_f64,
            );
        match wait_job(&client, namespace, &job, within, &provider.stop).await {
            Ok(Some(JobEnd::Succeeded)) => {
                progress.say(format!("Job {namespace}/{job} succeeded"));
                Diagnostics::new()
            }
            Ok(Some(JobEnd::Failed(why))) => Diagnostic::error(
                "The job failed",
                format!("Job {namespace}/{job} failed: {why}. `kubectl logs job/{job} -n {namespace}` shows its output."),
            )
            .into(),
            Ok(None) => Diagnostic::warning(
                "The job is still running",
                format!("Job {namespace}/{job} had not ended after {within:?}; it goes on in the cluster."),
            )
            .into(),
            Err(e) => Diagnostic::error("Failed to follow the job", e.to_string()).into(),
        }
    }
}
