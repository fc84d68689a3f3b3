//! The StorageClasses a new cluster comes with, as each cloud installs
//! them: GKE's `standard-rwo` (the default), `premium-rwo` and `standard`,
//! EKS's `gp2` (no longer the default class since EKS 1.30).

use serde_json::{Value as Json, json};

use super::objects::{Objects, Write};
use super::platform::Platform;

fn class(name: &str, provisioner: &str, disk: &str, binding: &str, expands: bool) -> Json {
    let mut class = json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": name,
            "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"},
        },
        "provisioner": provisioner,
        "parameters": {"type": disk},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": binding,
    });
    if expands {
        class["allowVolumeExpansion"] = json!(true);
    }
    class
}

/// The classes of a new GKE (`eks` false) or EKS cluster.
pub fn cloud_defaults(eks: bool) -> Vec<Json> {
    if eks {
        let mut gp2 = class(
            "gp2",
            "kubernetes.io/aws-ebs",
            "gp2",
            "WaitForFirstConsumer",
            false,
        );
        gp2["parameters"]["fsType"] = json!("ext4");
        return vec![gp2];
    }
    let mut standard_rwo = class(
        "standard-rwo",
        "pd.csi.storage.gke.io",
        "pd-balanced",
        "WaitForFirstConsumer",
        true,
    );
    standard_rwo["metadata"]["annotations"] =
        json!({"storageclass.kubernetes.io/is-default-class": "true"});
    vec![
        standard_rwo,
        class(
            "premium-rwo",
            "pd.csi.storage.gke.io",
            "pd-ssd",
            "WaitForFirstConsumer",
            true,
        ),
        class(
            "standard",
            "kubernetes.io/gce-pd",
            "pd-standard",
            "Immediate",
            true,
        ),
    ]
}

/// Installs the cloud's classes in a new cluster.
pub fn install(objects: &mut Objects, eks: bool) {
    let rt = super::resources::find("storage.k8s.io", "v1", "storageclasses")
        .expect("storageclasses are served");
    for class in cloud_defaults(eks) {
        let _ = objects.create(
            rt,
            "",
            class,
            &Write {
                manager: "addon-manager",
                force: false,
                subresource: None,
            },
        );
    }
}

/// Where the class `name` is in a cluster's store.
pub fn key(name: &str) -> String {
    format!("storage.k8s.io/storageclasses//{name}")
}

/// Whether a claim's volume can be made: its StorageClass exists and the
/// class's provisioner runs in the cluster.
pub fn provisions(objects: &Objects, claim: &Json, platform: &Platform) -> bool {
    claim["spec"]["storageClassName"]
        .as_str()
        .and_then(|class| objects.objects.get(&key(class)))
        .and_then(|class| class["provisioner"].as_str())
        .is_some_and(|p| platform.provisioners.contains(&p))
}

/// The DefaultStorageClass admission plugin: a new claim that names no
/// class gets the default one, when the cluster has one.
pub fn admit_claim(objects: &Objects, claim: &mut Json) {
    if claim["spec"].get("storageClassName").is_some() {
        return;
    }
    let default = objects.newest_marked(
        "storage.k8s.io/storageclasses/",
        "storageclass.kubernetes.io/is-default-class",
    );
    if let Some(class) = default {
        claim["spec"]["storageClassName"] = json!(class);
    }
}
