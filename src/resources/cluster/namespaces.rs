//! The namespaces a `genesis_cluster` creates inside itself: from the
//! configuration's list and blocks to `NamespaceSpec`s, and back into the
//! state in the configuration's arrangement.

use std::collections::BTreeMap;

use super::super::common;
use super::config::ClusterConfig;
use super::schema::SYSTEM_NAMESPACES;
use crate::cloud::cluster::ObservedCluster;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::namespaces::{ISTIO_REVISION, NamespaceSpec, SIDECAR_INJECTION, SidecarInjection};
use crate::provider::ProviderContext;

/// Quota attributes and the ResourceQuota `hard` keys they set.
const QUOTA_KEYS: &[(&str, &str)] = &[
    ("requests_cpu", "requests.cpu"),
    ("requests_memory", "requests.memory"),
    ("limits_cpu", "limits.cpu"),
    ("limits_memory", "limits.memory"),
    ("pods", "pods"),
];

/// LimitRange attributes and the (kind, resource) they set.
const LIMIT_KEYS: &[(&str, &str, &str)] = &[
    ("default_request_cpu", "defaultRequest", "cpu"),
    ("default_request_memory", "defaultRequest", "memory"),
    ("default_limit_cpu", "default", "cpu"),
    ("default_limit_memory", "default", "memory"),
];

/// The namespaces the configuration asks for: the module-style list (with
/// the baseline Pod Security level) and the `namespace` blocks.
pub fn namespace_specs(config: &ClusterConfig) -> Vec<NamespaceSpec> {
    let sidecar_injection = match (&config.service_mesh, &config.service_mesh_revision) {
        (Some(_), Some(revision)) => Some(SidecarInjection::Revision(revision.clone())),
        (Some(_), None) => Some(SidecarInjection::Default),
        (None, _) => None,
    };
    let listed = config.kubernetes_namespaces.iter().flatten();
    let mut out: Vec<NamespaceSpec> = listed
        .enumerate()
        .map(|(i, name)| NamespaceSpec {
            name: name.clone(),
            pod_security_level: "baseline".into(),
            sidecar_injection: sidecar_injection.clone(),
            declared_as: Some(format!("kubernetes_namespaces[{i}]")),
            ..NamespaceSpec::default()
        })
        .collect();
    for (i, block) in config.namespace.iter().enumerate() {
        let quota = block.quota.clone().unwrap_or_default();
        let limits = block.limit_range.clone().unwrap_or_default();
        let entries = |pairs: [(&str, &Option<String>); 4]| {
            pairs
                .into_iter()
                .filter_map(|(key, v)| Some((key.to_string(), v.clone()?)))
                .collect::<Vec<_>>()
        };
        let mut hard: BTreeMap<String, String> = entries([
            ("requests.cpu", &quota.requests_cpu),
            ("requests.memory", &quota.requests_memory),
            ("limits.cpu", &quota.limits_cpu),
            ("limits.memory", &quota.limits_memory),
        ])
        .into_iter()
        .collect();
        if let Some(pods) = quota.pods {
            hard.insert("pods".into(), pods.to_string());
        }
        let defaults = [
            ("defaultRequest", "cpu", &limits.default_request_cpu),
            ("defaultRequest", "memory", &limits.default_request_memory),
            ("default", "cpu", &limits.default_limit_cpu),
            ("default", "memory", &limits.default_limit_memory),
        ];
        out.push(NamespaceSpec {
            name: block.name.clone(),
            pod_security_level: block.pod_security_level.clone(),
            labels: block.labels.clone().unwrap_or_default(),
            quota: hard,
            limits: defaults
                .into_iter()
                .filter_map(|(kind, resource, v)| {
                    Some(((kind.to_string(), resource.to_string()), v.clone()?))
                })
                .collect(),
            sidecar_injection: sidecar_injection.clone(),
            declared_as: Some(format!("namespace[{i}]")),
        });
    }
    out
}

/// Makes the cluster's Genesis namespaces match the configuration.
pub async fn sync_namespaces(
    provider: &ProviderContext,
    observed: &ObservedCluster,
    wanted: &[NamespaceSpec],
) -> Result<(), Diagnostic> {
    if wanted.is_empty() && observed.endpoint.is_empty() {
        return Ok(());
    }
    let client = common::cluster_client(provider, observed).await?;
    crate::kube::namespaces::reconcile(&client, wanted, &provider.stop)
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Failed to set up the cluster's namespaces",
                format!("{e}. The cluster itself is in place; run terraform apply again to retry."),
            )
            .at(AttributePath::attr("namespace"))
        })
}

