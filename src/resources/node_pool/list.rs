//! `list "genesis_node_pool"`: a cluster's pools, for `terraform query`:
//! its GKE node pools or EKS managed node groups, and on EKS Auto Mode the
//! Karpenter NodePools Genesis made. Each is imported as
//! `genesis_node_pool` would be.

use async_trait::async_trait;

use super::super::cluster::{ClusterName, cluster_id};
use super::super::common::wait_for;
use super::auto_mode::{AutoModePools, cluster_runs_auto_mode};
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
        let mut names = provider
            .node_pools(&at)
            .list(&at, &wait)
            .await
            .map_err(failed)?;
        if cluster_runs_auto_mode(provider, &at, &wait)
            .await
            .map_err(failed)?
        {
            let karpenter = AutoModePools(provider)
                .list(&at, &wait)
                .await
                .map_err(failed)?;
            names.extend(karpenter);
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
