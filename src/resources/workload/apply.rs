//! Applying a workload: its objects with server-side apply, what a
//! StatefulSet or a Job cannot change in place made again, the objects
//! the configuration dropped removed, and the waits (secrets synced, the
//! rollout done).

use super::addons::{addons_of, missing};
use super::{Addresses, Kind, Model, planned_state, status_name};
use crate::cloud::cluster::Wait;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::resource::Applied;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::kube::workload;
use crate::provider::ProviderContext;
use crate::resources::common::wait_for;

/// Applies the rendered objects, removes those the new configuration no
/// longer renders, and waits for the rollout when asked.
/// `prior` is `None` on create; each value comes with its model.
pub(super) async fn apply_workload(
    provider: &ProviderContext,
    client: &kube::Client,
    prior: Option<(&Value, &Model)>,
    (planned, model): (&Value, &Model),
    op: &str,
) -> Applied {
    if let Err(failed) = check_addons(provider, client, prior, model).await {
        return failed;
    }
    if model.spec.releases_by_color() {
        return super::release::release(provider, client, prior, (planned, model), op).await;
    }
    let objects = workload::render(&model.spec);
    let prior_objects = prior.map_or_else(Vec::new, |(_, was)| workload::render(&was.spec));
    // The prior state is what the cluster holds (refreshed): when the plan
    // renders the same objects (only `timeouts` or `wait_for_rollout`
    // changed, say, or an import met its configuration), nothing is written.
    let unchanged = prior.is_some() && workload::same_objects(&prior_objects, &objects);
    if let Some((prior, was)) = prior
        && !unchanged
        && workload::rebuilds_stateful_set(&prior_objects, &objects)
        && let Err(e) = rebuild_stateful_set(provider, client, (planned, model), was).await
    {
        return Applied::failed(prior.clone(), e);
    }
    if let Some((prior, _)) = prior
        && !unchanged
        && workload::reruns_job(&prior_objects, &objects)
    {
        let spec = &model.spec;
        let wait = wait_for(provider, planned, "update", 10);
        let job = [("Job".to_string(), spec.name.clone())];
        if let Err(e) =
            workload::delete(client, &spec.namespace, &job, wait.timeout, &wait.stop).await
        {
            return Applied::failed(
                prior.clone(),
                Diagnostic::error(
                    "Failed to replace the Job's last run",
                    format!("A Job cannot change once made, so its last run is deleted to run it again: {e}"),
                )
                .into(),
            );
        }
    }
    let applied = if unchanged {
        Ok(())
    } else {
        let timeout = wait_for(provider, planned, op, 10).timeout;
        workload::apply_over(client, (&prior_objects, &objects), timeout, &provider.stop).await
    };
    if let Err(e) = applied {
        // A create that applied some objects before failing keeps them in
        // state (tainted), so the next apply replaces rather than meets them.
        let state = if let Some((prior, _)) = prior {
            prior.clone()
        } else if workload::existing(client, &objects, &provider.stop)
            .await
            .is_ok_and(|found| found.is_empty())
        {
            Value::Null
        } else {
            planned_state(planned, "Failed", Addresses::default())
        };
        return Applied::failed(
            state,
            Diagnostic::error("Failed to apply the workload", e.to_string()).into(),
        );
    }
    let (namespace, name) = (&model.spec.namespace, &model.spec.name);
    let wait = wait_for(provider, planned, op, 10);
    let kept = workload::identities(&objects);
    if let Err(e) = remove_dropped(client, namespace, &prior_objects, &kept, &wait).await {
        return Applied::failed(
            planned_state(planned, "Progressing", Addresses::default()),
            e,
        );
    }
    let waits = model.apply.wait_for_rollout;
    if waits && let Err(failed) = sync_secrets(client, (planned, model), &wait).await {
        return failed;
    }
    let rollout = if waits {
        let controller = (model.spec.kind.name(), name.as_str());
        workload::wait_for_rollout(client, namespace, controller, wait.timeout, &wait.stop).await
    } else {
        Ok(workload::Rollout::Progressing)
    };
    if let Some((_, was)) = prior
        && was.spec.releases_by_color()
        && matches!(rollout, Ok(workload::Rollout::Available))
    {
        // Left blue-green: the colors go once the plain Deployment serves.
        let colors = workload::colors::objects(name);
        if let Err(e) = workload::delete(client, namespace, &colors, wait.timeout, &wait.stop).await
        {
            return Applied::failed(
                planned_state(planned, "Available", Addresses::default()),
                Diagnostic::error(
                    "Failed to remove the blue and green Deployments",
                    e.to_string(),
                )
                .into(),
            );
        }
    }
    outcome(client, (planned, model), name, rollout, &wait).await
}

