//! `genesis_node_pool`: a GKE node pool or an EKS managed node group on a
//! `genesis_cluster`. Pool types (agent-runtime, mcp-server,
//! general-purpose, spot) bring the labels and taints that let workloads
//! find their nodes; `effective_labels` and `effective_taints` show exactly
//! what is sent.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::cluster::ClusterName;
use super::common::{bad_import_id, state_with, timeouts_block, wait_for};
use crate::cloud::node_pool::{EksPool, GkePool, ObservedPool, PoolCloud, PoolSpec, PoolTaint};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::path::AttributePath;
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::types::Type;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::provider::ProviderContext;

pub const TYPE_NAME: &str = "genesis_node_pool";

pub const POOL_TYPES: &[&str] = &["agent-runtime", "mcp-server", "general-purpose", "spot"];
const WORKLOAD_TYPES: &[&str] = &[
    "compute-intensive",
    "memory-intensive",
    "io-intensive",
    "general",
];
const TAINT_EFFECTS: &[&str] = &[
    "NO_SCHEDULE",
    "PREFER_NO_SCHEDULE",
    "NO_EXECUTE",
    "NoSchedule",
    "PreferNoSchedule",
    "NoExecute",
];
const DISK_TYPES: &[&str] = &["pd-standard", "pd-balanced", "pd-ssd", "hyperdisk-balanced"];
/// Settings of a GKE node pool: null on an EKS node group.
const GKE_ONLY: &[&str] = &[
    "disk_type",
    "node_locations",
    "auto_upgrade",
    "max_surge",
    "service_account",
];
/// The AMI types of EKS managed node groups (EKS's AMITypes, without CUSTOM).
const EKS_AMI_TYPES: &[&str] = &[
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
fn on_eks(v: &Value) -> Option<bool> {
    match v.get("cluster").as_str().and_then(ClusterName::parse) {
        Some(ClusterName::Aws { .. }) => Some(true),
        Some(ClusterName::Gcp { .. }) => Some(false),
        None if v.get("eks").is_set() => Some(true),
        None => None,
    }
}

/// Defaults that depend on the cloud: (attribute, GKE, EKS).
fn cloud_defaults() -> [(&'static str, Value, Value); 6] {
    [
        ("machine_type", "e2-medium".into(), "t3.medium".into()),
        (
            "image_type",
            "COS_CONTAINERD".into(),
            "AL2023_x86_64_STANDARD".into(),
        ),
        ("disk_type", "pd-balanced".into(), Value::Null),
        ("auto_upgrade", true.into(), Value::Null),
        ("max_surge", 1.into(), Value::Null),
        ("max_unavailable", 0.into(), 1.into()),
    ]
}

/// Node label keys Genesis sets on every pool; workloads select on them.
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

fn same_effect(a: &Value, b: &Value) -> bool {
    match (
        a.as_str().and_then(normalize_effect),
        b.as_str().and_then(normalize_effect),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

pub struct NodePool;

fn taint_attributes() -> Vec<Attribute> {
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

fn schema() -> Schema {
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
            .force_new()
            .describe("Use preemptible VMs (24-hour maximum life; on EKS the SPOT capacity type). Changing it replaces the pool."),
        Attribute::bool("spot")
            .optional_computed()
            .force_new()
            .describe("Use Spot VMs (on EKS the SPOT capacity type). Default `true` for `node_pool_type = \"spot\"`. Changing it replaces the pool."),
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
        Attribute::string("version")
            .computed()
            .describe("The Kubernetes version of the nodes."),
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

fn cluster_id(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if ClusterName::parse(s).is_none() => Err(format!(
            "{s:?} is not a cluster ID: use a genesis_cluster's id (`genesis_cluster.NAME.id`), i.e. projects/PROJECT/locations/LOCATION/clusters/NAME or an EKS cluster ARN."
        )),
        _ => Ok(()),
    }
}

#[async_trait]
impl Resource for NodePool {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        match on_eks(config) {
            Some(true) => validate_eks(config, diags),
            Some(false) if config.get("eks").is_set() => diags.attribute_error(
                AttributePath::attr("eks"),
                "Setting does not apply to this cloud",
                "`eks` applies to node groups of EKS clusters; this pool's cluster is a GKE cluster. Remove it.",
            ),
            _ => {}
        }
        let (min, max) = (
            config.get("min_nodes").as_f64(),
            config.get("max_nodes").as_f64(),
        );
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            diags.attribute_error(
                AttributePath::attr("min_nodes"),
                "min_nodes is greater than max_nodes",
                format!("min_nodes ({min}) must not be greater than max_nodes ({max})."),
            );
        }
        let autoscaling = config.get("enable_autoscaling").bool_or(true);
        if autoscaling == Some(true) && config.get("node_count").is_set() {
            diags.attribute_error(
                AttributePath::attr("node_count"),
                "node_count conflicts with autoscaling",
                "With enable_autoscaling on, the autoscaler sizes the pool: remove node_count, or set enable_autoscaling = false for a fixed size.",
            );
        }
        if config.get("preemptible").as_bool() == Some(true)
            && config.get("spot").as_bool() == Some(true)
        {
            diags.attribute_error(
                AttributePath::attr("spot"),
                "preemptible and spot are exclusive",
                "A pool uses either preemptible VMs or Spot VMs: set only one of them.",
            );
        }
        if config.get("node_pool_type").as_str() == Some("spot") {
            if config.get("preemptible").as_bool() == Some(true) {
                diags.attribute_error(
                    AttributePath::attr("preemptible"),
                    "Spot pools do not use preemptible VMs",
                    "node_pool_type = \"spot\" uses Spot VMs: remove preemptible = true.",
                );
            }
            if config.get("spot").as_bool() == Some(false) {
                diags.attribute_error(
                    AttributePath::attr("spot"),
                    "Spot pool without Spot VMs",
                    "node_pool_type = \"spot\" needs spot = true: remove spot = false or change node_pool_type.",
                );
            }
        }
        let mut seen = Vec::new();
        for (i, taint) in config.get("taints").elements().iter().enumerate() {
            let (Some(key), Some(effect)) =
                (taint.get("key").as_str(), taint.get("effect").as_str())
            else {
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
                    format!(
                        "A taint with key {key:?} and this effect is listed twice: list it once."
                    ),
                );
            }
            seen.push((key, effect));
        }
        for key in config
            .get("labels")
            .entries()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
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

    fn modify_plan(&self, ctx: &PlanContext<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        let config = ctx.config;
        let eks = on_eks(planned);
        for (name, gke, eks_default) in cloud_defaults() {
            if config.get(name).is_null() {
                planned.set_attr(
                    name,
                    match eks {
                        Some(false) => gke,
                        Some(true) => eks_default,
                        // Known once the cluster's ID is.
                        None => Value::Unknown,
                    },
                );
            }
        }
        if eks == Some(true) {
            for name in GKE_ONLY {
                planned.set_attr(name, Value::Null);
            }
        }
        if config.get("spot").is_null() {
            let spot = match planned.get("node_pool_type") {
                Value::Unknown => Value::Unknown,
                v => Value::Bool(v.as_str() == Some("spot")),
            };
            planned.set_attr("spot", spot);
        }
        let autoscaling = planned.get("enable_autoscaling").bool_or(true);
        if config.get("node_count").is_null() {
            let size = match autoscaling {
                Some(false) => planned.get("initial_node_count").clone(),
                // The autoscaler owns the size; GKE does not report it.
                Some(true) => Value::Null,
                None => Value::Unknown,
            };
            planned.set_attr("node_count", size);
        }
        let autoscaling = autoscaling == Some(true);
        if let (Some(initial), Some(min), Some(max)) = (
            planned.get("initial_node_count").as_f64(),
            planned.get("min_nodes").as_f64(),
            planned.get("max_nodes").as_f64(),
        ) && autoscaling
            && ctx.is_create()
            && (initial < min || initial > max)
        {
            diags.push(
                Diagnostic::warning(
                    "Initial size outside the autoscaling range",
                    format!("initial_node_count ({initial}) is outside min_nodes..max_nodes ({min}..{max}); the autoscaler will resize the pool soon after it is created."),
                )
                .at(AttributePath::attr("initial_node_count")),
            );
        }
        planned.set_attr("effective_labels", effective_labels(planned));
        planned.set_attr("effective_taints", effective_taints(planned));
        if ctx.is_create()
            && let (Some(cluster), Some(name)) = (
                planned.get("cluster").as_str(),
                planned.get("name").as_str(),
            )
        {
            planned.set_attr("id", format!("{cluster}/nodePools/{name}").into());
        }
    }

    fn replaced_by(&self, prior: &Value, planned: &Value) -> Vec<AttributePath> {
        // EKS makes a new node group for these; GKE rolls the nodes.
        if on_eks(planned) != Some(true) {
            return Vec::new();
        }
        ["machine_type", "image_type", "disk_size_gb"]
            .into_iter()
            .filter(|name| {
                let new = planned.get(name);
                !new.is_unknown() && prior.get(name) != new
            })
            .map(AttributePath::attr)
            .collect()
    }

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied {
        let spec = match spec_of(planned) {
            Ok(spec) => spec,
            Err(d) => return Applied::failed(Value::Null, d),
        };
        let wait = wait_for(provider, planned, "create", 30);
        match provider
            .node_pools(&spec.cluster)
            .create(&spec, &wait)
            .await
        {
            Ok(observed) => Applied::ok(state_from(planned, &observed)),
            Err((e, Some(observed))) => Applied::failed(
                state_from(planned, &observed),
                e.diagnostic("create the node pool").into(),
            ),
            Err((e, None)) => {
                Applied::failed(Value::Null, e.diagnostic("create the node pool").into())
            }
        }
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        let spec = spec_of(state)?;
        let wait = wait_for(provider, state, "read", 5);
        match provider
            .node_pools(&spec.cluster)
            .get(&spec.cluster, &spec.name, &wait)
            .await
        {
            Ok(Some(observed)) => Ok(Some((state_from(state, &observed), private.to_vec()))),
            Ok(None) => Ok(None),
            Err(e) => Err(e.diagnostic("read the node pool").into()),
        }
    }

    async fn update(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        planned: &Value,
        private: &[u8],
    ) -> Applied {
        let (from, to) = match (spec_of(prior), spec_of(planned)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(d), _) | (_, Err(d)) => return Applied::failed(prior.clone(), d),
        };
        let wait = wait_for(provider, planned, "update", 30);
        let pools = provider.node_pools(&to.cluster);
        let result = pools.update(&from, &to, &wait).await;
        let mut applied = match pools.get(&to.cluster, &to.name, &wait).await {
            Ok(Some(observed)) => Applied::ok(state_from(planned, &observed)),
            Ok(None) => Applied::failed(
                Value::Null,
                Diagnostic::error(
                    "Node pool disappeared",
                    format!(
                        "Node pool {} no longer exists; the next plan will create it again.",
                        to.name
                    ),
                )
                .into(),
            ),
            Err(e) => Applied::failed(
                prior.clone(),
                e.diagnostic("read the node pool after updating it").into(),
            ),
        };
        applied.private = private.to_vec();
        if let Err(e) = result {
            applied
                .diagnostics
                .push(e.diagnostic("update the node pool"));
        }
        applied
    }

    async fn delete(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        _private: &[u8],
    ) -> Diagnostics {
        let spec = match spec_of(prior) {
            Ok(spec) => spec,
            Err(d) => return d,
        };
        let wait = wait_for(provider, prior, "delete", 30);
        match provider
            .node_pools(&spec.cluster)
            .delete(&spec.cluster, &spec.name, &wait)
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(e) => e.diagnostic("delete the node pool").into(),
        }
    }

    fn import(&self, _provider: &ProviderContext, id: &str) -> Result<Value, Diagnostics> {
        let forms = [
            "projects/PROJECT/locations/LOCATION/clusters/CLUSTER/nodePools/NAME",
            "PROJECT/LOCATION/CLUSTER/NAME",
            "arn:aws:eks:REGION:ACCOUNT:cluster/CLUSTER/nodePools/NAME",
        ];
        let (cluster, name) = parse_id(id).ok_or_else(|| bad_import_id(id, &forms))?;
        Ok(state_with(
            &schema().block,
            &[
                ("id", format!("{}/nodePools/{name}", cluster.id()).into()),
                ("cluster", cluster.id().into()),
                ("name", name.into()),
            ],
        ))
    }
}

fn int(state: &Value, name: &str) -> i64 {
    state.get(name).as_i64().unwrap_or_default()
}

/// The configuration in the back end's terms.
fn spec_of(state: &Value) -> Result<PoolSpec, Diagnostics> {
    let cluster_id = state.get("cluster").as_str().unwrap_or_default();
    let Some(cluster) = ClusterName::parse(cluster_id) else {
        return Err(Diagnostic::error(
            "Not a cluster ID",
            format!("{cluster_id:?} is not the id of a genesis_cluster."),
        )
        .at(AttributePath::attr("cluster"))
        .into());
    };
    let autoscaling = state.get("enable_autoscaling").as_bool() != Some(false);
    let labels = state
        .get("effective_labels")
        .entries()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    let taints = state
        .get("effective_taints")
        .elements()
        .iter()
        .filter_map(|t| {
            Some(PoolTaint {
                key: t.get("key").as_str()?.to_string(),
                value: t.get("value").as_str().unwrap_or_default().to_string(),
                effect: t.get("effect").as_str()?.to_string(),
            })
        })
        .collect();
    let text = |name: &str| state.get(name).as_str().unwrap_or_default().to_string();
    let strings = |v: &Value| -> Vec<String> {
        v.string_elements()
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let cloud = match cluster {
        ClusterName::Aws { .. } => {
            let eks = state.get("eks");
            let mut subnets = strings(eks.get("subnet_ids"));
            subnets.sort();
            PoolCloud::Eks(EksPool {
                ami_type: text("image_type"),
                node_role_arn: eks.get("node_role_arn").as_str().map(str::to_string),
                subnet_ids: subnets,
            })
        }
        ClusterName::Gcp { .. } => PoolCloud::Gke(GkePool {
            disk_type: text("disk_type"),
            image_type: text("image_type"),
            node_locations: strings(state.get("node_locations")),
            auto_upgrade: state.get("auto_upgrade").as_bool() != Some(false),
            max_surge: int(state, "max_surge"),
            service_account: state.get("service_account").as_str().map(str::to_string),
        }),
    };
    Ok(PoolSpec {
        cluster: cluster.address(),
        name: text("name"),
        machine_type: text("machine_type"),
        disk_size_gb: int(state, "disk_size_gb"),
        initial_node_count: int(state, "initial_node_count"),
        node_count: (!autoscaling).then(|| {
            state
                .get("node_count")
                .as_i64()
                .unwrap_or_else(|| int(state, "initial_node_count"))
        }),
        autoscaling: autoscaling.then(|| (int(state, "min_nodes"), int(state, "max_nodes"))),
        preemptible: state.get("preemptible").as_bool() == Some(true),
        spot: state.get("spot").as_bool() == Some(true),
        labels,
        taints,
        auto_repair: state.get("auto_repair").as_bool() != Some(false),
        max_unavailable: int(state, "max_unavailable"),
        cloud,
    })
}

fn validate_eks(config: &Value, diags: &mut Diagnostics) {
    for name in GKE_ONLY {
        if config.get(name).is_set() {
            diags.attribute_error(
                AttributePath::attr(name),
                "Setting does not apply to this cloud",
                format!("`{name}` applies to GKE node pools; this pool's cluster is an EKS cluster. Remove it."),
            );
        }
    }
    if let Some(image) = config.get("image_type").as_str()
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
    if config.get("max_unavailable").as_i64() == Some(0) {
        diags.attribute_error(
            AttributePath::attr("max_unavailable"),
            "EKS needs at least one",
            "EKS node groups update at least one node at a time: set max_unavailable between 1 and 100.",
        );
    }
}

fn taint_value(t: &PoolTaint) -> Value {
    Value::object([
        ("key", t.key.clone().into()),
        ("value", t.value.clone().into()),
        ("effect", t.effect.clone().into()),
    ])
}

/// Taints in a state value, in GKE's spelling, for comparing as sets.
fn taint_set(v: &Value) -> Vec<PoolTaint> {
    let mut out: Vec<PoolTaint> = v
        .elements()
        .iter()
        .filter_map(|t| {
            Some(PoolTaint {
                key: t.get("key").as_str()?.to_string(),
                value: t.get("value").as_str().unwrap_or_default().to_string(),
                effect: normalize_effect(t.get("effect").as_str()?)?.to_string(),
            })
        })
        .collect();
    out.sort();
    out
}

/// The state after reading the pool: what GKE reports, with the
/// configuration's own spelling and order where they mean the same.
fn state_from(base: &Value, observed: &ObservedPool) -> Value {
    let spec = &observed.spec;
    let mut state = base.clone();
    let set = |state: &mut Value, name: &str, v: Value| state.set_attr(name, v);
    // An EKS cluster's ARN holds the account, which the address does not.
    let cluster = match (&spec.cluster, base.get("cluster").as_str()) {
        (_, Some(id)) => id.to_string(),
        (
            crate::cloud::cluster::ClusterAddress::Gke {
                project,
                location,
                name,
            },
            None,
        ) => ClusterName::Gcp {
            project: project.clone(),
            location: location.clone(),
            name: name.clone(),
        }
        .id(),
        (crate::cloud::cluster::ClusterAddress::Eks { .. }, None) => String::new(),
    };
    set(
        &mut state,
        "id",
        format!("{cluster}/nodePools/{}", spec.name).into(),
    );
    set(&mut state, "cluster", cluster.into());
    set(&mut state, "name", spec.name.clone().into());
    set(&mut state, "machine_type", spec.machine_type.clone().into());
    set(&mut state, "disk_size_gb", spec.disk_size_gb.into());
    if state.get("initial_node_count").is_null() {
        set(
            &mut state,
            "initial_node_count",
            spec.initial_node_count.into(),
        );
    }
    set(
        &mut state,
        "enable_autoscaling",
        spec.autoscaling.is_some().into(),
    );
    if let Some((min, max)) = spec.autoscaling {
        set(&mut state, "min_nodes", min.into());
        set(&mut state, "max_nodes", max.into());
        set(&mut state, "node_count", Value::Null);
    } else if state.get("node_count").is_null() || state.get("node_count").is_unknown() {
        set(&mut state, "node_count", spec.initial_node_count.into());
    }
    set(&mut state, "preemptible", spec.preemptible.into());
    set(&mut state, "spot", spec.spot.into());
    let pool_type = spec.labels.get(LABEL_POOL_TYPE).cloned();
    set(&mut state, "node_pool_type", pool_type.clone().into());
    set(
        &mut state,
        "workload_type",
        spec.labels.get(LABEL_WORKLOAD_TYPE).cloned().into(),
    );
    set(
        &mut state,
        "effective_labels",
        Value::Map(
            spec.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect(),
        ),
    );
    let user_labels: BTreeMap<String, Value> = spec
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("genesis.io/"))
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    set(
        &mut state,
        "labels",
        if user_labels.is_empty() && base.get("labels").is_null() {
            Value::Null
        } else {
            Value::Map(user_labels)
        },
    );
    let implied = pool_type.as_deref().and_then(pool_type_taint);
    let effective = spec.taints.clone();
    if base.get("effective_taints").is_null()
        || taint_set(base.get("effective_taints")) != effective
    {
        set(
            &mut state,
            "effective_taints",
            Value::List(effective.iter().map(taint_value).collect()),
        );
    }
    let user: Vec<PoolTaint> = effective
        .into_iter()
        .filter(|t| {
            implied
                .as_ref()
                .is_none_or(|i| !(i.key == t.key && i.value == t.value && i.effect == t.effect))
        })
        .collect();
    if taint_set(base.get("taints")) != user {
        set(
            &mut state,
            "taints",
            if user.is_empty() && base.get("taints").is_null() {
                Value::Null
            } else {
                Value::List(user.iter().map(taint_value).collect())
            },
        );
    }
    set(&mut state, "auto_repair", spec.auto_repair.into());
    set(&mut state, "max_unavailable", spec.max_unavailable.into());
    match &spec.cloud {
        PoolCloud::Gke(g) => {
            set(&mut state, "disk_type", g.disk_type.clone().into());
            set(&mut state, "image_type", g.image_type.clone().into());
            if !g.node_locations.is_empty() {
                set(
                    &mut state,
                    "node_locations",
                    Value::List(g.node_locations.iter().map(|l| l.clone().into()).collect()),
                );
            }
            set(&mut state, "auto_upgrade", g.auto_upgrade.into());
            set(&mut state, "max_surge", g.max_surge.into());
            set(
                &mut state,
                "service_account",
                g.service_account.clone().into(),
            );
            set(&mut state, "eks", Value::Null);
        }
        PoolCloud::Eks(e) => {
            for name in GKE_ONLY {
                set(&mut state, name, Value::Null);
            }
            set(&mut state, "image_type", e.ami_type.clone().into());
            // EKS has one SPOT capacity type for both.
            if spec.spot && base.get("preemptible").as_bool() == Some(true) {
                set(&mut state, "preemptible", true.into());
                set(&mut state, "spot", false.into());
            }
            // The node group's own role and subnets stay as configured:
            // left out, they are the cluster's, and the state says so (null).
            let old = base.get("eks");
            if old.is_set() {
                let subnets = if validators::same_members(
                    old.get("subnet_ids"),
                    &Value::List(e.subnet_ids.iter().map(|s| s.clone().into()).collect()),
                ) || old.get("subnet_ids").is_null()
                {
                    old.get("subnet_ids").clone()
                } else {
                    Value::List(e.subnet_ids.iter().map(|s| s.clone().into()).collect())
                };
                let role = if old.get("node_role_arn").is_null() {
                    Value::Null
                } else {
                    e.node_role_arn.clone().into()
                };
                set(
                    &mut state,
                    "eks",
                    Value::object([("node_role_arn", role), ("subnet_ids", subnets)]),
                );
            }
        }
    }
    set(&mut state, "status", observed.status.clone().into());
    set(&mut state, "version", observed.version.clone().into());
    state
}

/// Splits a pool ID (or the short `P/L/C/N` import form) into its cluster
/// and name.
pub fn parse_id(id: &str) -> Option<(ClusterName, String)> {
    if let Some((cluster, name)) = id.rsplit_once("/nodePools/") {
        let cluster = ClusterName::parse(cluster)?;
        return (!name.is_empty() && !name.contains('/')).then(|| (cluster, name.to_string()));
    }
    let parts: Vec<&str> = id.split('/').collect();
    if let [project, location, cluster, name] = parts.as_slice() {
        let cluster = ClusterName::parse(&format!("{project}/{location}/{cluster}"))?;
        return (!name.is_empty()).then(|| (cluster, name.to_string()));
    }
    None
}

/// A Kubernetes label or taint key: an optional DNS prefix and a name.
pub fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok =
        prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(validators::is_dns1123_label));
    name_ok && prefix_ok
}

