//! `list "genesis_cluster"`: the clusters of a GCP project (in one
//! location, or all) or of an AWS account in one region, for `terraform
//! query`. Each is imported as `genesis_cluster` would be.

use async_trait::async_trait;

use super::super::common::{given_or_provider, wait_for};
use super::model::ClusterName;
use crate::cloud::cluster::ClusterPlace;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::list::{Found, ListResource};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

pub struct ClusterList;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Config {
    cloud: Field<String>,
    project_id: Field<String>,
    location: Field<String>,
}

#[async_trait]
impl ListResource for ClusterList {
    fn type_name(&self) -> &'static str {
        super::schema::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new(
                "The GKE clusters of a project, or the EKS clusters of the account in a region.",
                vec![
                    Attribute::string("cloud")
                        .required()
                        .validate(validators::one_of(&["gcp", "aws"]))
                        .describe("`gcp` or `aws`."),
                    Attribute::string("project_id")
                        .describe("The GCP project. Default: the provider's `project`."),
                    Attribute::string("location")
                        .describe("A GKE region or zone (`-` for all of the project's), or an AWS region. Default: the provider's `region` (GCP) or `aws_region` (AWS)."),
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
        let settings = &provider.config;
        let location = config.location.as_str();
        let place = if config.cloud.as_str() == Some("aws") {
            ClusterPlace::Eks {
                region: given_or_provider(
                    location,
                    settings.aws_region.as_ref(),
                    "location",
                    "aws_region",
                )?,
            }
        } else {
            ClusterPlace::Gke {
                project: given_or_provider(
                    config.project_id.as_str(),
                    settings.project.as_ref(),
                    "project_id",
                    "project",
                )?,
                location: given_or_provider(
                    location,
                    settings.region.as_ref(),
                    "location",
                    "region",
                )?,
            }
        };
        let wait = wait_for(provider, &Value::Null, "read", 5);
        let ids = provider
            .clusters_at(&place)
            .list(&place, &wait)
            .await
            .map_err(|e| Diagnostics::from(e.diagnostic("list the clusters")))?;
        Ok(ids
            .into_iter()
            .take(limit)
            .map(|id| {
                let display_name = match ClusterName::parse(&id) {
                    Some(ClusterName::Gcp { location, name, .. }) => format!("{location}/{name}"),
                    Some(ClusterName::Aws { region, name, .. }) => format!("{region}/{name}"),
                    None => id.clone(),
                };
                Found {
                    import_id: id,
                    display_name,
                }
            })
            .collect())
    }
}
