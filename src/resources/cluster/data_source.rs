//! The `genesis_cluster` data source: a cluster on either cloud, made by
//! Genesis or not, found by its ID or by cloud, location and name, with
//! what a Kubernetes client needs (endpoint, CA certificate) and what it
//! runs. Read-only; the attribute names are the resource's.

use async_trait::async_trait;

use super::super::common::{given_or_provider, wait_for};
use super::model::{ClusterName, cluster_id};
use crate::cloud::cluster::{ClusterAddress, ObservedCluster};
use crate::framework::data_source::DataSource;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

pub struct ClusterData;

/// How the configuration names the cluster.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Lookup {
    id: Field<String>,
    cloud: Field<String>,
    name: Field<String>,
    project_id: Field<String>,
    location: Field<String>,
}

fn schema() -> Schema {
    let attributes = vec![
        Attribute::string("id")
            .optional_computed()
            .validate(cluster_id)
            .describe("The cluster's ID, as `genesis_cluster`'s `id`: `projects/PROJECT/locations/LOCATION/clusters/NAME` or the EKS cluster's ARN. Or leave it out and give `cloud`, `name` and `location`."),
        Attribute::string("cloud")
            .optional_computed()
            .validate(validators::one_of(&["gcp", "aws"]))
            .describe("`gcp` or `aws`, with `name` (when `id` is left out)."),
        Attribute::string("name")
            .optional_computed()
            .describe("The cluster's name, with `cloud` (when `id` is left out)."),
        Attribute::string("project_id")
            .optional_computed()
            .describe("The GCP project (GKE only). Default: the provider's `project`."),
        Attribute::string("location")
            .optional_computed()
            .describe("A GKE cluster's region or zone, an EKS cluster's region. Default: the provider's `region` (GCP) or `aws_region` (AWS)."),
        Attribute::string("endpoint")
            .computed()
            .describe("The Kubernetes API's address (a host name or IP, without `https://`)."),
        Attribute::string("ca_certificate")
            .computed()
            .describe("The cluster's CA certificate, base64-encoded PEM as both clouds give it (`base64decode()` it for the kubernetes and helm providers' `cluster_ca_certificate`)."),
        Attribute::string("master_version")
            .computed()
            .describe("The Kubernetes version the control plane runs."),
        Attribute::string("status")
            .computed()
            .describe("The cluster's status as its cloud reports it (`RUNNING` on GKE, `ACTIVE` on EKS)."),
        Attribute::bool("enable_autopilot")
            .computed()
            .describe("Whether the cloud runs the nodes: GKE Autopilot, or EKS Auto Mode."),
    ];
    Schema::new(
        0,
        Block::new(
            "A GKE or EKS cluster, made by Genesis or not: its endpoint, CA certificate, version, status and mode. For credentials, see the `genesis_cluster_credentials` ephemeral resource.",
            attributes,
        ),
    )
}

#[async_trait]
impl DataSource for ClusterData {
    fn type_name(&self) -> &'static str {
        super::schema::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let Ok(lookup) = view::as_written::<Lookup>(config) else {
            return;
        };
        if lookup.id.is_null() && (lookup.cloud.is_null() || lookup.name.is_null()) {
            diags.push(Diagnostic::error(
                "Which cluster?",
                "Give the cluster's `id` (genesis_cluster's id), or its `cloud` and `name` (and `location` unless the provider's region is the cluster's).",
            ));
        }
        if lookup.id.is_set() {
            let others = [
                ("cloud", lookup.cloud.is_set()),
                ("name", lookup.name.is_set()),
                ("project_id", lookup.project_id.is_set()),
                ("location", lookup.location.is_set()),
            ];
            for (name, _) in others.into_iter().filter(|(_, given)| *given) {
                diags.attribute_error(
                    AttributePath::attr(name),
                    "Conflicting attributes",
                    format!("`id` names the cluster already: remove `{name}`."),
                );
            }
        }
    }

    async fn read(&self, provider: &ProviderContext, config: &Value) -> Result<Value, Diagnostics> {
        let lookup = view::as_written::<Lookup>(config)?;
        let at = address(provider, &lookup)?;
        let wait = wait_for(provider, &Value::Null, "read", 5);
        match provider.clusters(&at).get(&at, &wait).await {
            Ok(Some(found)) => Ok(state(&found)),
            Ok(None) => Err(Diagnostic::error(
                "Cluster not found",
                format!(
                    "No cluster {} exists, or the provider's credentials cannot see it.",
                    describe(&at)
                ),
            )
            .into()),
            Err(e) => Err(e.diagnostic("read the cluster").into()),
        }
    }
}

/// Where the configuration says the cluster is.
fn address(provider: &ProviderContext, lookup: &Lookup) -> Result<ClusterAddress, Diagnostics> {
    if let Some(id) = lookup.id.as_str() {
        return ClusterName::parse(id).map(|n| n.address()).ok_or_else(|| {
            Diagnostic::error("Not a cluster ID", format!("{id:?} is not a cluster ID."))
                .at(AttributePath::attr("id"))
                .into()
        });
    }
    let name = lookup.name.as_str().unwrap_or_default().to_string();
    let (given, config) = (&lookup.location, &provider.config);
    if lookup.cloud.as_str() == Some("aws") {
        let region = given_or_provider(
            given.as_str(),
            config.aws_region.as_ref(),
            "location",
            "aws_region",
        )?;
        return Ok(ClusterAddress::Eks { region, name });
    }
    Ok(ClusterAddress::Gke {
        project: given_or_provider(
            lookup.project_id.as_str(),
            config.project.as_ref(),
            "project_id",
            "project",
        )?,
        location: given_or_provider(given.as_str(), config.region.as_ref(), "location", "region")?,
        name,
    })
}

fn describe(at: &ClusterAddress) -> String {
    match at {
        ClusterAddress::Gke {
            project,
            location,
            name,
        } => format!("{name:?} in GCP project {project:?}, location {location:?}"),
        ClusterAddress::Eks { region, name } => format!("{name:?} in AWS region {region:?}"),
    }
}

fn state(found: &ObservedCluster) -> Value {
    let (cloud, project, location) = match found.spec.address() {
        ClusterAddress::Gke {
            project, location, ..
        } => ("gcp", Value::from(project), location),
        ClusterAddress::Eks { region, .. } => ("aws", Value::Null, region),
    };
    Value::object([
        ("id", found.id.clone().into()),
        ("cloud", cloud.into()),
        ("name", found.spec.name.clone().into()),
        ("project_id", project),
        ("location", location.into()),
        ("endpoint", found.endpoint.clone().into()),
        ("ca_certificate", found.ca_certificate.clone().into()),
        ("master_version", found.master_version.clone().into()),
        ("status", found.status.clone().into()),
        ("enable_autopilot", found.spec.autopilot.into()),
    ])
}
