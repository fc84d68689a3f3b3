//! Pieces the resource files share: the `timeouts` block, cloud and
//! location attributes, and reading values out of plans.

use std::time::Duration;

use crate::cloud::cluster::Wait;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::identity::{IdentityAttribute, IdentitySchema};
use crate::framework::path::AttributePath;
use crate::framework::schema::{Attribute, Block, NestedBlock};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

/// `timeouts { create = "30m" ... }`, as in the google and aws providers.
pub fn timeouts_block(defaults: &[(&str, &str)]) -> NestedBlock {
    let attributes = defaults
        .iter()
        .map(|(op, default)| {
            Attribute::string(op)
                .describe(&format!("How long to wait for {op} to finish (default `{default}`), e.g. `45m` or `1h30m`."))
                .validate(validators::duration)
                .write_only()
        })
        .collect();
    // Write-only in a block that is never null, as the google provider's
    // timeouts behave: never in plan or state, so adding, changing or
    // importing them is never a diff. Genesis keeps the last applied values
    // in the resource's private data for the delete.
    NestedBlock::group(
        "timeouts",
        Block::new(
            "Time limits for the operations on this resource.",
            attributes,
        ),
    )
}

/// The limits of one operation: the `timeouts` block's value for `op`
/// (default `default_minutes`), and Terraform's stop signal.
pub fn wait_for(provider: &ProviderContext, state: &Value, op: &str, default_minutes: u64) -> Wait {
    let timeout = state
        .get("timeouts")
        .get(op)
        .as_str()
        .and_then(validators::parse_duration)
        .map_or(
            Duration::from_secs(default_minutes * 60),
            Duration::from_secs_f64,
        );
    Wait::new(timeout, provider.stop.clone())
}

/// `cloud = "gcp" | "aws"`.
pub fn cloud_attribute() -> Attribute {
    Attribute::string("cloud")
        .default("gcp")
        .force_new()
        .describe("Where the resource lives: `gcp` (GKE, Artifact Registry) or `aws` (EKS, ECR). Changing it replaces the resource.")
        .validate(validators::one_of(&["gcp", "aws"]))
}

/// Where a cluster or repository is: what `plan_location` and
/// `only_for_cloud` read of a configuration or plan.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Location {
    cloud: Field<String>,
    project_id: Field<String>,
    region: Field<String>,
}

impl Location {
    fn of(value: &Value) -> Option<Location> {
        view::as_written(value).ok()
    }
}

/// Plans `project_id` and `region` from the provider's defaults when the
/// configuration leaves them out, with an error naming both places when
/// neither sets them. AWS resources take the region from `aws_region`.
/// While the cloud is unknown, so is which default applies.
pub fn plan_location(
    planned: &mut Value,
    config: &Value,
    provider: &crate::provider::ProviderConfig,
    diags: &mut Diagnostics,
) {
    let (Some(written), Some(at)) = (Location::of(config), Location::of(planned)) else {
        return;
    };
    // The plan holds the schema's default where the configuration left
    // the cloud out.
    let aws = match &at.cloud {
        Field::Known(cloud) => cloud == "aws",
        Field::Unknown | Field::Null => {
            for (name, left_out) in [
                ("region", written.region.is_null()),
                ("project_id", written.project_id.is_null()),
            ] {
                if left_out {
                    planned.set_attr(name, Value::Unknown);
                }
            }
            return;
        }
    };
    if written.region.is_null() {
        let default = if aws {
            provider.aws_region.clone()
        } else {
            provider.region.clone()
        };
        match default {
            Some(region) => planned.set_attr("region", region.into()),
            None => diags.push(
                Diagnostic::error(
                    "No region",
                    if aws {
                        "Set `region` on this resource, or `aws_region` in the provider block (or AWS_REGION)."
                    } else {
                        "Set `region` on this resource, or `region` in the provider block (or GOOGLE_REGION)."
                    },
                )
                .at(AttributePath::attr("region")),
            ),
        }
    }
    if !written.project_id.is_null() {
        return;
    }
    if aws {
        planned.set_attr("project_id", Value::Null);
        return;
    }
    match &provider.project {
        Some(project) => planned.set_attr("project_id", project.clone().into()),
        None => diags.push(
            Diagnostic::error(
                "No project",
                "Set `project_id` on this resource, or `project` in the provider block (or GOOGLE_PROJECT).",
            )
            .at(AttributePath::attr("project_id")),
        ),
    }
}

