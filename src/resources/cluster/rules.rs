//! `genesis_cluster`'s rules about where the control plane is and who can
//! reach it, its namespaces and its StorageClasses: read through typed
//! views of the configuration (`framework::view`), with the schema's
//! defaults where the configuration leaves a setting out, each rule
//! waiting while what it reads is unknown.

use std::collections::BTreeMap;

use super::schema::{EKS_LOG_TYPES, LOGGING_COMPONENTS, is_private_range, schema};
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

/// What the rules of each cloud's own settings read, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CloudView {
    cloud: Field<String>,
    logging_components: Field<Vec<Field<String>>>,
    master_authorized_networks: Field<Vec<Field<NetworkView>>>,
    regional_cluster: Field<bool>,
    enable_private_endpoint: Field<bool>,
    eks: Field<EksView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct NetworkView {
    display_name: Field<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EksView {
    subnet_ids: Field<Vec<Field<String>>>,
    secrets_encryption: Field<bool>,
    kms_key_arn: Field<String>,
    endpoint_private_access: Field<bool>,
}

fn effective(config: &Value, diags: &mut Diagnostics) -> Option<ClusterView> {
    view::effective::<ClusterView>(&schema().block, config)
        .map_err(|d| diags.extend(d))
        .ok()
}

/// The settings whose values depend on the cloud: the logging
/// components each has, and EKS's own rules.
pub fn validate_cloud_settings(config: &Value, diags: &mut Diagnostics) {
    let v = match view::as_written::<CloudView>(config) {
        Ok(v) => v,
        Err(d) => return diags.extend(d),
    };
    match v.cloud.as_str() {
        Some("aws") => validate_eks(&v, diags),
        Some(_) => check_logging(&v, LOGGING_COMPONENTS, "GKE component", diags),
        // The default, once known.
        None if v.cloud.is_null() => {
            check_logging(&v, LOGGING_COMPONENTS, "GKE component", diags);
        }
        None => {}
    }
}

/// Refuses logging components the cluster's cloud does not have.
fn check_logging(v: &CloudView, allowed: &[&str], what: &str, diags: &mut Diagnostics) {
    let components = v.logging_components.known().into_iter().flatten();
    for s in components.filter_map(Field::as_str) {
        if !allowed.contains(&s) {
            diags.attribute_error(
                AttributePath::attr("logging_components"),
                format!("Not a {what}"),
                format!(
                    "{s:?} is not a {what}: use any of {}.",
                    allowed
                        .iter()
                        .map(|a| format!("{a:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
}

fn validate_eks(v: &CloudView, diags: &mut Diagnostics) {
    check_logging(v, EKS_LOG_TYPES, "EKS control-plane log type", diags);
    // EKS keeps the names in a tag, whose values allow only these.
    let networks = v.master_authorized_networks.known().into_iter().flatten();
    for (i, network) in networks.enumerate() {
        if let Some(name) = network.known().and_then(|n| n.display_name.as_str())
            && !name
                .chars()
                .all(|c| c.is_alphanumeric() || " _.:/-@".contains(c))
        {
            diags.attribute_error(
                AttributePath::attr("master_authorized_networks").index(i).join("display_name"),
                "Name not allowed on EKS",
                format!("{name:?}: on EKS, display names may hold letters, digits, spaces and _ . : / - @ (Genesis keeps them in a tag)."),
            );
        }
    }
    if v.regional_cluster.known() == Some(&false) {
        diags.attribute_error(
            AttributePath::attr("regional_cluster"),
            "EKS clusters are regional",
            "An EKS control plane always spans the region's zones: remove regional_cluster = false.",
        );
    }
    let eks = match &v.eks {
        Field::Known(eks) => eks,
        Field::Unknown => return,
        Field::Null => {
            return diags.attribute_error(
                AttributePath::attr("eks"),
                "Missing EKS settings",
                "An EKS cluster needs at least its subnets: `eks = { subnet_ids = [\"subnet-...\", \"subnet-...\"] }` (two or more, in different availability zones).",
            );
        }
    };
    if eks.subnet_ids.known().is_some_and(|s| s.len() < 2) {
        diags.attribute_error(
            AttributePath::attr("eks").join("subnet_ids"),
            "Too few subnets",
            "EKS needs subnets in at least two availability zones for the control plane's network interfaces.",
        );
    }
    if eks.secrets_encryption.known() == Some(&false) && eks.kms_key_arn.is_set() {
        diags.attribute_error(
            AttributePath::attr("eks").join("kms_key_arn"),
            "Key without encryption",
            "kms_key_arn is the key for secrets_encryption, which is false here: remove one of them.",
        );
    }
    if v.enable_private_endpoint.known() == Some(&true)
        && eks.endpoint_private_access.known() == Some(&false)
    {
        diags.attribute_error(
            AttributePath::attr("eks").join("endpoint_private_access"),
            "No endpoint left",
            "enable_private_endpoint turns the public endpoint off, so the private one must stay on: remove endpoint_private_access = false.",
        );
    }
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
    fn each_cloud_has_its_own_settings_rules() {
        let logs = |names: &[&str]| Value::List(names.iter().map(|n| Value::from(*n)).collect());
        let gke = Value::object([("logging_components", logs(&["api"]))]);
        assert_eq!(
            summaries(validate_cloud_settings, gke),
            ["Not a GKE component"],
            "the default cloud is GKE's"
        );
        let eks = |eks: Value| {
            Value::object([
                ("cloud", "aws".into()),
                ("logging_components", logs(&["api", "WORKLOADS"])),
                ("regional_cluster", false.into()),
                ("enable_private_endpoint", true.into()),
                (
                    "master_authorized_networks",
                    Value::List(vec![Value::object([
                        ("cidr_block", "10.0.0.0/8".into()),
                        ("display_name", "office #1".into()),
                    ])]),
                ),
                ("eks", eks),
            ])
        };
        assert_eq!(
            summaries(validate_cloud_settings, eks(Value::Null)),
            [
                "Not a EKS control-plane log type",
                "Name not allowed on EKS",
                "EKS clusters are regional",
                "Missing EKS settings"
            ]
        );
        let settings = Value::object([
            ("subnet_ids", logs(&["subnet-a"])),
            ("secrets_encryption", false.into()),
            ("kms_key_arn", "arn:aws:kms:k".into()),
            ("endpoint_private_access", false.into()),
        ]);
        let found = summaries(validate_cloud_settings, eks(settings));
        assert_eq!(
            found[3..],
            [
                "Too few subnets",
                "Key without encryption",
                "No endpoint left"
            ]
        );
        // An unknown cloud waits.
        let unknown = Value::object([
            ("cloud", Value::Unknown),
            ("logging_components", logs(&["api"])),
        ]);
        assert!(summaries(validate_cloud_settings, unknown).is_empty());
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
