//! `genesis_node_pool`'s state and the back ends' `PoolSpec`: decoded once
//! at the resource's edge (through `PoolConfig`), written back once from
//! what the cloud reports.

use std::collections::BTreeMap;

use super::super::cluster::ClusterName;
use super::super::common::minor_version;
use super::config::PoolConfig;
use super::schema::*;
use crate::cloud::gpus::{self, PoolGpu};
use crate::cloud::node_pool::{
    AutoModePool, EksPool, GkePool, ObservedPool, PoolCloud, PoolSpec, PoolTaint,
};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::path::AttributePath;
use crate::framework::validators;
use crate::framework::value::Value;

/// The configuration in the back end's terms.
pub(super) fn spec_of(state: &Value) -> Result<PoolSpec, Diagnostics> {
    let config = PoolConfig::decode(state)?;
    let Some(cluster) = ClusterName::parse(&config.cluster) else {
        return Err(Diagnostic::error(
            "Not a cluster ID",
            format!("{:?} is not the id of a genesis_cluster.", config.cluster),
        )
        .at(AttributePath::attr("cluster"))
        .into());
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let cloud = match cluster {
        ClusterName::Aws { .. } => {
            let eks = config.eks.clone().unwrap_or_default();
            let mut subnets = eks.subnet_ids.unwrap_or_default();
            subnets.sort();
            if config.kind.as_deref() == Some(KIND_KARPENTER) {
                PoolCloud::EksAutoMode(AutoModePool {
                    subnet_ids: subnets,
                })
            } else {
                PoolCloud::Eks(EksPool {
                    ami_type: text(&config.image_type),
                    node_role_arn: eks.node_role_arn,
                    subnet_ids: subnets,
                })
            }
        }
        ClusterName::Gcp { .. } => {
            let gke = GkePool {
                disk_type: text(&config.disk_type),
                image_type: text(&config.image_type),
                node_locations: config.node_locations.clone().unwrap_or_default(),
                auto_upgrade: config.auto_upgrade != Some(false),
                max_surge: config.max_surge.unwrap_or_default(),
                service_account: config.service_account.clone(),
            };
            if config.kind.as_deref() == Some(KIND_COMPUTE_CLASS) {
                PoolCloud::GkeAutopilot(gke)
            } else {
                PoolCloud::Gke(gke)
            }
        }
    };
    let autoscaling = config.enable_autoscaling;
    Ok(PoolSpec {
        cluster: cluster.address(),
        name: config.name.clone(),
        machine_type: text(&config.machine_type),
        disk_size_gb: config.disk_size_gb,
        initial_node_count: config.initial_node_count,
        node_count: (!autoscaling).then(|| config.node_count.unwrap_or(config.initial_node_count)),
        autoscaling: autoscaling.then_some((config.min_nodes, config.max_nodes)),
        preemptible: config.preemptible,
        spot: config.spot == Some(true),
        gpu: config.gpu.as_ref().map(|g| PoolGpu {
            gpu_type: g.r#type.clone(),
            count: g.count,
            driver: g.driver.clone(),
        }),
        labels: config.effective_labels.clone().unwrap_or_default(),
        taints: config
            .effective_taints
            .iter()
            .flatten()
            .map(|t| PoolTaint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            })
            .collect(),
        auto_repair: config.auto_repair,
        max_unavailable: config.max_unavailable.unwrap_or_default(),
        version: config.kubernetes_version.clone(),
        cloud,
    })
}

/// `gpu` as the cloud reports it; GKE's default driver reads as left out
/// unless the configuration names it.
fn gpu_value(gpu: Option<&PoolGpu>, base: &Value) -> Value {
    let Some(g) = gpu else {
        return Value::Null;
    };
    let driver = match g.driver.as_deref() {
        Some("DEFAULT") if base.get("driver").as_str() != Some("DEFAULT") => Value::Null,
        driver => driver.map(str::to_string).into(),
    };
    Value::object([
        ("type", g.gpu_type.clone().into()),
        ("count", g.count.into()),
        ("driver", driver),
    ])
}

pub(super) fn taint_value(t: &PoolTaint) -> Value {
    Value::object([
        ("key", t.key.clone().into()),
        ("value", t.value.clone().into()),
        ("effect", t.effect.clone().into()),
    ])
}

