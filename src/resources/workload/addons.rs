//! What a workload needs that Genesis does not install (Istio, the
//! External Secrets Operator): which settings use which, the check that
//! the cluster serves their APIs, and what to do when it does not.

use super::{Target, WorkloadSpec, connect};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::path::AttributePath;
use crate::framework::resource::PlanContext;
use crate::framework::value::Value;
use crate::kube::workload::{self, Addon};

/// A workload using an add-on on a cluster that exists is checked against
/// it: without the add-on's APIs the plan fails with what to install,
/// rather than the apply with an API error.
pub async fn check_plan(ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
    let needed: Vec<Addon> = Addon::ALL
        .into_iter()
        .filter(|a| {
            let setting = planned.get(addon_setting(*a));
            setting.is_set() && setting.entries().is_none_or(|e| !e.is_empty())
        })
        .collect();
    let reachable = ["cluster", "kubeconfig_path", "kubeconfig_context"]
        .iter()
        .all(|a| !planned.get(a).is_unknown());
    if needed.is_empty() || !reachable {
        return;
    }
    let Ok(target) = crate::framework::model::decode::<Target>(planned) else {
        return;
    };
    // A cluster that cannot be reached yet is checked by the apply.
    let Ok(Some(client)) = connect(ctx.provider, &target, planned).await else {
        return;
    };
    for addon in needed {
        if let Ok(false) = workload::serves(&client, addon, &ctx.provider.stop).await {
            diags.push(missing(addon).at(AttributePath::attr(addon_setting(addon))));
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

/// The setting that uses an add-on.
fn addon_setting(addon: Addon) -> &'static str {
    match addon {
        Addon::Istio => "mesh",
        Addon::ExternalSecrets => "external_secrets",
    }
}

/// The add-on missing, named at the setting that needs it.
pub fn missing(addon: Addon) -> Diagnostic {
    addon.missing(addon_setting(addon))
}

/// The mesh's routing settings apply to the workload's service.
pub fn validate_mesh(config: &Value, diags: &mut Diagnostics) {
    let mesh = config.get("mesh");
    if !config.get("service").is_null() || config.get("service").is_unknown() {
        return;
    }
    for setting in ["timeout", "retries", "outlier_detection"] {
        if mesh.get(setting).is_set() {
            diags.attribute_error(
                AttributePath::attr("mesh").join(setting),
                "The mesh routes the workload's service",
                format!("mesh.{setting} applies to requests to the workload's service, and it has none: add a `service`, or leave {setting} out."),
            );
        }
    }
}
