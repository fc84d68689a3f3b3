//! The Cluster Autoscaler of an EKS cluster (`cluster-autoscaler` in
//! `eks.addons`): what resizes its managed node groups between their
//! pools' `min_nodes` and `max_nodes`, as GKE's built-in autoscaler does.
//! The cloud makes its IAM role and Pod Identity association with the
//! add-ons (`cloud::aws::cluster_autoscaler`); its objects inside the
//! cluster are applied here once the cluster serves, and read back, so an
//! autoscaler deleted by hand shows in the next plan and is put back.

use super::super::common;
use crate::cloud::aws::cluster_autoscaler::{NAME, wanted};
use crate::cloud::cluster::{ClusterCloud, ClusterSpec, EksCluster, ObservedCluster};
use crate::framework::diagnostics::Diagnostic;
use crate::framework::path::AttributePath;
use crate::kube::cluster_autoscaler;
use crate::provider::ProviderContext;

fn eks(observed: &ObservedCluster) -> Option<&EksCluster> {
    match &observed.spec.cloud {
        ClusterCloud::Eks(e) => Some(e),
        ClusterCloud::Gke(_) => None,
    }
}

fn failed(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        "Failed to set up the Cluster Autoscaler",
        format!("{e}. The cluster itself is in place; run terraform apply again to retry."),
    )
    .at(AttributePath::attr("eks").join("addons"))
}

/// Applies the autoscaler's objects when the cluster (as the cloud now
/// reports it) has its AWS side, and removes Genesis's when it has not.
/// `had` says whether the prior state had it, so a cluster that never
/// had one is not read for nothing.
pub async fn sync(
    provider: &ProviderContext,
    observed: &ObservedCluster,
    had: bool,
) -> Result<(), Diagnostic> {
    let Some(e) = eks(observed) else {
        return Ok(());
    };
    let wants = wanted(&e.addons);
    if !observed.serving() || !(wants || had) {
        return Ok(());
    }
    let client = common::cluster_client(provider, observed).await?;
    let name = observed.spec.name.as_str();
    if wants {
        cluster_autoscaler::apply(
            &client,
            name,
            &e.region,
            &observed.master_version,
            &provider.stop,
        )
        .await
        .map_err(failed)
    } else {
        cluster_autoscaler::remove(&client, &provider.stop)
            .await
            .map_err(failed)
    }
}

/// Drops the autoscaler from what the cloud reported (its Deployment is
/// gone).
pub fn forget(observed: &mut ObservedCluster) {
    if let ClusterCloud::Eks(e) = &mut observed.spec.cloud {
        e.addons.retain(|a| a != NAME);
    }
}

/// Whether a cluster of `spec` asks for the autoscaler.
pub fn in_spec(spec: &ClusterSpec) -> bool {
    match &spec.cloud {
        ClusterCloud::Eks(e) => wanted(&e.addons),
        ClusterCloud::Gke(_) => false,
    }
}

/// Whether the autoscaler the cloud reports is really there: `false` when
/// its Deployment is gone from the cluster (deleted by hand), so the
/// state drops it from `eks.addons` and the next apply puts it back.
pub async fn present(
    provider: &ProviderContext,
    observed: &ObservedCluster,
) -> Result<bool, Diagnostic> {
    if !eks(observed).is_some_and(|e| wanted(&e.addons)) || !observed.serving() {
        return Ok(true);
    }
    let client = common::cluster_client(provider, observed).await?;
    cluster_autoscaler::installed(&client, &provider.stop)
        .await
        .map_err(|e| Diagnostic::error("Failed to read the Cluster Autoscaler", e.to_string()))
}
