//! The platform's namespaces inside a cluster: each labelled for Pod
//! Security admission, with an optional ResourceQuota and LimitRange.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value as Json, json};

use super::{FIELD_MANAGER, KubeError, MANAGED_BY, managed_labels, retried};
use tokio_util::sync::CancellationToken;

/// A namespace as the configuration describes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamespaceSpec {
    pub name: String,
    /// `privileged`, `baseline` or `restricted`.
    pub pod_security_level: String,
    pub labels: BTreeMap<String, String>,
    /// ResourceQuota `hard` entries (`requests.cpu` = "20").
    pub quota: BTreeMap<String, String>,
    /// Container defaults: (`default` | `defaultRequest`, resource) = quantity.
    pub limits: BTreeMap<(String, String), String>,
    /// Whether (and whose) the service mesh's sidecar goes into the pods.
    pub sidecar_injection: Option<SidecarInjection>,
    /// Where the configuration declares it (`kubernetes_namespaces[0]`,
    /// `namespace[1]`), recorded on the namespace so an import can put it
    /// back in the same place and plan no change.
    pub declared_as: Option<String>,
}

/// Which Istio sidecar a namespace's pods get.
#[derive(Clone, Debug, PartialEq)]
pub enum SidecarInjection {
    /// The default revision's (`istio-injection=enabled`).
    Default,
    /// A named control-plane revision's (`istio.io/rev=REVISION`): how
    /// Istio is upgraded revision by revision, and how GKE's managed
    /// revisions are chosen.
    Revision(String),
}

/// The label asking Istio to inject its default sidecar into a namespace's
/// pods. It wins over the revision label, so only one is ever set.
pub const SIDECAR_INJECTION: &str = "istio-injection";

/// The label naming the Istio revision whose sidecar is injected.
pub const ISTIO_REVISION: &str = "istio.io/rev";

/// The annotation holding `declared_as`.
pub const DECLARED_AS: &str = "genesis-platform.dev/declared-as";

pub const QUOTA_NAME: &str = "genesis-quota";
pub const LIMITS_NAME: &str = "genesis-limits";
const PSS_KEYS: [&str; 3] = [
    "pod-security.kubernetes.io/enforce",
    "pod-security.kubernetes.io/audit",
    "pod-security.kubernetes.io/warn",
];

/// The Namespace object.
pub fn namespace_manifest(ns: &NamespaceSpec) -> Json {
    let mut labels = managed_labels(&ns.labels);
    for key in PSS_KEYS {
        labels[key] = json!(ns.pod_security_level);
    }
    match &ns.sidecar_injection {
        Some(SidecarInjection::Default) => labels[SIDECAR_INJECTION] = json!("enabled"),
        Some(SidecarInjection::Revision(r)) => labels[ISTIO_REVISION] = json!(r),
        None => {}
    }
    let mut manifest = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns.name, "labels": labels}});
    if let Some(place) = &ns.declared_as {
        manifest["metadata"]["annotations"] = json!({ DECLARED_AS: place });
    }
    manifest
}

/// The ResourceQuota, when the namespace has one.
pub fn quota_manifest(ns: &NamespaceSpec) -> Option<Json> {
    (!ns.quota.is_empty()).then(|| {
        json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": QUOTA_NAME, "namespace": ns.name, "labels": managed_labels(&BTreeMap::new())},
            "spec": {"hard": ns.quota}})
    })
}

/// The LimitRange, when the namespace has default limits.
pub fn limits_manifest(ns: &NamespaceSpec) -> Option<Json> {
    (!ns.limits.is_empty()).then(|| {
        let mut limit = json!({"type": "Container"});
        for ((kind, resource), quantity) in &ns.limits {
            limit[kind][resource] = json!(quantity);
        }
        json!({"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": LIMITS_NAME, "namespace": ns.name, "labels": managed_labels(&BTreeMap::new())},
            "spec": {"limits": [limit]}})
    })
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Makes the cluster's Genesis namespaces exactly `wanted`: applies each
/// (with its quota and limits) and deletes the ones Genesis made that are
/// no longer wanted.
pub async fn reconcile(
    client: &kube::Client,
    wanted: &[NamespaceSpec],
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let params = apply_params();
    for ns in wanted {
        let manifest = Patch::Apply(namespace_manifest(ns));
        retried(stop, || namespaces.patch(&ns.name, &params, &manifest))
            .await
            .map_err(|e| KubeError::from_kube(&format!("applying namespace {}", ns.name), e))?;
        let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), &ns.name);
        match quota_manifest(ns) {
            Some(q) => {
                let q = Patch::Apply(q);
                retried(stop, || quotas.patch(QUOTA_NAME, &params, &q))
                    .await
                    .map_err(|e| {
                        KubeError::from_kube(&format!("applying the quota of {}", ns.name), e)
                    })?;
            }
            None => delete_if_present(&quotas, QUOTA_NAME, stop).await?,
        }
        let limits: Api<LimitRange> = Api::namespaced(client.clone(), &ns.name);
        match limits_manifest(ns) {
            Some(l) => {
                let l = Patch::Apply(l);
                retried(stop, || limits.patch(LIMITS_NAME, &params, &l))
                    .await
                    .map_err(|e| {
                        KubeError::from_kube(&format!("applying the limits of {}", ns.name), e)
                    })?;
            }
            None => delete_if_present(&limits, LIMITS_NAME, stop).await?,
        }
    }
    let keep: BTreeSet<&str> = wanted.iter().map(|n| n.name.as_str()).collect();
    let delete = DeleteParams::default();
    for existing in managed(client, stop).await? {
        if !keep.contains(existing.name.as_str()) {
            retried(stop, || namespaces.delete(&existing.name, &delete))
                .await
                .map_err(|e| {
                    KubeError::from_kube(&format!("deleting namespace {}", existing.name), e)
                })?;
        }
    }
    Ok(())
}

