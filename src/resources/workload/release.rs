//! Blue-green and canary releases, driven by the apply itself: the new
//! version goes to the color that is not live; a canary first shares the
//! traffic in its steps, each checked; the Service (and the autoscaler)
//! switch to the new color only once all its pods are ready, and the
//! previous color stays scaled for `keep_previous`, so that re-applying its
//! image switches back with no new pods. A release that fails (a canary
//! step rolled back), or an apply stopped before the switch, leaves the
//! live color serving and the state on it: the next apply goes on from
//! there.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value as Json;

use super::apply::{outcome, remove_dropped, sync_secrets};
use super::{Addresses, CanaryStep, Model, Release, planned_state};
use crate::cloud::cluster::Wait;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::resource::Applied;
use crate::framework::validators::parse_duration;
use crate::framework::value::Value;
use crate::kube::KubeError;
use crate::kube::workload::analysis::Check as Analysis;
use crate::kube::workload::colors::{self, Color, Colors};
use crate::kube::workload::{self, Rollout};
use crate::provider::ProviderContext;
use crate::resources::common::wait_for;

/// The Service, the autoscaler and the mesh's routes: what follows the
/// live color.
fn follows_live(object: &Json) -> bool {
    let kind = object["kind"].as_str();
    matches!(
        kind,
        Some("Service" | "HorizontalPodAutoscaler" | "VirtualService")
    ) && !colors::is_preview(object)
}

fn of_kind<'a>(objects: &'a [Json], kind: &str) -> Option<&'a Json> {
    objects.iter().find(|o| o["kind"] == kind)
}

