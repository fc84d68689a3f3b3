//! A workload's cloud identity made, not just annotated. On a Genesis EKS
//! cluster `service_account.aws_role_arn` is an EKS Pod Identity
//! association for the workload's service account, held with the
//! workload's claim, removed with it and read back for drift and import.
//! The IRSA annotation is then not written: it needs an OIDC provider, and
//! the web-identity variables EKS injects for it come before Pod
//! Identity's in the AWS SDKs' credential chain. Through a kubeconfig (a
//! cluster Genesis does not know) the annotation stays what it was.

use super::{ClusterName, Model, WorkloadSpec};
use crate::cloud::aws::pod_identity::ServiceAccountAt;
use crate::cloud::cluster::Wait;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::resource::PlanContext;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

/// What the plan check reads of a workload.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct RoleView {
    cluster: Field<String>,
    service_account: Field<ServiceAccountView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ServiceAccountView {
    aws_role_arn: Field<String>,
}

/// A role on an EKS cluster whose plan in this run leaves it without the
/// pod identity agent is refused: its pods would never get the role.
pub fn check_plan(ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
    let Ok(view) = view::as_written::<RoleView>(planned) else {
        return;
    };
    let Some(cluster) = view.cluster.known() else {
        return;
    };
    let role = view
        .service_account
        .known()
        .map(|sa| sa.aws_role_arn.is_set());
    let on_eks = matches!(ClusterName::parse(cluster), Some(ClusterName::Aws { .. }));
    let without_agent = ctx
        .provider
        .planned
        .runs(cluster)
        .is_some_and(|r| !r.pod_identity);
    if on_eks && role == Some(true) && without_agent {
        diags.push(
            Diagnostic::error(
                "The cluster runs no pod identity agent",
                "service_account.aws_role_arn is given to the pods through an EKS Pod Identity association, which the pod identity agent serves; the cluster will not run it. Keep \"eks-pod-identity-agent\" in the genesis_cluster's eks.addons (the default), or turn on Auto Mode (enable_autopilot), which runs it itself.",
            )
            .at(AttributePath::attr("service_account").join("aws_role_arn")),
        );
    }
}

/// The EKS cluster (region, name) a workload runs on, when it is one.
fn eks_cluster(model: &Model) -> Option<(String, String)> {
    match ClusterName::parse(model.target.cluster.as_deref()?)? {
        ClusterName::Aws { region, name, .. } => Some((region, name)),
        ClusterName::Gcp { .. } => None,
    }
}

/// Marks the spec's role as given by Pod Identity when the workload runs
/// on an EKS cluster, so its ServiceAccount is rendered without the IRSA
/// annotation.
pub fn mark(model: &mut Model) {
    let on_eks = eks_cluster(model).is_some();
    if let Some(sa) = model.spec.service_account.as_mut() {
        sa.pod_identity = on_eks;
    }
}

fn at<'a>(cluster: &'a (String, String), spec: &'a WorkloadSpec) -> ServiceAccountAt<'a> {
    ServiceAccountAt {
        region: &cluster.0,
        cluster: &cluster.1,
        namespace: &spec.namespace,
        name: spec.service_account_name(),
    }
}

fn role(spec: &WorkloadSpec) -> Option<&str> {
    spec.service_account
        .as_ref()
        .and_then(|sa| sa.aws_role_arn.as_deref())
}

/// Brings the association to the spec, after `was` (the prior spec, if
/// any): made or changed when a role is given, removed when it no longer
/// is or the service account changed.
pub async fn apply(
    provider: &ProviderContext,
    was: Option<&WorkloadSpec>,
    model: &Model,
    wait: &Wait,
) -> Result<(), Diagnostic> {
    let Some(cluster) = eks_cluster(model) else {
        return Ok(());
    };
    let spec = &model.spec;
    let claim = spec.owner_claim.as_deref().unwrap_or_default();
    if let Some(was) = was
        && role(was).is_some()
        && (role(spec).is_none() || was.service_account_name() != spec.service_account_name())
    {
        provider
            .aws
            .remove_pod_identity(at(&cluster, was), Some(claim), wait)
            .await
            .map_err(|e| e.diagnostic("remove the EKS Pod Identity association"))?;
    }
    if let Some(role) = role(spec) {
        provider
            .aws
            .set_pod_identity(at(&cluster, spec), role, claim, wait)
            .await
            .map_err(|e| e.diagnostic("make the EKS Pod Identity association"))?;
    }
    Ok(())
}

/// Removes the workload's association (its own, or one no workload holds).
pub async fn remove(
    provider: &ProviderContext,
    model: &Model,
    wait: &Wait,
) -> Result<(), Diagnostic> {
    let Some(cluster) = eks_cluster(model) else {
        return Ok(());
    };
    provider
        .aws
        .remove_pod_identity(
            at(&cluster, &model.spec),
            model.spec.owner_claim.as_deref(),
            wait,
        )
        .await
        .map_err(|e| e.diagnostic("remove the EKS Pod Identity association"))
}

/// Writes the role the association gives (or null without one) into a
/// refreshed state's `service_account.aws_role_arn`.
pub async fn read_into(
    provider: &ProviderContext,
    model: &Model,
    fresh: &mut Value,
    wait: &Wait,
) -> Result<(), Diagnostic> {
    let Some(cluster) = eks_cluster(model) else {
        return Ok(());
    };
    let found = provider
        .aws
        .pod_identity(at(&cluster, &model.spec), wait)
        .await
        .map_err(|e| e.diagnostic("read the EKS Pod Identity association"))?;
    let role: Value = found.map(|a| a.role_arn).into();
    match fresh.get_mut("service_account") {
        Some(sa @ Value::Object(_)) => sa.set_attr("aws_role_arn", role),
        _ if role.is_null() => {}
        _ => fresh.set_attr(
            "service_account",
            Value::object([
                ("create", true.into()),
                ("name", Value::Null),
                ("gcp_service_account", Value::Null),
                ("aws_role_arn", role),
                ("annotations", Value::Null),
            ]),
        ),
    }
    Ok(())
}
