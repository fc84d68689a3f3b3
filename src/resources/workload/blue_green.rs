//! A blue-green release, driven by the apply itself: the new version goes
//! to the color that is not live, the Service (and the autoscaler) switch
//! to it only once all its pods are ready, and the previous color stays
//! scaled for `keep_previous`, so that re-applying its image switches back
//! with no new pods. A release that fails, or an apply stopped before the
//! switch, leaves the live color serving and the state on it: the next
//! apply goes on from there.

use k8s_openapi::jiff::Timestamp;
use serde_json::Value as Json;

use super::apply::{outcome, sync_secrets};
use super::{Model, planned_state};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::resource::Applied;
use crate::framework::validators::parse_duration;
use crate::framework::value::Value;
use crate::kube::workload::blue_green::{self as colors, Color, Colors};
use crate::kube::workload::{self, Rollout};
use crate::provider::ProviderContext;
use crate::resources::common::wait_for;

/// The Service and the autoscaler: what follows the live color.
fn follows_live(object: &Json) -> bool {
    matches!(
        object["kind"].as_str(),
        Some("Service" | "HorizontalPodAutoscaler")
    )
}

/// Releases the planned version of a blue-green workload. `prior` is
/// `None` on create.
pub(super) async fn release(
    provider: &ProviderContext,
    client: &kube::Client,
    prior: Option<(&Value, &Model)>,
    (planned, model): (&Value, &Model),
    op: &str,
) -> Applied {
    let spec = &model.spec;
    let (namespace, name) = (&spec.namespace, &spec.name);
    let keep_previous = spec
        .rollout
        .as_ref()
        .map_or("1h", |r| r.keep_previous.as_str());
    let wait = wait_for(provider, planned, op, 10);
    // Until the switch, the live version is the one the prior state has.
    let unswitched = |failed: Diagnostics, staged: bool| match prior {
        Some((prior, _)) => Applied::failed(prior.clone(), failed),
        None if staged => Applied::failed(planned_state(planned, "Failed", None), failed),
        None => Applied::failed(Value::Null, failed),
    };
    let error = |summary: &str, e: crate::kube::KubeError| {
        Diagnostics::from(Diagnostic::error(summary, e.to_string()))
    };
    let live = match Colors::read(client, namespace, name, &wait.stop).await {
        Ok(colors) => colors,
        Err(e) => return unswitched(error("Failed to read the workload", e), false),
    };
    let objects = workload::render(spec);
    let target = live.target(&objects);
    let switching = live.live != Some(target);
    let colored = colors::colored(&objects, target, keep_previous);

    // The plan showed the previous version scaled down once its time passed.
    if let Some(previous) = live.expired_previous(Timestamp::now())
        && previous != target
        && let Err(e) =
            colors::scale(client, namespace, &previous.deployment(name), 0, &wait.stop).await
    {
        return unswitched(error("Failed to scale down the previous version", e), false);
    }

    let prior_objects = prior.map_or_else(Vec::new, |(_, was)| workload::render(&was.spec));
    let unchanged = !switching
        && prior.is_some_and(|(_, was)| {
            let kept = was.spec.rollout.as_ref().map_or("1h", |r| &r.keep_previous);
            let before = colors::colored(&prior_objects, target, kept);
            was.spec.is_blue_green() && workload::same_objects(&before, &colored)
        });
    if !unchanged {
        // Until the new color is ready, the Service and the autoscaler stay
        // on the live one.
        let staged: Vec<Json> = colored
            .iter()
            .filter(|o| !switching || !follows_live(o))
            .cloned()
            .collect();
        let applied = match workload::remake_pending_claims(
            client,
            (&prior_objects, &objects),
            wait.timeout,
            &wait.stop,
        )
        .await
        {
            Ok(()) => workload::apply(client, &staged, &wait.stop).await,
            Err(e) => Err(e),
        };
        if let Err(e) = applied {
            return unswitched(error("Failed to apply the workload", e), true);
        }
    }
    // An autoscaled workload's new color starts with as many pods as the
    // live one has, so the switch does not drop capacity.
    if switching && let Some(autoscaling) = &spec.autoscaling {
        let serving = live
            .live
            .and_then(|c| live.deployment(c))
            .and_then(|d| d["spec"]["replicas"].as_i64())
            .unwrap_or(0);
        let count = serving.max(autoscaling.min_replicas);
        let deployment = target.deployment(name);
        if let Err(e) = colors::scale(client, namespace, &deployment, count, &wait.stop).await {
            return unswitched(error("Failed to scale the new version", e), true);
        }
    }
    if let Err(failed) = sync_secrets(client, (planned, model), &wait).await {
        return unswitched(failed.diagnostics, true);
    }
    let deployment = target.deployment(name);
    let rollout = workload::wait_for_rollout(
        client,
        namespace,
        ("Deployment", &deployment),
        wait.timeout,
        &wait.stop,
    )
    .await;
    if !matches!(rollout, Ok(Rollout::Available)) {
        let ended = outcome(client, (planned, model), &deployment, rollout, &wait).await;
        if !switching {
            return ended;
        }
        let mut failed = ended.diagnostics;
        if let Some(serving) = live.live {
            failed.push(Diagnostic::warning(
                "Traffic not switched",
                format!(
                    "The Service still sends traffic to {namespace}/{} (the previous version), and the state stays on it; the next apply releases again.",
                    serving.deployment(name)
                ),
            ));
        }
        return unswitched(failed, true);
    }
    if switching {
        let workload = (namespace.as_str(), name.as_str());
        if let Err(e) = switch(
            client,
            workload,
            &live,
            (target, &colored),
            keep_previous,
            &wait,
        )
        .await
        {
            return unswitched(
                error("Failed to switch traffic to the new version", e),
                true,
            );
        }
    }
    // What the prior configuration had and this one does not (the plain
    // Deployment of a workload that was not blue-green) goes once the
    // new color serves.
    let mut kept = workload::identities(&colored);
    kept.extend(colors::deployments(name));
    let dropped: Vec<(String, String)> = workload::deletable(&prior_objects)
        .into_iter()
        .filter(|o| !kept.contains(o))
        .collect();
    if !dropped.is_empty()
        && let Err(e) =
            workload::delete(client, namespace, &dropped, wait.timeout, &wait.stop).await
    {
        return Applied::failed(
            released(planned, target),
            error("Failed to remove objects the workload no longer has", e),
        );
    }
    let mut ended = outcome(client, (planned, model), &deployment, rollout, &wait).await;
    let now = Colors::read(client, namespace, name, &wait.stop).await;
    let kept_until = now.ok().and_then(|c| c.previous_kept_until());
    ended.state.set_attr("live_color", target.name().into());
    ended
        .state
        .set_attr("previous_kept_until", kept_until.into());
    ended
}

