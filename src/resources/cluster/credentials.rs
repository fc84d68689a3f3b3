//! The `genesis_cluster_credentials` ephemeral resource: what the
//! kubernetes and helm providers (or kubectl) need to reach a cluster,
//! opened for one Terraform run and never written to a plan or a state. The
//! token is made from the provider's own credentials as Genesis makes its
//! own: on GKE an OAuth access token, on EKS the `k8s-aws-v1.` token `aws
//! eks get-token` gives, which EKS accepts for 15 minutes.

use async_trait::async_trait;
use base64::Engine;

use super::model::{ClusterName, cluster_id};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::ephemeral::{EphemeralResource, Opened};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

pub const TYPE_NAME: &str = "genesis_cluster_credentials";

pub struct ClusterCredentials;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Config {
    cluster: Field<String>,
}

fn schema() -> Schema {
    let attributes = vec![
        Attribute::string("cluster")
            .required()
            .validate(cluster_id)
            .describe("The cluster's ID: `genesis_cluster.NAME.id`, or `data.genesis_cluster.NAME.id` for one Genesis does not manage."),
        Attribute::string("host")
            .computed()
            .describe("The Kubernetes API's URL (`https://...`), for the kubernetes and helm providers' `host`."),
        Attribute::string("cluster_ca_certificate")
            .computed()
            .describe("The cluster's CA certificate in PEM, for `cluster_ca_certificate`."),
        Attribute::string("token")
            .computed()
            .sensitive()
            .describe("A bearer token for the Kubernetes API, as the provider's own credentials make it: on GKE an OAuth access token, on EKS a `k8s-aws-v1.` token (as `aws eks get-token` gives) valid for 15 minutes."),
        Attribute::string("expires_at")
            .computed()
            .describe("When the token expires (RFC 3339), where the cloud says: set on EKS; null on GKE, whose access tokens last up to an hour."),
        Attribute::string("kubeconfig")
            .computed()
            .sensitive()
            .describe("A kubeconfig (JSON, which kubectl reads as YAML) with the cluster, the token and a context named after the cluster."),
    ];
    Schema::new(
        0,
        Block::new(
            "Short-lived credentials for a cluster's Kubernetes API, for the kubernetes and helm providers: never stored in a plan or a state (Terraform 1.10+, OpenTofu 1.11+).",
            attributes,
        ),
    )
}

#[async_trait]
impl EphemeralResource for ClusterCredentials {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn open(
        &self,
        provider: &ProviderContext,
        config: &Value,
    ) -> Result<Opened, Diagnostics> {
        let id = view::as_written::<Config>(config)?
            .cluster
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = ClusterName::parse(&id).ok_or_else(|| {
            Diagnostics::from(
                Diagnostic::error("Not a cluster ID", format!("{id:?} is not a cluster ID."))
                    .at(AttributePath::attr("cluster")),
            )
        })?;
        let at = name.address();
        let clusters = provider.clusters(&at);
        let wait = crate::cloud::cluster::Wait::new(
            std::time::Duration::from_secs(300),
            provider.stop.clone(),
        );
        let found = clusters
            .get(&at, &wait)
            .await
            .map_err(|e| Diagnostics::from(e.diagnostic("read the cluster")))?
            .filter(|c| !c.endpoint.is_empty())
            .ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error(
                        "Cluster not found",
                        format!("The cluster {id:?} does not exist (or has no endpoint yet)."),
                    )
                    .at(AttributePath::attr("cluster")),
                )
            })?;
        let (token, expires) = clusters
            .client_token(&at)
            .await
            .map_err(|e| Diagnostics::from(e.diagnostic("make a token for the cluster")))?;
        let host = format!("https://{}", found.endpoint.trim_start_matches("https://"));
        let pem = base64::engine::general_purpose::STANDARD
            .decode(found.ca_certificate.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let kubeconfig = kubeconfig(
            &name_of(&name),
            &host,
            &found.ca_certificate,
            token.expose(),
        );
        Ok(Opened {
            result: Value::object([
                ("cluster", id.into()),
                ("host", host.into()),
                ("cluster_ca_certificate", pem.into()),
                ("token", token.expose().to_string().into()),
                ("expires_at", expires.map(crate::logging::rfc3339).into()),
                ("kubeconfig", kubeconfig.into()),
            ]),
            private: Vec::new(),
            renew_at: None,
        })
    }
}

fn name_of(name: &ClusterName) -> String {
    match name {
        ClusterName::Gcp { name, .. } | ClusterName::Aws { name, .. } => name.clone(),
    }
}

/// A kubeconfig with one cluster, one user and one context, all `name`.
fn kubeconfig(name: &str, host: &str, ca_base64: &str, token: &str) -> String {
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": host, "certificate-authority-data": ca_base64}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    });
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubeconfig_names_the_cluster_and_carries_the_token() {
        let text = kubeconfig("c", "https://203.0.113.1", "Q0E=", "t0k");
        let config: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(config["current-context"], "c");
        assert_eq!(
            config["clusters"][0]["cluster"]["server"],
            "https://203.0.113.1"
        );
        assert_eq!(config["users"][0]["user"]["token"], "t0k");
    }
}