/// Releases the planned version of a workload released by color. `prior`
/// is `None` on create.
pub(super) async fn release(
    provider: &ProviderContext,
    client: &kube::Client,
    prior: Option<(&Value, &Model)>,
    (planned, model): (&Value, &Model),
    op: &str,
) -> Applied {
    let spec = &model.spec;
    let (namespace, name) = (&spec.namespace, &spec.name);
    let setting = spec.rollout.clone().unwrap_or_default();
    let wait = wait_for(provider, planned, op, 10);
    // Until the switch, the live version is the one the prior state has.
    let unswitched = |failed: Diagnostics, staged: bool| match prior {
        Some((prior, _)) => Applied::failed(prior.clone(), failed),
        None if staged => Applied::failed(
            planned_state(planned, "Failed", Addresses::default()),
            failed,
        ),
        None => Applied::failed(Value::Null, failed),
    };
    let error =
        |summary: &str, e: KubeError| Diagnostics::from(Diagnostic::error(summary, e.to_string()));
    let live = match Colors::read(client, namespace, name, &wait.stop).await {
        Ok(colors) => colors,
        Err(e) => return unswitched(error("Failed to read the workload", e), false),
    };
    let objects = workload::render(spec);
    let target = live.target(&objects);
    let switching = live.live != Some(target);
    let colored = colors::colored(&objects, target, &setting);
    // Steps share traffic with a live version; a first release has none.
    let steps = match live.live {
        Some(_) if switching => spec.canary_steps(),
        _ => &[],
    };

    // The plan showed the previous version scaled down once its time passed.
    let mut kept_until = live.previous_kept_until();
    if let Some(previous) = live.expired_previous(Timestamp::now())
        && previous != target
    {
        if let Err(e) =
            colors::scale(client, namespace, &previous.deployment(name), 0, &wait.stop).await
        {
            return unswitched(error("Failed to scale down the previous version", e), false);
        }
        kept_until = None;
    }

    // A release left unfinished, and the configuration back on the live
    // version: its traffic goes back to the live color, and the color it
    // was put on (no longer the previous version) is scaled to zero.
    if !switching && live.unfinished() {
        let following: Vec<Json> = colored
            .iter()
            .filter(|o| follows_live(o))
            .cloned()
            .collect();
        let other = target.other().deployment(name);
        let undone = match workload::apply(client, &following, &wait.stop).await {
            Ok(()) => colors::scale(client, namespace, &other, 0, &wait.stop).await,
            Err(e) => Err(e),
        };
        if let Err(e) = undone {
            return unswitched(error("Failed to undo the unfinished release", e), false);
        }
        kept_until = None;
    }

    // The full count of the new color: the configuration's, else (with an
    // autoscaler) as many pods as the live color has, so the switch does
    // not drop capacity.
    let full = spec.replicas.unwrap_or_else(|| {
        let serving = live
            .live
            .and_then(|c| live.deployment(c))
            .and_then(|d| d["spec"]["replicas"].as_i64())
            .unwrap_or(0);
        serving.max(spec.autoscaling.as_ref().map_or(1, |a| a.min_replicas))
    });
    let prior_objects = prior.map_or_else(Vec::new, |(_, was)| workload::render(&was.spec));
    // The prior objects as they would be on `target`.
    let prior_colored = match prior {
        Some((_, was)) if was.spec.releases_by_color() => colors::colored(
            &prior_objects,
            target,
            &was.spec.rollout.clone().unwrap_or_default(),
        ),
        _ => prior_objects.clone(),
    };
    let unchanged = !switching
        && prior.is_some_and(|(_, was)| was.spec.releases_by_color())
        && workload::same_objects(&prior_colored, &colored);
    if !unchanged {
        // Until the new color is ready, the Service and the autoscaler stay
        // on the live one; a canary starts with its first step's pods,
        // lest all of them start at once (an autoscaled one's count is
        // never applied, lest the next apply, which leaves it out, reset
        // it: its steps scale it).
        let staged: Vec<Json> = colored
            .iter()
            .filter(|o| !switching || !follows_live(o))
            .map(|o| match steps.first() {
                Some(step) if o["kind"] == "Deployment" && spec.replicas.is_some() => {
                    let mut d = o.clone();
                    d["spec"]["replicas"] = step_count(full, step).into();
                    d
                }
                _ => o.clone(),
            })
            .collect();
        let applied =
            workload::apply_over(client, (&prior_objects, &staged), wait.timeout, &wait.stop).await;
        if let Err(e) = applied {
            return unswitched(error("Failed to apply the workload", e), true);
        }
    }
    if let Err(failed) = sync_secrets(client, (planned, model), &wait).await {
        return unswitched(failed.diagnostics, true);
    }
    let deployment = target.deployment(name);
    let workload = (namespace.as_str(), name.as_str());
    let analysis = setting.analysis.as_ref().map(|a| Analysis {
        path: &a.path,
        port: a
            .port
            .or_else(|| spec.ports.first().map(|p| p.container_port))
            .unwrap_or(80),
        timeout: Duration::from_secs_f64(parse_duration(&a.timeout).unwrap_or(5.0)),
    });
    let canary = live
        .live
        .filter(|_| !steps.is_empty())
        .map(|serving| Canary {
            client,
            workload,
            live: serving,
            target,
            colored: &colored,
            serving: colors::colored(&objects, serving, &setting),
            analysis: analysis.as_ref(),
            wait: &wait,
        });
    if let Some(canary) = &canary
        && let Err(failed) = canary.run(steps, full).await
    {
        return unswitched(failed, true);
    }
    if switching && spec.autoscaling.is_some() {
        if let Err(e) = colors::scale(client, namespace, &deployment, full, &wait.stop).await {
            return unswitched(error("Failed to scale the new version", e), true);
        }
    } else if switching && !steps.is_empty() {
        // The steps' counts give way to the configuration's.
        let whole: Vec<Json> = of_kind(&colored, "Deployment")
            .into_iter()
            .cloned()
            .collect();
        if let Err(e) = workload::apply(client, &whole, &wait.stop).await {
            return unswitched(error("Failed to scale the new version", e), true);
        }
    }
    let rollout = workload::wait_for_rollout(
        client,
        namespace,
        ("Deployment", &deployment),
        wait.timeout,
        &wait.stop,
    )
    .await;
    // The new version, ready, is reached through its preview Service and
    // passes its analysis before traffic moves.
    let checked = match &rollout {
        Ok(Rollout::Available) if switching => {
            let previewed = if setting.preview {
                previewed(client, workload, full, &wait).await
            } else {
                Ok(())
            };
            match (previewed, &analysis) {
                (Ok(()), Some(check)) => {
                    let selector = colors::pods(name, target.name());
                    workload::analysis::run(client, namespace, &selector, check, &wait.stop)
                        .await
                        .map_err(|reason| ("Analysis failed", reason))
                }
                (previewed, _) => previewed.map_err(|reason| ("Preview not ready", reason)),
            }
        }
        _ => Ok(()),
    };
    if !matches!(rollout, Ok(Rollout::Available)) || checked.is_err() {
        let mut failed = match checked {
            Err((summary, reason)) => Diagnostics::from(Diagnostic::error(
                summary,
                format!("The new version {namespace}/{deployment}: {reason}."),
            )),
            Ok(()) => {
                let ended = outcome(client, (planned, model), &deployment, rollout, &wait).await;
                if !switching {
                    return ended;
                }
                ended.diagnostics
            }
        };
        // After a canary's steps, the traffic they moved goes back.
        let rolled_back = match &canary {
            Some(canary) => canary.roll_back().await,
            None => Ok(()),
        };
        if let Err(e) = rolled_back {
            failed.push(Diagnostic::error(
                "Failed to roll back",
                format!("{e}: check where the Service {namespace}/{name} sends traffic."),
            ));
        } else if let Some(serving) = live.live {
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
        match switch(client, workload, &live, (target, &colored), &setting, &wait).await {
            Ok(until) => kept_until = until,
            Err(e) => {
                return unswitched(
                    error("Failed to switch traffic to the new version", e),
                    true,
                );
            }
        }
    }
    // What the prior configuration had and this one does not (the plain
    // Deployment of a workload released otherwise before, a preview
    // Service turned off) goes once the new color serves.
    let mut kept = workload::identities(&colored);
    kept.extend(
        colors::objects(name)
            .into_iter()
            .filter(|o| o.0 == "Deployment"),
    );
    if let Err(e) = remove_dropped(client, namespace, &prior_colored, &kept, &wait).await {
        return Applied::failed(released(planned, target), e);
    }
    let mut ended = outcome(client, (planned, model), &deployment, rollout, &wait).await;
    ended.state.set_attr("live_color", target.name().into());
    ended
        .state
        .set_attr("previous_kept_until", kept_until.into());
    ended
}

/// Waits until the preview Service lists `count` ready pods (the new
/// version's, which it selects) in its endpoints, or the timeout runs out.
async fn previewed(
    client: &kube::Client,
    (namespace, name): (&str, &str),
    count: i64,
    wait: &Wait,
) -> Result<(), String> {
    let service = colors::preview(name);
    loop {
        let ready = workload::endpoints::ready(client, namespace, &service, &wait.stop)
            .await
            .map_err(|e| e.to_string())?;
        if ready as i64 >= count {
            return Ok(());
        }
        if wait.started.elapsed() >= wait.timeout {
            return Err(format!(
                "the preview Service {namespace}/{service} lists {ready} of its {count} pods as ready endpoints"
            ));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = wait.stop.cancelled() => return Err("Terraform asked the provider to stop".into()),
        }
    }
}

/// The new color's pods at a step: its share of the full count, at least
/// one.
fn step_count(full: i64, step: &CanaryStep) -> i64 {
    ((full * step.weight + 99) / 100).max(1)
}

/// A canary's steps: the new color (`target`) beside the live one, with
/// the Service sending traffic to both.
struct Canary<'a> {
    client: &'a kube::Client,
    workload: (&'a str, &'a str),
    live: Color,
    target: Color,
    colored: &'a [Json],
    /// The objects as the live color has them, to roll back to.
    serving: Vec<Json>,
    analysis: Option<&'a Analysis<'a>>,
    wait: &'a Wait,
}

