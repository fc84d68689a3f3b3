//! A pool on an EKS Auto Mode cluster is a Karpenter NodePool with its EKS
//! NodeClass (`kube::node_pools`): this back end maps the pool's spec onto
//! them through the cluster's Kubernetes API, and says at plan time which
//! settings Auto Mode cannot honour.

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::config::PoolConfig;
use super::in_cluster::{self, InCluster, InClusterKind};
use crate::cloud::cluster::{ClusterAddress, ObservedCluster};
use crate::cloud::node_pool::{AutoModePool, ObservedPool, PoolCloud, PoolSpec};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::KubeError;
use crate::kube::node_pools::{self, KarpenterPool, ObservedKarpenterPool};

/// What Auto Mode's rules read of a pool's configuration, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AutoModeView {
    name: Field<String>,
    image_type: Field<String>,
    kubernetes_version: Field<String>,
    enable_autoscaling: Field<bool>,
    node_count: Field<i64>,
    min_nodes: Field<i64>,
    initial_node_count: Field<i64>,
    auto_repair: Field<bool>,
    eks: Field<EksView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EksView {
    node_role_arn: Field<String>,
}

/// Settings Auto Mode cannot honour, checked once the pool is known to be
/// a Karpenter NodePool.
///
/// `config` is the configuration; at apply, when the cluster's mode was
/// not known at plan time, it is the plan (`planned`), whose defaults are
/// filled in, so that `initial_node_count` cannot be told from its default.
pub(super) fn refuse_unsupported(config: &Value, planned: bool, diags: &mut Diagnostics) {
    let Ok(v) = view::as_written::<AutoModeView>(config) else {
        return;
    };
    let at = AttributePath::attr;
    let refusals = vec![
        (
            at("name"),
            v.name
                .as_str()
                .is_some_and(|n| node_pools::BUILT_IN.contains(&n)),
            "EKS owns the built-in NodePools `general-purpose` and `system` of an Auto Mode cluster: give the pool another name.",
        ),
        (
            at("image_type"),
            v.image_type.is_set(),
            "EKS Auto Mode runs its own node image: remove image_type.",
        ),
        (
            at("kubernetes_version"),
            v.kubernetes_version.is_set(),
            "EKS Auto Mode's nodes follow the control plane's version: remove kubernetes_version and set the cluster's.",
        ),
        (
            at("enable_autoscaling"),
            v.enable_autoscaling.known() == Some(&false),
            "On EKS Auto Mode nodes come and go with the pods that need them (up to max_nodes); there are no fixed-size pools: remove enable_autoscaling = false.",
        ),
        (
            at("node_count"),
            v.node_count.is_set(),
            "On EKS Auto Mode nodes come and go with the pods that need them; there are no fixed-size pools: remove node_count.",
        ),
        (
            at("min_nodes"),
            v.min_nodes.known().is_some_and(|n| *n > 0),
            "EKS Auto Mode (Karpenter) keeps no minimum of nodes, it makes them for pending pods: remove min_nodes.",
        ),
        (
            at("initial_node_count"),
            !planned && v.initial_node_count.is_set(),
            "EKS Auto Mode makes no node before a pod needs one: remove initial_node_count.",
        ),
        (
            at("auto_repair"),
            v.auto_repair.known() == Some(&false),
            "EKS Auto Mode always replaces unhealthy nodes: remove auto_repair = false.",
        ),
        (
            at("eks").join("node_role_arn"),
            v.eks.known().is_some_and(|e| e.node_role_arn.is_set()),
            "Auto Mode's nodes run as the cluster's node role (`genesis_cluster`'s eks.node_role_arn): remove the pool's node_role_arn.",
        ),
    ];
    in_cluster::refuse(diags, "EKS Auto Mode", refusals);
}

/// Karpenter NodePools with their NodeClasses.
pub(super) struct Karpenter;

/// The back end of Karpenter pools.
pub(super) type AutoModePools<'a> = InCluster<'a, Karpenter>;

#[async_trait]
impl InClusterKind for Karpenter {
    type Observed = ObservedKarpenterPool;

    async fn apply(
        &self,
        client: &kube::Client,
        spec: &PoolSpec,
        stop: &CancellationToken,
    ) -> Result<(), KubeError> {
        node_pools::apply(client, &karpenter_pool(spec), stop).await
    }

    async fn read(
        &self,
        client: &kube::Client,
        name: &str,
        stop: &CancellationToken,
    ) -> Result<Option<ObservedKarpenterPool>, KubeError> {
        node_pools::read(client, name, stop).await
    }

    async fn wait_ready(
        &self,
        client: &kube::Client,
        name: &str,
        within: Duration,
        stop: &CancellationToken,
    ) -> Result<ObservedKarpenterPool, KubeError> {
        node_pools::wait_ready(client, name, within, stop).await
    }

