//! Node pools of GKE Autopilot: a custom ComputeClass (`cloud.google.com/v1`,
//! which GKE serves in every cluster since 1.30.3). Autopilot makes nodes
//! of the class for pending pods that select it
//! (`cloud.google.com/compute-class: NAME`) and removes them once empty;
//! there is no minimum size and no node limit in a class.
//!
//! A class holds one priority, the pool's machine: with
//! `whenUnsatisfiable: DoNotScaleUp` GKE never falls back to other
//! hardware, so the pods of the pool run on the machine type it names.
//!
//! Labelled as Genesis's own; one of the same name that Genesis did not
//! make is never taken over nor deleted.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;
use kube::api::{Api, DynamicObject};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use super::node_pools::{metadata, resource};
use super::{KubeError, owned};

/// The node label (and pod selector) of a class's nodes.
pub const SELECTOR: &str = "cloud.google.com/compute-class";

/// A pool, in GKE's ComputeClass terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComputeClass {
    pub name: String,
    /// The nodes' labels (what workloads select besides the class).
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub machine_type: String,
    /// Spot VMs rather than standard ones.
    pub spot: bool,
    pub gpu: Option<ClassGpu>,
    /// The boot disk, in GB, and its type (`pd-balanced`).
    pub disk_gb: i64,
    pub disk_type: String,
    /// GKE's node image in the class's spelling (`cos_containerd`).
    pub image_type: String,
    /// The nodes' Google service account; the cluster's default when
    /// `None`.
    pub service_account: Option<String>,
    /// The zones nodes are made in; the cluster's when empty.
    pub zones: Vec<String>,
}

/// GPUs on every node of the class.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassGpu {
    /// `nvidia-l4`, ...
    pub gpu_type: String,
    pub count: i64,
    /// `default` or `latest`; GKE's default when `None`.
    pub driver_version: Option<String>,
}

/// A class as read back, with GKE's verdict on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedComputeClass {
    pub class: ComputeClass,
    /// The class's `Health` condition: `None` before GKE checked it.
    pub healthy: Option<bool>,
    /// Why it is not healthy, as GKE says.
    pub message: String,
}

fn api(client: &kube::Client) -> Api<DynamicObject> {
    Api::all_with(
        client.clone(),
        &resource("cloud.google.com", "ComputeClass", "computeclasses"),
    )
}

/// The ComputeClass manifest.
pub fn manifest(class: &ComputeClass) -> Json {
    let mut priority = json!({
        "machineType": class.machine_type,
        "spot": class.spot,
        "storage": {"bootDiskSize": class.disk_gb, "bootDiskType": class.disk_type},
    });
    if let Some(gpu) = &class.gpu {
        priority["gpu"] = json!({"type": gpu.gpu_type, "count": gpu.count});
        if let Some(driver) = &gpu.driver_version {
            priority["gpu"]["driverVersion"] = json!(driver);
        }
    }
    let mut node_pool_config = json!({"imageType": class.image_type});
    if !class.labels.is_empty() {
        node_pool_config["nodeLabels"] = json!(class.labels);
    }
    if !class.taints.is_empty() {
        node_pool_config["taints"] = json!(class.taints);
    }
    if let Some(account) = &class.service_account {
        node_pool_config["serviceAccount"] = json!(account);
    }
    let mut spec = json!({
        "priorities": [priority],
        "whenUnsatisfiable": "DoNotScaleUp",
        "nodePoolAutoCreation": {"enabled": true},
        "nodePoolConfig": node_pool_config,
    });
    if !class.zones.is_empty() {
        spec["priorityDefaults"] = json!({"location": {"zones": class.zones}});
    }
    json!({
        "apiVersion": "cloud.google.com/v1",
        "kind": "ComputeClass",
        "metadata": metadata(&class.name),
        "spec": spec,
    })
}