impl Canary<'_> {
    /// Runs the steps; on a failing one, rolls back to the live color and
    /// says why.
    async fn run(&self, steps: &[CanaryStep], full: i64) -> Result<(), Diagnostics> {
        let (namespace, name) = self.workload;
        for (n, step) in steps.iter().enumerate() {
            let Err(reason) = self.step(n, step, full).await else {
                continue;
            };
            let rolled_back = self.roll_back().await;
            let live = self.live.deployment(name);
            let new = self.target.deployment(name);
            let after = match rolled_back {
                Ok(()) => format!(
                    "Rolled back: the Service sends all traffic to {namespace}/{live} again, and {new} is scaled to zero."
                ),
                Err(e) => format!(
                    "Rolling back failed too ({e}): check where the Service {namespace}/{name} sends traffic."
                ),
            };
            return Err(Diagnostic::error(
                "Canary failed",
                format!(
                    "Step {} ({}% of the traffic) of {namespace}/{new}: {reason}. {after}",
                    n + 1,
                    step.weight
                ),
            )
            .into());
        }
        Ok(())
    }

    /// One step: the new color's share of pods ready (and analyzed), the
    /// Service on both colors, then the pause, in which its pods must stay
    /// ready and not restart, and at whose end they are analyzed again.
    async fn step(&self, n: usize, step: &CanaryStep, full: i64) -> Result<(), String> {
        let (namespace, name) = self.workload;
        let deployment = self.target.deployment(name);
        let count = step_count(full, step);
        let (client, stop) = (self.client, &self.wait.stop);
        colors::scale(client, namespace, &deployment, count, stop)
            .await
            .map_err(|e| e.to_string())?;
        self.ready(&deployment).await?;
        self.analyze().await?;
        // Through the mesh, the step's weight exactly; else the Service
        // reaches both colors and traffic follows the pods.
        let shares = match of_kind(self.colored, "VirtualService") {
            Some(routes) => {
                let weights = [(self.live, 100 - step.weight), (self.target, step.weight)];
                vec![crate::kube::workload::mesh_weighted(routes, &weights)]
            }
            None if n == 0 => of_kind(self.colored, "Service")
                .map(|s| colors::shared(s, self.live))
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        workload::apply(client, &shares, stop)
            .await
            .map_err(|e| e.to_string())?;
        let restarts = colors::restarts(client, namespace, (name, self.target), stop)
            .await
            .map_err(|e| e.to_string())?;
        let pause = Duration::from_secs_f64(parse_duration(&step.pause).unwrap_or(0.0));
        let started = std::time::Instant::now();
        while started.elapsed() < pause {
            let left = pause.saturating_sub(started.elapsed());
            tokio::select! {
                () = tokio::time::sleep(left.min(Duration::from_secs(2))) => {}
                () = stop.cancelled() => return Err("Terraform asked the provider to stop".into()),
            }
            let now = colors::restarts(client, namespace, (name, self.target), stop)
                .await
                .map_err(|e| e.to_string())?;
            if now > restarts {
                return Err(format!(
                    "its containers restarted {} times during the pause",
                    now - restarts
                ));
            }
            self.ready(&deployment).await?;
        }
        if !pause.is_zero() {
            self.analyze().await?;
        }
        Ok(())
    }

    /// The analysis of the new color's ready pods, when one is configured.
    async fn analyze(&self) -> Result<(), String> {
        let Some(check) = self.analysis else {
            return Ok(());
        };
        let (namespace, name) = self.workload;
        let selector = colors::pods(name, self.target.name());
        workload::analysis::run(self.client, namespace, &selector, check, &self.wait.stop).await
    }

    /// Waits until the new color's pods are ready and available, or says
    /// why they are not.
    async fn ready(&self, deployment: &str) -> Result<(), String> {
        let (namespace, name) = self.workload;
        let wait = self.wait;
        let left = wait.timeout.saturating_sub(wait.started.elapsed());
        let rollout = workload::wait_for_rollout(
            self.client,
            namespace,
            ("Deployment", deployment),
            left,
            &wait.stop,
        )
        .await
        .map_err(|e| e.to_string())?;
        let pods = || async {
            let selector = colors::pods(name, self.target.name());
            workload::pod_problems(self.client, namespace, &selector)
                .await
                .map(|p| format!(" Pods: {p}."))
                .unwrap_or_default()
        };
        match rollout {
            Rollout::Available | Rollout::Complete => Ok(()),
            Rollout::Failed(reason) => Err(format!(
                "its pods did not get ready: {reason}.{}",
                pods().await
            )),
            Rollout::Progressing => Err(format!(
                "its pods were not ready when the timeout ran out.{}",
                pods().await
            )),
        }
    }

    /// All traffic back to the live color, the new one scaled to zero.
    async fn roll_back(&self) -> Result<(), KubeError> {
        let (namespace, name) = self.workload;
        let stop = &self.wait.stop;
        let following: Vec<Json> = self
            .serving
            .iter()
            .filter(|o| follows_live(o))
            .cloned()
            .collect();
        workload::apply(self.client, &following, stop).await?;
        let new = self.target.deployment(name);
        colors::scale(self.client, namespace, &new, 0, stop).await
    }
}