/// Taints in a state value, in GKE's spelling, for comparing as sets.
pub(super) fn taint_set(v: &Value) -> Vec<PoolTaint> {
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
pub(super) fn state_from(base: &Value, observed: &ObservedPool) -> Value {
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
    } else {
        if state.get("node_count").is_null() || state.get("node_count").is_unknown() {
            set(&mut state, "node_count", spec.initial_node_count.into());
        }
        // A fixed-size pool has no bounds in the cloud: after an import
        // they read as their defaults, as a plan would set them.
        let defaults = PoolConfig::default();
        for (name, default) in [
            ("min_nodes", defaults.min_nodes),
            ("max_nodes", defaults.max_nodes),
        ] {
            if state.get(name).is_null() {
                set(&mut state, name, default.into());
            }
        }
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
    // The taints the pool type and GPUs imply are not the configuration's.
    let implied: Vec<PoolTaint> = pool_type
        .as_deref()
        .and_then(pool_type_taint)
        .map(|t| PoolTaint {
            key: t.key,
            value: t.value,
            effect: t.effect.to_string(),
        })
        .into_iter()
        .chain(spec.gpu.as_ref().map(|_| gpus::taint()))
        .collect();
    set(
        &mut state,
        "gpu",
        gpu_value(spec.gpu.as_ref(), base.get("gpu")),
    );
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
        .filter(|t| !implied.contains(t))
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
        PoolCloud::Gke(g) | PoolCloud::GkeAutopilot(g) => {
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
        PoolCloud::Eks(_) | PoolCloud::EksAutoMode(_) => {
            for name in GKE_ONLY {
                set(&mut state, name, Value::Null);
            }
            // EKS has one SPOT capacity type for both.
            if spec.spot && base.get("preemptible").as_bool() == Some(true) {
                set(&mut state, "preemptible", true.into());
                set(&mut state, "spot", false.into());
            }
            let (ami_type, role, subnet_ids) = match &spec.cloud {
                PoolCloud::Eks(e) => (
                    Value::from(e.ami_type.clone()),
                    e.node_role_arn.clone(),
                    &e.subnet_ids,
                ),
                // Auto Mode picks the image; the nodes run as its role.
                PoolCloud::EksAutoMode(a) => (Value::Null, None, &a.subnet_ids),
                PoolCloud::Gke(_) | PoolCloud::GkeAutopilot(_) => (Value::Null, None, &Vec::new()),
            };
            set(&mut state, "image_type", ami_type);
            // The node group's own role and subnets stay as configured:
            // left out, they are the cluster's, and the state says so (null).
            let old = base.get("eks");
            if old.is_set() {
                let listed = Value::List(subnet_ids.iter().map(|s| s.clone().into()).collect());
                let subnets = if validators::same_members(old.get("subnet_ids"), &listed)
                    || old.get("subnet_ids").is_null()
                {
                    old.get("subnet_ids").clone()
                } else {
                    listed
                };
                let role = if old.get("node_role_arn").is_null() {
                    Value::Null
                } else {
                    role.into()
                };
                set(
                    &mut state,
                    "eks",
                    Value::object([("node_role_arn", role), ("subnet_ids", subnets)]),
                );
            }
        }
    }
    let kind = match &spec.cloud {
        PoolCloud::Gke(_) => KIND_GKE,
        PoolCloud::GkeAutopilot(_) => KIND_COMPUTE_CLASS,
        PoolCloud::Eks(_) => KIND_NODE_GROUP,
        PoolCloud::EksAutoMode(_) => KIND_KARPENTER,
    };
    set(&mut state, "kind", kind.into());
    set(&mut state, "status", observed.status.clone().into());
    set(&mut state, "version", observed.version.clone().into());
    // The version asked for stays as written while the nodes run it (`1.33`
    // covers `1.33.5-gke.1080000`); nodes on another minor, moved behind
    // Terraform's back, show as drift. Left out, it stays null.
    let minimum = matches!(&spec.cloud, PoolCloud::Gke(g) if g.auto_upgrade);
    match base.get("kubernetes_version") {
        // GKE's auto-upgrade moves the nodes past what was asked.
        Value::String(asked)
            if minimum && minor_version(&observed.version) > minor_version(asked) => {}
        Value::String(asked) if !runs(&observed.version, asked) => set(
            &mut state,
            "kubernetes_version",
            minor_of(&observed.version).into(),
        ),
        Value::String(_) => {}
        _ => set(&mut state, "kubernetes_version", Value::Null),
    }
    state
}

/// `1.33` of `1.33.5-gke.1080000`.
pub(super) fn minor_of(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// Whether nodes running `version` run what `asked` names: the same
/// version, or one it is a prefix of at a dot or dash (`1.33` of
/// `1.33.5-gke.1080000`, not of `1.3`).
fn runs(version: &str, asked: &str) -> bool {
    version == asked
        || version
            .strip_prefix(asked)
            .is_some_and(|rest| rest.starts_with(['.', '-']))
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

pub(super) fn effective_labels(planned: &Value) -> Value {
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

pub(super) fn effective_taints(planned: &Value) -> Value {
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
    if planned.get("gpu").is_unknown() {
        return Value::Unknown;
    }
    let gpu = gpus::taint();
    if planned.get("gpu").is_set()
        && !out
            .iter()
            .any(|t| t.key == gpu.key && t.effect == gpu.effect)
    {
        out.push(Taint {
            key: gpu.key,
            value: gpu.value,
            effect: "NO_SCHEDULE",
        });
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
