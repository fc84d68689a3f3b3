//! Node pools that live inside a cluster: on EKS Auto Mode a pool is a
//! Karpenter `NodePool` (`karpenter.sh/v1`) with its own EKS `NodeClass`
//! (`eks.amazonaws.com/v1`) of the same name. Karpenter makes a node when
//! a pod that fits the pool's requirements and tolerates its taints is
//! pending, and removes it once empty; there is no minimum size.
//!
//! Both objects are labelled as Genesis's own. One of the same name that
//! Genesis did not make (EKS's built-in `general-purpose` and `system`
//! pools, or one someone applied) is never taken over nor deleted.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use super::{KubeError, MANAGED_BY, owned};

/// Requirement keys Karpenter and Auto Mode know.
pub const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
pub const CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
/// EKS's built-in NodePools, which EKS owns.
pub const BUILT_IN: &[&str] = &["general-purpose", "system"];

/// A pool, in Karpenter's and EKS's terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KarpenterPool {
    pub name: String,
    /// The nodes' labels (what workloads select).
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// EC2 instance types the nodes may be.
    pub instance_types: Vec<String>,
    /// Spot capacity rather than on-demand.
    pub spot: bool,
    /// At most this many nodes (`limits.nodes`).
    pub max_nodes: i64,
    /// Each node's ephemeral storage, in GiB.
    pub disk_gib: i64,
    /// The nodes' subnets; the cluster's when empty.
    pub subnet_ids: Vec<String>,
    /// Nodes Karpenter may disrupt at once (consolidation, expiry, drift).
    pub max_unavailable: i64,
}

/// A pool as read back, with Karpenter's verdict on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedKarpenterPool {
    pub pool: KarpenterPool,
    /// The NodePool's `Ready` condition: `None` before Karpenter saw it.
    pub ready: Option<bool>,
    /// Why it is not ready, as Karpenter says.
    pub message: String,
}

pub(super) fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

fn node_pool_api(client: &kube::Client) -> Api<DynamicObject> {
    Api::all_with(
        client.clone(),
        &resource("karpenter.sh", "NodePool", "nodepools"),
    )
}

fn node_class_api(client: &kube::Client) -> Api<DynamicObject> {
    Api::all_with(
        client.clone(),
        &resource("eks.amazonaws.com", "NodeClass", "nodeclasses"),
    )
}

pub(super) fn metadata(name: &str) -> Json {
    json!({"name": name, "labels": {MANAGED_BY.0: MANAGED_BY.1}})
}

/// The NodePool: the nodes' labels and taints, what instances they are,
/// how many at most, and how many Karpenter may replace at once.
pub fn node_pool(pool: &KarpenterPool) -> Json {
    let capacity = if pool.spot { "spot" } else { "on-demand" };
    let mut requirements =
        vec![json!({"key": CAPACITY_TYPE, "operator": "In", "values": [capacity]})];
    if !pool.instance_types.is_empty() {
        requirements
            .push(json!({"key": INSTANCE_TYPE, "operator": "In", "values": pool.instance_types}));
    }
    let mut template = json!({
        "nodeClassRef": {"group": "eks.amazonaws.com", "kind": "NodeClass", "name": pool.name},
        "requirements": requirements,
    });
    if !pool.taints.is_empty() {
        template["taints"] = json!(pool.taints);
    }
    json!({
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": metadata(&pool.name),
        "spec": {
            "template": {"metadata": {"labels": pool.labels}, "spec": template},
            "limits": {"nodes": pool.max_nodes},
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": "30s",
                "budgets": [{"nodes": pool.max_unavailable.to_string()}],
            },
        },
    })
}

/// The NodeClass: the nodes' disk and subnets. Left out, the role, the
/// subnets and the security group are the cluster's (Auto Mode's node
/// role already has its access entry).
pub fn node_class(pool: &KarpenterPool) -> Json {
    let mut spec = json!({"ephemeralStorage": {"size": format!("{}Gi", pool.disk_gib)}});
    if !pool.subnet_ids.is_empty() {
        spec["subnetSelectorTerms"] = pool.subnet_ids.iter().map(|id| json!({"id": id})).collect();
    }
    json!({
        "apiVersion": "eks.amazonaws.com/v1",
        "kind": "NodeClass",
        "metadata": metadata(&pool.name),
        "spec": spec,
    })
}

