//! A workload's cloud identity made, not just annotated
//! (`cloud::workload_identity`), on a Genesis cluster:
//!
//! - EKS: `service_account.aws_role_arn` is an EKS Pod Identity
//!   association for the workload's service account, held with the
//!   workload's claim. The IRSA annotation is then not written: it needs
//!   an OIDC provider, and the web-identity variables EKS injects for it
//!   come before Pod Identity's in the AWS SDKs' credential chain.
//! - GKE: `service_account.gcp_service_account` is written as Workload
//!   Identity's annotation and granted on the Google service account
//!   (`roles/iam.workloadIdentityUser` for the cluster project's workload
//!   pool member), without which the annotation does nothing.
//!
//! Either is removed with the workload or the setting, and read back for
//! drift and import. Through a kubeconfig (a cluster Genesis does not
//! know) only the annotations are written.

use super::{ClusterName, Model, WorkloadSpec};
use crate::cloud::cluster::Wait;
use crate::cloud::workload_identity::{Holder, PodIdentity, WorkloadIdentities, WorkloadIdentity};
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
    gcp_service_account: Field<String>,
}

/// An identity on a cluster whose plan in this run leaves it without what
/// serves it (the pod identity agent on EKS, Workload Identity on GKE) is
/// refused: its pods would never get it.
pub fn check_plan(ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
    let Ok(view) = view::as_written::<RoleView>(planned) else {
        return;
    };
    let (Some(id), Some(sa)) = (view.cluster.known(), view.service_account.known()) else {
        return;
    };
    let Some(cluster) = ClusterName::parse(id) else {
        return;
    };
    let without = ctx
        .provider
        .planned
        .runs(id)
        .is_some_and(|r| !r.pod_identity);
    let (setting, asked, summary, detail) = match cluster {
        ClusterName::Aws { .. } => (
            "aws_role_arn",
            sa.aws_role_arn.is_set(),
            "The cluster runs no pod identity agent",
            "service_account.aws_role_arn is given to the pods through an EKS Pod Identity association, which the pod identity agent serves; the cluster will not run it. Keep \"eks-pod-identity-agent\" in the genesis_cluster's eks.addons (the default), or turn on Auto Mode (enable_autopilot), which runs it itself.",
        ),
        ClusterName::Gcp { .. } => (
            "gcp_service_account",
            sa.gcp_service_account.is_set(),
            "The cluster has Workload Identity off",
            "service_account.gcp_service_account is given to the pods through GKE Workload Identity, which the cluster will not run. Leave enable_workload_identity out of the genesis_cluster (it defaults to true), or set it to true.",
        ),
    };
    if asked && without {
        diags.push(
            Diagnostic::error(summary, detail)
                .at(AttributePath::attr("service_account").join(setting)),
        );
    }
}

/// The workload's cluster's cloud identities, when Genesis knows the
/// cluster.
fn identities<'a>(
    provider: &'a ProviderContext,
    cluster: &'a ClusterName,
) -> Box<dyn WorkloadIdentities + 'a> {
    match cluster {
        ClusterName::Aws { region, name, .. } => Box::new(PodIdentity {
            aws: &provider.aws,
            region,
            cluster: name,
        }),
        ClusterName::Gcp { project, .. } => Box::new(WorkloadIdentity {
            gcp: &provider.gcp,
            project,
        }),
    }
}

fn cluster_of(model: &Model) -> Option<ClusterName> {
    ClusterName::parse(model.target.cluster.as_deref()?)
}

/// Marks the spec's role as given by Pod Identity when the workload runs
/// on an EKS cluster, so its ServiceAccount is rendered without the IRSA
/// annotation.
pub fn mark(model: &mut Model) {
    let on_eks = matches!(cluster_of(model), Some(ClusterName::Aws { .. }));
    if let Some(sa) = model.spec.service_account.as_mut() {
        sa.pod_identity = on_eks;
    }
}

/// The identity the spec asks of its cluster's cloud.
fn wanted<'a>(cluster: &ClusterName, spec: &'a WorkloadSpec) -> Option<&'a str> {
    let sa = spec.service_account.as_ref()?;
    match cluster {
        ClusterName::Aws { .. } => sa.aws_role_arn.as_deref(),
        ClusterName::Gcp { .. } => sa.gcp_service_account.as_deref(),
    }
}

fn holder(spec: &WorkloadSpec) -> Holder<'_> {
    Holder {
        namespace: &spec.namespace,
        name: spec.service_account_name(),
        claim: spec.owner_claim.as_deref(),
    }
}

