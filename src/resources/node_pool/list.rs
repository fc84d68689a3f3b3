//! `list "genesis_node_pool"`: a cluster's pools, for `terraform query`:
//! its GKE node pools or EKS managed node groups, and the pools Genesis
//! made inside the cluster (Karpenter NodePools on EKS Auto Mode,
//! ComputeClasses on GKE Autopilot). Each is imported as
//! `genesis_node_pool` would be.

use async_trait::async_trait;

use super::super::cluster::{ClusterName, cluster_id};
use super::super::common::wait_for;
use super::BackEnds;
use super::in_cluster::cloud_runs_the_nodes;
use crate::cloud::cluster::ClusterAddress;
use crate::cloud::node_pool::NodePools;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::list::{Found, ListResource};
use crate::framework::path::AttributePath;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

pub struct PoolList;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Config {
    cluster: Field<String>,
}

#[async_trait]
impl ListResource for PoolList {
    fn type_name(&self) -> &'static str {
        super::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new(
                "A cluster's pools: GKE node pools, EKS managed node groups, and on EKS Auto Mode the Karpenter NodePools Genesis made.",
                vec![
                    Attribute::string("cluster")
                        .required()
                        .validate(cluster_id)
                        .describe("The cluster's ID (`genesis_cluster.NAME.id`)."),
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
        let at = ClusterName::parse(&id)
            .ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error("Not a cluster ID", format!("{id:?} is not a cluster ID."))
                        .at(AttributePath::attr("cluster")),
                )
            })?
            .address();
        let wait = wait_for(provider, &Value::Null, "read", 5);
        let failed =
            |e: crate::cloud::CloudError| Diagnostics::from(e.diagnostic("list the pools"));
        let pools = provider.node_pools(&at);
        let back_ends = BackEnds::new(provider);
        // GKE's own pools on Autopilot are not the user's; EKS's managed
        // node groups may run beside Auto Mode's NodePools.
        let (cloud, in_cluster): (Option<&dyn NodePools>, Option<&dyn NodePools>) =
            if cloud_runs_the_nodes(provider, &at, &wait)
                .await
                .map_err(failed)?
            {
                let eks = matches!(at, ClusterAddress::Eks { .. });
                (eks.then_some(pools), Some(back_ends.in_cluster(&at)))
            } else {
                (Some(pools), None)
            };
        let mut names = Vec::new();
        for back_end in cloud.into_iter().chain(in_cluster) {
            names.extend(back_end.list(&at, &wait).await.map_err(failed)?);
        }
        Ok(names
            .into_iter()
            .take(limit)
            .map(|name| Found {
                import_id: format!("{id}/nodePools/{name}"),
                display_name: name,
            })
            .collect())
    }
}
