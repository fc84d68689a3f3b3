//! The schema of `genesis_node_pool`, the pool types with the labels and
//! taints they imply, and which settings belong to which cloud.

use crate::cloud::gpus;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;

use super::super::cluster::{ClusterName, cluster_id};
use super::super::common::timeouts_block;

pub const TYPE_NAME: &str = "genesis_node_pool";

pub const POOL_TYPES: &[&str] = &["agent-runtime", "mcp-server", "general-purpose", "spot"];
pub(super) const WORKLOAD_TYPES: &[&str] = &[
    "compute-intensive",
    "memory-intensive",
    "io-intensive",
    "general",
];
pub(super) const TAINT_EFFECTS: &[&str] = &[
    "NO_SCHEDULE",
    "PREFER_NO_SCHEDULE",
    "NO_EXECUTE",
    "NoSchedule",
    "PreferNoSchedule",
    "NoExecute",
];
pub(super) const GPU_DRIVERS: &[&str] = &["DEFAULT", "LATEST", "INSTALLATION_DISABLED"];
pub(super) const DISK_TYPES: &[&str] =
    &["pd-standard", "pd-balanced", "pd-ssd", "hyperdisk-balanced"];
/// Settings of a GKE node pool: null on an EKS node group.
pub(super) const GKE_ONLY: &[&str] = &[
    "disk_type",
    "node_locations",
    "auto_upgrade",
    "max_surge",
    "service_account",
];
/// The AMI types of EKS managed node groups (EKS's AMITypes, without CUSTOM).
pub(super) const EKS_AMI_TYPES: &[&str] = &[
    "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
    "AL2023_x86_64_NEURON",
    "AL2_x86_64",
    "AL2_x86_64_GPU",
    "AL2_ARM_64",
    "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "BOTTLEROCKET_x86_64_FIPS",
    "BOTTLEROCKET_ARM_64_FIPS",
    "WINDOWS_CORE_2022_x86_64",
    "WINDOWS_FULL_2022_x86_64",
];

/// Whether the pool is an EKS node group: from its cluster's ID, else from
/// an `eks` block; `None` while neither says.
pub(super) fn on_eks(v: &Value) -> Option<bool> {
    match v.get("cluster").as_str().and_then(ClusterName::parse) {
        Some(ClusterName::Aws { .. }) => Some(true),
        Some(ClusterName::Gcp { .. }) => Some(false),
        None if v.get("eks").is_set() => Some(true),
        None => None,
    }
}

/// Defaults that depend on the cloud: (attribute, GKE, EKS).
/// The AMI type of an EKS node group whose configuration names none: one
/// with the NVIDIA driver for GPU nodes.
pub(super) fn node_group_image(gpu: bool) -> &'static str {
    match gpu.then(|| gpus::of_cloud(true).default_image()).flatten() {
        Some(image) => image,
        None => NODE_GROUP_IMAGE,
    }
}

const NODE_GROUP_IMAGE: &str = "AL2023_x86_64_STANDARD";

pub(super) fn cloud_defaults() -> [(&'static str, Value, Value); 6] {
    [
        ("machine_type", "e2-medium".into(), "t3.medium".into()),
        (
            "image_type",
            "COS_CONTAINERD".into(),
            NODE_GROUP_IMAGE.into(),
        ),
        ("disk_type", "pd-balanced".into(), Value::Null),
        ("auto_upgrade", true.into(), Value::Null),
        ("max_surge", 1.into(), Value::Null),
        ("max_unavailable", 0.into(), 1.into()),
    ]
}

/// Node label keys Genesis sets on every pool; workloads select on them.
/// What a pool is on its cluster (`kind`).
pub(super) const KIND_GKE: &str = "gke-node-pool";
pub(super) const KIND_NODE_GROUP: &str = "eks-node-group";
pub(super) const KIND_KARPENTER: &str = "karpenter-node-pool";
pub(super) const KIND_COMPUTE_CLASS: &str = "gke-compute-class";

pub const LABEL_NODE_POOL: &str = "genesis.io/node-pool";
pub const LABEL_POOL_TYPE: &str = "genesis.io/pool-type";
pub const LABEL_WORKLOAD_TYPE: &str = "genesis.io/workload-type";

/// A taint in GKE's spelling.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: &'static str,
}

