//! A pool on a GKE Autopilot cluster is a custom ComputeClass
//! (`kube::compute_classes`): GKE refuses node pools there, and makes
//! nodes of a class for the pods that select it. This back end maps the
//! pool's spec onto the class through the cluster's Kubernetes API, and
//! says at plan time which settings a class cannot honour.

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::config::PoolConfig;
use super::in_cluster::{self, InCluster, InClusterKind};
use super::schema::cloud_defaults;
use crate::cloud::cluster::{ClusterAddress, ObservedCluster};
use crate::cloud::gpus::PoolGpu;
use crate::cloud::node_pool::{GkePool, ObservedPool, PoolCloud, PoolSpec};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::KubeError;
use crate::kube::compute_classes::{self, ClassGpu, ComputeClass, ObservedComputeClass};

/// What Autopilot's rules read of a pool's configuration, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AutopilotView {
    kubernetes_version: Field<String>,
    enable_autoscaling: Field<bool>,
    node_count: Field<i64>,
    min_nodes: Field<i64>,
    max_nodes: Field<i64>,
    initial_node_count: Field<i64>,
    auto_repair: Field<bool>,
    auto_upgrade: Field<bool>,
    max_surge: Field<i64>,
    max_unavailable: Field<i64>,
    gpu: Field<GpuView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct GpuView {
    driver: Field<String>,
}

/// Settings a ComputeClass cannot honour, checked once the pool is known
/// to be one.
///
/// `config` is the configuration; at apply, when the cluster's mode was
/// not known at plan time, it is the plan (`planned`), whose defaults are
/// filled in, so that settings written as their defaults cannot be told
/// from them.
pub(super) fn refuse_unsupported(config: &Value, planned: bool, diags: &mut Diagnostics) {
    let Ok(v) = view::as_written::<AutopilotView>(config) else {
        return;
    };
    let written = |f: &Field<i64>| !planned && f.is_set();
    let at = AttributePath::attr;
    let refusals = vec![
        (
            at("kubernetes_version"),
            v.kubernetes_version.is_set(),
            "GKE Autopilot's nodes follow the control plane's version: remove kubernetes_version and set the cluster's.",
        ),
        (
            at("enable_autoscaling"),
            v.enable_autoscaling.known() == Some(&false),
            "On GKE Autopilot nodes come and go with the pods that select the pool; there are no fixed-size pools: remove enable_autoscaling = false.",
        ),
        (
            at("node_count"),
            v.node_count.is_set(),
            "On GKE Autopilot nodes come and go with the pods that select the pool; there are no fixed-size pools: remove node_count.",
        ),
        (
            at("min_nodes"),
            v.min_nodes.known().is_some_and(|n| *n > 0),
            "GKE Autopilot keeps no minimum of nodes, it makes them for pending pods: remove min_nodes.",
        ),
        (
            at("max_nodes"),
            written(&v.max_nodes),
            "A ComputeClass has no node limit: Autopilot makes as many nodes as the pods that select the pool need, within the project's quotas. Remove max_nodes (or bound the workloads with their replicas and autoscaling).",
        ),
        (
            at("initial_node_count"),
            written(&v.initial_node_count),
            "GKE Autopilot makes no node before a pod needs one: remove initial_node_count.",
        ),
        (
            at("auto_repair"),
            v.auto_repair.known() == Some(&false),
            "GKE Autopilot always repairs its nodes: remove auto_repair = false.",
        ),
        (
            at("auto_upgrade"),
            v.auto_upgrade.known() == Some(&false),
            "GKE Autopilot always upgrades its nodes with the control plane: remove auto_upgrade = false.",
        ),
        (
            at("max_surge"),
            written(&v.max_surge),
            "GKE Autopilot upgrades its nodes its own way: remove max_surge.",
        ),
        (
            at("max_unavailable"),
            written(&v.max_unavailable),
            "GKE Autopilot upgrades its nodes its own way: remove max_unavailable.",
        ),
        (
            at("gpu").join("driver"),
            v.gpu
                .known()
                .is_some_and(|g| g.driver.as_str() == Some("INSTALLATION_DISABLED")),
            "GKE Autopilot installs the GPU driver itself: use \"DEFAULT\" or \"LATEST\", or leave driver out.",
        ),
    ];
    in_cluster::refuse(diags, "GKE Autopilot", refusals);
}

