//! `genesis_cluster.storage_classes`: the StorageClasses the platform's
//! volumes are made from, one map entry per class, in one shape for both
//! clouds (the disk `type` is the cloud's), applied inside the cluster like
//! the namespaces.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::common;
use super::config::ClusterConfig;
use crate::cloud::cluster::ObservedCluster;
use crate::cloud::disks::{self, DiskSettings, Disks};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::model::encode;
use crate::framework::path::AttributePath;
use crate::framework::schema::Attribute;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::kube::storage_classes::StorageClassSpec;
use crate::provider::ProviderContext;

pub const ATTRIBUTE: &str = "storage_classes";

const RECLAIM_POLICIES: &[&str] = &["Delete", "Retain"];
const BINDING_MODES: &[&str] = &["WaitForFirstConsumer", "Immediate"];

pub fn attribute() -> Attribute {
    Attribute::object_map(ATTRIBUTE, vec![
        Attribute::string("type")
            .required()
            .describe("The cloud's disk type. GKE (`pd.csi.storage.gke.io`): `pd-balanced`, `pd-ssd`, `pd-standard`, `pd-extreme`, `hyperdisk-balanced`, `hyperdisk-throughput`, `hyperdisk-extreme`, `hyperdisk-ml`. EKS (`ebs.csi.aws.com`, or Auto Mode's own `ebs.csi.eks.amazonaws.com`, always encrypted): `gp3`, `gp2`, `io2`, `io1`, `st1`, `sc1`. Changing it makes the class again (existing volumes keep theirs)."),
        Attribute::number("iops")
            .validate(validators::int_between(1, 1_000_000))
            .describe("Provisioned IOPS of each volume: GKE `pd-extreme`, `hyperdisk-balanced`, `hyperdisk-extreme`; EKS `gp3`, `io1`, `io2`. Changing it makes the class again; existing volumes keep theirs."),
        Attribute::number("throughput")
            .validate(validators::int_between(1, 100_000))
            .describe("Provisioned throughput of each volume in MiB/s: GKE `hyperdisk-balanced`, `hyperdisk-throughput`, `hyperdisk-ml`; EKS `gp3`. Changing it makes the class again; existing volumes keep theirs."),
        Attribute::string("reclaim_policy")
            .default("Delete")
            .validate(validators::one_of(RECLAIM_POLICIES))
            .describe("What happens to a disk when its claim is deleted: `Delete` (default, as in Kubernetes) or `Retain` (the disk stays, for an administrator to reclaim). Genesis keeps claims when workloads go unless told otherwise. Changing it makes the class again."),
        Attribute::string("volume_binding_mode")
            .default("WaitForFirstConsumer")
            .validate(validators::one_of(BINDING_MODES))
            .describe("`WaitForFirstConsumer` (default: the disk is made in the zone where the pod is scheduled) or `Immediate`. Changing it makes the class again."),
        Attribute::bool("allow_expansion")
            .default(true)
            .describe("Whether claims of this class can grow (a workload volume's `size` increased). Changed in place."),
        Attribute::bool("default")
            .default(false)
            .describe("Make this the cluster's default class, for claims that name none. At most one class may be the default. The cloud's own default class (GKE `standard-rwo`) keeps its mark: Kubernetes then uses the newest default class. Changed in place."),
    ])
    .describe("StorageClasses to create in the cluster, by name, e.g. `{ fast-ssd = { type = \"pd-ssd\" } }` on GKE or `{ fast-ssd = { type = \"gp3\", iops = 6000 } }` on EKS, with the cloud's CSI driver as provisioner. Workload volumes name them in `storage_class`. A class of the same name Genesis did not make is never taken over. Settings Kubernetes cannot change make only that class again, never the cluster.")
}

