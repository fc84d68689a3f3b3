//! EKS's EBS CSI driver (the `aws-ebs-csi-driver` add-on): EBS volume
//! types, always encrypted.

use std::collections::BTreeMap;

use crate::cloud::disks::{DiskSettings, DiskType, Disks, number};

pub struct ElasticBlockStore;

const TYPES: &[DiskType] = &[
    disk("gp3", true, true),
    disk("gp2", false, false),
    disk("io2", true, false),
    disk("io1", true, false),
    disk("st1", false, false),
    disk("sc1", false, false),
];

const fn disk(name: &'static str, iops: bool, throughput: bool) -> DiskType {
    DiskType {
        name,
        iops,
        throughput,
    }
}

impl Disks for ElasticBlockStore {
    fn provisioner(&self) -> &'static str {
        "ebs.csi.aws.com"
    }

    fn types(&self) -> &'static [DiskType] {
        TYPES
    }

    fn parameters(&self, disk: &DiskSettings) -> BTreeMap<String, String> {
        let mut out = BTreeMap::from([
            ("type".to_string(), disk.disk_type.clone()),
            // EBS volumes are encrypted at rest with the account's key.
            ("encrypted".to_string(), "true".to_string()),
        ]);
        if let Some(iops) = disk.iops {
            out.insert("iops".into(), iops.to_string());
        }
        if let Some(throughput) = disk.throughput {
            out.insert("throughput".into(), throughput.to_string());
        }
        out
    }

    fn settings(&self, parameters: &BTreeMap<String, String>) -> DiskSettings {
        DiskSettings {
            disk_type: parameters.get("type").cloned().unwrap_or_default(),
            iops: number(parameters, "iops"),
            throughput: number(parameters, "throughput"),
        }
    }
}