/// GKE's custom ComputeClasses.
pub(super) struct ComputeClasses;

/// The back end of ComputeClass pools.
pub(super) type ComputeClassPools<'a> = InCluster<'a, ComputeClasses>;

#[async_trait]
impl InClusterKind for ComputeClasses {
    type Observed = ObservedComputeClass;

    async fn apply(
        &self,
        client: &kube::Client,
        spec: &PoolSpec,
        stop: &CancellationToken,
    ) -> Result<(), KubeError> {
        compute_classes::apply(client, &compute_class(spec), stop).await
    }

    async fn read(
        &self,
        client: &kube::Client,
        name: &str,
        stop: &CancellationToken,
    ) -> Result<Option<ObservedComputeClass>, KubeError> {
        compute_classes::read(client, name, stop).await
    }

    async fn wait_ready(
        &self,
        client: &kube::Client,
        name: &str,
        within: Duration,
        stop: &CancellationToken,
    ) -> Result<ObservedComputeClass, KubeError> {
        compute_classes::wait_healthy(client, name, within, stop).await
    }

    async fn list(
        &self,
        client: &kube::Client,
        stop: &CancellationToken,
    ) -> Result<Vec<String>, KubeError> {
        compute_classes::list(client, stop).await
    }

    async fn delete(
        &self,
        client: &kube::Client,
        name: &str,
        within: Duration,
        stop: &CancellationToken,
    ) -> Result<(), KubeError> {
        compute_classes::delete(client, name, within, stop).await
    }

    fn unheld(&self, at: &ClusterAddress, name: &str) -> PoolSpec {
        unheld(at, name)
    }

    fn observed_pool(
        &self,
        base: &PoolSpec,
        cluster: &ObservedCluster,
        observed: &ObservedComputeClass,
    ) -> ObservedPool {
        observed_pool(base, cluster, observed)
    }
}

/// What a read (an import) cannot learn from a class: the settings it does
/// not hold, at the values the plan gives them.
fn unheld(at: &ClusterAddress, name: &str) -> PoolSpec {
    let defaults = PoolConfig::default();
    let gke_default = |name: &str| {
        cloud_defaults()
            .into_iter()
            .find(|(n, _, _)| *n == name)
            .and_then(|(_, gke, _)| gke.as_i64())
            .unwrap_or_default()
    };
    PoolSpec {
        cluster: at.clone(),
        name: name.to_string(),
        initial_node_count: defaults.initial_node_count,
        autoscaling: Some((defaults.min_nodes, defaults.max_nodes)),
        max_unavailable: gke_default("max_unavailable"),
        cloud: PoolCloud::GkeAutopilot(GkePool {
            max_surge: gke_default("max_surge"),
            ..GkePool::default()
        }),
        ..PoolSpec::default()
    }
}

fn compute_class(spec: &PoolSpec) -> ComputeClass {
    let gke = spec.gke().cloned().unwrap_or_default();
    ComputeClass {
        name: spec.name.clone(),
        labels: spec.labels.clone(),
        taints: in_cluster::kube_taints(spec),
        machine_type: spec.machine_type.clone(),
        // A class has Spot VMs, which replaced preemptible ones.
        spot: spec.spot || spec.preemptible,
        gpu: spec.gpu.as_ref().map(|g| ClassGpu {
            gpu_type: g.gpu_type.clone(),
            count: g.count,
            driver_version: g.driver.as_deref().map(str::to_lowercase),
        }),
        disk_gb: spec.disk_size_gb,
        disk_type: gke.disk_type,
        image_type: gke.image_type.to_lowercase(),
        service_account: gke.service_account,
        zones: gke.node_locations,
    }
}