pub async fn read_namespaces(
    provider: &ProviderContext,
    observed: &ObservedCluster,
) -> Result<Vec<NamespaceSpec>, Diagnostic> {
    let client = common::cluster_client(provider, observed).await?;
    crate::kube::namespaces::managed(&client, &provider.stop)
        .await
        .map_err(|e| Diagnostic::error("Failed to read the cluster's namespaces", e.to_string()))
}

/// How the configuration (or the prior state) arranged its namespaces.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Arrangement {
    kubernetes_namespaces: Field<Vec<String>>,
    namespace: Field<Vec<BlockView>>,
}

/// What a `namespace` block said that the state follows.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct BlockView {
    name: Field<String>,
    labels: Field<serde::de::IgnoredAny>,
    /// By attribute (`default_request_cpu`, ...).
    limit_range: Field<BTreeMap<String, Field<serde::de::IgnoredAny>>>,
}

/// Writes the namespaces found in the cluster into the state, in the
/// configuration's arrangement: those listed in `kubernetes_namespaces` stay
/// there, blocks stay blocks, and missing ones drop out (the next plan adds
/// them back). With no arrangement to follow (after an import), baseline
/// namespaces without quota or limits go to the list, the rest to blocks.
pub fn namespaces_into_state(state: &mut Value, base: &Value, actual: &[NamespaceSpec]) {
    let find = |name: &str| actual.iter().find(|n| n.name == name);
    let arrangement = view::as_written::<Arrangement>(base).unwrap_or_default();
    let listed: Vec<&str> = arrangement
        .kubernetes_namespaces
        .known()
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let blocks: &[BlockView] = arrangement.namespace.known().map_or(&[], Vec::as_slice);
    let arranged = !listed.is_empty() || !blocks.is_empty();
    let block_value = |ns: &NamespaceSpec, old: &BlockView| {
        let labels = if ns.labels.is_empty() && old.labels.is_null() {
            Value::Null
        } else {
            Value::Map(
                ns.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect(),
            )
        };
        let quota = if ns.quota.is_empty() {
            Value::Null
        } else {
            Value::object(QUOTA_KEYS.iter().map(|(attr, key)| {
                let v = ns.quota.get(*key).map_or(Value::Null, |q| {
                    if *attr == "pods" {
                        q.parse::<f64>().map_or(Value::Null, Value::Number)
                    } else {
                        q.clone().into()
                    }
                });
                (*attr, v)
            }))
        };
        let limit_range = if ns.limits.is_empty() {
            Value::Null
        } else {
            let limit = |kind: &str, resource: &str| {
                ns.limits.get(&(kind.to_string(), resource.to_string()))
            };
            Value::object(LIMIT_KEYS.iter().map(|(attr, kind, resource)| {
                let value = limit(kind, resource);
                // The API server defaults a missing default request to the
                // default limit: that copy is the configuration's only
                // when the configuration said it.
                let defaulted = *kind == "defaultRequest"
                    && value.is_some()
                    && value == limit("default", resource)
                    && old
                        .limit_range
                        .known()
                        .and_then(|limits| limits.get(*attr))
                        .is_none_or(Field::is_null);
                let value = value.filter(|_| !defaulted);
                (*attr, value.map_or(Value::Null, |q| q.clone().into()))
            }))
        };
        Value::object([
            ("name", ns.name.clone().into()),
            ("pod_security_level", ns.pod_security_level.clone().into()),
            ("labels", labels),
            ("quota", quota),
            ("limit_range", limit_range),
        ])
    };
    if arranged {
        let kept: Vec<Value> = listed
            .iter()
            .filter(|n| find(n).is_some())
            .map(|n| Value::from(*n))
            .collect();
        if !listed.is_empty() || !arrangement.kubernetes_namespaces.is_null() {
            state.set_attr("kubernetes_namespaces", Value::List(kept));
        }
        let kept_blocks: Vec<Value> = blocks
            .iter()
            .filter_map(|old| {
                let ns = find(old.name.as_str()?)?;
                Some(block_value(ns, old))
            })
            .collect();
        state.set_attr("namespace", Value::List(kept_blocks));
    } else if !actual.is_empty() {
        // Each namespace goes back where the configuration declared it
        // (recorded on the namespace); one made before that was recorded
        // goes to the list when it is plain, to a block otherwise.
        let place = |n: &NamespaceSpec| -> Option<(bool, usize)> {
            let declared = n.declared_as.as_deref()?;
            let (list, index) = declared.strip_suffix(']')?.split_once('[')?;
            Some((list == "kubernetes_namespaces", index.parse().ok()?))
        };
        let mut ordered: Vec<&NamespaceSpec> = actual.iter().collect();
        ordered.sort_by_key(|n| place(n).map(|(_, i)| i));
        let (simple, rich): (Vec<&NamespaceSpec>, Vec<&NamespaceSpec>) =
            ordered.into_iter().partition(|n| match place(n) {
                Some((listed, _)) => listed,
                None => {
                    n.pod_security_level == "baseline"
                        && n.quota.is_empty()
                        && n.limits.is_empty()
                        && n.labels.is_empty()
                }
            });
        if !simple.is_empty() {
            state.set_attr(
                "kubernetes_namespaces",
                Value::List(
                    simple
                        .iter()
                        .map(|n| Value::from(n.name.as_str()))
                        .collect(),
                ),
            );
        }
        state.set_attr(
            "namespace",
            Value::List(
                rich.iter()
                    .map(|n| block_value(n, &BlockView::default()))
                    .collect(),
            ),
        );
    }
    // The mesh shows on the namespaces it labels; with none, the state
    // keeps what it had.
    if !actual.is_empty() {
        let first = &actual[0].sidecar_injection;
        let same = actual.iter().all(|n| &n.sidecar_injection == first);
        let (mesh, revision) = match first {
            Some(SidecarInjection::Default) if same => ("istio".into(), Value::Null),
            Some(SidecarInjection::Revision(r)) if same => ("istio".into(), r.as_str().into()),
            _ => (Value::Null, Value::Null),
        };
        state.set_attr("service_mesh", mesh);
        state.set_attr("service_mesh_revision", revision);
    }
}

