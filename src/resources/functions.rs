//! The provider's functions, called in HCL as `provider::genesis::NAME`:
//! taking apart the references and IDs the resources speak in, so that
//! configuration never splits them with regular expressions.

use super::cluster::ClusterName;
use super::registry::repository_url as artifact_registry_url;
use crate::framework::function::{Function, FunctionError, Parameter};
use crate::framework::types::Type;
use crate::framework::value::Value;

pub fn all() -> Vec<Box<dyn Function>> {
    vec![
        Box::new(ParseImage),
        Box::new(ParseClusterId),
        Box::new(RepositoryUrl),
    ]
}

fn string_argument(arguments: &[Value], i: usize) -> Result<&str, FunctionError> {
    arguments
        .get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| FunctionError::at(i, "a string is required"))
}

/// `parse_image`: a container image reference in its parts.
pub struct ParseImage;

/// The parts of an image reference, as Docker's reference grammar reads
/// it: the registry is the first component when it has a `.` or a `:` or
/// is `localhost`, else Docker Hub (`docker.io`, whose one-component names
/// are under `library/`).
#[derive(Debug, PartialEq)]
pub struct ImageReference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

pub fn parse_image(reference: &str) -> Result<ImageReference, String> {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => {
            let (algorithm, hex) = digest
                .split_once(':')
                .ok_or_else(|| format!("{digest:?} is not a digest (ALGORITHM:HEX)"))?;
            if algorithm.is_empty() || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit())
            {
                return Err(format!("{digest:?} is not a digest (ALGORITHM:HEX)"));
            }
            (rest, Some(digest.to_string()))
        }
        None => (reference, None),
    };
    // A tag follows the last `:` after the last `/` (a registry's port
    // comes before a `/`).
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag.to_string())),
        _ => (rest, None),
    };
    if let Some(tag) = &tag {
        let valid = (1..=128).contains(&tag.len())
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(format!(
                "{tag:?} is not a valid tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            ));
        }
    }
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        Some(_) => ("docker.io".to_string(), name.to_string()),
        None => ("docker.io".to_string(), format!("library/{name}")),
    };
    let component = |c: &str| {
        !c.is_empty()
            && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.chars().all(|ch| {
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
            })
    };
    if registry.is_empty() || !repository.split('/').all(component) {
        return Err(format!(
            "{reference:?} is not an image reference: [REGISTRY/]REPOSITORY[:TAG][@DIGEST], the repository in lowercase letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(ImageReference {
        registry,
        repository,
        tag,
        digest,
    })
}

impl Function for ParseImage {
    fn name(&self) -> &'static str {
        "parse_image"
    }

    fn summary(&self) -> &'static str {
        "The parts of a container image reference."
    }

    fn description(&self) -> &'static str {
        "Takes a container image reference apart as Docker reads it: `registry` (the first component when it has a `.` or a `:` or is `localhost`, else `docker.io`), `repository` (under `library/` for Docker Hub's one-component names), `tag` and `digest` (null when not given). An invalid reference is an error naming it."
    }

    fn parameters(&self) -> Vec<Parameter> {
        vec![Parameter {
            name: "reference",
            ty: Type::String,
            description: "An image reference, e.g. `us-central1-docker.pkg.dev/p/images/api:1.4.2`.",
        }]
    }

    fn returns(&self) -> Type {
        Type::object(["registry", "repository", "tag", "digest"].map(|name| (name, Type::String)))
    }

    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError> {
        let parsed =
            parse_image(string_argument(arguments, 0)?).map_err(|e| FunctionError::at(0, e))?;
        Ok(Value::object([
            ("registry", parsed.registry.into()),
            ("repository", parsed.repository.into()),
            ("tag", parsed.tag.into()),
            ("digest", parsed.digest.into()),
        ]))
    }
}

/// `parse_cluster_id`: where a `genesis_cluster` is.
pub struct ParseClusterId;

impl Function for ParseClusterId {
    fn name(&self) -> &'static str {
        "parse_cluster_id"
    }

    fn summary(&self) -> &'static str {
        "The cloud, location and name in a cluster's ID."
    }

    fn description(&self) -> &'static str {
        "Takes a `genesis_cluster` ID apart: `cloud` (`gcp` or `aws`), `name`, `location` (a GKE cluster's region or zone, an EKS cluster's region), `project` (GCP; null on AWS) and `account` (AWS; null on GCP). Accepts `projects/PROJECT/locations/LOCATION/clusters/NAME` and EKS cluster ARNs; anything else is an error."
    }

    fn parameters(&self) -> Vec<Parameter> {
        vec![Parameter {
            name: "id",
            ty: Type::String,
            description: "A cluster's ID: `genesis_cluster.NAME.id`.",
        }]
    }

    fn returns(&self) -> Type {
        Type::object(
            ["cloud", "name", "location", "project", "account"].map(|name| (name, Type::String)),
        )
    }

    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError> {
        let id = string_argument(arguments, 0)?;
        let parsed = ClusterName::parse(id)
            .filter(|_| id.starts_with("projects/") || id.starts_with("arn:"))
            .ok_or_else(|| {
                FunctionError::at(
                    0,
                    format!("{id:?} is not a cluster ID: projects/PROJECT/locations/LOCATION/clusters/NAME or an EKS cluster ARN"),
                )
            })?;
        Ok(match parsed {
            ClusterName::Gcp {
                project,
                location,
                name,
            } => Value::object([
                ("cloud", "gcp".into()),
                ("name", name.into()),
                ("location", location.into()),
                ("project", project.into()),
                ("account", Value::Null),
            ]),
            ClusterName::Aws {
                region,
                account,
                name,
            } => Value::object([
                ("cloud", "aws".into()),
                ("name", name.into()),
                ("location", region.into()),
                ("project", Value::Null),
                ("account", account.into()),
            ]),
        })
    }
}

