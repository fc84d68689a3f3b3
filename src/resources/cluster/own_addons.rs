//! The add-ons Genesis runs itself on an EKS cluster (named in
//! `eks.addons` like EKS's own): the Cluster Autoscaler, which resizes its
//! managed node groups between their pools' `min_nodes` and `max_nodes` as
//! GKE's built-in autoscaler does, and the AWS Load Balancer Controller,
//! which gives its Ingresses load balancers as GKE's built-in controller
//! does. The cloud makes their IAM roles and Pod Identity associations with
//! the add-ons (`cloud::aws::own_addons`); their objects inside the cluster
//! are applied here once the cluster serves, and read back, so one deleted
//! by hand shows in the next plan and is put back.

use super::super::common;
use crate::cloud::aws::own_addons::{self, OwnAddon};
use crate::cloud::cluster::{
    ClusterCloud, ClusterSpec, Clusters, EksCluster, ObservedCluster, Wait,
};
use crate::framework::diagnostics::Diagnostic;
use crate::framework::path::AttributePath;
use crate::kube::{KubeError, cluster_autoscaler, load_balancer_controller};
use crate::provider::ProviderContext;

fn eks(observed: &ObservedCluster) -> Option<&EksCluster> {
    match &observed.spec.cloud {
        ClusterCloud::Eks(e) => Some(e),
        ClusterCloud::Gke(_) => None,
    }
}

/// What each one is called in messages.
fn title(addon: OwnAddon) -> &'static str {
    if addon == own_addons::CLUSTER_AUTOSCALER {
        "the Cluster Autoscaler"
    } else {
        "the AWS Load Balancer Controller"
    }
}

fn failed(addon: OwnAddon, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        format!("Failed to set up {}", title(addon)),
        format!("{e}. The cluster itself is in place; run terraform apply again to retry."),
    )
    .at(AttributePath::attr("eks").join("addons"))
}

/// Applies the add-on's objects in the cluster.
async fn apply(
    addon: OwnAddon,
    client: &kube::Client,
    observed: &ObservedCluster,
    e: &EksCluster,
    provider: &ProviderContext,
) -> Result<(), KubeError> {
    let name = observed.spec.name.as_str();
    if addon == own_addons::CLUSTER_AUTOSCALER {
        return cluster_autoscaler::apply(
            client,
            name,
            &e.region,
            &observed.master_version,
            &provider.stop,
        )
        .await;
    }
    let Some(vpc_id) = observed.vpc_id.as_deref() else {
        return Err(KubeError::Refused(
            "EKS reported no VPC for the cluster, which the controller makes load balancers in"
                .into(),
        ));
    };
    load_balancer_controller::apply(client, name, &e.region, vpc_id, &provider.stop).await
}

async fn remove(
    addon: OwnAddon,
    client: &kube::Client,
    provider: &ProviderContext,
) -> Result<(), KubeError> {
    if addon == own_addons::CLUSTER_AUTOSCALER {
        cluster_autoscaler::remove(client, &provider.stop).await
    } else {
        load_balancer_controller::remove(client, &provider.stop).await
    }
}

async fn installed(
    addon: OwnAddon,
    client: &kube::Client,
    provider: &ProviderContext,
) -> Result<bool, KubeError> {
    if addon == own_addons::CLUSTER_AUTOSCALER {
        cluster_autoscaler::installed(client, &provider.stop).await
    } else {
        load_balancer_controller::installed(client, &provider.stop).await
    }
}