/// What the namespace rules read of the configuration, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct NamespacesView {
    service_mesh: Field<String>,
    service_mesh_revision: Field<String>,
    kubernetes_namespaces: Field<Vec<Field<String>>>,
    namespace: Field<Vec<Field<NamespaceView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct NamespaceView {
    name: Field<String>,
    labels: Field<BTreeMap<String, Field<String>>>,
}

pub fn validate_namespaces(config: &Value, diags: &mut Diagnostics) {
    let v = match view::as_written::<NamespacesView>(config) {
        Ok(v) => v,
        Err(d) => return diags.extend(d),
    };
    if v.service_mesh_revision.is_set() && v.service_mesh.is_null() {
        diags.attribute_error(
            AttributePath::attr("service_mesh_revision"),
            "A mesh revision needs a mesh",
            "service_mesh_revision names the Istio revision whose sidecar the namespaces get: set service_mesh = \"istio\" with it, or remove it.",
        );
    }
    // With their places in the list, unknown ones left out.
    let listed: Vec<(usize, &str)> = v
        .kubernetes_namespaces
        .known()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, n)| Some((i, n.as_str()?)))
        .collect();
    let mut seen: Vec<&str> = listed.iter().map(|(_, n)| *n).collect();
    let blocks = v.namespace.known().into_iter().flatten().enumerate();
    for (i, block) in blocks {
        let Some((block, name)) = block.known().and_then(|b| Some((b, b.name.as_str()?))) else {
            continue;
        };
        let path = AttributePath::attr("namespace").index(i).join("name");
        let labels = block.labels.known();
        if SYSTEM_NAMESPACES.contains(&name) {
            diags.attribute_error(
                path,
                "System namespace",
                format!(
                    "{name:?} exists in every cluster and is managed by Kubernetes: leave it out."
                ),
            );
        } else if let Some(label) = [SIDECAR_INJECTION, ISTIO_REVISION]
            .into_iter()
            .find(|l| labels.and_then(|m| m.get(*l)).is_some_and(Field::is_set))
        {
            diags.attribute_error(
                AttributePath::attr("namespace")
                    .index(i)
                    .join("labels")
                    .key(label),
                "Sidecar injection follows service_mesh",
                format!("Genesis labels its namespaces {SIDECAR_INJECTION}=enabled (or {ISTIO_REVISION}=REVISION) from the cluster's service_mesh and service_mesh_revision: set those rather than the label."),
            );
            seen.push(name);
        } else if seen.contains(&name) {
            diags.attribute_error(
                path,
                "Duplicate namespace",
                format!("Namespace {name:?} is listed more than once (in kubernetes_namespaces or namespace blocks): list it once."),
            );
        } else {
            seen.push(name);
        }
    }
    for (k, (i, name)) in listed.iter().enumerate() {
        if listed[..k].iter().any(|(_, n)| n == name) {
            diags.attribute_error(
                AttributePath::attr("kubernetes_namespaces").index(*i),
                "Duplicate namespace",
                format!("Namespace {name:?} is listed more than once: list it once."),
            );
        }
    }
}
