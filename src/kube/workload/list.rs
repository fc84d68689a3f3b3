//! The applications in a cluster, for listing (`terraform query`): the
//! Deployments, StatefulSets, Jobs and CronJobs that no other object owns
//! (a CronJob's Jobs are the CronJob's), a blue-green pair of Deployments
//! (`NAME-blue`, `NAME-green`, labelled with their color) as the one
//! workload `NAME`. Without a namespace, every namespace but those
//! Kubernetes, the clouds and the platform's add-ons keep for themselves.

use std::collections::BTreeSet;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use tokio_util::sync::CancellationToken;

use super::colors::COLOR_LABEL;
use crate::kube::{KubeError, retried};

/// Namespaces that hold no application of the user's.
const SYSTEM_PREFIXES: &[&str] = &["kube-", "gke-", "gmp-", "amazon-", "istio-"];
const SYSTEM_NAMESPACES: &[&str] = &["external-secrets", "cert-manager", "karpenter"];

pub fn is_system_namespace(namespace: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&namespace)
        || SYSTEM_PREFIXES.iter().any(|p| namespace.starts_with(p))
}

const CONTROLLERS: [(&str, &str, &str, &str); 4] = [
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("batch", "v1", "Job", "jobs"),
    ("batch", "v1", "CronJob", "cronjobs"),
];

/// (namespace, workload name) of each application, sorted.
pub async fn applications(
    client: &kube::Client,
    namespace: Option<&str>,
    stop: &CancellationToken,
) -> Result<Vec<(String, String)>, KubeError> {
    let mut found = BTreeSet::new();
    for (group, version, kind, plural) in CONTROLLERS {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let (call, all) = (format!("listing {plural}"), ListParams::default());
        let list = retried(stop, || api.list(&all))
            .await
            .map_err(|e| KubeError::from_kube(&call, e))?;
        for object in list.items {
            let meta = &object.metadata;
            let (Some(ns), Some(name)) = (&meta.namespace, &meta.name) else {
                continue;
            };
            let owned = meta
                .owner_references
                .as_ref()
                .is_some_and(|o| !o.is_empty());
            if owned || (namespace.is_none() && is_system_namespace(ns)) {
                continue;
            }
            found.insert((ns.clone(), workload_name(meta, name)));
        }
    }
    Ok(found.into_iter().collect())
}

/// The workload a controller belongs to: `NAME` for a blue-green color's
/// `NAME-blue` or `NAME-green`.
fn workload_name(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    name: &str,
) -> String {
    let color = meta.labels.as_ref().and_then(|l| l.get(COLOR_LABEL));
    color
        .and_then(|c| name.strip_suffix(&format!("-{c}")))
        .unwrap_or(name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn a_colored_deployment_is_its_workload() {
        let meta = ObjectMeta {
            labels: Some([(COLOR_LABEL.to_string(), "green".to_string())].into()),
            ..ObjectMeta::default()
        };
        assert_eq!(workload_name(&meta, "api-green"), "api");
        assert_eq!(
            workload_name(&ObjectMeta::default(), "api-green"),
            "api-green"
        );
        assert!(is_system_namespace("kube-system") && !is_system_namespace("shop"));
    }
}
