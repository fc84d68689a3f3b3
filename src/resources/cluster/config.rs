//! `genesis_cluster`'s configuration in typed form, field names being the
//! attributes' (see `framework::model`): decoded once at the resource's
//! boundary into `ClusterConfig`, which the back ends' `ClusterSpec` is
//! made from, and the namespaces (`namespaces.rs`). Timeouts are the
//! framework's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::secret_stores::SecretStoreModel;
use super::storage_classes::StorageClassModel;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::model::decode;
use crate::framework::value::Value;

/// Every attribute and block but `timeouts`. Settings
/// whose default follows from the environment are `None` until the plan
/// sets them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterConfig {
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// `gcp` or `aws`.
    pub cloud: String,
    pub project_id: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub regional_cluster: bool,
    pub environment: String,
    pub enable_autopilot: bool,
    pub release_channel: Option<String>,
    pub kubernetes_version: Option<String>,
    pub master_version: Option<String>,
    pub network: Option<String>,
    pub subnetwork: Option<String>,
    pub enable_private_cluster: Option<bool>,
    pub enable_private_endpoint: bool,
    pub master_ipv4_cidr_block: Option<String>,
    pub master_authorized_networks: Option<Vec<AuthorizedNetworkConfig>>,
    pub enable_workload_identity: Option<bool>,
    pub enable_binary_authorization: Option<bool>,
    pub enable_network_policy: Option<bool>,
    pub enable_shielded_nodes: Option<bool>,
    pub enable_managed_prometheus: Option<bool>,
    pub monitoring_components: Option<Vec<String>>,
    pub logging_components: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub deletion_protection: Option<bool>,
    pub kubernetes_namespaces: Option<Vec<String>>,
    pub service_mesh: Option<String>,
    pub service_mesh_revision: Option<String>,
    pub storage_classes: Option<BTreeMap<String, StorageClassModel>>,
    pub secret_stores: Option<BTreeMap<String, SecretStoreModel>>,
    pub eks: Option<EksConfig>,
    pub endpoint: Option<String>,
    pub ca_certificate: Option<String>,
    pub status: Option<String>,
    pub location: Option<String>,
    pub self_link: Option<String>,
    pub namespace: Vec<NamespaceConfig>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            id: None,
            name: String::new(),
            description: None,
            cloud: "gcp".into(),
            project_id: None,
            region: None,
            zone: None,
            regional_cluster: true,
            environment: "dev".into(),
            enable_autopilot: false,
            release_channel: None,
            kubernetes_version: None,
            master_version: None,
            network: None,
            subnetwork: None,
            enable_private_cluster: None,
            enable_private_endpoint: false,
            master_ipv4_cidr_block: None,
            master_authorized_networks: None,
            enable_workload_identity: None,
            enable_binary_authorization: None,
            enable_network_policy: None,
            enable_shielded_nodes: None,
            enable_managed_prometheus: None,
            monitoring_components: None,
            logging_components: None,
            labels: None,
            deletion_protection: None,
            kubernetes_namespaces: None,
            service_mesh: None,
            service_mesh_revision: None,
            storage_classes: None,
            secret_stores: None,
            eks: None,
            endpoint: None,
            ca_certificate: None,
            status: None,
            location: None,
            self_link: None,
            namespace: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthorizedNetworkConfig {
    pub cidr_block: String,
    pub display_name: Option<String>,
}

/// A `namespace` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamespaceConfig {
    pub name: String,
    pub pod_security_level: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub quota: Option<QuotaConfig>,
    pub limit_range: Option<LimitRangeConfig>,
}

impl Default for NamespaceConfig {
    fn default() -> Self {
        NamespaceConfig {
            name: String::new(),
            pod_security_level: "baseline".into(),
            labels: None,
            quota: None,
            limit_range: None,
        }
    }
}

/// A namespace's ResourceQuota.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaConfig {
    pub requests_cpu: Option<String>,
    pub requests_memory: Option<String>,
    pub limits_cpu: Option<String>,
    pub limits_memory: Option<String>,
    pub pods: Option<i64>,
}

/// A namespace's LimitRange defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitRangeConfig {
    pub default_request_cpu: Option<String>,
    pub default_request_memory: Option<String>,
    pub default_limit_cpu: Option<String>,
    pub default_limit_memory: Option<String>,
}

/// The `eks` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EksConfig {
    pub role_arn: Option<String>,
    pub node_role_arn: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Option<Vec<String>>,
    pub endpoint_private_access: Option<bool>,
    pub authentication_mode: String,
    pub secrets_encryption: Option<bool>,
    pub kms_key_arn: Option<String>,
    pub ip_family: String,
    pub service_ipv4_cidr: Option<String>,
    pub addons: Option<Vec<String>>,
    pub support_type: String,
}

impl Default for EksConfig {
    fn default() -> Self {
        EksConfig {
            role_arn: None,
            node_role_arn: None,
            subnet_ids: Vec::new(),
            security_group_ids: None,
            endpoint_private_access: None,
            authentication_mode: "API".into(),
            secrets_encryption: None,
            kms_key_arn: None,
            ip_family: "ipv4".into(),
            service_ipv4_cidr: None,
            addons: None,
            support_type: "STANDARD".into(),
        }
    }
}

impl ClusterConfig {
    pub fn decode(value: &Value) -> Result<ClusterConfig, Diagnostics> {
        decode(value).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Provider error: the cluster does not fit its model",
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
        let problems = model_coverage_problems::<ClusterConfig>(super::super::schema());
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
