//! The Cluster Autoscaler inside an EKS cluster with managed node groups:
//! its service account, its permissions (a ClusterRole to watch what it
//! schedules and to drain nodes, a Role in `kube-system` for its status
//! ConfigMap) and its Deployment, all named `cluster-autoscaler` and
//! labelled as Genesis's own. The AWS side (its IAM role through EKS Pod
//! Identity) is `cloud::aws::cluster_autoscaler`.
//!
//! The autoscaler finds the node groups by the tags EKS puts on their Auto
//! Scaling groups, and resizes them between the pools' `min_nodes` and
//! `max_nodes`. Its release follows the cluster's Kubernetes minor
//! version, as the project supports.

use kube::api::{Api, DynamicObject};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use super::addon_objects::{
    CLUSTER_ROLE, CLUSTER_ROLE_BINDING, DEPLOYMENT, Kind, READ, ROLE, ROLE_BINDING,
    SERVICE_ACCOUNT, binding, metadata, named, role, rule, service_account,
};
use super::{KubeError, owned};

/// Its name: of the objects, the service account and the container.
pub const NAME: &str = "cluster-autoscaler";
pub use super::addon_objects::NAMESPACE;

/// The release for each Kubernetes minor version EKS supports
/// (`registry.k8s.io`'s tags, the newest patch known on 2026-07-23).
const RELEASES: &[(u32, &str)] = &[
    (32, "v1.32.7"),
    (33, "v1.33.6"),
    (34, "v1.34.5"),
    (35, "v1.35.2"),
    (36, "v1.36.1"),
];

/// The image for a cluster of `kubernetes_version` (`1.35`, `1.35.2`,
/// `v1.35.2-eks-…`): the release of its minor version, or the nearest one
/// known for a version newer or older than all of them.
pub fn image(kubernetes_version: &str) -> String {
    let minor = kubernetes_version
        .trim_start_matches('v')
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok());
    let (first, last) = (RELEASES[0], RELEASES[RELEASES.len() - 1]);
    let tag = match minor {
        Some(m) if m < first.0 => first.1,
        Some(m) => RELEASES
            .iter()
            .find(|(minor, _)| *minor == m)
            .map_or(last.1, |(_, tag)| *tag),
        None => last.1,
    };
    format!("registry.k8s.io/autoscaling/{NAME}:{tag}")
}

/// What it reads to simulate scheduling, and what it writes to drain and
/// remove nodes and to elect a leader.
fn cluster_role() -> Json {
    role(
        NAME,
        NAME,
        false,
        vec![
            rule(&[""], &["events", "endpoints"], &["create", "patch"]),
            rule(&[""], &["pods/eviction"], &["create"]),
            rule(&[""], &["pods/status"], &["update"]),
            named(&[""], &["endpoints"], &[NAME], &["get", "update"]),
            rule(&[""], &["nodes"], &["get", "list", "watch", "update"]),
            rule(
                &[""],
                &[
                    "namespaces",
                    "pods",
                    "services",
                    "replicationcontrollers",
                    "persistentvolumeclaims",
                    "persistentvolumes",
                ],
                READ,
            ),
            rule(
                &["apps"],
                &["statefulsets", "replicasets", "daemonsets"],
                READ,
            ),
            rule(&["batch"], &["jobs", "cronjobs"], READ),
            rule(&["policy"], &["poddisruptionbudgets"], &["list", "watch"]),
            rule(
                &["storage.k8s.io"],
                &[
                    "storageclasses",
                    "csinodes",
                    "csidrivers",
                    "csistoragecapacities",
                    "volumeattachments",
                ],
                READ,
            ),
            rule(&["coordination.k8s.io"], &["leases"], &["create"]),
            named(
                &["coordination.k8s.io"],
                &["leases"],
                &[NAME],
                &["get", "update"],
            ),
        ],
    )
}

/// Its status ConfigMap, in its own namespace only.
fn status_role() -> Json {
    role(
        NAME,
        NAME,
        true,
        vec![
            rule(&[""], &["configmaps"], &["create", "list", "watch"]),
            named(
                &[""],
                &["configmaps"],
                &[
                    "cluster-autoscaler-status",
                    "cluster-autoscaler-priority-expander",
                ],
                &["delete", "get", "update", "watch"],
            ),
        ],
    )
}