/// One class as the configuration says it (defaults the schema's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageClassModel {
    #[serde(rename = "type")]
    pub disk_type: String,
    pub iops: Option<i64>,
    pub throughput: Option<i64>,
    pub reclaim_policy: String,
    pub volume_binding_mode: String,
    pub allow_expansion: bool,
    pub default: bool,
}

impl Default for StorageClassModel {
    fn default() -> Self {
        StorageClassModel {
            disk_type: String::new(),
            iops: None,
            throughput: None,
            reclaim_policy: "Delete".into(),
            volume_binding_mode: "WaitForFirstConsumer".into(),
            allow_expansion: true,
            default: false,
        }
    }
}

impl StorageClassModel {
    fn disk(&self) -> DiskSettings {
        DiskSettings {
            disk_type: self.disk_type.clone(),
            iops: self.iops,
            throughput: self.throughput,
        }
    }

    fn spec(&self, name: &str, disks: &dyn Disks) -> StorageClassSpec {
        StorageClassSpec {
            name: name.to_string(),
            provisioner: disks.provisioner().to_string(),
            parameters: disks.parameters(&self.disk()),
            reclaim_policy: self.reclaim_policy.clone(),
            volume_binding_mode: self.volume_binding_mode.clone(),
            allow_expansion: self.allow_expansion,
            default: self.default,
        }
    }

    fn of(spec: &StorageClassSpec, disks: &dyn Disks) -> Self {
        let disk = disks.settings(&spec.parameters);
        StorageClassModel {
            disk_type: disk.disk_type,
            iops: disk.iops,
            throughput: disk.throughput,
            reclaim_policy: spec.reclaim_policy.clone(),
            volume_binding_mode: spec.volume_binding_mode.clone(),
            allow_expansion: spec.allow_expansion,
            default: spec.default,
        }
    }
}

type Classes = BTreeMap<String, StorageClassModel>;

/// The disks read back: both EKS drivers take the same parameters, so
/// the mode does not matter for reading.
fn disks_of(state: &Value) -> Option<&'static dyn Disks> {
    disks::of_cluster(state.get("cloud").as_str().unwrap_or("gcp"), false)
}

/// The StorageClasses the configuration asks for.
pub fn storage_class_specs(config: &ClusterConfig) -> Vec<StorageClassSpec> {
    // On EKS Auto Mode the add-on's driver does not run: its own does.
    let Some(disks) = disks::of_cluster(&config.cloud, config.enable_autopilot) else {
        return Vec::new();
    };
    config
        .storage_classes
        .iter()
        .flatten()
        .map(|(name, class)| class.spec(name, disks))
        .collect()
}

/// Warns of each class the plan makes again (deletes and creates): its
/// volumes are not touched, but new claims get the new settings.
pub fn plan_storage_classes(prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    let (Ok(prior), Ok(planned)) = (ClusterConfig::decode(prior), ClusterConfig::decode(planned))
    else {
        return;
    };
    let before: BTreeMap<String, StorageClassSpec> = storage_class_specs(&prior)
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    for class in storage_class_specs(&planned) {
        if before
            .get(&class.name)
            .is_some_and(|b| b.replaced_by(&class))
        {
            diags.push(
                Diagnostic::warning(
                    "StorageClass made again",
                    format!(
                        "Kubernetes cannot change a StorageClass's disk type, IOPS, throughput, reclaim policy or binding mode, so {:?} is deleted and created again with the new settings. The cluster is not replaced; volumes already made from the class keep their settings, new claims get the new ones.",
                        class.name
                    ),
                )
                .at(AttributePath::attr(ATTRIBUTE).key(&class.name)),
            );
        }
    }
}

/// Makes the cluster's Genesis classes match the configuration.
pub async fn sync_storage_classes(
    provider: &ProviderContext,
    observed: &ObservedCluster,
    wanted: &[StorageClassSpec],
) -> Result<(), Diagnostic> {
    if wanted.is_empty() && observed.endpoint.is_empty() {
        return Ok(());
    }
    let client = common::cluster_client(provider, observed).await?;
    crate::kube::storage_classes::reconcile(&client, wanted, &provider.stop)
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Failed to set up the cluster's StorageClasses",
                format!("{e}. The cluster itself is in place; run terraform apply again to retry."),
            )
            .at(AttributePath::attr(ATTRIBUTE))
        })
}

