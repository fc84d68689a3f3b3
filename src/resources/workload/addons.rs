//! What a workload needs in its cluster beyond Kubernetes itself: Istio
//! and the External Secrets Operator (which Genesis does not install), and
//! resource metrics for `autoscaling` (built into GKE, the metrics-server
//! add-on Genesis installs on EKS). Which settings use which, the check
//! that the cluster serves their APIs, and what to do when it does not.

use serde_json::Value as Json;

use super::{ClusterRead, Target, WorkloadSpec, connect};
use crate::framework::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::resource::PlanContext;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::workload::{self, Addon};

/// The add-ons a plan is checked for, each with the setting that uses it.
const CHECKED: [(Addon, &str); 3] = [
    (Addon::Istio, "mesh"),
    (Addon::ExternalSecrets, "external_secrets"),
    (Addon::Metrics, "autoscaling"),
];

/// What the check reads of a planned workload.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct UsesView {
    cluster: Field<String>,
    kubeconfig_path: Field<String>,
    kubeconfig_context: Field<String>,
    mesh: Field<Json>,
    external_secrets: Field<Json>,
    autoscaling: Field<Json>,
}

impl UsesView {
    /// Whether the setting that uses `addon` is there and not empty (an
    /// unknown one is checked by the next plan or the apply).
    fn uses(&self, addon: Addon) -> bool {
        let field = match addon {
            Addon::Istio => &self.mesh,
            Addon::ExternalSecrets => &self.external_secrets,
            Addon::Metrics => &self.autoscaling,
        };
        match field.known() {
            Some(Json::Object(o)) => !o.is_empty(),
            Some(Json::Null) | None => false,
            Some(_) => true,
        }
    }

    fn target(&self) -> Option<Target> {
        Target::planned(
            &self.cluster,
            &self.kubeconfig_path,
            &self.kubeconfig_context,
        )
    }
}

/// A workload using an add-on on a cluster that exists is checked against
/// it: without the add-on's APIs the plan fails with what to install,
/// rather than the apply with an API error (or, for metrics, an autoscaler
/// that never scales). On a cluster given by a kubeconfig, which Genesis
/// does not make, it is a warning. What a cluster serves is asked once per
/// provider process, not once per workload.
pub async fn check_plan(ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
    let Ok(uses) = view::as_written::<UsesView>(planned) else {
        return;
    };
    let needed: Vec<(Addon, &str)> = CHECKED.into_iter().filter(|(a, _)| uses.uses(*a)).collect();
    // A cluster not known yet is checked by the apply.
    let Some(target) = uses.target() else {
        return;
    };
    if needed.is_empty() {
        return;
    }
    let key = target.key();
    let mut client = None;
    for (addon, setting) in needed {
        // The cluster's plan in this run installs it (metrics-server added
        // to eks.addons): the apply makes the cluster serve it.
        if addon == Addon::Metrics
            && let Some(cluster) = &target.cluster
            && ctx
                .provider
                .planned
                .runs(cluster)
                .is_some_and(|r| r.metrics)
        {
            continue;
        }
        let asked = ctx.provider.kube.served(&key, addon);
        let served = match asked.get() {
            Some(served) => *served,
            None => {
                if client.is_none() {
                    // A cluster that cannot be reached yet is checked by
                    // the apply.
                    let Ok(Some(c)) =
                        connect(ctx.provider, (&target, ClusterRead::Shared), planned).await
                    else {
                        return;
                    };
                    client = Some(c);
                }
                let Some(c) = &client else { return };
                let ask = || workload::serves(c, addon, &ctx.provider.stop);
                let Ok(served) = asked.get_or_try_init(ask).await else {
                    continue;
                };
                *served
            }
        };
        if !served {
            let mut d = missing(addon).at(AttributePath::attr(setting));
            if target.cluster.is_none() {
                d.severity = Severity::Warning;
            }
            diags.push(d);
        }
    }
}

/// The add-ons a workload's settings use.
pub fn addons_of(spec: &WorkloadSpec) -> Vec<Addon> {
    let mut out = Vec::new();
    if spec.mesh.is_some() {
        out.push(Addon::Istio);
    }
    if !spec.external_secrets.is_empty() {
        out.push(Addon::ExternalSecrets);
    }
    out
}

/// The add-on missing, named at the setting that needs it.
pub fn missing(addon: Addon) -> Diagnostic {
    let setting = CHECKED
        .iter()
        .find(|(a, _)| *a == addon)
        .map_or("", |(_, s)| s);
    addon.missing(setting)
}

/// What the mesh rule reads of a workload's configuration.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct MeshRouting {
    service: Field<Json>,
    mesh: Field<MeshSettings>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct MeshSettings {
    timeout: Field<Json>,
    retries: Field<Json>,
    outlier_detection: Field<Json>,
}

/// The mesh's routing settings apply to the workload's service.
pub fn validate_mesh(config: &Value, diags: &mut Diagnostics) {
    let Ok(v) = view::as_written::<MeshRouting>(config) else {
        return;
    };
    let Some(mesh) = v.mesh.known().filter(|_| v.service.is_null()) else {
        return;
    };
    for (setting, field) in [
        ("timeout", &mesh.timeout),
        ("retries", &mesh.retries),
        ("outlier_detection", &mesh.outlier_detection),
    ] {
        if field.is_set() {
            diags.attribute_error(
                AttributePath::attr("mesh").join(setting),
                "The mesh routes the workload's service",
                format!("mesh.{setting} applies to requests to the workload's service, and it has none: add a `service`, or leave {setting} out."),
            );
        }
    }
}
