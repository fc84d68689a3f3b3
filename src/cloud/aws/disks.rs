//! EBS volumes, always encrypted, through one of EKS's two CSI drivers:
//! the `aws-ebs-csi-driver` add-on on clusters with node groups, or Auto
//! Mode's own block storage driver, which takes the same parameters under
//! another provisioner name (and is the only one running there).

use std::collections::BTreeMap;

use crate::cloud::disks::{DiskSettings, DiskType, Disks, number};

pub struct ElasticBlockStore {
    provisioner: &'static str,
}

/// Through the `aws-ebs-csi-driver` add-on.
pub static EBS_CSI_ADDON: ElasticBlockStore = ElasticBlockStore {
    provisioner: "ebs.csi.aws.com",
};
/// Through EKS Auto Mode's block storage.
pub static AUTO_MODE: ElasticBlockStore = ElasticBlockStore {
    provisioner: "ebs.csi.eks.amazonaws.com",
};

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
        self.provisioner
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
