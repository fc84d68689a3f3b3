//! The resource types the simulated API server serves, and the discovery
//! documents (`/api`, `/apis`, group versions) built from them in the shape
//! a real server returns.

use serde_json::{Value as Json, json};

/// One resource type.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub subresources: &'static [&'static str],
    /// Whether spec changes bump `metadata.generation`.
    pub generation: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, as in messages ("deployments.apps \"api\" not found").
    /// `StatefulSet.apps`, as in validation messages.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub const RESOURCES: &[ResourceType] = &[
    ResourceType {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        subresources: &["status"],
        generation: false,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        subresources: &[],
        generation: false,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        subresources: &["status"],
        generation: false,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "secrets",
        singular: "secret",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        subresources: &[],
        generation: false,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "services",
        singular: "service",
        kind: "Service",
        namespaced: true,
        short_names: &["svc"],
        subresources: &["status"],
        generation: false,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        subresources: &[],
        generation: false,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "resourcequotas",
        singular: "resourcequota",
        kind: "ResourceQuota",
        namespaced: true,
        short_names: &["quota"],
        subresources: &["status"],
        generation: false,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "limitranges",
        singular: "limitrange",
        kind: "LimitRange",
        namespaced: true,
        short_names: &["limits"],
        subresources: &[],
        generation: false,
    },
    ResourceType {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        subresources: &["scale", "status"],
        generation: true,
    },
    ResourceType {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        singular: "statefulset",
        kind: "StatefulSet",
        namespaced: true,
        short_names: &["sts"],
        subresources: &["scale", "status"],
        generation: true,
    },
    ResourceType {
        group: "batch",
        version: "v1",
        plural: "jobs",
        singular: "job",
        kind: "Job",
        namespaced: true,
        short_names: &[],
        subresources: &["status"],
        generation: true,
    },
    ResourceType {
        group: "batch",
        version: "v1",
        plural: "cronjobs",
        singular: "cronjob",
        kind: "CronJob",
        namespaced: true,
        short_names: &["cj"],
        subresources: &["status"],
        generation: true,
    },
    ResourceType {
        group: "",
        version: "v1",
        plural: "persistentvolumeclaims",
        singular: "persistentvolumeclaim",
        kind: "PersistentVolumeClaim",
        namespaced: true,
        short_names: &["pvc"],
        subresources: &["status"],
        generation: false,
    },
    ResourceType {
        group: "storage.k8s.io",
        version: "v1",
        plural: "storageclasses",
        singular: "storageclass",
        kind: "StorageClass",
        namespaced: false,
        short_names: &["sc"],
        subresources: &[],
        generation: false,
    },
    ResourceType {
        group: "autoscaling",
        version: "v2",
        plural: "horizontalpodautoscalers",
        singular: "horizontalpodautoscaler",
        kind: "HorizontalPodAutoscaler",
        namespaced: true,
        short_names: &["hpa"],
        subresources: &["status"],
        generation: false,
    },
    ResourceType {
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        kind: "PodDisruptionBudget",
        namespaced: true,
        short_names: &["pdb"],
        subresources: &["status"],
        generation: true,
    },
    ResourceType {
        group: "networking.k8s.io",
        version: "v1",
        plural: "networkpolicies",
        singular: "networkpolicy",
        kind: "NetworkPolicy",
        namespaced: true,
        short_names: &["netpol"],
        subresources: &[],
        generation: true,
    },
    ResourceType {
        group: "networking.k8s.io",
        version: "v1",
        plural: "ingresses",
        singular: "ingress",
        kind: "Ingress",
        namespaced: true,
        short_names: &["ing"],
        subresources: &["status"],
        generation: true,
    },
    ResourceType {
        group: "networking.k8s.io",
        version: "v1",
        plural: "ingressclasses",
        singular: "ingressclass",
        kind: "IngressClass",
        namespaced: false,
        short_names: &[],
        subresources: &[],
        generation: true,
    },
    ResourceType {
        group: "discovery.k8s.io",
        version: "v1",
        plural: "endpointslices",
        singular: "endpointslice",
        kind: "EndpointSlice",
        namespaced: true,
        short_names: &[],
        subresources: &[],
        generation: true,
    },
    ResourceType {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "roles",
        singular: "role",
        kind: "Role",
        namespaced: true,
        short_names: &[],
        subresources: &[],
        // RBAC objects have no spec: a real server sets no generation.
        generation: false,
    },
    ResourceType {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "rolebindings",
        singular: "rolebinding",
        kind: "RoleBinding",
        namespaced: true,
        short_names: &[],
        subresources: &[],
        // RBAC objects have no spec: a real server sets no generation.
        generation: false,
    },
    ResourceType {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterroles",
        singular: "clusterrole",
        kind: "ClusterRole",
        namespaced: false,
        short_names: &[],
        subresources: &[],
        // RBAC objects have no spec: a real server sets no generation.
        generation: false,
    },
    ResourceType {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        kind: "ClusterRoleBinding",
        namespaced: false,
        short_names: &[],
        subresources: &[],
        // RBAC objects have no spec: a real server sets no generation.
        generation: false,
    },
    ResourceType {
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        singular: "customresourcedefinition",
        kind: "CustomResourceDefinition",
        namespaced: false,
        short_names: &["crd", "crds"],
        subresources: &["status"],
        generation: true,
    },
];

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.api_version() == api_version && r.kind == kind)
}