pub async fn read_storage_classes(
    provider: &ProviderContext,
    observed: &ObservedCluster,
) -> Result<Vec<StorageClassSpec>, Diagnostic> {
    let client = common::cluster_client(provider, observed).await?;
    crate::kube::storage_classes::managed(&client, &provider.stop)
        .await
        .map_err(|e| {
            Diagnostic::error("Failed to read the cluster's StorageClasses", e.to_string())
        })
}

/// Writes the classes found in the cluster into the state: null when there
/// are none and the configuration set none.
pub fn storage_classes_into_state(state: &mut Value, base: &Value, actual: &[StorageClassSpec]) {
    let Some(disks) = disks_of(state) else {
        return;
    };
    if actual.is_empty() && base.get(ATTRIBUTE).is_null() {
        state.set_attr(ATTRIBUTE, Value::Null);
        return;
    }
    let found: Classes = actual
        .iter()
        .map(|c| (c.name.clone(), StorageClassModel::of(c, disks)))
        .collect();
    state.set_attr(ATTRIBUTE, encode(&found, &attribute().value_type()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::model::attribute_coverage_problems;

    #[test]
    fn the_model_covers_every_attribute_both_ways() {
        let problems = attribute_coverage_problems::<Classes>(attribute());
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn each_cloud_renders_its_driver_and_reads_back() {
        let class = StorageClassModel {
            disk_type: "hyperdisk-balanced".into(),
            iops: Some(6000),
            throughput: Some(250),
            reclaim_policy: "Retain".into(),
            volume_binding_mode: "WaitForFirstConsumer".into(),
            allow_expansion: true,
            default: false,
        };
        let gke = disks::of_cluster("gcp", false).unwrap();
        let spec = class.spec("fast", gke);
        assert_eq!(spec.provisioner, "pd.csi.storage.gke.io");
        assert_eq!(spec.parameters["provisioned-throughput-on-create"], "250Mi");
        assert_eq!(StorageClassModel::of(&spec, gke), class);

        let eks = disks::of_cluster("aws", false).unwrap();
        let gp3 = StorageClassModel {
            disk_type: "gp3".into(),
            ..class
        };
        let spec = gp3.spec("fast", eks);
        assert_eq!(spec.provisioner, "ebs.csi.aws.com");
        assert_eq!(spec.parameters["encrypted"], "true");
        assert_eq!(spec.parameters["iops"], "6000");
        assert_eq!(StorageClassModel::of(&spec, eks), gp3);

        // Auto Mode runs its own driver, with the same parameters.
        let auto_mode = disks::of_cluster("aws", true).unwrap();
        let on_auto_mode = gp3.spec("fast", auto_mode);
        assert_eq!(on_auto_mode.provisioner, "ebs.csi.eks.amazonaws.com");
        assert_eq!(on_auto_mode.parameters, spec.parameters);
        assert!(spec.replaced_by(&on_auto_mode));
    }

    #[test]
    fn disk_settings_are_checked_against_the_cloud() {
        let gke = disks::of_cluster("gcp", false).unwrap();
        let bad = DiskSettings {
            disk_type: "pd-ssd".into(),
            iops: Some(3000),
            throughput: None,
        };
        assert_eq!(gke.problems(&bad)[0].0, "iops");
        let eks_type = DiskSettings {
            disk_type: "gp3".into(),
            ..DiskSettings::default()
        };
        assert_eq!(gke.problems(&eks_type)[0].0, "type");
        assert!(
            disks::of_cluster("aws", false)
                .unwrap()
                .problems(&eks_type)
                .is_empty()
        );
    }
}