/// The Deployment: one replica (it elects a leader anyway), critical to
/// the cluster, never evicted by its own scale-down, discovering the
/// cluster's node groups by EKS's tags.
pub fn deployment(cluster: &str, region: &str, kubernetes_version: &str) -> Json {
    let labels = json!({"app.kubernetes.io/name": NAME});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(NAME, NAME, true),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                },
                "spec": {
                    "serviceAccountName": NAME,
                    "priorityClassName": "system-cluster-critical",
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65534, "fsGroup": 65534},
                    "containers": [{
                        "name": NAME,
                        "image": image(kubernetes_version),
                        "command": [
                            "./cluster-autoscaler",
                            "--cloud-provider=aws",
                            format!("--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}"),
                            // Pools of one shape in several zones grow together.
                            "--balance-similar-node-groups",
                            "--expander=least-waste",
                            // Nodes running only kube-system pods still shrink.
                            "--skip-nodes-with-system-pods=false",
                        ],
                        "env": [{"name": "AWS_REGION", "value": region}],
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "600Mi"},
                            "limits": {"memory": "600Mi"},
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }],
                },
            },
        },
    })
}

/// Its objects' kinds, in the order they are applied (what a Deployment's
/// pods need first) and the reverse of that in which they are removed.
const KINDS: [Kind; 6] = [
    SERVICE_ACCOUNT,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    ROLE,
    ROLE_BINDING,
    DEPLOYMENT,
];

/// Applies the autoscaler for `cluster` (in `region`, at
/// `kubernetes_version`). Objects of its name that Genesis did not make
/// (an autoscaler installed by hand or by a chart) are never taken over.
pub async fn apply(
    client: &kube::Client,
    cluster: &str,
    region: &str,
    kubernetes_version: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let manifests = [
        service_account(NAME),
        cluster_role(),
        binding(NAME, NAME, false),
        status_role(),
        binding(NAME, NAME, true),
        deployment(cluster, region, kubernetes_version),
    ];
    let apis: Vec<_> = KINDS.iter().map(|k| k.api(client)).collect();
    let objects: Vec<(&Api<DynamicObject>, &str, Json)> = apis
        .iter()
        .zip(KINDS)
        .zip(manifests)
        .map(|((api, kind), manifest)| (api, kind.kind, manifest))
        .collect();
    owned::apply_all(
        &objects,
        NAME,
        "a Cluster Autoscaler installed otherwise (remove it, or leave \"cluster-autoscaler\" out of eks.addons)",
        stop,
    )
    .await
}

/// Removes what `apply` made, the Deployment first; objects Genesis did
/// not make stay.
pub async fn remove(client: &kube::Client, stop: &CancellationToken) -> Result<(), KubeError> {
    let apis: Vec<_> = KINDS.iter().map(|k| k.api(client)).collect();
    let objects: Vec<(&Api<DynamicObject>, &str)> = apis
        .iter()
        .zip(KINDS)
        .rev()
        .map(|(api, kind)| (api, kind.kind))
        .collect();
    owned::delete_in_order(
        &objects,
        NAME,
        std::time::Duration::from_secs(120),
        "",
        stop,
    )
    .await
}

/// Whether Genesis's autoscaler Deployment is in the cluster.
pub async fn installed(client: &kube::Client, stop: &CancellationToken) -> Result<bool, KubeError> {
    super::addon_objects::installed(client, NAME, stop).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::MANAGED_BY;

    #[test]
    fn the_release_follows_the_clusters_minor_version() {
        assert_eq!(
            image("1.35"),
            "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2"
        );
        assert!(image("v1.34.3-eks-1234").ends_with(":v1.34.5"));
        assert!(
            image("1.40").ends_with(":v1.36.1"),
            "newer: the newest known"
        );
        assert!(
            image("1.29").ends_with(":v1.32.7"),
            "older: the oldest known"
        );
    }

    #[test]
    fn the_deployment_discovers_the_clusters_node_groups() {
        let d = deployment("prod", "eu-west-1", "1.36");
        let container = &d["spec"]["template"]["spec"]["containers"][0];
        let command: Vec<&str> = container["command"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Json::as_str)
            .collect();
        assert!(command.contains(&"--cloud-provider=aws"));
        assert!(command.contains(
            &"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/prod"
        ));
        assert_eq!(container["env"][0]["value"], "eu-west-1");
        assert_eq!(d["spec"]["template"]["spec"]["serviceAccountName"], NAME);
        assert_eq!(d["metadata"]["labels"][MANAGED_BY.0], MANAGED_BY.1);
    }
}