/// `repository_url`: where a repository's images go.
pub struct RepositoryUrl;

impl Function for RepositoryUrl {
    fn name(&self) -> &'static str {
        "repository_url"
    }

    fn summary(&self) -> &'static str {
        "The URL of a Docker repository from its ID."
    }

    fn description(&self) -> &'static str {
        "The URL images of a Docker repository are pushed to and pulled from, from the repository's ID (`genesis_registry`'s `id`): `REGION-docker.pkg.dev/PROJECT/NAME` for `projects/PROJECT/locations/REGION/repositories/NAME`, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME` for an ECR repository's ARN. For a repository known only by name, in a configuration that does not manage it."
    }

    fn parameters(&self) -> Vec<Parameter> {
        vec![Parameter {
            name: "id",
            ty: Type::String,
            description: "A repository's ID: `projects/PROJECT/locations/REGION/repositories/NAME` or `arn:aws:ecr:REGION:ACCOUNT:repository/NAME`.",
        }]
    }

    fn returns(&self) -> Type {
        Type::String
    }

    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError> {
        let id = string_argument(arguments, 0)?;
        let refused = || {
            FunctionError::at(
                0,
                format!(
                    "{id:?} is not a repository ID: projects/PROJECT/locations/REGION/repositories/NAME or arn:aws:ecr:REGION:ACCOUNT:repository/NAME"
                ),
            )
        };
        if let Some(rest) = id.strip_prefix("arn:aws:ecr:") {
            let parts: Vec<&str> = rest.splitn(3, ':').collect();
            return match parts.as_slice() {
                [region, account, resource] if !region.is_empty() && !account.is_empty() => {
                    let name = resource
                        .strip_prefix("repository/")
                        .filter(|n| !n.is_empty())
                        .ok_or_else(refused)?;
                    Ok(format!("{account}.dkr.ecr.{region}.amazonaws.com/{name}").into())
                }
                _ => Err(refused()),
            };
        }
        match id.split('/').collect::<Vec<_>>().as_slice() {
            [
                "projects",
                project,
                "locations",
                region,
                "repositories",
                name,
            ] if [project, region, name].iter().all(|s| !s.is_empty()) => {
                Ok(artifact_registry_url(region, "DOCKER", project, name).into())
            }
            _ => Err(refused()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_read_as_docker_reads_them() {
        let full = parse_image("us-central1-docker.pkg.dev/p/images/api:1.4.2").unwrap();
        assert_eq!(full.registry, "us-central1-docker.pkg.dev");
        assert_eq!(full.repository, "p/images/api");
        assert_eq!(full.tag.as_deref(), Some("1.4.2"));
        let hub = parse_image("nginx").unwrap();
        assert_eq!(
            (hub.registry.as_str(), hub.repository.as_str()),
            ("docker.io", "library/nginx")
        );
        assert_eq!(hub.tag, None);
        let port = parse_image("localhost:5000/team/app").unwrap();
        assert_eq!((port.registry.as_str(), port.tag), ("localhost:5000", None));
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = parse_image(&format!("bitnami/redis:7@{digest}")).unwrap();
        assert_eq!(pinned.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(pinned.tag.as_deref(), Some("7"));
        for bad in ["", "Nginx", "nginx:", "nginx:-x", "a//b", "nginx@sha256:zz"] {
            assert!(parse_image(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_give_clusters_and_repository_urls() {
        let call = |f: &dyn Function, id: &str| f.call(&[id.into()]);
        assert_eq!(
            call(
                &ParseClusterId,
                "arn:aws:eks:eu-west-1:123456789012:cluster/prod"
            ),
            Ok(Value::object([
                ("cloud", "aws".into()),
                ("name", "prod".into()),
                ("location", "eu-west-1".into()),
                ("project", Value::Null),
                ("account", "123456789012".into()),
            ]))
        );
        assert!(
            call(&ParseClusterId, "p/l/c").is_err(),
            "the short form is the import's, not an ID"
        );
        assert_eq!(
            call(
                &RepositoryUrl,
                "arn:aws:ecr:us-east-1:123456789012:repository/agents"
            ),
            Ok("123456789012.dkr.ecr.us-east-1.amazonaws.com/agents".into())
        );
        assert_eq!(
            call(
                &RepositoryUrl,
                "projects/p/locations/us-central1/repositories/images"
            ),
            Ok("us-central1-docker.pkg.dev/p/images".into())
        );
        assert_eq!(
            call(&RepositoryUrl, "projects/p/repositories/images")
                .unwrap_err()
                .argument,
            Some(0)
        );
    }
}