/// The taint a pool type implies: dedicated pools keep other pods away.
pub fn pool_type_taint(pool_type: &str) -> Option<Taint> {
    matches!(pool_type, "agent-runtime" | "mcp-server" | "spot").then(|| Taint {
        key: LABEL_POOL_TYPE.to_string(),
        value: pool_type.to_string(),
        effect: "NO_SCHEDULE",
    })
}

/// GKE's spelling of a taint effect, from either GKE's or Kubernetes'.
pub fn normalize_effect(effect: &str) -> Option<&'static str> {
    match effect {
        "NO_SCHEDULE" | "NoSchedule" => Some("NO_SCHEDULE"),
        "PREFER_NO_SCHEDULE" | "PreferNoSchedule" => Some("PREFER_NO_SCHEDULE"),
        "NO_EXECUTE" | "NoExecute" => Some("NO_EXECUTE"),
        _ => None,
    }
}

pub(super) fn same_effect(a: &Value, b: &Value) -> bool {
    match (
        a.as_str().and_then(normalize_effect),
        b.as_str().and_then(normalize_effect),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

pub(super) fn taint_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("key").required().describe("The taint's key."),
        Attribute::string("value").default("").describe("The taint's value."),
        Attribute::string("effect")
            .required()
            .validate(validators::one_of(TAINT_EFFECTS))
            .equivalent_when(same_effect)
            .describe("`NO_SCHEDULE`, `PREFER_NO_SCHEDULE` or `NO_EXECUTE` (Kubernetes' `NoSchedule` spellings are accepted too)."),
    ]
}

/// The schema, built once: validation and planning read it on every
/// call, and building it (descriptions, validators) costs more than the
/// rules it serves.
pub(super) fn schema() -> &'static Schema {
    static SCHEMA: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(build_schema);
    &SCHEMA
}