/// Brings the add-ons' objects to what the cluster (as the cloud now
/// reports it) has: applies those it has and `had` (the prior state's
/// `eks.addons`) had not, removes Genesis's of those `had` had and it has
/// not. The autoscaler's release follows the Kubernetes version, so it is
/// applied again when `version_changed`.
pub async fn sync(
    provider: &ProviderContext,
    observed: &ObservedCluster,
    had: &[String],
    version_changed: bool,
) -> Result<(), Diagnostic> {
    let Some(e) = eks(observed) else {
        return Ok(());
    };
    let changing: Vec<(OwnAddon, bool)> = own_addons::ALL
        .into_iter()
        .filter_map(|addon| {
            let (wants, had) = (addon.wanted(&e.addons), addon.wanted(had));
            let follows = addon == own_addons::CLUSTER_AUTOSCALER && version_changed;
            (wants != had || (wants && follows)).then_some((addon, wants))
        })
        .collect();
    if !observed.serving() || changing.is_empty() {
        return Ok(());
    }
    let client = common::cluster_client(provider, observed).await?;
    for (addon, wants) in changing {
        let done = if wants {
            apply(addon, &client, observed, e, provider).await
        } else {
            remove(addon, &client, provider).await
        };
        done.map_err(|err| failed(addon, err))?;
    }
    Ok(())
}

/// The own add-ons a cluster of `spec` asks for.
pub fn in_spec(spec: &ClusterSpec) -> Vec<String> {
    match &spec.cloud {
        ClusterCloud::Eks(e) => e
            .addons
            .iter()
            .filter(|a| own_addons::is_own(a))
            .cloned()
            .collect(),
        ClusterCloud::Gke(_) => Vec::new(),
    }
}

/// Drops from what the cloud reported the add-ons whose objects are gone
/// from the cluster (deleted by hand), so the state drops them from
/// `eks.addons` and the next apply puts them back.
pub async fn forget_missing(
    provider: &ProviderContext,
    observed: &mut ObservedCluster,
) -> Result<(), Diagnostic> {
    let Some(e) = eks(observed) else {
        return Ok(());
    };
    let reported: Vec<OwnAddon> = own_addons::ALL
        .into_iter()
        .filter(|a| a.wanted(&e.addons))
        .collect();
    if reported.is_empty() || !observed.serving() {
        return Ok(());
    }
    let client = common::cluster_client(provider, observed).await?;
    let mut missing = Vec::new();
    for addon in reported {
        let there = installed(addon, &client, provider).await.map_err(|err| {
            Diagnostic::error(format!("Failed to read {}", title(addon)), err.to_string())
        })?;
        if !there {
            missing.push(addon.name);
        }
    }
    if let ClusterCloud::Eks(e) = &mut observed.spec.cloud {
        e.addons.retain(|a| !missing.contains(&a.as_str()));
    }
    Ok(())
}

/// Refuses, before anything changes, to remove the Load Balancer
/// Controller while Ingresses of its class are left: their load balancers
/// would stay in the account with nothing to delete them, and its role
/// would be gone before it could.
pub async fn check_removal(
    provider: &ProviderContext,
    clusters: &dyn Clusters,
    was: &ClusterSpec,
    wanted: &ClusterSpec,
    wait: &Wait,
) -> Result<(), Diagnostic> {
    let lbc = own_addons::LOAD_BALANCER_CONTROLLER;
    let (had, wants) = (in_spec(was), in_spec(wanted));
    if !lbc.wanted(&had) || lbc.wanted(&wants) {
        return Ok(());
    }
    let observed = match clusters.get(&was.address(), wait).await {
        Ok(Some(o)) if o.serving() => o,
        _ => return Ok(()),
    };
    let client = common::cluster_client(provider, &observed).await?;
    let left = load_balancer_controller::served_ingresses(&client, &provider.stop)
        .await
        .map_err(|e| failed(lbc, e))?;
    if left.is_empty() {
        return Ok(());
    }
    Err(Diagnostic::error(
        "Ingresses still use the AWS Load Balancer Controller",
        format!(
            "The Ingresses {} have load balancers the controller made, which would stay in the account with nothing to delete them. Remove their `ingress` (or the workloads) first, or keep \"aws-load-balancer-controller\" in eks.addons. Nothing was changed.",
            left.join(", ")
        ),
    )
    .at(AttributePath::attr("eks").join("addons")))
}
