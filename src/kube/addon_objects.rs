//! The pieces of the add-ons Genesis runs itself in `kube-system` (the
//! Cluster Autoscaler, the AWS Load Balancer Controller): their objects'
//! metadata, labelled as Genesis's own, their service accounts and RBAC,
//! and the APIs they are applied through.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value as Json, json};

use tokio_util::sync::CancellationToken;

use super::{KubeError, MANAGED_BY, owned};

/// Where they run.
pub const NAMESPACE: &str = "kube-system";

/// Read access.
pub const READ: &[&str] = &["get", "list", "watch"];

/// The metadata of an add-on's object `name` (in `kube-system` when
/// `namespaced`), labelled as Genesis's and as the add-on `addon`'s.
pub fn metadata(addon: &str, name: &str, namespaced: bool) -> Json {
    let mut meta = json!({
        "name": name,
        "labels": {MANAGED_BY.0: MANAGED_BY.1, "app.kubernetes.io/name": addon},
    });
    if namespaced {
        meta["namespace"] = json!(NAMESPACE);
    }
    meta
}

/// An RBAC rule.
pub fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Json {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

/// An RBAC rule for the objects `names` only.
pub fn named(groups: &[&str], resources: &[&str], names: &[&str], verbs: &[&str]) -> Json {
    json!({"apiGroups": groups, "resources": resources, "resourceNames": names, "verbs": verbs})
}

/// The add-on's service account, named after it.
pub fn service_account(addon: &str) -> Json {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(addon, addon, true)})
}

/// A ClusterRole (or Role, `namespaced`) `name` of `rules`.
pub fn role(addon: &str, name: &str, namespaced: bool, rules: Vec<Json>) -> Json {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": if namespaced { "Role" } else { "ClusterRole" },
        "metadata": metadata(addon, name, namespaced),
        "rules": rules,
    })
}

/// The binding of the role `name` (as `role` made it) to the add-on's
/// service account, of the role's name.
pub fn binding(addon: &str, name: &str, namespaced: bool) -> Json {
    let (kind, role_kind) = if namespaced {
        ("RoleBinding", "Role")
    } else {
        ("ClusterRoleBinding", "ClusterRole")
    };
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata(addon, name, namespaced),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": addon, "namespace": NAMESPACE}],
    })
}

/// One kind of object an add-on is made of.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl Kind {
    pub const fn new(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        namespaced: bool,
    ) -> Kind {
        Kind {
            group,
            version,
            kind,
            plural,
            namespaced,
        }
    }

    /// Its API (in `kube-system` when namespaced).
    pub fn api(self, client: &kube::Client) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(self.group, self.version, self.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, self.plural);
        if self.namespaced {
            Api::namespaced_with(client.clone(), NAMESPACE, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        }
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";
pub const SERVICE_ACCOUNT: Kind = Kind::new("", "v1", "ServiceAccount", "serviceaccounts", true);
pub const CLUSTER_ROLE: Kind = Kind::new(RBAC, "v1", "ClusterRole", "clusterroles", false);
pub const CLUSTER_ROLE_BINDING: Kind = Kind::new(
    RBAC,
    "v1",
    "ClusterRoleBinding",
    "clusterrolebindings",
    false,
);
pub const ROLE: Kind = Kind::new(RBAC, "v1", "Role", "roles", true);
pub const ROLE_BINDING: Kind = Kind::new(RBAC, "v1", "RoleBinding", "rolebindings", true);
pub const DEPLOYMENT: Kind = Kind::new("apps", "v1", "Deployment", "deployments", true);
pub const SECRET: Kind = Kind::new("", "v1", "Secret", "secrets", true);

/// Whether Genesis's Deployment of the add-on `addon` is in the cluster:
/// a read tells by it that the add-on is installed.
pub async fn installed(
    client: &kube::Client,
    addon: &str,
    stop: &CancellationToken,
) -> Result<bool, KubeError> {
    let deployments = DEPLOYMENT.api(client);
    Ok(owned::get(&deployments, DEPLOYMENT.kind, addon, stop)
        .await?
        .is_some())
}