fn build_schema() -> Schema {
    let attributes = vec![
        Attribute::string("id")
            .computed()
            .describe("The pool's ID: `CLUSTER_ID/nodePools/NAME`."),
        Attribute::string("cluster")
            .required()
            .force_new()
            .validate(cluster_id)
            .describe("The `id` of the `genesis_cluster` the pool belongs to."),
        Attribute::string("name")
            .required()
            .force_new()
            .validate(validators::gke_name)
            .describe("The pool's name: lowercase letters, digits and hyphens, starting with a letter, at most 40 characters."),
        Attribute::string("machine_type")
            .optional_computed()
            .describe("The machine type of the nodes: a GCE machine type (default `e2-medium`; changed in place by a rolling node upgrade) or an EC2 instance type (default `t3.medium`; changing it replaces the node group, as EKS requires)."),
        Attribute::number("disk_size_gb")
            .default(100)
            .validate(validators::int_between(10, 65_536))
            .describe("Boot disk size of each node in GB. Changed in place on GKE; replaces the node group on EKS."),
        Attribute::string("disk_type")
            .optional_computed()
            .validate(validators::one_of(DISK_TYPES))
            .describe("Boot disk type (GKE only, default `pd-balanced`): `pd-standard`, `pd-balanced`, `pd-ssd` or `hyperdisk-balanced`."),
        Attribute::string("image_type")
            .optional_computed()
            .describe("The node image: on GKE e.g. `COS_CONTAINERD` (default) or `UBUNTU_CONTAINERD`, changed in place; on EKS the AMI type, e.g. `AL2023_x86_64_STANDARD` (default), `AL2023_ARM_64_STANDARD`, `AL2023_x86_64_NVIDIA` or `BOTTLEROCKET_x86_64`, which replaces the node group when changed."),
        Attribute::number("initial_node_count")
            .default(1)
            .validate(validators::int_between(0, 1000))
            .describe("Nodes (per zone on GKE) when the pool is created; on EKS the node group's desired size, clamped into `min_nodes`..`max_nodes`. Later changes are recorded but do not resize the pool: autoscaling or `node_count` does. Genesis never sets the desired size of an autoscaled pool after its creation, so it never fights the cluster autoscaler."),
        Attribute::number("node_count")
            .optional_computed()
            .validate(validators::int_between(0, 1000))
            .describe("Nodes per zone of a pool without autoscaling (default: `initial_node_count`); changing it resizes the pool in place. With autoscaling on the autoscaler owns the size and this stays null."),
        Attribute::bool("enable_autoscaling")
            .default(true)
            .describe("Let the cluster autoscaler size the pool between `min_nodes` and `max_nodes`."),
        Attribute::number("min_nodes")
            .default(0)
            .validate(validators::int_between(0, 1000))
            .describe("Minimum nodes when autoscaling (per zone on GKE, in all on EKS). Changed in place; on EKS a desired size below it is raised to it in the same call."),
        Attribute::number("max_nodes")
            .default(3)
            .validate(validators::int_between(1, 1000))
            .describe("Maximum nodes when autoscaling (per zone on GKE, in all on EKS). Changed in place."),
        Attribute::string("node_pool_type")
            .validate(validators::one_of(POOL_TYPES))
            .describe("The pool's role: `agent-runtime` and `mcp-server` pools are dedicated (tainted `genesis.io/pool-type=TYPE:NO_SCHEDULE`), `general-purpose` takes anything, `spot` uses Spot VMs and is tainted too. Every typed pool is labelled `genesis.io/pool-type=TYPE`."),
        Attribute::string("workload_type")
            .validate(validators::one_of(WORKLOAD_TYPES))
            .describe("What runs on the pool: `compute-intensive`, `memory-intensive`, `io-intensive` or `general`; labels nodes `genesis.io/workload-type`."),
        Attribute::bool("preemptible")
            .default(false)
            .describe("Use preemptible VMs (24-hour maximum life; on EKS the SPOT capacity type). Changing it replaces a GKE pool or an EKS node group; a Karpenter NodePool changes in place."),
        Attribute::bool("spot")
            .optional_computed()
            .describe("Use Spot VMs (on EKS the SPOT capacity type). Default `true` for `node_pool_type = \"spot\"`. Changing it replaces a GKE pool or an EKS node group; a Karpenter NodePool changes in place."),
        Attribute::object(
            "gpu",
            vec![
                Attribute::string("type")
                    .required()
                    .describe("The GPU, in GKE's names on both clouds: `nvidia-l4`, `nvidia-tesla-t4`, `nvidia-tesla-a100`, `nvidia-a100-80gb`, `nvidia-h100-80gb`, ...; on EKS also `nvidia-a10g` (g5) and `nvidia-l40s` (g6e)."),
                Attribute::number("count")
                    .default(1)
                    .validate(validators::int_between(1, 16))
                    .describe("GPUs per node. Accelerator-optimized machine types (GKE's g2, a2, a3; every EKS GPU instance type) fix it: it must match."),
                Attribute::string("driver")
                    .validate(validators::one_of(GPU_DRIVERS))
                    .describe("How GKE installs the NVIDIA driver: `DEFAULT` (when left out), `LATEST` or `INSTALLATION_DISABLED` (you install it). GKE only: EKS's NVIDIA AMIs come with it."),
            ],
        )
        .describe("GPUs on every node. The machine type must have them: on GKE one of the GPU's family (N1 for T4, P4, P100 and V100; g2 for L4; a2, a3, a4 for A100, H100, H200, B200), changed in place by a rolling node update; on EKS an instance type with those GPUs (g4dn, g5, g6, g6e, p4d, p5), whose AMI type then defaults to `AL2023_x86_64_NVIDIA`. Checked at plan time. The nodes are tainted `nvidia.com/gpu=present:NO_SCHEDULE` on both clouds, so only pods that ask for a GPU (`extended = { \"nvidia.com/gpu\" = \"1\" }`, which tolerates it) land there. Removing it replaces a GKE pool."),
        Attribute::object_list("taints", taint_attributes())
            .describe("Node taints, as in the module: `[{ key = \"agent-runtime\", value = \"true\", effect = \"NO_SCHEDULE\" }]`."),
        Attribute::string_map("labels").describe("Kubernetes labels on the nodes."),
        Attribute::string_map("effective_labels")
            .computed()
            .describe("All node labels sent: `labels` plus those Genesis adds for the pool's name, type and workload type."),
        Attribute::object_list(
            "effective_taints",
            ["key", "value", "effect"].map(|name| Attribute::string(name).computed()).to_vec(),
        )
        .computed()
            .describe("All taints sent: `taints` plus the one the pool type implies, in GKE's spelling."),
        Attribute::string_list("node_locations")
            .optional_computed()
            .describe("Zones for the pool's nodes (GKE only). Default: the cluster's zones. On EKS the subnets say it: `eks.subnet_ids`."),
        Attribute::bool("auto_repair")
            .default(true)
            .describe("Recreate nodes that fail health checks (EKS node repair on AWS). Changed in place."),
        Attribute::bool("auto_upgrade")
            .optional_computed()
            .describe("Upgrade nodes with the cluster's release channel (GKE only, default `true`)."),
        Attribute::number("max_surge")
            .optional_computed()
            .validate(validators::int_between(0, 100))
            .describe("Extra nodes that may be created during an upgrade (GKE only, default 1)."),
        Attribute::number("max_unavailable")
            .optional_computed()
            .validate(validators::int_between(0, 100))
            .describe("Nodes that may be unavailable at once during an upgrade: GKE default 0; EKS default 1, from 1 to 100 (EKS refuses 0). Changed in place."),
        Attribute::string("service_account")
            .force_new()
            .describe("The Google service account (email) the nodes run as (GKE only). Default: the Compute Engine default account."),
        Attribute::object(
            "eks",
            vec![
                Attribute::string("node_role_arn")
                    .force_new()
                    .describe("The IAM role of the nodes. Default: the cluster's node role (`genesis_cluster`'s `eks.node_role_arn`). Changing it replaces the node group."),
                Attribute::string_list("subnet_ids")
                    .force_new()
                    .equivalent_when(validators::same_members)
                    .describe("Subnets for the nodes. Default: the cluster's subnets. Changing them replaces the node group."),
            ],
        )
        .describe("EKS managed node group settings (pools of clusters with cloud = \"aws\"); left out, the cluster's role and subnets are used."),
        Attribute::string("status")
            .computed()
            .describe("The pool's status as the cloud reports it, e.g. `RUNNING` (GKE) or `ACTIVE` (EKS)."),
        Attribute::string("kubernetes_version")
            .optional_computed()
            .describe("The Kubernetes version of the nodes, e.g. `1.33`. Upgraded in place, after the control plane (reference `genesis_cluster.NAME.kubernetes_version` so that one apply upgrades both in order): GKE surge-upgrades the pool, EKS rolls the node group. Never newer than the control plane (two minors ahead of it are refused at plan time, one by the cloud at apply) and never downgraded (refused at plan time). Left out, the nodes start on the control plane's version and keep theirs; on GKE with `auto_upgrade` the version is a minimum, since GKE moves the nodes along with the control plane."),
        Attribute::string("kind")
            .computed()
            .describe("What the pool is on its cluster, decided when it is created: `gke-node-pool` (a GKE node pool), `eks-node-group` (an EKS managed node group) `karpenter-node-pool` (on an EKS Auto Mode cluster: a Karpenter NodePool with an EKS NodeClass of the same name, whose nodes Auto Mode makes as pods need them, up to `max_nodes`) or `gke-compute-class` (on a GKE Autopilot cluster: a custom ComputeClass of the same name, whose nodes Autopilot makes for the pods that select it, with no node limit). A pool keeps its kind when its cluster switches mode."),
        Attribute::string("version")
            .computed()
            .describe("The Kubernetes version the nodes run, as the cloud reports it (`1.33.5-gke.1080000` on GKE, `1.33` on EKS)."),
    ];
    Schema::new(
        0,
        Block::new(
            "A GKE node pool or EKS managed node group: machine type, autoscaling, spot/preemptible VMs, taints, labels, auto-repair and auto-upgrade, with pool types that bring their own labels and taints.",
            attributes,
        )
        .with_block(timeouts_block(&[("create", "30m"), ("update", "30m"), ("delete", "30m")])),
    )
}