/// Moves traffic to `target`: the live color is marked with how long it
/// stays scaled, then the Service and the autoscaler follow `target`.
async fn switch(
    client: &kube::Client,
    (namespace, name): (&str, &str),
    live: &Colors,
    (target, colored): (Color, &[Json]),
    keep_previous: &str,
    wait: &crate::cloud::cluster::Wait,
) -> Result<(), crate::kube::KubeError> {
    let previous = live.live.filter(|c| *c != target);
    if let Some(previous) = previous {
        let until = colors::kept_until(Timestamp::now(), keep_previous);
        colors::keep(
            client,
            namespace,
            &previous.deployment(name),
            &until,
            &wait.stop,
        )
        .await?;
    }
    let following: Vec<Json> = colored
        .iter()
        .filter(|o| follows_live(o))
        .cloned()
        .collect();
    workload::apply(client, &following, &wait.stop).await?;
    if let Some(previous) = previous
        && parse_duration(keep_previous).unwrap_or(0.0) <= 0.0
    {
        colors::scale(client, namespace, &previous.deployment(name), 0, &wait.stop).await?;
    }
    Ok(())
}

/// The planned state on `target`, for a failure after the switch.
fn released(planned: &Value, target: Color) -> Value {
    let mut state = planned_state(planned, "Available", None);
    state.set_attr("live_color", target.name().into());
    state
}
