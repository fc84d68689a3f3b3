//! The disks behind the cluster's volumes: a class a `genesis_cluster`
//! defines (`storage_classes`), in the terms of each cloud's CSI driver.
//! `gcp/disks.rs` and `aws/disks.rs` implement `Disks`.

use std::collections::BTreeMap;

/// What a class asks of the cloud's disks, shared by both clouds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskSettings {
    /// The cloud's disk type: `pd-ssd`, `hyperdisk-balanced`, `gp3`, `io2`.
    pub disk_type: String,
    /// Provisioned IOPS, where the type takes them.
    pub iops: Option<i64>,
    /// Provisioned throughput in MiB/s, where the type takes it.
    pub throughput: Option<i64>,
}

/// A disk type and the performance settings it takes.
#[derive(Clone, Copy, Debug)]
pub struct DiskType {
    pub name: &'static str,
    pub iops: bool,
    pub throughput: bool,
}

/// One cloud's disks as its CSI driver sees them.
pub trait Disks: Send + Sync {
    /// The CSI driver that provisions them (a StorageClass's provisioner).
    fn provisioner(&self) -> &'static str;
    /// The disk types the driver makes.
    fn types(&self) -> &'static [DiskType];
    /// A StorageClass's parameters for these settings.
    fn parameters(&self, disk: &DiskSettings) -> BTreeMap<String, String>;
    /// The settings back from a class's parameters.
    fn settings(&self, parameters: &BTreeMap<String, String>) -> DiskSettings;

    /// What is wrong with the settings, by attribute (`type`, `iops`,
    /// `throughput`).
    fn problems(&self, disk: &DiskSettings) -> Vec<(&'static str, String)> {
        let names: Vec<&str> = self.types().iter().map(|t| t.name).collect();
        let Some(known) = self.types().iter().find(|t| t.name == disk.disk_type) else {
            return vec![(
                "type",
                format!(
                    "{:?} is not a disk type of {}: use one of {}.",
                    disk.disk_type,
                    self.provisioner(),
                    names.join(", ")
                ),
            )];
        };
        let takers = |takes: fn(&DiskType) -> bool| {
            self.types()
                .iter()
                .filter(|t| takes(t))
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        if disk.iops.is_some() && !known.iops {
            out.push((
                "iops",
                format!(
                    "{} disks have no provisioned IOPS; only {} do. Leave iops out.",
                    known.name,
                    takers(|t| t.iops)
                ),
            ));
        }
        if disk.throughput.is_some() && !known.throughput {
            out.push((
                "throughput",
                format!(
                    "{} disks have no provisioned throughput; only {} do. Leave throughput out.",
                    known.name,
                    takers(|t| t.throughput)
                ),
            ));
        }
        out
    }
}

/// The disks of the cloud named as in `genesis_cluster.cloud`, on a
/// cluster whose nodes the cloud runs (`managed_nodes`: GKE Autopilot,
/// EKS Auto Mode) or not.
pub fn of_cluster(cloud: &str, managed_nodes: bool) -> Option<&'static dyn Disks> {
    match (cloud, managed_nodes) {
        ("gcp", _) => Some(&super::gcp::disks::PersistentDisks),
        ("aws", false) => Some(&super::aws::disks::EBS_CSI_ADDON),
        ("aws", true) => Some(&super::aws::disks::AUTO_MODE),
        _ => None,
    }
}

/// A whole number parameter.
pub(super) fn number(parameters: &BTreeMap<String, String>, key: &str) -> Option<i64> {
    parameters
        .get(key)
        .and_then(|v| v.trim_end_matches("Mi").parse().ok())
}