fn effective_labels(planned: &Value) -> Value {
    let labels = planned.get("labels");
    if labels.is_unknown() || planned.get("name").is_unknown() {
        return Value::Unknown;
    }
    let mut out: BTreeMap<String, Value> = labels.entries().cloned().unwrap_or_default();
    if let Some(name) = planned.get("name").as_str() {
        out.insert(LABEL_NODE_POOL.into(), name.into());
    }
    for (attr, key) in [
        ("node_pool_type", LABEL_POOL_TYPE),
        ("workload_type", LABEL_WORKLOAD_TYPE),
    ] {
        match planned.get(attr) {
            Value::String(s) => {
                out.insert(key.into(), s.as_str().into());
            }
            Value::Unknown => return Value::Unknown,
            _ => {}
        }
    }
    Value::Map(out)
}

fn effective_taints(planned: &Value) -> Value {
    let taints = planned.get("taints");
    if !taints.is_wholly_known() || planned.get("node_pool_type").is_unknown() {
        return Value::Unknown;
    }
    let mut out: Vec<Taint> = taints
        .elements()
        .iter()
        .filter_map(|t| {
            Some(Taint {
                key: t.get("key").as_str()?.to_string(),
                value: t.get("value").as_str().unwrap_or_default().to_string(),
                effect: normalize_effect(t.get("effect").as_str()?)?,
            })
        })
        .collect();
    if let Some(implied) = planned
        .get("node_pool_type")
        .as_str()
        .and_then(pool_type_taint)
        && !out
            .iter()
            .any(|t| t.key == implied.key && t.effect == implied.effect)
    {
        out.push(implied);
    }
    // In the order GKE reports them, so a read (an import) matches a plan.
    out.sort_by(|a, b| (&a.key, &a.value, a.effect).cmp(&(&b.key, &b.value, b.effect)));
    Value::List(
        out.into_iter()
            .map(|t| {
                Value::object([
                    ("key", t.key.into()),
                    ("value", t.value.into()),
                    ("effect", t.effect.into()),
                ])
            })
            .collect(),
    )
}