/// The built-in types, then those `custom` (the cluster's established
/// CustomResourceDefinitions) adds.
fn all<'a>(
    custom: &'a [&'static ResourceType],
) -> impl Iterator<Item = &'static ResourceType> + 'a {
    RESOURCES.iter().chain(custom.iter().copied())
}

/// The type served at `group/version/plural`, built in or `custom`.
pub fn find_in(
    custom: &[&'static ResourceType],
    group: &str,
    version: &str,
    plural: &str,
) -> Option<&'static ResourceType> {
    all(custom).find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// `GET /api/v1` or `GET /apis/GROUP/VERSION`.
pub fn resource_list(custom: &[&'static ResourceType], group: &str, version: &str) -> Option<Json> {
    let types: Vec<&ResourceType> = all(custom)
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for r in types {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": if r.plural == "namespaces" { json!(["create", "delete", "get", "list", "patch", "update", "watch"]) } else { json!(VERBS) },
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if r.group == "apps" || r.plural == "services" {
            entry["categories"] = json!(["all"]);
        }
        resources.push(entry);
        for sub in r.subresources {
            let mut s = json!({
                "name": format!("{}/{sub}", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            });
            if *sub == "scale" {
                s["group"] = json!("autoscaling");
                s["version"] = json!("v1");
                s["kind"] = json!("Scale");
            }
            resources.push(s);
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": if group.is_empty() { version.to_string() } else { format!("{group}/{version}") },
        "resources": resources,
    }))
}

/// `GET /api`.
pub fn core_versions() -> Json {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}],
    })
}

/// `GET /apis`.
pub fn groups(custom: &[&'static ResourceType]) -> Json {
    let mut names: Vec<(&str, &str)> = all(custom)
        .filter(|r| !r.group.is_empty())
        .map(|r| (r.group, r.version))
        .collect();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(*n));
    let groups: Vec<Json> = names
        .iter()
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /version`, as the recorded server answers.
pub fn version() -> Json {
    json!({
        "major": "1",
        "minor": "36",
        "emulationMajor": "1",
        "emulationMinor": "36",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "35",
        "gitVersion": "v1.36.2-genesis-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-22T00:00:00Z",
        "goVersion": "go1.27.3",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Aggregated discovery (`apidiscovery.k8s.io/v2`), which kubectl asks for
/// first: every group's resources in one answer. `core` selects `/api`.
pub fn aggregated(custom: &[&'static ResourceType], core: bool) -> Json {
    let mut groups: Vec<(&str, &str)> = all(custom)
        .filter(|r| r.group.is_empty() == core)
        .map(|r| (r.group, r.version))
        .collect();
    let mut seen = std::collections::HashSet::new();
    groups.retain(|g| seen.insert(*g));
    let items: Vec<Json> = groups
        .iter()
        .map(|(group, version)| {
            let resources: Vec<Json> = all(custom)
                .filter(|r| r.group == *group && r.version == *version)
                .map(|r| {
                    let mut e = json!({
                        "resource": r.plural,
                        "responseKind": {"group": "", "version": "", "kind": r.kind},
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": VERBS,
                    });
                    if !r.short_names.is_empty() {
                        e["shortNames"] = json!(r.short_names);
                    }
                    let subs: Vec<Json> = r
                        .subresources
                        .iter()
                        .map(|s| {
                            let kind = if *s == "scale" { json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}) } else { json!({"group": "", "version": "", "kind": r.kind}) };
                            json!({"subresource": s, "responseKind": kind, "verbs": ["get", "patch", "update"]})
                        })
                        .collect();
                    if !subs.is_empty() {
                        e["subresources"] = json!(subs);
                    }
                    e
                })
                .collect();
            let mut meta = json!({});
            if !group.is_empty() {
                meta["name"] = json!(group);
            }
            json!({"metadata": meta, "versions": [{"version": version, "resources": resources, "freshness": "Current"}]})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}