/// The apply's end: the state with the rollout's status and the load
/// balancer's address, or why the rollout did not finish. `controller` is
/// the name of the Deployment or StatefulSet waited on.
pub(super) async fn outcome(
    client: &kube::Client,
    (planned, model): (&Value, &Model),
    controller: &str,
    rollout: Result<workload::Rollout, crate::kube::KubeError>,
    wait: &Wait,
) -> Applied {
    let (namespace, name) = (&model.spec.namespace, &model.spec.name);
    let kind = model.spec.kind.name();
    let waits = model.apply.wait_for_rollout;
    let observed = workload::observe(
        client,
        None,
        (namespace, name),
        &["Service", "Ingress"],
        &wait.stop,
    )
    .await
    .ok();
    let lb = observed
        .map(|o| Addresses {
            load_balancer_ip: o.load_balancer_ip(),
            ingress: o.ingress_address(),
        })
        .unwrap_or_default();
    let pods = async {
        let selector = match controller
            .strip_prefix(name.as_str())
            .and_then(|c| c.strip_prefix('-'))
        {
            Some(color) => workload::colors::pods(name, color),
            None => format!("{}={name}", workload::NAME_LABEL),
        };
        workload::pod_problems(client, namespace, &selector)
            .await
            .map(|p| format!(" Pods: {p}."))
            .unwrap_or_default()
    };
    match rollout {
        Ok(workload::Rollout::Failed(reason)) if model.spec.kind.runs_to_completion() => {
            Applied::failed(
                planned_state(planned, "Failed", lb),
                Diagnostic::error(
                    "Job failed",
                    format!("{kind} {namespace}/{controller} failed: {reason}{}", pods.await),
                )
                .into(),
            )
        }
        Ok(workload::Rollout::Failed(reason)) => Applied::failed(
            planned_state(planned, "Failed", lb),
            Diagnostic::error(
                "Rollout failed",
                format!("{kind} {namespace}/{controller} did not roll out: {reason}{}", pods.await),
            )
            .into(),
        ),
        Ok(workload::Rollout::Progressing) if wait.stop.is_cancelled() => Applied::failed(
            planned_state(planned, "Progressing", lb),
            Diagnostic::error(
                "Stopped during the rollout",
                format!("Terraform asked the provider to stop while {kind} {namespace}/{controller} was rolling out. Its objects are applied and the rollout goes on in the cluster; the next plan shows how it ended (`status`)."),
            )
            .into(),
        ),
        Ok(workload::Rollout::Progressing) if waits => {
            Applied::failed(
                planned_state(planned, "Progressing", lb),
                Diagnostic::error(
                    "Rollout not finished",
                    format!("{kind} {namespace}/{controller} was still rolling out when the timeout ran out; raise timeouts or check its pods.{}", pods.await),
                )
                .into(),
            )
        }
        // Not waited on, the status is what the plan said when it knew
        // (nothing changed), else where the rollout starts.
        Ok(rollout) if !waits => {
            let status = match (planned.get("status").as_str(), model.spec.kind) {
                (Some(planned), _) => planned,
                (None, Kind::CronJob) => "Available",
                (None, _) => status_name(&rollout),
            };
            Applied::ok(planned_state(planned, status, lb))
        }
        Ok(rollout) => Applied::ok(planned_state(planned, status_name(&rollout), lb)),
        Err(e) => Applied::failed(
            planned_state(planned, "Progressing", lb),
            Diagnostic::error("Failed to watch the rollout", e.to_string()).into(),
        ),
    }
}

