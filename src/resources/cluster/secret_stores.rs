//! `genesis_cluster.secret_stores`: where the cluster's workloads read
//! their `external_secrets` from, one map entry per store, in one shape for
//! both clouds, applied inside the cluster as the External Secrets
//! Operator's ClusterSecretStores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::common;
use super::config::ClusterConfig;
use crate::cloud::cluster::ObservedCluster;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::model::encode;
use crate::framework::path::AttributePath;
use crate::framework::schema::Attribute;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::kube::addons::Addon;
use crate::kube::secret_stores::{SecretStoreSpec, StoreProvider};
use crate::provider::ProviderContext;

pub const ATTRIBUTE: &str = "secret_stores";

/// The provider blocks, one of which each store sets.
const PROVIDERS: [&str; 3] = ["google_secret_manager", "aws_secrets_manager", "vault"];

pub fn attribute() -> Attribute {
    Attribute::object_map(ATTRIBUTE, vec![
        Attribute::object("google_secret_manager", vec![
            Attribute::string("project_id").required().describe("The project whose Secret Manager holds the secrets."),
        ])
        .describe("Google Secret Manager, read with the operator's own Workload Identity (its Kubernetes service account bound to a Google service account with `roles/secretmanager.secretAccessor`)."),
        Attribute::object("aws_secrets_manager", vec![
            Attribute::string("region").required().describe("The region whose Secrets Manager holds the secrets."),
            Attribute::string("role_arn").describe("A role the operator assumes to read them; its own (EKS Pod Identity or IRSA) when left out."),
        ])
        .describe("AWS Secrets Manager, read with the operator's own EKS Pod Identity or IRSA role (`secretsmanager:GetSecretValue`)."),
        Attribute::object("vault", vec![
            Attribute::string("server").required().describe("Vault's address, e.g. `https://vault.example.com:8200`."),
            Attribute::string("path").default("secret").describe("The KV secrets engine's mount path (default `secret`)."),
            Attribute::string("version").default("v2").validate(validators::one_of(&["v1", "v2"])).describe("The KV engine's version: `v2` (default) or `v1`."),
            Attribute::string("role").required().describe("The Vault role the operator logs in as, through Vault's Kubernetes auth method with its service account's token."),
            Attribute::string("auth_path").default("kubernetes").describe("Where Vault's Kubernetes auth method is mounted (default `kubernetes`)."),
        ])
        .describe("HashiCorp Vault's KV engine, logged in to with Kubernetes authentication."),
    ])
    .describe("Secret stores for workloads' `external_secrets`, by name, e.g. `{ gcp = { google_secret_manager = { project_id = \"my-project\" } } }`: each sets one of `google_secret_manager`, `aws_secrets_manager` or `vault`, and becomes an External Secrets Operator ClusterSecretStore of that name, changed in place. Genesis does not install the operator: a cluster without its CustomResourceDefinitions is refused at plan time when it exists, else before any store is applied. A store of the same name Genesis did not make is never taken over.")
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecretStoreModel {
    pub google_secret_manager: Option<GoogleSecretManager>,
    pub aws_secrets_manager: Option<AwsSecretsManager>,
    pub vault: Option<Vault>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoogleSecretManager {
    pub project_id: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AwsSecretsManager {
    pub region: String,
    pub role_arn: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vault {
    pub server: String,
    pub path: String,
    pub version: String,
    pub role: String,
    pub auth_path: String,
}

impl Default for Vault {
    fn default() -> Self {
        Vault {
            server: String::new(),
            path: "secret".into(),
            version: "v2".into(),
            role: String::new(),
            auth_path: "kubernetes".into(),
        }
    }
}

impl SecretStoreModel {
    fn spec(&self, name: &str) -> Option<SecretStoreSpec> {
        let provider = if let Some(g) = &self.google_secret_manager {
            StoreProvider::GoogleSecretManager {
                project_id: g.project_id.clone(),
            }
        } else if let Some(a) = &self.aws_secrets_manager {
            StoreProvider::AwsSecretsManager {
                region: a.region.clone(),
                role_arn: a.role_arn.clone(),
            }
        } else {
            let v = self.vault.as_ref()?;
            StoreProvider::Vault {
                server: v.server.clone(),
                path: v.path.clone(),
                version: v.version.clone(),
                role: v.role.clone(),
                auth_path: v.auth_path.clone(),
            }
        };
        Some(SecretStoreSpec {
            name: name.to_string(),
            provider,
        })
    }

    fn of(spec: &SecretStoreSpec) -> Self {
        match &spec.provider {
            StoreProvider::GoogleSecretManager { project_id } => SecretStoreModel {
                google_secret_manager: Some(GoogleSecretManager {
                    project_id: project_id.clone(),
                }),
                ..SecretStoreModel::default()
            },
            StoreProvider::AwsSecretsManager { region, role_arn } => SecretStoreModel {
                aws_secrets_manager: Some(AwsSecretsManager {
                    region: region.clone(),
                    role_arn: role_arn.clone(),
                }),
                ..SecretStoreModel::default()
            },
            StoreProvider::Vault {
                server,
                path,
                version,
                role,
                auth_path,
            } => SecretStoreModel {
                vault: Some(Vault {
                    server: server.clone(),
                    path: path.clone(),
                    version: version.clone(),
                    role: role.clone(),
                    auth_path: auth_path.clone(),
                }),
                ..SecretStoreModel::default()
            },
        }
    }
}

type Stores = BTreeMap<String, SecretStoreModel>;

/// The stores the configuration asks for.
pub fn secret_store_specs(config: &ClusterConfig) -> Vec<SecretStoreSpec> {
    config
        .secret_stores
        .iter()
        .flatten()
        .filter_map(|(name, store)| store.spec(name))
        .collect()
}

pub fn validate_secret_stores(config: &Value, diags: &mut Diagnostics) {
    for (name, store) in config.get(ATTRIBUTE).entries().into_iter().flatten() {
        let at = AttributePath::attr(ATTRIBUTE).key(name);
        if let Err(e) = validators::dns1123_subdomain(&Value::from(name.as_str())) {
            diags.attribute_error(at.clone(), "Invalid ClusterSecretStore name", e);
        }
        let set: Vec<&str> = PROVIDERS
            .into_iter()
            .filter(|p| store.get(p).is_set())
            .collect();
        let unknown = PROVIDERS.iter().any(|p| store.get(p).is_unknown());
        if set.len() > 1 || (set.is_empty() && !unknown) {
            diags.attribute_error(
                at,
                "A store reads from one place",
                format!(
                    "Set exactly one of {} in secret store {name:?}{}.",
                    PROVIDERS.join(", "),
                    if set.is_empty() {
                        String::new()
                    } else {
                        format!(" (it sets {})", set.join(" and "))
                    }
                ),
            );
        }
    }
}

/// The External Secrets Operator missing from the cluster, and what to do.
pub fn no_operator() -> Diagnostic {
    Addon::ExternalSecrets
        .missing(ATTRIBUTE)
        .at(AttributePath::attr(ATTRIBUTE))
}

/// Whether the cluster serves the operator's API; `None` when it cannot
/// be asked.
pub async fn serves_stores(provider: &ProviderContext, observed: &ObservedCluster) -> Option<bool> {
    let client = common::cluster_client(provider, observed).await.ok()?;
    crate::kube::addons::serves(&client, Addon::ExternalSecrets, &provider.stop)
        .await
        .ok()
}

/// Makes the cluster's Genesis stores match the configuration.
pub async fn sync_secret_stores(
    provider: &ProviderContext,
    observed: &ObservedCluster,
    wanted: &[SecretStoreSpec],
) -> Result<(), Diagnostic> {
    if wanted.is_empty() && observed.endpoint.is_empty() {
        return Ok(());
    }
    let client = common::cluster_client(provider, observed).await?;
    let served = crate::kube::addons::serves(&client, Addon::ExternalSecrets, &provider.stop)
        .await
        .map_err(|e| Diagnostic::error("Failed to read the cluster", e.to_string()))?;
    if !served {
        // Nothing of Genesis's can be there either.
        return if wanted.is_empty() {
            Ok(())
        } else {
            Err(no_operator())
        };
    }
    crate::kube::secret_stores::reconcile(&client, wanted, &provider.stop)
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Failed to set up the cluster's secret stores",
                format!("{e}. The cluster itself is in place; run terraform apply again to retry."),
            )
            .at(AttributePath::attr(ATTRIBUTE))
        })
}

pub async fn read_secret_stores(
    provider: &ProviderContext,
    observed: &ObservedCluster,
) -> Result<Vec<SecretStoreSpec>, Diagnostic> {
    let client = common::cluster_client(provider, observed).await?;
    crate::kube::secret_stores::managed(&client, &provider.stop)
        .await
        .map_err(|e| Diagnostic::error("Failed to read the cluster's secret stores", e.to_string()))
}

/// Writes the stores found in the cluster into the state: null when there
/// are none and the configuration set none.
pub fn secret_stores_into_state(state: &mut Value, base: &Value, actual: &[SecretStoreSpec]) {
    if actual.is_empty() && base.get(ATTRIBUTE).is_null() {
        state.set_attr(ATTRIBUTE, Value::Null);
        return;
    }
    let found: Stores = actual
        .iter()
        .map(|s| (s.name.clone(), SecretStoreModel::of(s)))
        .collect();
    state.set_attr(ATTRIBUTE, encode(&found, &attribute().value_type()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::model::attribute_coverage_problems;

    #[test]
    fn the_model_covers_every_attribute_both_ways() {
        let problems = attribute_coverage_problems::<Stores>(attribute());
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
