//! `genesis_cluster`'s rules about where the control plane is and who can
//! reach it, its namespaces and its StorageClasses: read through typed
//! views of the configuration (`framework::view`), with the schema's
//! defaults where the configuration leaves a setting out, each rule
//! waiting while what it reads is unknown.

use std::collections::BTreeMap;

use super::schema::{is_private_range, schema};
use super::storage_classes::ATTRIBUTE as STORAGE_CLASSES;
use crate::cloud::disks::{self, DiskSettings};
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;

/// What the rules read, with the schema's defaults.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ClusterView {
    cloud: Field<String>,
    zone: Field<String>,
    regional_cluster: Field<bool>,
    enable_private_cluster: Field<bool>,
    enable_private_endpoint: Field<bool>,
    master_ipv4_cidr_block: Field<String>,
    storage_classes: Field<BTreeMap<String, Field<StorageClassView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct StorageClassView {
    r#type: Field<String>,
    default: Field<bool>,
    iops: Field<f64>,
    throughput: Field<f64>,
}

fn effective(config: &Value, diags: &mut Diagnostics) -> Option<ClusterView> {
    view::effective::<ClusterView>(&schema().block, config)
        .map_err(|d| diags.extend(d))
        .ok()
}

/// Zonal or regional, private or public: settings that only make sense
/// together.
pub fn validate_control_plane(config: &Value, diags: &mut Diagnostics) {
    let Some(v) = effective(config, diags) else {
        return;
    };
    if v.regional_cluster.known() == Some(&true) && v.zone.is_set() {
        diags.attribute_error(
            AttributePath::attr("zone"),
            "Zone set on a regional cluster",
            "`zone` makes a zonal cluster, but regional_cluster is true (the default). Set regional_cluster = false for a zonal cluster, or remove zone.",
        );
    }
    if v.enable_private_cluster.known() == Some(&false) {
        if v.enable_private_endpoint.known() == Some(&true) {
            diags.attribute_error(
                AttributePath::attr("enable_private_endpoint"),
                "Private endpoint needs a private cluster",
                "enable_private_endpoint requires enable_private_cluster = true.",
            );
        }
        if v.master_ipv4_cidr_block.is_set() {
            diags.attribute_error(
                AttributePath::attr("master_ipv4_cidr_block"),
                "Control-plane range needs a private cluster",
                "master_ipv4_cidr_block applies only to private clusters: set enable_private_cluster = true or remove it.",
            );
        }
    }
    if let Some(cidr) = v.master_ipv4_cidr_block.as_str()
        && validators::parse_cidr(cidr).is_ok()
        && !is_private_range(cidr)
    {
        diags.attribute_error(
            AttributePath::attr("master_ipv4_cidr_block"),
            "Control-plane range must be private",
            format!(
                "{cidr:?} is not in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)."
            ),
        );
    }
}

/// StorageClass names, one default at most, and disk settings the cloud's
/// disk type has.
pub fn validate_storage_classes(config: &Value, diags: &mut Diagnostics) {
    let Some(v) = effective(config, diags) else {
        return;
    };
    let at = |name: &str| AttributePath::attr(STORAGE_CLASSES).key(name);
    let disks = v.cloud.as_str().and_then(|c| disks::of_cluster(c, false));
    let mut defaults = Vec::new();
    for (name, class) in v.storage_classes.known().into_iter().flatten() {
        if let Err(e) = validators::dns1123_subdomain(&Value::from(name.as_str())) {
            diags.attribute_error(at(name), "Invalid StorageClass name", e);
        }
        let Some(class) = class.known() else {
            continue;
        };
        if class.default.known() == Some(&true) {
            defaults.push(name.clone());
        }
        let (Some(disks), Some(disk_type)) = (disks, class.r#type.as_str()) else {
            continue;
        };
        let whole = |f: &Field<f64>| f.known().map(|n| *n as i64);
        let disk = DiskSettings {
            disk_type: disk_type.to_string(),
            iops: whole(&class.iops),
            throughput: whole(&class.throughput),
        };
        for (attribute, problem) in disks.problems(&disk) {
            diags.attribute_error(
                at(name).join(attribute),
                "Disk setting not available",
                problem,
            );
        }
    }
    if defaults.len() > 1 {
        diags.attribute_error(
            at(&defaults[1]).join("default"),
            "More than one default StorageClass",
            format!(
                "{} are all marked default; claims that name no class need one default. Keep default = true on one.",
                defaults.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summaries(rule: fn(&Value, &mut Diagnostics), config: Value) -> Vec<String> {
        let mut diags = Diagnostics::new();
        rule(&config, &mut diags);
        diags.iter().map(|d| d.summary.clone()).collect()
    }

    #[test]
    fn defaults_come_from_the_schema_and_unknowns_wait() {
        // regional_cluster left out is the schema's true.
        let zonal = Value::object([("name", "c".into()), ("zone", "us-central1-a".into())]);
        assert_eq!(
            summaries(validate_control_plane, zonal),
            ["Zone set on a regional cluster"]
        );
        let unknown = Value::object([
            ("zone", "us-central1-a".into()),
            ("regional_cluster", Value::Unknown),
        ]);
        assert!(summaries(validate_control_plane, unknown).is_empty());
        let public = Value::object([("master_ipv4_cidr_block", "8.8.8.0/28".into())]);
        assert_eq!(
            summaries(validate_control_plane, public),
            ["Control-plane range must be private"]
        );
    }

    #[test]
    fn one_default_storage_class_at_most() {
        let class =
            |default: bool| Value::object([("type", "pd-ssd".into()), ("default", default.into())]);
        let config = Value::object([(
            STORAGE_CLASSES,
            Value::Map(
                [
                    ("a".to_string(), class(true)),
                    ("b".to_string(), class(true)),
                ]
                .into(),
            ),
        )]);
        assert_eq!(
            summaries(validate_storage_classes, config),
            ["More than one default StorageClass"]
        );
    }
}
