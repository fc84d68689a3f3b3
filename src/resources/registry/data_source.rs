//! The `genesis_registry` data source: a repository (Artifact Registry or
//! ECR), made by Genesis or not, by ID or by cloud, name and region, read
//! as the resource reads it: its URL for image references, its format and
//! settings.

use super::super::common::given_or_provider;
use crate::framework::data_source::ResourceData;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Lookup {
    id: Field<String>,
    cloud: Field<String>,
    name: Field<String>,
    project_id: Field<String>,
    region: Field<String>,
}

fn schema() -> Schema {
    let lookup =
        |name: &str, text: &str| Attribute::string(name).optional_computed().describe(text);
    let attributes = vec![
        lookup("id", "The repository's ID, as `genesis_registry`'s `id`: `projects/PROJECT/locations/REGION/repositories/NAME` or the ECR repository's ARN. Or leave it out and give `name` (with `cloud = \"aws\"` for ECR).")
            .validate(|v| match v.as_str() {
                Some(id) if !id.starts_with("arn:aws:ecr:") && id.split('/').count() != 6 => Err(format!("{id:?} is not a repository ID: projects/PROJECT/locations/REGION/repositories/NAME or an ECR ARN.")),
                _ => Ok(()),
            }),
        lookup("cloud", "`gcp` (default) or `aws`.").validate(validators::one_of(&["gcp", "aws"])),
        lookup("name", "The repository's name (when `id` is left out)."),
        lookup("project_id", "The GCP project (Artifact Registry). Default: the provider's `project`."),
        lookup("region", "The repository's region. Default: the provider's `region` (GCP) or `aws_region` (AWS)."),
        Attribute::string("repository_url")
            .computed()
            .describe("Where images go: `REGION-docker.pkg.dev/PROJECT/NAME` or `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`."),
        Attribute::string("format").computed().describe("The repository's format (`DOCKER`, ...)."),
        Attribute::string("description").computed().describe("The repository's description."),
        Attribute::bool("immutable_tags").computed().describe("Whether a tag, once pushed, can never move."),
        Attribute::bool("vulnerability_scanning").computed().describe("Whether pushed images are scanned."),
        Attribute::string_map("labels").computed().describe("The repository's labels (GCP) or tags (AWS)."),
    ];
    Schema::new(
        0,
        Block::new(
            "An Artifact Registry or ECR repository, made by Genesis or not: its URL, format and settings.",
            attributes,
        ),
    )
}

fn rules(config: &Value, diags: &mut Diagnostics) {
    let Ok(lookup) = view::as_written::<Lookup>(config) else {
        return;
    };
    if lookup.id.is_null() && lookup.name.is_null() {
        diags.push(Diagnostic::error(
            "Which repository?",
            "Give the repository's `id`, or its `name` (and `cloud = \"aws\"` for ECR).",
        ));
    }
}

/// The import ID of the repository the configuration names.
fn id_of(provider: &ProviderContext, config: &Value) -> Result<String, Diagnostics> {
    let lookup = view::as_written::<Lookup>(config)?;
    if let Some(id) = lookup.id.as_str() {
        return Ok(id.to_string());
    }
    let name = lookup.name.as_str().unwrap_or_default();
    let settings = &provider.config;
    let region = lookup.region.as_str();
    if lookup.cloud.as_str() == Some("aws") {
        let region =
            given_or_provider(region, settings.aws_region.as_ref(), "region", "aws_region")?;
        // The import reads the account from the repository itself.
        return Ok(format!("arn:aws:ecr:{region}::repository/{name}"));
    }
    let project = given_or_provider(
        lookup.project_id.as_str(),
        settings.project.as_ref(),
        "project_id",
        "project",
    )?;
    let region = given_or_provider(region, settings.region.as_ref(), "region", "region")?;
    Ok(format!(
        "projects/{project}/locations/{region}/repositories/{name}"
    ))
}

pub fn data_source() -> ResourceData {
    ResourceData {
        resource: Box::new(super::Registry),
        schema: schema(),
        id_of,
        rules,
        noun: "repository",
    }
}
