//! What the back ends of pools that live inside their cluster (Karpenter
//! NodePools on EKS Auto Mode, ComputeClasses on GKE Autopilot) share: a
//! client for the cluster, the errors, taints in Kubernetes' spelling, and
//! the plan-time refusal of settings the mode cannot honour.

use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Taint;
use tokio_util::sync::CancellationToken;

use super::super::common::cluster_client;
use super::schema::normalize_effect;
use crate::cloud::CloudError;
use crate::cloud::cluster::{ClusterAddress, ObservedCluster, Wait};
use crate::cloud::node_pool::{NodePools, ObservedPool, PoolSpec, PoolTaint};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::path::AttributePath;
use crate::kube::KubeError;
use crate::provider::ProviderContext;

/// Whether the cloud runs the cluster's nodes (GKE Autopilot, EKS Auto
/// Mode), which makes a new pool an object inside the cluster.
pub(super) async fn cloud_runs_the_nodes(
    provider: &ProviderContext,
    at: &ClusterAddress,
    wait: &Wait,
) -> Result<bool, CloudError> {
    Ok(provider
        .clusters(at)
        .get(at, wait)
        .await?
        .is_some_and(|c| c.spec.autopilot))
}

/// The cluster and a client for it; `None` when the cluster is gone.
pub(super) async fn cluster(
    provider: &ProviderContext,
    at: &ClusterAddress,
    wait: &Wait,
) -> Result<Option<(ObservedCluster, kube::Client)>, CloudError> {
    let Some(cluster) = provider.clusters(at).get(at, wait).await? else {
        return Ok(None);
    };
    let client = cluster_client(provider, &cluster)
        .await
        .map_err(|d| CloudError::Transport {
            call: "connecting to the cluster".into(),
            message: format!("{}: {}", d.summary, d.detail),
        })?;
    Ok(Some((cluster, client)))
}

pub(super) fn gone(at: &ClusterAddress) -> CloudError {
    CloudError::Operation {
        call: "finding the pool's cluster".into(),
        operation: String::new(),
        message: format!("the cluster {at:?} does not exist"),
    }
}

pub(super) fn cloud_error(e: KubeError) -> CloudError {
    match e {
        KubeError::Api {
            call,
            code,
            message,
        } => CloudError::Api {
            call,
            code,
            status: "Kubernetes".into(),
            message,
            retry_after: None,
        },
        KubeError::Transport { call, message } => CloudError::Transport { call, message },
        other => CloudError::Transport {
            call: "the cluster's Kubernetes API".into(),
            message: other.to_string(),
        },
    }
}

/// Kubernetes' spelling of a taint effect (`NoSchedule`).
pub(super) fn kube_effect(effect: &str) -> String {
    match normalize_effect(effect) {
        Some("PREFER_NO_SCHEDULE") => "PreferNoSchedule",
        Some("NO_EXECUTE") => "NoExecute",
        _ => "NoSchedule",
    }
    .to_string()
}

/// The pool's taints as Kubernetes objects carry them.
pub(super) fn kube_taints(spec: &PoolSpec) -> Vec<Taint> {
    spec.taints
        .iter()
        .map(|t| Taint {
            key: t.key.clone(),
            value: (!t.value.is_empty()).then(|| t.value.clone()),
            effect: kube_effect(&t.effect),
            time_added: None,
        })
        .collect()
}

/// Taints read back from Kubernetes, in GKE's spelling.
pub(super) fn pool_taints(taints: &[Taint]) -> Vec<PoolTaint> {
    taints
        .iter()
        .map(|t| PoolTaint {
            key: t.key.clone(),
            value: t.value.clone().unwrap_or_default(),
            effect: normalize_effect(&t.effect)
                .unwrap_or("NO_SCHEDULE")
                .to_string(),
        })
        .collect()
}