/// The class a manifest (as written or read back) describes.
pub fn decode(object: &Json) -> ObservedComputeClass {
    let spec = &object["spec"];
    let priority = &spec["priorities"][0];
    let config = &spec["nodePoolConfig"];
    let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
    let gpu = priority["gpu"].as_object().map(|g| ClassGpu {
        gpu_type: g.get("type").map(text).unwrap_or_default(),
        count: g.get("count").and_then(Json::as_i64).unwrap_or(1),
        driver_version: g
            .get("driverVersion")
            .and_then(Json::as_str)
            .map(str::to_string),
    });
    let health = object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Health"));
    ObservedComputeClass {
        class: ComputeClass {
            name: text(&object["metadata"]["name"]),
            labels: serde_json::from_value(config["nodeLabels"].clone()).unwrap_or_default(),
            taints: serde_json::from_value(config["taints"].clone()).unwrap_or_default(),
            machine_type: text(&priority["machineType"]),
            spot: priority["spot"].as_bool().unwrap_or_default(),
            gpu,
            disk_gb: priority["storage"]["bootDiskSize"]
                .as_i64()
                .unwrap_or_default(),
            disk_type: text(&priority["storage"]["bootDiskType"]),
            image_type: text(&config["imageType"]),
            service_account: config["serviceAccount"].as_str().map(str::to_string),
            zones: serde_json::from_value(spec["priorityDefaults"]["location"]["zones"].clone())
                .unwrap_or_default(),
        },
        healthy: health.map(|c| c["status"] == "True"),
        message: health
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_string(),
    }
}

const OTHERS: &str = "compute classes others manage (GKE's built-in ones among them)";

/// Applies the class. Refused when its name is taken by a class Genesis
/// did not make.
pub async fn apply(
    client: &kube::Client,
    class: &ComputeClass,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let classes = api(client);
    owned::apply_all(
        &[(&classes, "ComputeClass", manifest(class))],
        &class.name,
        OTHERS,
        stop,
    )
    .await
}

/// The class named `name`: `None` when it is gone or is not Genesis's.
pub async fn read(
    client: &kube::Client,
    name: &str,
    stop: &CancellationToken,
) -> Result<Option<ObservedComputeClass>, KubeError> {
    Ok(owned::get(&api(client), "ComputeClass", name, stop)
        .await?
        .map(|o| decode(&o)))
}

/// The names of the classes Genesis made, sorted.
pub async fn list(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Vec<String>, KubeError> {
    owned::names(&api(client), "ComputeClasses", stop).await
}

/// Waits until GKE reports the class healthy, for at most `within`.
pub async fn wait_healthy(
    client: &kube::Client,
    name: &str,
    within: Duration,
    stop: &CancellationToken,
) -> Result<ObservedComputeClass, KubeError> {
    owned::wait_until(
        "ComputeClass",
        name,
        within,
        stop,
        || read(client, name, stop),
        |o: &ObservedComputeClass| match o.healthy {
            Some(true) => Ok(()),
            _ if o.message.is_empty() => Err(" (GKE has not reported it healthy)".into()),
            _ => Err(format!(": {}", o.message)),
        },
    )
    .await
}

/// Deletes the class and waits until it is gone, for at most `within`.
/// A class that is not Genesis's is left alone.
pub async fn delete(
    client: &kube::Client,
    name: &str,
    within: Duration,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    owned::delete_in_order(&[(&api(client), "ComputeClass")], name, within, "", stop).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> ComputeClass {
        ComputeClass {
            name: "batch".into(),
            labels: [("genesis.io/node-pool".to_string(), "batch".to_string())].into(),
            taints: vec![Taint {
                key: "genesis.io/pool-type".into(),
                value: Some("spot".into()),
                effect: "NoSchedule".into(),
                time_added: None,
            }],
            machine_type: "n2-standard-8".into(),
            spot: true,
            gpu: Some(ClassGpu {
                gpu_type: "nvidia-l4".into(),
                count: 1,
                driver_version: Some("latest".into()),
            }),
            disk_gb: 200,
            disk_type: "pd-ssd".into(),
            image_type: "cos_containerd".into(),
            service_account: Some("nodes@p.iam.gserviceaccount.com".into()),
            zones: vec!["us-central1-a".into()],
        }
    }

    #[test]
    fn a_class_reads_back_as_written() {
        let class = batch();
        let mut written = manifest(&class);
        written["status"] = json!({"conditions": [{"type": "Health", "status": "True"}]});
        let observed = decode(&written);
        assert_eq!(observed.class, class);
        assert_eq!(observed.healthy, Some(true));
        let bare = ComputeClass {
            gpu: None,
            service_account: None,
            zones: Vec::new(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            ..batch()
        };
        assert_eq!(decode(&manifest(&bare)).class, bare);
        assert_eq!(decode(&manifest(&bare)).healthy, None);
    }

    #[test]
    fn the_class_never_falls_back_to_other_machines() {
        let m = manifest(&batch());
        assert_eq!(m["spec"]["whenUnsatisfiable"], "DoNotScaleUp");
        assert_eq!(m["spec"]["priorities"].as_array().map(Vec::len), Some(1));
        assert_eq!(m["spec"]["priorities"][0]["machineType"], "n2-standard-8");
        assert_eq!(
            m["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "genesis"
        );
    }
}
