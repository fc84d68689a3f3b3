//! `genesis_node_pool`'s validation: rules over a typed view of the
//! configuration as written (`framework::view`), each waiting while the
//! values it reads are unknown.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;

use super::super::cluster::ClusterName;
use super::super::common::minor_version;
use super::model::is_label_key;
use super::schema::{EKS_AMI_TYPES, GKE_ONLY, cloud_defaults, normalize_effect};
use crate::cloud::gpus;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::value::Value;
use crate::framework::view;

/// What the rules read of a pool's configuration (or plan).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PoolView {
    cluster: Field<String>,
    eks: Field<IgnoredAny>,
    machine_type: Field<String>,
    image_type: Field<String>,
    enable_autoscaling: Field<bool>,
    node_count: Field<f64>,
    min_nodes: Field<f64>,
    max_nodes: Field<f64>,
    preemptible: Field<bool>,
    spot: Field<bool>,
    node_pool_type: Field<String>,
    kubernetes_version: Field<String>,
    taints: Field<Vec<Field<TaintView>>>,
    labels: Field<BTreeMap<String, Field<String>>>,
    gpu: Field<GpuView>,
    max_unavailable: Field<f64>,
    // GKE_ONLY's settings, by name.
    disk_type: Field<IgnoredAny>,
    node_locations: Field<IgnoredAny>,
    auto_upgrade: Field<IgnoredAny>,
    max_surge: Field<IgnoredAny>,
    service_account: Field<IgnoredAny>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct TaintView {
    key: Field<String>,
    effect: Field<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct GpuView {
    r#type: Field<String>,
    count: Field<f64>,
    driver: Field<String>,
}

impl PoolView {
    /// Whether the pool is an EKS node group: from its cluster's ID, else
    /// from an `eks` block; `None` while neither says.
    fn on_eks(&self) -> Option<bool> {
        match self.cluster.as_str().and_then(ClusterName::parse) {
            Some(ClusterName::Aws { .. }) => Some(true),
            Some(ClusterName::Gcp { .. }) => Some(false),
            None if self.eks.is_set() => Some(true),
            None => None,
        }
    }

    /// The settings only GKE pools have, with whether each is written.
    fn gke_only(&self) -> [(&'static str, bool); 5] {
        let settings = [
            ("disk_type", self.disk_type.is_set()),
            ("node_locations", self.node_locations.is_set()),
            ("auto_upgrade", self.auto_upgrade.is_set()),
            ("max_surge", self.max_surge.is_set()),
            ("service_account", self.service_account.is_set()),
        ];
        debug_assert!(settings.iter().map(|(n, _)| n).eq(GKE_ONLY.iter()));
        settings
    }
}

/// The rules of `validate`.
pub(super) fn validate(config: &Value, diags: &mut Diagnostics) {
    let v = match view::as_written::<PoolView>(config) {
        Ok(v) => v,
        Err(d) => return diags.extend(d),
    };
    gpu_rules(&v, diags);
    match v.on_eks() {
        Some(true) => eks_rules(&v, diags),
        Some(false) if v.eks.is_set() => diags.attribute_error(
            AttributePath::attr("eks"),
            "Setting does not apply to this cloud",
            "`eks` applies to node groups of EKS clusters; this pool's cluster is a GKE cluster. Remove it.",
        ),
        _ => {}
    }
    if let (Some(min), Some(max)) = (v.min_nodes.known(), v.max_nodes.known())
        && min > max
    {
        diags.attribute_error(
            AttributePath::attr("min_nodes"),
            "min_nodes is greater than max_nodes",
            format!("min_nodes ({min}) must not be greater than max_nodes ({max})."),
        );
    }
    if v.enable_autoscaling.or(true) == Some(true) && v.node_count.is_set() {
        diags.attribute_error(
            AttributePath::attr("node_count"),
            "node_count conflicts with autoscaling",
            "With enable_autoscaling on, the autoscaler sizes the pool: remove node_count, or set enable_autoscaling = false for a fixed size.",
        );
    }
    let (preemptible, spot) = (v.preemptible.known(), v.spot.known());
    if preemptible == Some(&true) && spot == Some(&true) {
        diags.attribute_error(
            AttributePath::attr("spot"),
            "preemptible and spot are exclusive",
            "A pool uses either preemptible VMs or Spot VMs: set only one of them.",
        );
    }
    if v.node_pool_type.as_str() == Some("spot") {
        if preemptible == Some(&true) {
            diags.attribute_error(
                AttributePath::attr("preemptible"),
                "Spot pools do not use preemptible VMs",
                "node_pool_type = \"spot\" uses Spot VMs: remove preemptible = true.",
            );
        }
        if spot == Some(&false) {
            diags.attribute_error(
                AttributePath::attr("spot"),
                "Spot pool without Spot VMs",
                "node_pool_type = \"spot\" needs spot = true: remove spot = false or change node_pool_type.",
            );
        }
    }
    if let Some(version) = v.kubernetes_version.as_str()
        && minor_version(version).is_none()
    {
        diags.attribute_error(
            AttributePath::attr("kubernetes_version"),
            "Invalid Kubernetes version",
            format!("{version:?} is not a Kubernetes version: write MAJOR.MINOR, such as \"1.33\" (or a full version the cloud offers)."),
        );
    }
    taint_rules(&v, diags);
    for key in v.labels.known().into_iter().flat_map(BTreeMap::keys) {
        if !is_label_key(key) {
            diags.attribute_error(
                AttributePath::attr("labels").key(key),
                "Invalid label key",
                format!("{key:?} is not a valid Kubernetes label key."),
            );
        } else if key.starts_with("genesis.io/") {
            diags.attribute_error(
                AttributePath::attr("labels").key(key),
                "Reserved label key",
                format!("{key:?} is set by Genesis from the pool's name and types: remove it."),
            );
        }
    }
}

fn taint_rules(v: &PoolView, diags: &mut Diagnostics) {
    let mut seen = Vec::new();
    let taints = v.taints.known().into_iter().flatten().enumerate();
    for (i, taint) in taints {
        let Some(taint) = taint.known() else {
            continue;
        };
        let (Some(key), Some(effect)) = (taint.key.as_str(), taint.effect.as_str()) else {
            continue;
        };
        if !is_label_key(key) {
            diags.attribute_error(
                AttributePath::attr("taints").index(i).join("key"),
                "Invalid taint key",
                format!("{key:?} is not a valid Kubernetes key: use an optional DNS prefix and a name of letters, digits, '-', '_' and '.', e.g. \"example.com/dedicated\"."),
            );
        }
        let effect = normalize_effect(effect);
        if seen.contains(&(key, effect)) {
            diags.attribute_error(
                AttributePath::attr("taints").index(i),
                "Duplicate taint",
                format!("A taint with key {key:?} and this effect is listed twice: list it once."),
            );
        }
        seen.push((key, effect));
    }
}

/// GPUs the machine type can have, checked once the cloud and the
/// settings are known (left out, the machine type is the cloud's default).
/// Run on the configuration, and again on the plan, whose cloud may only
/// then be known.
pub(super) fn validate_gpu(value: &Value, diags: &mut Diagnostics) {
    match view::as_written::<PoolView>(value) {
        Ok(v) => gpu_rules(&v, diags),
        Err(d) => diags.extend(d),
    }
}

fn gpu_rules(v: &PoolView, diags: &mut Diagnostics) {
    let Some(gpu) = v.gpu.known() else {
        return;
    };
    let (Some(eks), Some(gpu_type)) = (v.on_eks(), gpu.r#type.as_str()) else {
        return;
    };
    // A count that is no whole number is the schema's to refuse.
    let count = match gpu.count.or(1.0) {
        Some(n) if n.fract() == 0.0 => n as i64,
        _ => return,
    };
    let [(_, gke_machine, eks_machine), ..] = cloud_defaults();
    let default_machine = if eks { eks_machine } else { gke_machine };
    let machine = match &v.machine_type {
        Field::Known(m) => m.clone(),
        Field::Null => default_machine.as_str().unwrap_or_default().to_string(),
        Field::Unknown => return,
    };
    let wanted = gpus::PoolGpu {
        gpu_type: gpu_type.to_string(),
        count,
        driver: gpu.driver.known().cloned(),
    };
    let image = v.image_type.as_str();
    for (attribute, problem) in gpus::of_cloud(eks).problems(&machine, image, &wanted) {
        let at = match attribute.split_once('.') {
            Some((object, field)) => AttributePath::attr(object).join(field),
            None => AttributePath::attr(attribute),
        };
        diags.attribute_error(at, "GPUs that the nodes cannot have", problem);
    }
}

fn eks_rules(v: &PoolView, diags: &mut Diagnostics) {
    for (name, written) in v.gke_only() {
        if written {
            diags.attribute_error(
                AttributePath::attr(name),
                "Setting does not apply to this cloud",
                format!("`{name}` applies to GKE node pools; this pool's cluster is an EKS cluster. Remove it."),
            );
        }
    }
    if let Some(image) = v.image_type.as_str()
        && !EKS_AMI_TYPES.contains(&image)
    {
        diags.attribute_error(
            AttributePath::attr("image_type"),
            "Not an EKS AMI type",
            format!(
                "{image:?} is not an AMI type of EKS managed node groups: use one of {}.",
                EKS_AMI_TYPES.join(", ")
            ),
        );
    }
    if v.max_unavailable.known() == Some(&0.0) {
        diags.attribute_error(
            AttributePath::attr("max_unavailable"),
            "EKS needs at least one",
            "EKS node groups update at least one node at a time: set max_unavailable between 1 and 100.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(config: Value) -> Vec<String> {
        let mut diags = Diagnostics::new();
        validate(&config, &mut diags);
        diags.iter().map(|d| d.summary.clone()).collect()
    }

    #[test]
    fn rules_read_what_is_written_and_wait_for_unknowns() {
        let gke = || {
            Value::object([
                ("cluster", "projects/p/locations/l/clusters/c".into()),
                ("min_nodes", 3.into()),
                ("max_nodes", 2.into()),
                ("node_count", 2.into()),
            ])
        };
        assert_eq!(
            errors(gke()),
            [
                "min_nodes is greater than max_nodes",
                "node_count conflicts with autoscaling"
            ]
        );
        let mut unknown = gke();
        unknown.set_attr("max_nodes", Value::Unknown);
        unknown.set_attr("enable_autoscaling", Value::Unknown);
        assert!(errors(unknown).is_empty(), "rules wait for unknown values");
        let mut eks = Value::object([
            ("cluster", "arn:aws:eks:us-east-1:1:cluster/c".into()),
            ("max_surge", 2.into()),
            ("max_unavailable", 0.into()),
        ]);
        assert_eq!(
            errors(eks.clone()),
            [
                "Setting does not apply to this cloud",
                "EKS needs at least one"
            ]
        );
        eks.set_attr("taints", Value::Unknown);
        eks.set_attr("labels", Value::Unknown);
        assert_eq!(errors(eks).len(), 2);
    }
}
