//! `genesis_node_pool`: a GKE node pool or an EKS managed node group on a
//! `genesis_cluster`. Pool types (agent-runtime, mcp-server,
//! general-purpose, spot) bring the labels and taints that let workloads
//! find their nodes; `effective_labels` and `effective_taints` show exactly
//! what is sent.

mod auto_mode;
mod compute_class;
mod config;
mod in_cluster;
mod list;
mod model;
mod rules;
mod schema;

use async_trait::async_trait;

use self::auto_mode::{AutoModePools, Karpenter};
use self::compute_class::{ComputeClassPools, ComputeClasses};
use self::in_cluster::InCluster;
use self::model::*;
use self::schema::*;
use super::cluster::ClusterName;
use super::common::{bad_import_id, minor_version, state_with, version_step, wait_for};
use crate::cloud::cluster::ClusterAddress;
use crate::cloud::node_pool::{AutoModePool, NodePools, ObservedPool, PoolCloud, PoolSpec};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::identity::{IdentityAttribute, IdentitySchema};
use crate::framework::path::AttributePath;
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::Schema;
use crate::framework::types::Type;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::{NodePoolsAs, ProviderContext};

pub use self::list::PoolList;
pub use self::model::{is_label_key, parse_id};
pub use self::schema::{
    LABEL_NODE_POOL, LABEL_POOL_TYPE, LABEL_WORKLOAD_TYPE, POOL_TYPES, TYPE_NAME, Taint,
    normalize_effect, pool_type_taint,
};

pub struct NodePool;

/// What planning reads of the configuration (as written) and of the plan.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PlanView {
    cluster: Field<String>,
    name: Field<String>,
    gpu: Field<serde::de::IgnoredAny>,
    spot: Field<bool>,
    node_pool_type: Field<String>,
    enable_autoscaling: Field<bool>,
    node_count: Field<f64>,
    initial_node_count: Field<f64>,
    min_nodes: Field<f64>,
    max_nodes: Field<f64>,
    kubernetes_version: Field<String>,
}

