//! Actions on workloads (Terraform 1.14+, `terraform apply
//! -invoke=action.TYPE.NAME`); neither changes the workload's state:
//!
//! - `genesis_workload_run` runs a CronJob workload's job now, as `kubectl
//!   create job --from=cronjob/NAME` does, and waits for it to end; the Job
//!   is the CronJob's own, and its history limits clean it up.
//! - `genesis_workload_restart` restarts a workload's pods, as `kubectl
//!   rollout restart` does, and waits for the rollout.

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
use crate::kube::workload::restart::{kind_of, restart};
use crate::kube::workload::run::{JobEnd, run_now, wait_job};
use crate::kube::workload::{Rollout, wait_for_rollout};
use crate::provider::ProviderContext;

pub struct WorkloadRun;

/// `action "genesis_workload_restart"`.
pub struct WorkloadRestart;

/// The actions' configuration: the workload, and how long to follow it.
fn schema(description: &str, name: &str, wait: &str, timeout: &str) -> Schema {
    Schema::new(
        0,
        Block::new(
            description,
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
                    .describe(name),
                Attribute::bool("wait").describe(wait),
                Attribute::string("timeout")
                    .validate(validators::duration)
                    .describe(timeout),
            ],
        ),
    )
}

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
    /// How long to follow what the action started (default 10 minutes).
    fn timeout(&self) -> std::time::Duration {
        self.timeout
            .as_str()
            .and_then(validators::parse_duration)
            .map_or(
                std::time::Duration::from_secs(600),
                std::time::Duration::from_secs_f64,
            )
    }

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
        schema(
            "Runs a CronJob workload's job now, as `kubectl create job --from=cronjob/NAME` does, and waits for it to end. The workload's state does not change.",
            "The CronJob workload's name.",
            "Wait until the job ends and fail if it fails (default `true`).",
            "How long to wait (default `10m`); a job still running then is a warning.",
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
        let within = config.timeout();
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

#[async_trait]
impl Action for WorkloadRestart {
    fn type_name(&self) -> &'static str {
        "genesis_workload_restart"
    }

    fn schema(&self) -> Schema {
        schema(
            "Restarts a workload's pods, as `kubectl rollout restart` does: its Deployment or StatefulSet rolls every pod by the workload's rollout strategy. The workload's state does not change.",
            "The workload's name (a Deployment or StatefulSet workload).",
            "Wait until the rollout is done and fail if it fails (default `true`).",
            "How long to wait (default `10m`); a rollout still going then is a warning.",
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
        match restartable(provider, (cluster, namespace, name)).await {
            Ok(_) => Diagnostics::new(),
            Err(d) => d,
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
        let Some(target @ (_, namespace, name)) = config.target() else {
            return Diagnostic::error(
                "Unknown target",
                "cluster, namespace and name must be known to restart the workload.",
            )
            .into();
        };
        let (client, kind) = match restartable(provider, target).await {
            Ok(found) => found,
            Err(d) => return d,
        };
        let at = k8s_openapi::jiff::Timestamp::now()
            .round(k8s_openapi::jiff::Unit::Second)
            .map(|t| t.to_string())
            .unwrap_or_default();
        if let Err(e) = restart(&client, namespace, (kind, name), &at, &provider.stop).await {
            return Diagnostic::error("Failed to restart the workload", e.to_string()).into();
        }
        progress.say(format!("restarting {kind} {namespace}/{name}"));
        if config.wait.known() == Some(&false) {
            return Diagnostics::new();
        }
        let within = config.timeout();
        match wait_for_rollout(&client, namespace, (kind, name), within, &provider.stop).await {
            Ok(Rollout::Available | Rollout::Complete) => {
                progress.say(format!("{kind} {namespace}/{name} restarted"));
                Diagnostics::new()
            }
            Ok(Rollout::Failed(why)) => Diagnostic::error(
                "The restart failed",
                format!("{kind} {namespace}/{name} did not roll out: {why}."),
            )
            .into(),
            Ok(Rollout::Progressing) => Diagnostic::warning(
                "The restart is still rolling out",
                format!("{kind} {namespace}/{name} had not rolled out after {within:?}; it goes on in the cluster."),
            )
            .into(),
            Err(e) => Diagnostic::error("Failed to follow the restart", e.to_string()).into(),
        }
    }
}

/// A client for the cluster and the kind of the workload's pods'
/// controller, or why the workload cannot be restarted.
async fn restartable(
    provider: &ProviderContext,
    (cluster, namespace, name): (&str, &str, &str),
) -> Result<(kube::Client, &'static str), Diagnostics> {
    let client = client_for(provider, cluster, AttributePath::attr("cluster")).await?;
    match kind_of(&client, namespace, name, &provider.stop).await {
        Ok(Some(kind)) => Ok((client, kind)),
        Ok(None) => Err(Diagnostic::error(
            "No workload to restart",
            format!("The cluster has no Deployment or StatefulSet {namespace}/{name}: this action restarts a genesis_workload of kind Deployment or StatefulSet (a blue-green release restarts by a new release instead)."),
        )
        .at(AttributePath::attr("name"))
        .into()),
        Err(e) => Err(Diagnostic::error("Failed to read the workload", e.to_string()).into()),
    }
}