async fn delete_if_present<K>(
    api: &Api<K>,
    name: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = DeleteParams::default();
    match retried(stop, || api.delete(name, &params)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(KubeError::from_kube(&format!("deleting {name}"), e)),
    }
}

/// The namespaces Genesis manages in the cluster, as they are now.
pub async fn managed(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Vec<NamespaceSpec>, KubeError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let listing = ListParams::default().labels(&selector);
    let list = retried(stop, || namespaces.list(&listing))
        .await
        .map_err(|e| KubeError::from_kube("listing namespaces", e))?;
    let mut out = Vec::new();
    for ns in list.items {
        if ns.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = ns.metadata.name.clone().unwrap_or_default();
        let labels = ns.metadata.labels.clone().unwrap_or_default();
        let pod_security_level = labels.get(PSS_KEYS[0]).cloned().unwrap_or_default();
        let sidecar_injection = if labels
            .get(SIDECAR_INJECTION)
            .is_some_and(|v| v == "enabled")
        {
            Some(SidecarInjection::Default)
        } else {
            labels
                .get(ISTIO_REVISION)
                .map(|r| SidecarInjection::Revision(r.clone()))
        };
        let user: BTreeMap<String, String> = labels
            .into_iter()
            .filter(|(k, _)| {
                !PSS_KEYS.contains(&k.as_str())
                    && k != MANAGED_BY.0
                    && k != SIDECAR_INJECTION
                    && k != ISTIO_REVISION
                    && k != "kubernetes.io/metadata.name"
            })
            .collect();
        let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), &name);
        let quota = retried(stop, || quotas.get_opt(QUOTA_NAME))
            .await
            .map_err(|e| KubeError::from_kube("reading a quota", e))?
            .and_then(|q| q.spec)
            .and_then(|s| s.hard)
            .map(|h| h.into_iter().map(|(k, v)| (k, v.0)).collect())
            .unwrap_or_default();
        let ranges: Api<LimitRange> = Api::namespaced(client.clone(), &name);
        let mut limits = BTreeMap::new();
        if let Some(range) = retried(stop, || ranges.get_opt(LIMITS_NAME))
            .await
            .map_err(|e| KubeError::from_kube("reading limits", e))?
        {
            for item in range.spec.map(|s| s.limits).unwrap_or_default() {
                for (kind, values) in [
                    ("default", item.default),
                    ("defaultRequest", item.default_request),
                ] {
                    for (resource, q) in values.unwrap_or_default() {
                        limits.insert((kind.to_string(), resource), q.0);
                    }
                }
            }
        }
        let declared_as = ns
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(DECLARED_AS))
            .cloned();
        out.push(NamespaceSpec {
            name,
            pod_security_level,
            labels: user,
            quota,
            limits,
            sidecar_injection,
            declared_as,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_carry_pod_security_labels_and_defaults() {
        let ns = NamespaceSpec {
            name: "apps".into(),
            pod_security_level: "restricted".into(),
            quota: [("requests.cpu".to_string(), "20".to_string())].into(),
            limits: [(
                ("defaultRequest".to_string(), "cpu".to_string()),
                "100m".to_string(),
            )]
            .into(),
            ..NamespaceSpec::default()
        };
        let m = namespace_manifest(&ns);
        assert_eq!(
            m["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        assert_eq!(
            m["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "genesis"
        );
        assert_eq!(
            quota_manifest(&ns).unwrap()["spec"]["hard"]["requests.cpu"],
            "20"
        );
        assert_eq!(
            limits_manifest(&ns).unwrap()["spec"]["limits"][0]["defaultRequest"]["cpu"],
            "100m"
        );
        assert!(quota_manifest(&NamespaceSpec::default()).is_none());
    }
}