/// Removes what the prior rendering had (`prior_objects`) and the new one
/// does not (`kept`).
pub(super) async fn remove_dropped(
    client: &kube::Client,
    namespace: &str,
    prior_objects: &[serde_json::Value],
    kept: &[(String, String)],
    wait: &Wait,
) -> Result<(), Diagnostics> {
    let dropped: Vec<(String, String)> = workload::deletable(prior_objects)
        .into_iter()
        .filter(|o| !kept.contains(o))
        .collect();
    if dropped.is_empty() {
        return Ok(());
    }
    workload::delete(client, namespace, &dropped, wait.timeout, &wait.stop)
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Failed to remove objects the workload no longer has",
                e.to_string(),
            )
            .into()
        })
}

/// Checks the add-ons the workload starts using: a plan made before the
/// cluster existed could not. On failure, the state to keep.
pub(super) async fn check_addons(
    provider: &ProviderContext,
    client: &kube::Client,
    prior: Option<(&Value, &Model)>,
    model: &Model,
) -> Result<(), Applied> {
    let had = prior.map_or_else(Vec::new, |(_, was)| addons_of(&was.spec));
    let state = || prior.map_or(Value::Null, |(p, _)| p.clone());
    for addon in addons_of(&model.spec) {
        if had.contains(&addon) {
            continue;
        }
        match workload::serves(client, addon, &provider.stop).await {
            Ok(true) => {}
            Ok(false) => return Err(Applied::failed(state(), missing(addon).into())),
            Err(e) => {
                return Err(Applied::failed(
                    state(),
                    Diagnostic::error("Failed to read the cluster", e.to_string()).into(),
                ));
            }
        }
    }
    Ok(())
}

/// Waits until the operator has synced the workload's external secrets,
/// when it has any.
pub(super) async fn sync_secrets(
    client: &kube::Client,
    (planned, model): (&Value, &Model),
    wait: &Wait,
) -> Result<(), Applied> {
    if model.spec.external_secrets.is_empty() {
        return Ok(());
    }
    let (namespace, name) = (&model.spec.namespace, &model.spec.name);
    let synced =
        workload::wait_for_external_secrets(client, namespace, name, wait.timeout, &wait.stop)
            .await;
    let problem = match synced {
        Ok(workload::Sync::Synced) => return Ok(()),
        Ok(workload::Sync::Failed(reason)) => format!(
            "the External Secrets Operator could not sync ExternalSecret {namespace}/{name}: {reason}. Check the store (genesis_cluster.secret_stores) and the keys in external_secrets."
        ),
        Ok(workload::Sync::Pending) => format!(
            "ExternalSecret {namespace}/{name} was not synced when the timeout ran out; check that the External Secrets Operator runs."
        ),
        Err(e) => e.to_string(),
    };
    Err(Applied::failed(
        planned_state(planned, "Progressing", Addresses::default()),
        Diagnostic::error("Secrets not synced", problem).into(),
    ))
}

/// Makes way for a StatefulSet with other claims or pod management: grows
/// the live claims whose size grew, then deletes the StatefulSet leaving
/// its pods and claims, for the apply to create it again over them.
async fn rebuild_stateful_set(
    provider: &ProviderContext,
    client: &kube::Client,
    (planned, model): (&Value, &Model),
    was: &Model,
) -> Result<(), Diagnostics> {
    let spec = &model.spec;
    let grown: Vec<(String, String)> = spec
        .volumes
        .iter()
        .filter_map(|(name, v)| {
            let new = v.size.as_deref()?;
            let old = was.spec.volumes.get(name)?.size.as_deref()?;
            (validators::parse_quantity(new)? > validators::parse_quantity(old)?)
                .then(|| (spec.pod_claim_prefix(name), new.to_string()))
        })
        .collect();
    let wait = wait_for(provider, planned, "update", 10);
    let failed = |e: crate::kube::KubeError| {
        Diagnostics::from(Diagnostic::error(
            "Failed to change the StatefulSet's claims",
            format!("{e}. Nothing else was changed."),
        ))
    };
    workload::expand_claims(client, &spec.namespace, &spec.name, &grown, &wait.stop)
        .await
        .map_err(failed)?;
    workload::orphan_stateful_set(
        client,
        &spec.namespace,
        &spec.name,
        wait.timeout,
        &wait.stop,
    )
    .await
    .map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Failed to change the StatefulSet",
            format!("{e}. Its pods and claims are untouched; the next apply tries again."),
        ))
    })
}
