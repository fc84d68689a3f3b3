//! `genesis_node_pool`'s configuration in typed form, field names being the
//! attributes' (see `framework::model`): decoded once at the resource's
//! boundary into `PoolConfig`, which the back ends' `PoolSpec` is made
//! from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::model::decode;
use crate::framework::value::Value;

/// Every attribute but `timeouts`. Settings whose default follows from the
/// cloud or the pool type are `None` until the plan sets them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolConfig {
    pub id: Option<String>,
    /// The `genesis_cluster`'s id.
    pub cluster: String,
    pub name: String,
    pub machine_type: Option<String>,
    pub disk_size_gb: i64,
    pub disk_type: Option<String>,
    pub image_type: Option<String>,
    pub initial_node_count: i64,
    pub node_count: Option<i64>,
    pub enable_autoscaling: bool,
    pub min_nodes: i64,
    pub max_nodes: i64,
    pub node_pool_type: Option<String>,
    pub workload_type: Option<String>,
    pub preemptible: bool,
    pub spot: Option<bool>,
    pub gpu: Option<GpuConfig>,
    pub taints: Option<Vec<TaintConfig>>,
    pub labels: Option<BTreeMap<String, String>>,
    /// The labels and taints the nodes get: the configuration's and the
    /// pool type's.
    pub effective_labels: Option<BTreeMap<String, String>>,
    pub effective_taints: Option<Vec<TaintConfig>>,
    pub node_locations: Option<Vec<String>>,
    pub auto_repair: bool,
    pub auto_upgrade: Option<bool>,
    pub max_surge: Option<i64>,
    pub max_unavailable: Option<i64>,
    pub service_account: Option<String>,
    pub eks: Option<EksPoolConfig>,
    pub status: Option<String>,
    pub kubernetes_version: Option<String>,
    pub version: Option<String>,
    /// What the pool is on its cluster (`KIND_*`); `None` until known.
    pub kind: Option<String>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            id: None,
            cluster: String::new(),
            name: String::new(),
            machine_type: None,
            disk_size_gb: 100,
            disk_type: None,
            image_type: None,
            initial_node_count: 1,
            node_count: None,
            enable_autoscaling: true,
            min_nodes: 0,
            max_nodes: 3,
            node_pool_type: None,
            workload_type: None,
            preemptible: false,
            spot: None,
            gpu: None,
            taints: None,
            labels: None,
            effective_labels: None,
            effective_taints: None,
            node_locations: None,
            auto_repair: true,
            auto_upgrade: None,
            max_surge: None,
            max_unavailable: None,
            service_account: None,
            eks: None,
            status: None,
            kubernetes_version: None,
            version: None,
            kind: None,
        }
    }
}

/// A taint: `value` is empty when left out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaintConfig {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// The `gpu` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GpuConfig {
    pub r#type: String,
    pub count: i64,
    pub driver: Option<String>,
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            r#type: String::new(),
            count: 1,
            driver: None,
        }
    }
}

/// The `eks` object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EksPoolConfig {
    pub node_role_arn: Option<String>,
    pub subnet_ids: Option<Vec<String>>,
}

impl PoolConfig {
    pub fn decode(value: &Value) -> Result<PoolConfig, Diagnostics> {
        decode(value).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Provider error: the node pool does not fit its model",
                format!("{e}. This is a bug in the provider; please report it."),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::model::model_coverage_problems;

    /// An attribute added to the schema but not to the model (or named or
    /// defaulted differently) fails here.
    #[test]
    fn the_model_covers_every_attribute_both_ways() {
        let problems = model_coverage_problems::<PoolConfig>(super::super::schema::schema());
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