fn what(cluster: &ClusterName, verb: &str) -> String {
    match cluster {
        ClusterName::Aws { .. } => format!("{verb} the EKS Pod Identity association"),
        ClusterName::Gcp { .. } => format!("{verb} the Workload Identity grant"),
    }
}

/// Brings the cloud identity to the spec, after `was` (the prior spec, if
/// any): given when the spec asks for one, taken back when it no longer
/// does, or asks for another, or the service account changed.
pub async fn apply(
    provider: &ProviderContext,
    was: Option<&WorkloadSpec>,
    model: &Model,
    wait: &Wait,
) -> Result<(), Diagnostic> {
    let Some(cluster) = cluster_of(model) else {
        return Ok(());
    };
    let cloud = identities(provider, &cluster);
    let spec = &model.spec;
    let claim = spec.owner_claim.as_deref();
    if let Some(was) = was
        && let Some(had) = wanted(&cluster, was)
        && !kept(&cluster, was, spec, had)
    {
        let before = Holder {
            claim,
            ..holder(was)
        };
        cloud
            .revoke(before, had, wait)
            .await
            .map_err(|e| e.diagnostic(&what(&cluster, "remove")))?;
    }
    if let Some(identity) = wanted(&cluster, spec) {
        cloud
            .grant(holder(spec), identity, wait)
            .await
            .map_err(|e| e.diagnostic(&what(&cluster, "make")))?;
    }
    Ok(())
}

/// Whether what `was` had (`had`) stays for `spec`: on EKS the one
/// association of the service account changes its role in place; on GKE a
/// grant is for one Google service account.
fn kept(cluster: &ClusterName, was: &WorkloadSpec, spec: &WorkloadSpec, had: &str) -> bool {
    let same_account = was.service_account_name() == spec.service_account_name();
    match cluster {
        ClusterName::Aws { .. } => same_account && wanted(cluster, spec).is_some(),
        ClusterName::Gcp { .. } => same_account && wanted(cluster, spec) == Some(had),
    }
}

/// Takes the workload's identity back (its own, or one no workload holds).
pub async fn remove(
    provider: &ProviderContext,
    model: &Model,
    wait: &Wait,
) -> Result<(), Diagnostic> {
    let Some(cluster) = cluster_of(model) else {
        return Ok(());
    };
    let identity = wanted(&cluster, &model.spec);
    // On EKS an association may be there without the setting (drift): the
    // service account's is removed whatever role it gives. A GKE grant is
    // on the account the setting names.
    if identity.is_none() && matches!(cluster, ClusterName::Gcp { .. }) {
        return Ok(());
    }
    identities(provider, &cluster)
        .revoke(holder(&model.spec), identity.unwrap_or_default(), wait)
        .await
        .map_err(|e| e.diagnostic(&what(&cluster, "remove")))
}

/// Writes the identity the cloud gives (or null without one) into a
/// refreshed state's `service_account`: the role of the association on
/// EKS; on GKE the Google service account the live annotation names (in
/// `fresh`), if it grants the workload's service account its use.
pub async fn read_into(
    provider: &ProviderContext,
    model: &Model,
    fresh: &mut Value,
    wait: &Wait,
) -> Result<(), Diagnostic> {
    let Some(cluster) = cluster_of(model) else {
        return Ok(());
    };
    let (attribute, expected) = match &cluster {
        ClusterName::Aws { .. } => ("aws_role_arn", None),
        ClusterName::Gcp { .. } => {
            let at = AttributePath::attr("service_account").join("gcp_service_account");
            match fresh.at(&at).as_str() {
                Some(annotated) => ("gcp_service_account", Some(annotated.to_string())),
                None => return Ok(()),
            }
        }
    };
    let found: Value = identities(provider, &cluster)
        .identity(holder(&model.spec), expected.as_deref(), wait)
        .await
        .map_err(|e| e.diagnostic(&what(&cluster, "read")))?
        .into();
    match fresh.get_mut("service_account") {
        Some(sa @ Value::Object(_)) => sa.set_attr(attribute, found),
        _ if found.is_null() => {}
        _ => {
            let mut sa = Value::object([
                ("create", true.into()),
                ("name", Value::Null),
                ("gcp_service_account", Value::Null),
                ("aws_role_arn", Value::Null),
                ("annotations", Value::Null),
            ]);
            sa.set_attr(attribute, found);
            fresh.set_attr("service_account", sa);
        }
    }
    Ok(())
}