    async fn list(
        &self,
        client: &kube::Client,
        stop: &CancellationToken,
    ) -> Result<Vec<String>, KubeError> {
        node_pools::list(client, stop).await
    }

    async fn delete(
        &self,
        client: &kube::Client,
        name: &str,
        within: Duration,
        stop: &CancellationToken,
    ) -> Result<(), KubeError> {
        node_pools::delete(client, name, within, stop).await
    }

    /// Karpenter has no initial size: the setting keeps its default.
    fn unheld(&self, at: &ClusterAddress, name: &str) -> PoolSpec {
        PoolSpec {
            cluster: at.clone(),
            name: name.to_string(),
            initial_node_count: PoolConfig::default().initial_node_count,
            ..PoolSpec::default()
        }
    }

    fn observed_pool(
        &self,
        base: &PoolSpec,
        cluster: &ObservedCluster,
        observed: &ObservedKarpenterPool,
    ) -> ObservedPool {
        observed_pool(base, cluster, observed)
    }
}

fn karpenter_pool(spec: &PoolSpec) -> KarpenterPool {
    let subnet_ids = match &spec.cloud {
        PoolCloud::EksAutoMode(a) => a.subnet_ids.clone(),
        _ => Vec::new(),
    };
    KarpenterPool {
        name: spec.name.clone(),
        labels: spec.labels.clone(),
        taints: in_cluster::kube_taints(spec),
        instance_types: vec![spec.machine_type.clone()],
        spot: spec.spot || spec.preemptible,
        max_nodes: spec.autoscaling.map_or(0, |(_, max)| max),
        disk_gib: spec.disk_size_gb,
        subnet_ids,
        max_unavailable: spec.max_unavailable,
    }
}

/// The pool as Karpenter holds it. What it does not hold (the sizes the
/// configuration asked for at creation, the GPU and preemptible settings
/// the instance type carries) comes from `base`.
fn observed_pool(
    base: &PoolSpec,
    cluster: &ObservedCluster,
    observed: &ObservedKarpenterPool,
) -> ObservedPool {
    let pool = &observed.pool;
    let mut subnet_ids = pool.subnet_ids.clone();
    subnet_ids.sort();
    let taints = in_cluster::pool_taints(&pool.taints);
    let preemptible = base.preemptible && pool.spot;
    ObservedPool {
        spec: PoolSpec {
            cluster: base.cluster.clone(),
            name: pool.name.clone(),
            machine_type: pool.instance_types.join(","),
            disk_size_gb: pool.disk_gib,
            initial_node_count: base.initial_node_count,
            node_count: None,
            autoscaling: Some((0, pool.max_nodes)),
            preemptible,
            spot: pool.spot && !preemptible,
            gpu: base.gpu.clone(),
            labels: pool.labels.clone(),
            taints,
            auto_repair: true,
            max_unavailable: pool.max_unavailable,
            version: None,
            cloud: PoolCloud::EksAutoMode(AutoModePool { subnet_ids }),
        },
        status: match observed.ready {
            Some(true) => "READY",
            Some(false) => "NOT_READY",
            None => "PENDING",
        }
        .to_string(),
        // Auto Mode's nodes run the control plane's version.
        version: cluster.master_version.clone(),
        control_plane_version: Some(cluster.master_version.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::node_pool::PoolTaint;

    #[test]
    fn taints_go_in_kubernetes_spelling_and_come_back_in_the_pools() {
        assert_eq!(in_cluster::kube_effect("NO_EXECUTE"), "NoExecute");
        assert_eq!(
            in_cluster::kube_effect("PreferNoSchedule"),
            "PreferNoSchedule"
        );
        let spec = PoolSpec {
            name: "agents".into(),
            machine_type: "m6i.large".into(),
            autoscaling: Some((0, 4)),
            preemptible: true,
            taints: vec![PoolTaint {
                key: "k".into(),
                value: String::new(),
                effect: "NO_SCHEDULE".into(),
            }],
            cloud: PoolCloud::EksAutoMode(AutoModePool::default()),
            ..PoolSpec::default()
        };
        let pool = karpenter_pool(&spec);
        assert!(pool.spot, "preemptible is EKS's SPOT capacity");
        assert_eq!(pool.taints[0].value, None);
        let observed = ObservedKarpenterPool {
            pool,
            ready: Some(true),
            message: String::new(),
        };
        let back = observed_pool(&spec, &ObservedCluster::default(), &observed);
        assert_eq!(back.spec.taints, spec.taints);
        assert!(back.spec.preemptible && !back.spec.spot);
        assert_eq!(back.spec.autoscaling, Some((0, 4)));
        assert_eq!(back.status, "READY");
    }
}
