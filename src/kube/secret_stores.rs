//! The External Secrets Operator's ClusterSecretStores a cluster's
//! configuration defines (`genesis_cluster.secret_stores`), from which
//! workloads' `external_secrets` are read: applied with server-side apply
//! and labelled as Genesis's own, like StorageClasses. A store of the same
//! name Genesis did not make is never taken over. The operator reaches the
//! cloud with its own identity (Workload Identity on GKE, Pod Identity or
//! IRSA on EKS, its service account's token for Vault): no credential is
//! written here.

use std::collections::BTreeSet;

use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use super::{FIELD_MANAGER, KubeError, MANAGED_BY, owned, retried};

/// Where a store reads secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreProvider {
    GoogleSecretManager {
        project_id: String,
    },
    AwsSecretsManager {
        region: String,
        /// A role the operator assumes to read.
        role_arn: Option<String>,
    },
    Vault {
        server: String,
        /// The KV engine's mount path.
        path: String,
        /// `v1` or `v2` of the KV engine.
        version: String,
        /// The Vault role of Kubernetes authentication.
        role: String,
        /// Where Vault's Kubernetes auth method is mounted.
        auth_path: String,
    },
}

/// A ClusterSecretStore as the configuration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretStoreSpec {
    pub name: String,
    pub provider: StoreProvider,
}

fn resource() -> ApiResource {
    let gvk = kube::api::GroupVersionKind::gvk("external-secrets.io", "v1", "ClusterSecretStore");
    ApiResource::from_gvk_with_plural(&gvk, "clustersecretstores")
}

impl SecretStoreSpec {
    /// The object Genesis applies.
    pub fn manifest(&self) -> Json {
        let provider = match &self.provider {
            StoreProvider::GoogleSecretManager { project_id } => {
                json!({"gcpsm": {"projectID": project_id}})
            }
            StoreProvider::AwsSecretsManager { region, role_arn } => {
                let mut aws = json!({"service": "SecretsManager", "region": region});
                if let Some(role) = role_arn {
                    aws["role"] = json!(role);
                }
                json!({ "aws": aws })
            }
            StoreProvider::Vault {
                server,
                path,
                version,
                role,
                auth_path,
            } => json!({"vault": {
                "server": server,
                "path": path,
                "version": version,
                "auth": {"kubernetes": {"mountPath": auth_path, "role": role}},
            }}),
        };
        json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": self.name, "labels": {MANAGED_BY.0: MANAGED_BY.1}},
            "spec": {"provider": provider},
        })
    }

    /// The store as it is in the cluster; `None` for a provider Genesis
    /// does not configure.
    pub fn of(name: &str, spec: &Json) -> Option<SecretStoreSpec> {
        let p = &spec["provider"];
        let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
        let provider = if p["gcpsm"].is_object() {
            StoreProvider::GoogleSecretManager {
                project_id: text(&p["gcpsm"]["projectID"]),
            }
        } else if p["aws"].is_object() {
            StoreProvider::AwsSecretsManager {
                region: text(&p["aws"]["region"]),
                role_arn: p["aws"]["role"].as_str().map(str::to_string),
            }
        } else if p["vault"].is_object() {
            let vault = &p["vault"];
            let kubernetes = &vault["auth"]["kubernetes"];
            StoreProvider::Vault {
                server: text(&vault["server"]),
                path: text(&vault["path"]),
                version: vault["version"].as_str().unwrap_or("v2").to_string(),
                role: text(&kubernetes["role"]),
                auth_path: kubernetes["mountPath"]
                    .as_str()
                    .unwrap_or("kubernetes")
                    .to_string(),
            }
        } else {
            return None;
        };
        Some(SecretStoreSpec {
            name: name.to_string(),
            provider,
        })
    }
}

/// Makes the cluster's Genesis stores exactly `wanted`.
pub async fn reconcile(
    client: &kube::Client,
    wanted: &[SecretStoreSpec],
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let stores: Api<DynamicObject> = Api::all_with(client.clone(), &resource());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for store in wanted {
        let call = format!("applying ClusterSecretStore {}", store.name);
        let live = retried(stop, || stores.get_opt(&store.name))
            .await
            .map_err(|e| KubeError::from_kube(&call, e))?;
        if live.as_ref().is_some_and(|l| !owned::is_ours(&l.metadata)) {
            return Err(owned::not_ours(
                "ClusterSecretStore",
                &store.name,
                "stores others manage",
            ));
        }
        let manifest = Patch::Apply(store.manifest());
        retried(stop, || stores.patch(&store.name, &params, &manifest))
            .await
            .map_err(|e| KubeError::from_kube(&call, e))?;
    }
    let keep: BTreeSet<&str> = wanted.iter().map(|s| s.name.as_str()).collect();
    let existing = managed(client, stop).await?.into_iter().map(|s| s.name);
    owned::delete_dropped(&stores, "ClusterSecretStore", existing, &keep, stop).await
}

/// The stores Genesis manages in the cluster, as they are now: none where
/// the operator's definitions are not installed.
pub async fn managed(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Vec<SecretStoreSpec>, KubeError> {
    let stores: Api<DynamicObject> = Api::all_with(client.clone(), &resource());
    let listing = ListParams::default().labels(&owned::selector());
    let list = match retried(stop, || stores.list(&listing)).await {
        Ok(list) => list,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
        Err(e) => return Err(KubeError::from_kube("listing ClusterSecretStores", e)),
    };
    let mut out: Vec<SecretStoreSpec> = list
        .items
        .iter()
        .filter(|s| s.metadata.deletion_timestamp.is_none())
        .filter_map(|s| {
            let name = s.metadata.name.as_deref().unwrap_or_default();
            SecretStoreSpec::of(name, &s.data["spec"])
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_renders_and_reads_back() {
        for provider in [
            StoreProvider::GoogleSecretManager {
                project_id: "p".into(),
            },
            StoreProvider::AwsSecretsManager {
                region: "eu-west-1".into(),
                role_arn: Some("arn:aws:iam::123456789012:role/reader".into()),
            },
            StoreProvider::Vault {
                server: "https://vault.example.com:8200".into(),
                path: "secret".into(),
                version: "v2".into(),
                role: "genesis".into(),
                auth_path: "kubernetes".into(),
            },
        ] {
            let store = SecretStoreSpec {
                name: "main".into(),
                provider,
            };
            let manifest = store.manifest();
            assert_eq!(
                SecretStoreSpec::of("main", &manifest["spec"]).as_ref(),
                Some(&store)
            );
        }
    }
}
