//! `list "genesis_registry"`: the repositories of a GCP project in a
//! region (Artifact Registry) or of the AWS account in a region (ECR), for
//! `terraform query`. Each is imported as `genesis_registry` would be.

use async_trait::async_trait;

use super::super::common::{given_or_provider, wait_for};
use crate::cloud::registry::Registries;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::list::{Found, ListResource};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

pub struct RegistryList;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Config {
    cloud: Field<String>,
    project_id: Field<String>,
    region: Field<String>,
}

#[async_trait]
impl ListResource for RegistryList {
    fn type_name(&self) -> &'static str {
        super::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new(
                "The Artifact Registry repositories of a project in a region, or the ECR repositories of the account in a region.",
                vec![
                    Attribute::string("cloud")
                        .validate(validators::one_of(&["gcp", "aws"]))
                        .describe("`gcp` (default) or `aws`."),
                    Attribute::string("project_id")
                        .describe("The GCP project. Default: the provider's `project`."),
                    Attribute::string("region").describe(
                        "The region. Default: the provider's `region` (GCP) or `aws_region` (AWS).",
                    ),
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
        let region = config.region.as_str();
        let (registries, project, region): (&dyn Registries, String, String) = if config
            .cloud
            .as_str()
            == Some("aws")
        {
            let region =
                given_or_provider(region, settings.aws_region.as_ref(), "region", "aws_region")?;
            (provider.aws.as_ref(), String::new(), region)
        } else {
            let project = given_or_provider(
                config.project_id.as_str(),
                settings.project.as_ref(),
                "project_id",
                "project",
            )?;
            let region = given_or_provider(region, settings.region.as_ref(), "region", "region")?;
            (provider.gcp.as_ref(), project, region)
        };
        let wait = wait_for(provider, &Value::Null, "read", 5);
        let ids = registries
            .list(&project, &region, &wait)
            .await
            .map_err(|e| Diagnostics::from(e.diagnostic("list the repositories")))?;
        Ok(ids
            .into_iter()
            .take(limit)
            .map(|id| Found {
                display_name: id.rsplit('/').next().unwrap_or(&id).to_string(),
                import_id: id,
            })
            .collect())
    }
}