/// Refuses GCP-only settings on an AWS resource (and the reverse), naming
/// the attribute. Waits while the cloud is unknown.
pub fn only_for_cloud(config: &Value, cloud: &str, attributes: &[&str], diags: &mut Diagnostics) {
    // Left out, the cloud is the schema's default.
    let default = cloud_attribute().default.unwrap_or_default();
    let actual = match Location::of(config).map(|at| at.cloud) {
        Some(Field::Known(actual)) => actual,
        Some(Field::Null) => match default.as_str() {
            Some(default) => default.to_string(),
            None => return,
        },
        Some(Field::Unknown) | None => return,
    };
    if actual == cloud {
        return;
    }
    for name in attributes {
        if config.get(name).is_set() {
            diags.attribute_error(
                AttributePath::attr(name),
                "Setting does not apply to this cloud",
                format!("`{name}` applies only when cloud = \"{cloud}\"; this resource has cloud = \"{actual}\". Remove it."),
            );
        }
    }
}

/// An error for an import ID that does not match any accepted form.
pub fn bad_import_id(id: &str, forms: &[&str]) -> Diagnostics {
    Diagnostic::error(
        "Invalid import ID",
        format!(
            "{id:?} is not an ID this resource can import. Use one of:\n{}",
            forms
                .iter()
                .map(|f| format!("  {f}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    )
    .into()
}

/// An object value with every attribute of `block` null except those given.
pub fn state_with(block: &Block, set: &[(&str, Value)]) -> Value {
    let mut state = block.null_object();
    for (name, value) in set {
        state.set_attr(name, value.clone());
    }
    state
}

/// A Kubernetes client for a cluster, authenticated the way its cloud
/// wants (a Google token on GKE, a presigned STS token on EKS).
pub async fn cluster_client(
    provider: &ProviderContext,
    observed: &crate::cloud::cluster::ObservedCluster,
) -> Result<kube::Client, Diagnostic> {
    let at = observed.spec.address();
    let token = provider
        .clusters(&at)
        .kube_token(&at)
        .await
        .map_err(|e| e.diagnostic("authenticate to the cluster"))?;
    provider
        .kube
        .for_cluster(&observed.endpoint, &observed.ca_certificate, token.expose())
        .await
        .map_err(|e| Diagnostic::error("Failed to reach the cluster", e.to_string()))
}

/// A Kubernetes client for the cluster whose ID is `id` (at attribute
/// `at`), or why there is none.
pub async fn client_for(
    provider: &ProviderContext,
    id: &str,
    at: AttributePath,
) -> Result<kube::Client, Diagnostics> {
    let address = super::cluster::ClusterName::parse(id)
        .ok_or_else(|| {
            Diagnostics::from(
                Diagnostic::error("Not a cluster ID", format!("{id:?} is not a cluster ID."))
                    .at(at.clone()),
            )
        })?
        .address();
    let wait = wait_for(provider, &Value::Null, "read", 5);
    let cluster = provider
        .clusters(&address)
        .get(&address, &wait)
        .await
        .map_err(|e| Diagnostics::from(e.diagnostic("read the cluster")))?
        .ok_or_else(|| {
            Diagnostics::from(
                Diagnostic::error(
                    "Cluster not found",
                    format!("The cluster {id:?} does not exist."),
                )
                .at(at),
            )
        })?;
    Ok(cluster_client(provider, &cluster).await?)
}

/// `major.minor` of a Kubernetes version (`1.33`, `v1.33.2-gke.100`).
pub fn minor_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((major, minor))
}

/// (what runs, what the plan asks for) as (major, minor), when the plan
/// changes `asked` from the prior state and both are versions; `running` is
/// the attribute reporting what runs (`master_version`, `version`).
pub fn version_step(
    prior: &Value,
    planned: &Value,
    running: &str,
    asked: &str,
) -> Option<((u32, u32), (u32, u32))> {
    if prior.get(asked) == planned.get(asked) {
        return None;
    }
    Some((
        prior.get(running).as_str().and_then(minor_version)?,
        planned.get(asked).as_str().and_then(minor_version)?,
    ))
}

/// Who owns a cloud object an identity names: a Google Cloud project or
/// an AWS account.
pub enum Owner<'a> {
    Project(&'a str),
    Account(&'a str),
}

/// The identity of a cluster or registry, one shape for both clouds:
/// `project` (GKE, Artifact Registry) or `account_id` (EKS, ECR), then
/// `location` and `name`.
pub fn cloud_identity_schema() -> IdentitySchema {
    IdentitySchema::new(vec![
        IdentityAttribute::optional(
            "project",
            "The Google Cloud project (GKE, Artifact Registry).",
        ),
        IdentityAttribute::optional("account_id", "The AWS account ID (EKS, ECR)."),
        IdentityAttribute::required("location", "The region (or a zonal GKE cluster's zone)."),
        IdentityAttribute::required("name", "The object's name."),
    ])
}

pub fn cloud_identity(owner: Owner<'_>, location: &str, name: &str) -> Option<Value> {
    let (project, account) = match owner {
        Owner::Project(p) => (Some(p.to_string()), None),
        Owner::Account(a) => (None, Some(a.to_string())),
    };
    cloud_identity_schema().value(&[
        ("project", project),
        ("account_id", account),
        ("location", Some(location.to_string())),
        ("name", Some(name.to_string())),
    ])
}

/// (owner, location, name) of an identity in `cloud_identity_schema`.
pub fn cloud_identity_parts(identity: &Value) -> Result<(Owner<'_>, &str, &str), Diagnostics> {
    let schema = cloud_identity_schema();
    let location = schema.part(identity, "location")?.unwrap_or_default();
    let name = schema.part(identity, "name")?.unwrap_or_default();
    let owner = match (
        schema.part(identity, "project")?,
        schema.part(identity, "account_id")?,
    ) {
        (Some(project), None) => Owner::Project(project),
        (None, Some(account)) => Owner::Account(account),
        _ => {
            return Err(Diagnostic::error(
                "Incomplete identity",
                "Give either `project` (Google Cloud) or `account_id` (AWS), with `location` and `name`.",
            )
            .into());
        }
    };
    Ok((owner, location, name))
}

/// Where a data source looks: its own setting, else the provider's, else
/// an error naming both.
pub fn given_or_provider(
    given: Option<&str>,
    provider: Option<&String>,
    attribute: &str,
    setting: &str,
) -> Result<String, Diagnostics> {
    given
        .map(str::to_string)
        .or_else(|| provider.cloned())
        .ok_or_else(|| {
            Diagnostic::error(
                "Where is it?",
                format!("Set `{attribute}`, or the provider's `{setting}`."),
            )
            .at(AttributePath::attr(attribute))
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderConfig;

    fn provider() -> ProviderConfig {
        ProviderConfig {
            project: Some("p".into()),
            region: Some("europe-west1".into()),
            aws_region: Some("eu-west-1".into()),
            ..ProviderConfig::default()
        }
    }

    /// The plan of a repository whose configuration is `config` (the
    /// cloud's default filled in, as the framework plans it).
    fn planned(config: &Value, cloud: Value) -> (Value, Diagnostics) {
        let mut planned = config.clone();
        planned.set_attr("cloud", cloud);
        let mut diags = Diagnostics::new();
        plan_location(&mut planned, config, &provider(), &mut diags);
        (planned, diags)
    }

    #[test]
    fn each_cloud_takes_its_own_provider_defaults() {
        let config = Value::object([("name", "r".into())]);
        let (gcp, diags) = planned(&config, "gcp".into());
        assert!(!diags.has_errors());
        assert_eq!(
            gcp.at(&AttributePath::attr("region")),
            &Value::from("europe-west1")
        );
        assert_eq!(
            gcp.at(&AttributePath::attr("project_id")),
            &Value::from("p")
        );
        let (aws, _) = planned(&config, "aws".into());
        assert_eq!(
            aws.at(&AttributePath::attr("region")),
            &Value::from("eu-west-1")
        );
        assert!(aws.at(&AttributePath::attr("project_id")).is_null());
    }

    #[test]
    fn a_cloud_not_known_yet_plans_its_defaults_unknown() {
        let config = Value::object([("cloud", Value::Unknown), ("region", "r1".into())]);
        let (plan, diags) = planned(&config, Value::Unknown);
        assert!(!diags.has_errors());
        assert_eq!(
            plan.at(&AttributePath::attr("region")),
            &Value::from("r1"),
            "written, so kept"
        );
        assert!(plan.at(&AttributePath::attr("project_id")).is_unknown());
    }

    #[test]
    fn settings_of_the_other_cloud_wait_for_the_cloud_to_be_known() {
        let mut diags = Diagnostics::new();
        let unknown = Value::object([("cloud", Value::Unknown), ("eks", "x".into())]);
        only_for_cloud(&unknown, "aws", &["eks"], &mut diags);
        assert!(!diags.has_errors());
        let left_out = Value::object([("eks", "x".into())]);
        only_for_cloud(&left_out, "aws", &["eks"], &mut diags);
        assert!(diags.has_errors(), "left out, the cloud is gcp");
    }
}