/// A setting the mode cannot honour: (attribute path, refused, why).
pub(super) type Refusal = (AttributePath, bool, &'static str);

/// Reports each refused setting at its attribute.
pub(super) fn refuse(diags: &mut Diagnostics, mode: &str, refusals: Vec<Refusal>) {
    for (at, refused, why) in refusals {
        if refused {
            diags.attribute_error(at, format!("Not available on {mode}"), why);
        }
    }
}

/// A kind of pool that lives inside its cluster, in Kubernetes objects.
#[async_trait]
pub(super) trait InClusterKind: Send + Sync {
    /// The objects as read back.
    type Observed: Send;

    async fn apply(
        &self,
        client: &kube::Client,
        spec: &PoolSpec,
        stop: &CancellationToken,
    ) -> Result<(), KubeError>;

    /// `None` when the pool is gone or is not Genesis's.
    async fn read(
        &self,
        client: &kube::Client,
        name: &str,
        stop: &CancellationToken,
    ) -> Result<Option<Self::Observed>, KubeError>;

    /// Waits until the cluster's controller accepts the pool.
    async fn wait_ready(
        &self,
        client: &kube::Client,
        name: &str,
        within: Duration,
        stop: &CancellationToken,
    ) -> Result<Self::Observed, KubeError>;

    async fn list(
        &self,
        client: &kube::Client,
        stop: &CancellationToken,
    ) -> Result<Vec<String>, KubeError>;

    async fn delete(
        &self,
        client: &kube::Client,
        name: &str,
        within: Duration,
        stop: &CancellationToken,
    ) -> Result<(), KubeError>;

    /// What a read (an import) cannot learn from the objects: the settings
    /// they do not hold, at the values the plan gives them.
    fn unheld(&self, at: &ClusterAddress, name: &str) -> PoolSpec;

    /// The pool the objects describe; what they do not hold comes from
    /// `base`.
    fn observed_pool(
        &self,
        base: &PoolSpec,
        cluster: &ObservedCluster,
        observed: &Self::Observed,
    ) -> ObservedPool;
}

/// The back end of pools of kind `K`, through the cluster's Kubernetes
/// API.
pub(super) struct InCluster<'a, K>(pub &'a ProviderContext, pub K);

#[async_trait]
impl<K: InClusterKind> NodePools for InCluster<'_, K> {
    async fn create(
        &self,
        spec: &PoolSpec,
        wait: &Wait,
    ) -> Result<ObservedPool, (CloudError, Option<ObservedPool>)> {
        let (cluster, client) = match self::cluster(self.0, &spec.cluster, wait).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err((gone(&spec.cluster), None)),
            Err(e) => return Err((e, None)),
        };
        let kind = &self.1;
        kind.apply(&client, spec, &wait.stop)
            .await
            .map_err(|e| (cloud_error(e), None))?;
        let left = wait.timeout.saturating_sub(wait.started.elapsed());
        match kind.wait_ready(&client, &spec.name, left, &wait.stop).await {
            Ok(observed) => Ok(kind.observed_pool(spec, &cluster, &observed)),
            // It exists: the state records it, and the next apply waits on.
            Err(e) => {
                let made = kind
                    .read(&client, &spec.name, &wait.stop)
                    .await
                    .ok()
                    .flatten()
                    .map(|o| kind.observed_pool(spec, &cluster, &o));
                Err((cloud_error(e), made))
            }
        }
    }

    async fn get(
        &self,
        at: &ClusterAddress,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedPool>, CloudError> {
        let Some((cluster, client)) = self::cluster(self.0, at, wait).await? else {
            return Ok(None);
        };
        let base = self.1.unheld(at, name);
        Ok(self
            .1
            .read(&client, name, &wait.stop)
            .await
            .map_err(cloud_error)?
            .map(|o| self.1.observed_pool(&base, &cluster, &o)))
    }

    async fn update(&self, _from: &PoolSpec, to: &PoolSpec, wait: &Wait) -> Result<(), CloudError> {
        let (_, client) = self::cluster(self.0, &to.cluster, wait)
            .await?
            .ok_or_else(|| gone(&to.cluster))?;
        self.1
            .apply(&client, to, &wait.stop)
            .await
            .map_err(cloud_error)
    }

    async fn list(&self, at: &ClusterAddress, wait: &Wait) -> Result<Vec<String>, CloudError> {
        let Some((_, client)) = self::cluster(self.0, at, wait).await? else {
            return Ok(Vec::new());
        };
        self.1.list(&client, &wait.stop).await.map_err(cloud_error)
    }

    async fn delete(&self, at: &ClusterAddress, name: &str, wait: &Wait) -> Result<(), CloudError> {
        let Some((_, client)) = self::cluster(self.0, at, wait).await? else {
            return Ok(());
        };
        let left = wait.timeout.saturating_sub(wait.started.elapsed());
        self.1
            .delete(&client, name, left, &wait.stop)
            .await
            .map_err(cloud_error)
    }
}