#[async_trait]
impl Resource for NodePool {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema().clone()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        rules::validate(config, diags);
    }

    fn modify_plan(&self, ctx: &PlanContext<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        let config = ctx.config;
        let (written, plan) = match (
            view::as_written::<PlanView>(config),
            view::as_written::<PlanView>(planned),
        ) {
            (Ok(written), Ok(plan)) => (written, plan),
            (Err(d), _) | (_, Err(d)) => return diags.extend(d),
        };
        let cluster = plan.cluster.as_str().map(str::to_owned);
        // Known when the cluster was planned or read in this process.
        let runs = cluster
            .as_deref()
            .and_then(|c| ctx.provider.planned.runs(c));
        let eks = on_eks(planned);
        let kind = plan_kind(ctx);
        planned.set_attr("kind", kind.clone());
        // A new pool's kind is decided at apply, but what its cluster will
        // make of it is known here when the cluster was planned or read.
        let will_be = runs
            .as_ref()
            .zip(eks)
            .map(|(r, eks)| kind_on(&r.node_pools, eks));
        let karpenter = kind.as_str() == Some(KIND_KARPENTER);
        let in_cluster_kind = match kind.as_str() {
            Some(known) => Some(known),
            None if ctx.is_create() => will_be,
            None => None,
        };
        refuse_unsupported(in_cluster_kind, config, false, diags);
        if karpenter && will_be.is_some_and(|k| k != KIND_KARPENTER) {
            diags.push(
                Diagnostic::error(
                    "The cluster no longer runs EKS Auto Mode",
                    "This pool is a Karpenter NodePool, and without Auto Mode nothing makes its nodes: remove the genesis_node_pool (and add one after the switch, which makes an EKS managed node group), or keep enable_autopilot = true on the cluster.",
                )
                .at(AttributePath::attr("cluster")),
            );
        }
        let gpu = written.gpu.is_set();
        for (name, gke, eks_default) in cloud_defaults() {
            if config.get(name).is_null() {
                planned.set_attr(
                    name,
                    match eks {
                        Some(false) => gke,
                        // Auto Mode picks the node image: which one it is
                        // follows what the pool is.
                        Some(true) if name == "image_type" => match &kind {
                            Value::Unknown => Value::Unknown,
                            _ if karpenter => Value::Null,
                            _ => node_group_image(gpu).into(),
                        },
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
        if written.spot.is_null() {
            let spot = match &plan.node_pool_type {
                Field::Unknown => Value::Unknown,
                kind => Value::Bool(kind.as_str() == Some("spot")),
            };
            planned.set_attr("spot", spot);
        }
        let autoscaling = plan.enable_autoscaling.or(true);
        if written.node_count.is_null() {
            let size = match autoscaling {
                Some(false) => plan.initial_node_count.into(),
                // The autoscaler owns the size; GKE does not report it.
                Some(true) => Value::Null,
                None => Value::Unknown,
            };
            planned.set_attr("node_count", size);
        }
        let autoscaling = autoscaling == Some(true);
        if autoscaling
            && in_cluster_kind == Some(KIND_NODE_GROUP)
            && runs.as_ref().is_some_and(|r| !r.node_autoscaler)
        {
            diags.push(no_node_autoscaler());
        }
        if let (Some(initial), Some(min), Some(max)) = (
            plan.initial_node_count.known(),
            plan.min_nodes.known(),
            plan.max_nodes.known(),
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
        // Again with the cloud's defaults filled in, and once the cluster
        // (and so the cloud) is known, which for a cluster made in the same
        // apply is only when the apply plans again. Whatever validation
        // found has stopped the plan before this.
        rules::validate_gpu(planned, diags);
        plan_version(ctx, planned, diags);
        planned.set_attr("effective_labels", effective_labels(planned));
        planned.set_attr("effective_taints", effective_taints(planned));
        if ctx.is_create()
            && let (Some(cluster), Some(name)) = (cluster, plan.name.as_str())
        {
            planned.set_attr("id", format!("{cluster}/nodePools/{name}").into());
        }
    }

    fn replaced_by(&self, prior: &Value, planned: &Value) -> Vec<AttributePath> {
        // Karpenter replaces the nodes of a changed NodePool itself; GKE
        // makes the nodes of a changed class as the class now says.
        if matches!(
            kind_of(planned).as_str(),
            Some(KIND_KARPENTER | KIND_COMPUTE_CLASS)
        ) {
            return Vec::new();
        }
        let changed = |name: &&str| {
            let new = planned.get(name);
            !new.is_unknown() && prior.get(name) != new
        };
        // Neither cloud changes a pool's VMs between Spot (or
        // preemptible) and standard.
        let capacity = ["preemptible", "spot"].into_iter().filter(changed);
        // EKS makes a new node group for these; GKE rolls the nodes, but
        // cannot take their GPUs away.
        if on_eks(planned) != Some(true) {
            let gpus = |v: &Value| view::as_written::<PlanView>(v).map(|v| v.gpu);
            let gpus_removed = matches!(
                (gpus(prior), gpus(planned)),
                (Ok(Field::Known(_)), Ok(Field::Null))
            );
            return capacity
                .map(AttributePath::attr)
                .chain(gpus_removed.then(|| AttributePath::attr("gpu")))
                .collect();
        }
        ["machine_type", "image_type", "disk_size_gb"]
            .into_iter()
            .filter(changed)
            .chain(capacity)
            .map(AttributePath::attr)
            .collect()
    }

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied {
        let mut spec = match spec_of(planned) {
            Ok(spec) => spec,
            Err(d) => return Applied::failed(Value::Null, d),
        };
        let wait = wait_for(provider, planned, "create", 30);
        // Not known at plan time (the cluster was not planned in this run):
        // what the cluster makes of a pool now.
        if kind_of(planned).is_unknown() {
            match in_cluster::cloud_runs_the_nodes(provider, &spec.cluster, &wait).await {
                Ok(true) => {
                    let kind = if spec.eks().is_some() {
                        KIND_KARPENTER
                    } else {
                        KIND_COMPUTE_CLASS
                    };
                    let mut refused = Diagnostics::new();
                    refuse_unsupported(Some(kind), planned, true, &mut refused);
                    if refused.has_errors() {
                        return Applied::failed(Value::Null, refused);
                    }
                    spec.cloud = match &spec.cloud {
                        PoolCloud::Eks(eks) => PoolCloud::EksAutoMode(AutoModePool {
                            subnet_ids: eks.subnet_ids.clone(),
                        }),
                        PoolCloud::Gke(gke) => PoolCloud::GkeAutopilot(gke.clone()),
                        other => other.clone(),
                    };
                }
                Ok(false) => {
                    let gpu = spec.gpu.is_some();
                    if let PoolCloud::Eks(group) = &mut spec.cloud
                        && group.ami_type.is_empty()
                    {
                        group.ami_type = node_group_image(gpu).to_string();
                    }
                }
                Err(e) => {
                    return Applied::failed(
                        Value::Null,
                        e.diagnostic("read the pool's cluster").into(),
                    );
                }
            }
        }
        match BackEnds::new(provider).of(&spec).create(&spec, &wait).await {
            Ok(observed) => Applied {
                private: recorded(&observed, &[]),
                ..Applied::ok(state_from(planned, &observed))
            },
            Err((e, Some(observed))) => Applied {
                private: recorded(&observed, &[]),
                ..Applied::failed(
                    state_from(planned, &observed),
                    e.diagnostic("create the node pool").into(),
                )
            },
            Err((e, None)) => {
                Applied::failed(Value::Null, e.diagnostic("create the node pool").into())
            }
        }
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        let spec = spec_of(state)?;
        let wait = wait_for(provider, state, "read", 5);
        let back_ends = BackEnds::new(provider);
        let mut found = back_ends
            .of(&spec)
            .get(&spec.cluster, &spec.name, &wait)
            .await;
        // An import (or a state from before `kind`): on a cluster whose
        // nodes the cloud runs, a pool that is no node pool or group may be
        // an object inside the cluster.
        if matches!(found, Ok(None))
            && kind_of(state).is_null()
            && in_cluster::cloud_runs_the_nodes(provider, &spec.cluster, &wait)
                .await
                .unwrap_or(false)
        {
            found = back_ends
                .in_cluster(&spec.cluster)
                .get(&spec.cluster, &spec.name, &wait)
                .await;
        }
        match found {
            Ok(Some(observed)) => Ok(Some((
                state_from(state, &observed),
                recorded(&observed, private),
            ))),
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
        let back_ends = BackEnds::new(provider);
        let pools = back_ends.of(&to);
        let result = pools.update(&from, &to, &wait).await;
        let mut applied = match pools.get(&to.cluster, &to.name, &wait).await {
            Ok(Some(observed)) => Applied {
                private: recorded(&observed, private),
                ..Applied::ok(state_from(planned, &observed))
            },
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
        if applied.private.is_empty() {
            applied.private = private.to_vec();
        }
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
        match BackEnds::new(provider)
            .of(&spec)
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

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::new(vec![
            IdentityAttribute::required("cluster", "The `id` of the pool's genesis_cluster."),
            IdentityAttribute::required("name", "The pool's name."),
        ]))
    }

    fn identity(&self, state: &Value) -> Option<Value> {
        let state = view::as_written::<PlanView>(state).ok()?;
        let cluster = ClusterName::parse(state.cluster.as_str()?)?;
        self.identity_schema()?.value(&[
            ("cluster", Some(cluster.id())),
            ("name", state.name.known().cloned()),
        ])
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        let schema = self
            .identity_schema()
            .unwrap_or_else(|| IdentitySchema::new(Vec::new()));
        let cluster = schema.part(identity, "cluster")?.unwrap_or_default();
        let name = schema.part(identity, "name")?.unwrap_or_default();
        Ok(format!("{cluster}/nodePools/{name}"))
    }
}

/// The back ends of what a pool can be: the cloud's node pools or node
/// groups, or objects inside the cluster (Auto Mode's Karpenter NodePools,
/// Autopilot's ComputeClasses).
pub(super) struct BackEnds<'a> {
    provider: &'a ProviderContext,
    karpenter: AutoModePools<'a>,
    compute_classes: ComputeClassPools<'a>,
}

impl<'a> BackEnds<'a> {
    pub(super) fn new(provider: &'a ProviderContext) -> Self {
        BackEnds {
            provider,
            karpenter: InCluster(provider, Karpenter),
            compute_classes: InCluster(provider, ComputeClasses),
        }
    }

    /// The back end of what `spec` is.
    pub(super) fn of(&self, spec: &PoolSpec) -> &dyn NodePools {
        match spec.cloud {
            PoolCloud::EksAutoMode(_) => &self.karpenter,
            PoolCloud::GkeAutopilot(_) => &self.compute_classes,
            _ => self.provider.node_pools(&spec.cluster),
        }
    }

    /// The back end of pools inside a cluster at `at` whose nodes the cloud
    /// runs.
    pub(super) fn in_cluster(&self, at: &ClusterAddress) -> &dyn NodePools {
        match at {
            ClusterAddress::Eks { .. } => &self.karpenter,
            _ => &self.compute_classes,
        }
    }
}

/// The kind of a new pool on a cluster that makes pools `as_`.
fn kind_on(as_: &NodePoolsAs, eks: bool) -> &'static str {
    match (as_, eks) {
        (NodePoolsAs::Karpenter, _) => KIND_KARPENTER,
        (NodePoolsAs::ComputeClass, _) => KIND_COMPUTE_CLASS,
        (NodePoolsAs::CloudPools, true) => KIND_NODE_GROUP,
        (NodePoolsAs::CloudPools, false) => KIND_GKE,
    }
}

/// A node group whose cluster runs nothing that resizes it: its bounds
/// would never be used.
fn no_node_autoscaler() -> Diagnostic {
    Diagnostic::error(
        "Nothing resizes this node group",
        "enable_autoscaling sets the node group's bounds, but its EKS cluster runs no Cluster Autoscaler, so the group would stay at its first size whatever the pods need. Keep \"cluster-autoscaler\" in the genesis_cluster's eks.addons (the default; Genesis installs it), or set enable_autoscaling = false with a node_count.",
    )
    .at(AttributePath::attr("enable_autoscaling"))
}

/// Refuses the settings a pool of `kind` cannot honour (see
/// `auto_mode::refuse_unsupported`).
fn refuse_unsupported(kind: Option<&str>, config: &Value, planned: bool, diags: &mut Diagnostics) {
    match kind {
        Some(KIND_KARPENTER) => auto_mode::refuse_unsupported(config, planned, diags),
        Some(KIND_COMPUTE_CLASS) => compute_class::refuse_unsupported(config, planned, diags),
        _ => {}
    }
}

/// `kind` of a plan or a state.
fn kind_of(value: &Value) -> Field<String> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct KindView {
        kind: Field<String>,
    }
    view::as_written::<KindView>(value).map_or(Field::Null, |v| v.kind)
}

/// What the pool is: what it was made as, once made. A new pool is what
/// its cluster makes of one when the pool is created (a Karpenter NodePool
/// on EKS Auto Mode, a ComputeClass on GKE Autopilot), which only the apply
/// knows for sure: the plan of a cluster that does not change is not in
/// the apply's provider process, so planning the kind from it would change
/// it between plan and apply.
fn plan_kind(ctx: &PlanContext<'_>) -> Value {
    match kind_of(ctx.prior).known() {
        Some(kind) if !ctx.is_create() => kind.clone().into(),
        _ => Value::Unknown,
    }
}

pub fn value_type() -> Type {
    schema().value_type()
}

/// Nodes move forwards in place, never back: a downgrade is refused before
/// any call (neither cloud can roll nodes back). Left out, the version stays
/// whatever the state says.
fn plan_version(ctx: &PlanContext<'_>, planned: &mut Value, diags: &mut Diagnostics) {
    let version = |v: &Value| {
        view::as_written::<PlanView>(v)
            .map(|v| v.kubernetes_version)
            .unwrap_or(Field::Unknown)
    };
    let prior = version(ctx.prior);
    if version(ctx.config).is_null() {
        let kept = if ctx.is_create() {
            Value::Null
        } else {
            prior.into()
        };
        planned.set_attr("kubernetes_version", kept);
        return;
    }
    if ctx.is_create() || prior == version(planned) {
        return;
    }
    // The upgrade changes what the nodes report.
    planned.set_attr("version", Value::Unknown);
    let Some((current, wanted)) = version_step(ctx.prior, planned, "version", "kubernetes_version")
    else {
        return;
    };
    if let Some(control_plane) = Recorded::decode(ctx.prior_private)
        .control_plane_version
        .as_deref()
        .and_then(minor_version)
        && (wanted.0, wanted.1) > (control_plane.0, control_plane.1 + 1)
    {
        diags.attribute_error(
            AttributePath::attr("kubernetes_version"),
            "Nodes cannot pass their control plane",
            format!(
                "The cluster's control plane runs {}.{} and moves one minor version per apply, and nodes never run a newer version than it: {}.{} is out of reach in one apply. Upgrade the cluster's kubernetes_version one minor version at a time first, then the pool.",
                control_plane.0, control_plane.1, wanted.0, wanted.1
            ),
        );
    }
    if wanted < current {
        diags.attribute_error(
            AttributePath::attr("kubernetes_version"),
            "Node downgrade refused",
            format!(
                "The nodes run {}.{}; node pools cannot be downgraded to {}.{}. Create a pool at that version and move the workloads instead.",
                current.0, current.1, wanted.0, wanted.1
            ),
        );
    }
}

/// The pool's private data: what the last read saw of its cluster. A pool
/// one minor version ahead of the recorded control plane may be right (the
/// cluster's upgrade can be in the same plan, and plans cannot see each
/// other); two or more never are.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Recorded {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    control_plane_version: Option<String>,
}

impl Recorded {
    fn decode(private: &[u8]) -> Recorded {
        serde_json::from_slice(private).unwrap_or_default()
    }
}

/// The private data after seeing `observed`; the previous record when the
/// back end did not report the control plane.
fn recorded(observed: &ObservedPool, previous: &[u8]) -> Vec<u8> {
    match &observed.control_plane_version {
        Some(version) => serde_json::to_vec(&Recorded {
            control_plane_version: Some(version.clone()),
        })
        .unwrap_or_default(),
        None => previous.to_vec(),
    }
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
