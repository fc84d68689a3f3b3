//! `list "genesis_workload"`: the applications in a cluster, or in one of
//! its namespaces, for `terraform query` (see `kube::workload::list` for
//! what counts as one). Each is imported as `genesis_workload` would be.

use async_trait::async_trait;

use super::super::cluster::cluster_id;
use super::super::common::client_for;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::list::{Found, ListResource};
use crate::framework::path::AttributePath;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::workload::list::applications;
use crate::provider::ProviderContext;

pub struct WorkloadList;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Config {
    cluster: Field<String>,
    namespace: Field<String>,
}

#[async_trait]
impl ListResource for WorkloadList {
    fn type_name(&self) -> &'static str {
        super::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new(
                "The applications in a cluster: Deployments, StatefulSets, Jobs and CronJobs that no other object owns (a blue-green pair as one workload), in one namespace or in all but those of Kubernetes, the cloud and the platform's add-ons.",
                vec![
                    Attribute::string("cluster")
                        .required()
                        .validate(cluster_id)
                        .describe("The cluster's ID (`genesis_cluster.NAME.id`, or `data.genesis_cluster.NAME.id` for one Genesis does not manage)."),
                    Attribute::string("namespace")
                        .validate(validators::dns1123_label)
                        .describe("Only this namespace. Left out: every namespace but `kube-*`, `gke-*`, `gmp-*`, `amazon-*`, `istio-*`, `external-secrets`, `cert-manager` and `karpenter`."),
                ],
            ),
        )
    }

    async fn find(
        &self,
        provider: &ProviderContext,
        config: &Value,
        limit: usize,
    ) -> Result<Vec<Found>, Diagnostics> {
        let config = view::as_written::<Config>(config)?;
        let id = config.cluster.as_str().unwrap_or_default().to_string();
        let client = client_for(provider, &id, AttributePath::attr("cluster")).await?;
        let found = applications(&client, config.namespace.as_str(), &provider.stop)
            .await
            .map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Failed to list the workloads",
                    e.to_string(),
                ))
            })?;
        Ok(found
            .into_iter()
            .take(limit)
            .map(|(namespace, name)| Found {
                import_id: format!("{id}/{namespace}/{name}"),
                display_name: format!("{namespace}/{name}"),
            })
            .collect())
    }
}