pub fn value_type() -> Type {
    schema().value_type()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids_parse() {
        let (cluster, name) =
            parse_id("projects/p/locations/us-central1/clusters/c/nodePools/agents").unwrap();
        assert_eq!(cluster.id(), "projects/p/locations/us-central1/clusters/c");
        assert_eq!(name, "agents");
        assert_eq!(parse_id("p/us-central1/c/agents").unwrap().1, "agents");
        assert!(parse_id("p/c/agents").is_none());
    }

    #[test]
    fn label_keys_follow_kubernetes_rules() {
        assert!(is_label_key("agent-runtime"));
        assert!(is_label_key("example.com/dedicated"));
        assert!(!is_label_key("-bad"));
        assert!(!is_label_key("Example.com/x"));
        assert!(!is_label_key(""));
    }

    #[test]
    fn pool_types_imply_labels_and_taints() {
        let planned = Value::object([
            ("name", "agents".into()),
            ("labels", Value::Null),
            ("node_pool_type", "agent-runtime".into()),
            ("workload_type", "compute-intensive".into()),
            (
                "taints",
                Value::List(vec![Value::object([
                    ("key", "agent-runtime".into()),
                    ("value", "true".into()),
                    ("effect", "NoSchedule".into()),
                ])]),
            ),
        ]);
        let labels = effective_labels(&planned);
        assert_eq!(labels.get(LABEL_POOL_TYPE), &Value::from("agent-runtime"));
        assert_eq!(labels.get(LABEL_NODE_POOL), &Value::from("agents"));
        let taints = effective_taints(&planned);
        assert_eq!(taints.elements().len(), 2);
        assert_eq!(
            taints.elements()[0].get("effect"),
            &Value::from("NO_SCHEDULE")
        );
    }
}