/// Moves traffic to `target`: the live color is marked with how long it
/// stays scaled, then the Service and the autoscaler follow `target`.
/// Returns the mark, unless the previous color is scaled down at once.
async fn switch(
    client: &kube::Client,
    (namespace, name): (&str, &str),
    live: &Colors,
    (target, colored): (Color, &[Json]),
    setting: &Release,
    wait: &Wait,
) -> Result<Option<String>, KubeError> {
    let previous = live.live.filter(|c| *c != target);
    let mut kept_until = None;
    if let Some(previous) = previous {
        let until = colors::kept_until(Timestamp::now(), &setting.keep_previous);
        let marked = (previous.deployment(name), live.deployment(previous));
        colors::keep(client, namespace, (&marked.0, marked.1), &until, &wait.stop).await?;
        kept_until = Some(until);
    }
    let following: Vec<Json> = colored
        .iter()
        .filter(|o| follows_live(o))
        .cloned()
        .collect();
    workload::apply(client, &following, &wait.stop).await?;
    if let Some(previous) = previous
        && parse_duration(&setting.keep_previous).unwrap_or(0.0) <= 0.0
    {
        colors::scale(client, namespace, &previous.deployment(name), 0, &wait.stop).await?;
        kept_until = None;
    }
    Ok(kept_until)
}

/// The planned state on `target`, for a failure after the switch.
fn released(planned: &Value, target: Color) -> Value {
    let mut state = planned_state(planned, "Available", Addresses::default());
    state.set_attr("live_color", target.name().into());
    state
}