/// The pool the two objects describe.
pub fn decode(node_pool: &Json, node_class: &Json) -> ObservedKarpenterPool {
    let template = &node_pool["spec"]["template"];
    let requirement = |key: &str| -> Vec<String> {
        template["spec"]["requirements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["key"] == key && r["operator"] == "In")
            .flat_map(|r| r["values"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let number = |v: &Json| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    let disk = node_class["spec"]["ephemeralStorage"]["size"]
        .as_str()
        .and_then(|s| s.strip_suffix("Gi"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let ready = node_pool["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    ObservedKarpenterPool {
        pool: KarpenterPool {
            name: node_pool["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            labels: serde_json::from_value(template["metadata"]["labels"].clone())
                .unwrap_or_default(),
            taints: serde_json::from_value(template["spec"]["taints"].clone()).unwrap_or_default(),
            instance_types: requirement(INSTANCE_TYPE),
            spot: requirement(CAPACITY_TYPE) == ["spot"],
            max_nodes: number(&node_pool["spec"]["limits"]["nodes"]).unwrap_or_default(),
            disk_gib: disk,
            subnet_ids: node_class["spec"]["subnetSelectorTerms"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["id"].as_str().map(str::to_string))
                .collect(),
            max_unavailable: node_pool["spec"]["disruption"]["budgets"][0]["nodes"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
        },
        ready: ready.map(|c| c["status"] == "True"),
        message: ready
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_string(),
    }
}

/// What Genesis says of the pools it refuses to take over.
const OTHERS: &str = "node pools others manage (EKS's built-in ones among them)";

/// Applies the pool's NodeClass, then its NodePool. Refused when either
/// name is taken by an object Genesis did not make.
pub async fn apply(
    client: &kube::Client,
    pool: &KarpenterPool,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let (pools, classes) = (node_pool_api(client), node_class_api(client));
    owned::apply_all(
        &[
            (&classes, "NodeClass", node_class(pool)),
            (&pools, "NodePool", node_pool(pool)),
        ],
        &pool.name,
        OTHERS,
        stop,
    )
    .await
}

/// The pool named `name`: `None` when its NodePool is gone or is not
/// Genesis's.
pub async fn read(
    client: &kube::Client,
    name: &str,
    stop: &CancellationToken,
) -> Result<Option<ObservedKarpenterPool>, KubeError> {
    let (pools, classes) = (node_pool_api(client), node_class_api(client));
    let Some(found) = owned::get(&pools, "NodePool", name, stop).await? else {
        return Ok(None);
    };
    let class = owned::get(&classes, "NodeClass", name, stop).await?;
    Ok(Some(decode(&found, &class.unwrap_or_default())))
}

/// The names of the NodePools Genesis made, sorted.
pub async fn list(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Vec<String>, KubeError> {
    owned::names(&node_pool_api(client), "NodePools", stop).await
}

/// Waits until Karpenter reports the NodePool Ready, for at most `within`.
pub async fn wait_ready(
    client: &kube::Client,
    name: &str,
    within: Duration,
    stop: &CancellationToken,
) -> Result<ObservedKarpenterPool, KubeError> {
    owned::wait_until(
        "NodePool",
        name,
        within,
        stop,
        || read(client, name, stop),
        |o: &ObservedKarpenterPool| match o.ready {
            Some(true) => Ok(()),
            _ if o.message.is_empty() => Err(" (Karpenter has not reported it Ready)".into()),
            _ => Err(format!(": {}", o.message)),
        },
    )
    .await
}

/// Deletes the NodePool (Karpenter drains and removes its nodes first),
/// then its NodeClass, and waits until both are gone, for at most
/// `within`. Objects that are not Genesis's are left alone.
pub async fn delete(
    client: &kube::Client,
    name: &str,
    within: Duration,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    owned::delete_in_order(
        &[
            (&node_pool_api(client), "NodePool"),
            (&node_class_api(client), "NodeClass"),
        ],
        name,
        within,
        " (Karpenter drains its nodes first)",
        stop,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agents() -> KarpenterPool {
        KarpenterPool {
            name: "agents".into(),
            labels: [("genesis.io/node-pool".to_string(), "agents".to_string())].into(),
            taints: vec![Taint {
                key: "genesis.io/pool-type".into(),
                value: Some("agent-runtime".into()),
                effect: "NoSchedule".into(),
                time_added: None,
            }],
            instance_types: vec!["m6i.large".into()],
            spot: true,
            max_nodes: 5,
            disk_gib: 120,
            subnet_ids: vec!["subnet-0a".into()],
            max_unavailable: 2,
        }
    }

    #[test]
    fn a_pool_reads_back_as_written() {
        let pool = agents();
        let mut written = node_pool(&pool);
        written["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
        let observed = decode(&written, &node_class(&pool));
        assert_eq!(observed.pool, pool);
        assert_eq!(observed.ready, Some(true));
    }

    #[test]
    fn the_node_pool_names_its_node_class_and_caps_its_nodes() {
        let manifest = node_pool(&agents());
        let spec = &manifest["spec"];
        assert_eq!(spec["template"]["spec"]["nodeClassRef"]["name"], "agents");
        assert_eq!(spec["limits"]["nodes"], 5);
        assert_eq!(spec["disruption"]["budgets"][0]["nodes"], "2");
        assert_eq!(
            spec["template"]["spec"]["requirements"][0],
            json!({"key": CAPACITY_TYPE, "operator": "In", "values": ["spot"]})
        );
        assert_eq!(
            node_class(&agents())["spec"]["ephemeralStorage"]["size"],
            "120Gi"
        );
    }
}
