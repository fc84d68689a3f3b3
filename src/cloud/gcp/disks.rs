//! GKE's Persistent Disk CSI driver: Persistent Disk and Hyperdisk types,
//! IOPS and throughput provisioned when the disk is made.

use std::collections::BTreeMap;

use crate::cloud::disks::{DiskSettings, DiskType, Disks, number};

pub struct PersistentDisks;

const TYPES: &[DiskType] = &[
    disk("pd-standard", false, false),
    disk("pd-balanced", false, false),
    disk("pd-ssd", false, false),
    disk("pd-extreme", true, false),
    disk("hyperdisk-balanced", true, true),
    disk("hyperdisk-throughput", false, true),
    disk("hyperdisk-extreme", true, false),
    disk("hyperdisk-ml", false, true),
];

const fn disk(name: &'static str, iops: bool, throughput: bool) -> DiskType {
    DiskType {
        name,
        iops,
        throughput,
    }
}

const IOPS: &str = "provisioned-iops-on-create";
const THROUGHPUT: &str = "provisioned-throughput-on-create";

impl Disks for PersistentDisks {
    fn provisioner(&self) -> &'static str {
        "pd.csi.storage.gke.io"
    }

    fn types(&self) -> &'static [DiskType] {
        TYPES
    }

    fn parameters(&self, disk: &DiskSettings) -> BTreeMap<String, String> {
        let mut out = BTreeMap::from([("type".to_string(), disk.disk_type.clone())]);
        if let Some(iops) = disk.iops {
            out.insert(IOPS.into(), iops.to_string());
        }
        if let Some(throughput) = disk.throughput {
            out.insert(THROUGHPUT.into(), format!("{throughput}Mi"));
        }
        out
    }

    fn settings(&self, parameters: &BTreeMap<String, String>) -> DiskSettings {
        DiskSettings {
            disk_type: parameters.get("type").cloned().unwrap_or_default(),
            iops: number(parameters, IOPS),
            throughput: number(parameters, THROUGHPUT),
        }
    }
}