/// The pool as the class holds it. What it does not hold (the sizes and
/// upgrade settings the configuration has, whether its Spot VMs were asked
/// for as preemptible) comes from `base`.
fn observed_pool(
    base: &PoolSpec,
    cluster: &ObservedCluster,
    observed: &ObservedComputeClass,
) -> ObservedPool {
    let class = &observed.class;
    let preemptible = base.preemptible && class.spot;
    let base_gke = base.gke().cloned().unwrap_or_default();
    let mut zones = class.zones.clone();
    zones.sort();
    ObservedPool {
        spec: PoolSpec {
            cluster: base.cluster.clone(),
            name: class.name.clone(),
            machine_type: class.machine_type.clone(),
            disk_size_gb: class.disk_gb,
            initial_node_count: base.initial_node_count,
            node_count: None,
            autoscaling: base.autoscaling,
            preemptible,
            spot: class.spot && !preemptible,
            gpu: class.gpu.as_ref().map(|g| PoolGpu {
                gpu_type: g.gpu_type.clone(),
                count: g.count,
                driver: g.driver_version.as_deref().map(str::to_uppercase),
            }),
            labels: class.labels.clone(),
            taints: in_cluster::pool_taints(&class.taints),
            auto_repair: true,
            max_unavailable: base.max_unavailable,
            version: None,
            cloud: PoolCloud::GkeAutopilot(GkePool {
                disk_type: class.disk_type.clone(),
                image_type: class.image_type.to_uppercase(),
                node_locations: zones,
                auto_upgrade: true,
                max_surge: base_gke.max_surge,
                service_account: class.service_account.clone(),
            }),
        },
        status: match observed.healthy {
            Some(true) => "READY",
            Some(false) => "ERROR",
            None => "PROVISIONING",
        }
        .to_string(),
        // Autopilot's nodes run the control plane's version.
        version: cluster.master_version.clone(),
        control_plane_version: Some(cluster.master_version.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::node_pool::PoolTaint;

    #[test]
    fn a_pool_maps_onto_a_class_and_back() {
        let spec = PoolSpec {
            name: "batch".into(),
            machine_type: "n2-standard-8".into(),
            disk_size_gb: 200,
            autoscaling: Some((0, 3)),
            preemptible: true,
            gpu: Some(PoolGpu {
                gpu_type: "nvidia-l4".into(),
                count: 1,
                driver: Some("LATEST".into()),
            }),
            taints: vec![PoolTaint {
                key: "genesis.io/pool-type".into(),
                value: "spot".into(),
                effect: "NO_SCHEDULE".into(),
            }],
            auto_repair: true,
            max_unavailable: 0,
            cloud: PoolCloud::GkeAutopilot(GkePool {
                disk_type: "pd-ssd".into(),
                image_type: "COS_CONTAINERD".into(),
                node_locations: vec!["us-central1-a".into()],
                auto_upgrade: true,
                max_surge: 1,
                service_account: None,
            }),
            ..PoolSpec::default()
        };
        let class = compute_class(&spec);
        assert!(class.spot, "preemptible is a Spot class");
        assert_eq!(class.image_type, "cos_containerd");
        assert_eq!(class.taints[0].effect, "NoSchedule");
        let observed = ObservedComputeClass {
            class,
            healthy: Some(true),
            message: String::new(),
        };
        let back = observed_pool(&spec, &ObservedCluster::default(), &observed);
        assert_eq!(back.spec, spec);
        assert_eq!(back.status, "READY");
    }

    #[test]
    fn settings_a_class_cannot_hold_are_refused_at_their_attributes() {
        let config = Value::object([
            ("min_nodes", 2.into()),
            ("max_nodes", 10.into()),
            ("auto_upgrade", false.into()),
        ]);
        let mut diags = Diagnostics::new();
        refuse_unsupported(&config, false, &mut diags);
        let refused: Vec<String> = diags.iter().map(|d| format!("{:?}", d.path)).collect();
        assert_eq!(refused.len(), 3, "{refused:?}");
        // At apply the plan's defaults are not the user's.
        let mut diags = Diagnostics::new();
        refuse_unsupported(&Value::object([("max_nodes", 3.into())]), true, &mut diags);
        assert!(!diags.has_errors());
    }
}
