//! AWS through the official aws-sdk-rust clients. The SDK configuration
//! (credentials from the environment, profile or instance, the provider's
//! `aws_region`, `aws_profile` and `aws_endpoint`) is loaded on first use,
//! so configuring the provider makes no network call; clients are made per
//! region, since each resource may name its own.

pub mod addons;
pub mod auto_mode;
pub mod cluster;
pub mod cluster_autoscaler;
pub mod disks;
pub mod gpus;
pub mod iam;
pub mod load_balancer_controller;
pub mod node_group;
pub mod own_addons;
pub mod pod_identity;
pub mod registry;
pub mod token;
pub mod updates;

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::{Mutex, OnceCell};

use super::CloudError;
use crate::provider::ProviderConfig;

/// Clients for one provider configuration.
pub struct Aws {
    config: ProviderConfig,
    sdk: OnceCell<SdkConfig>,
    ecr: Mutex<HashMap<String, aws_sdk_ecr::Client>>,
    eks: Mutex<HashMap<String, aws_sdk_eks::Client>>,
    kms: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    /// One lock per EKS cluster: EKS runs one update per cluster at a time.
    cluster_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Kubernetes tokens by cluster, reused until shortly before they expire.
    tokens: token::Tokens,
    /// Each cluster's Pod Identity associations, listed once for the
    /// refreshes of all its workloads.
    pod_identities: pod_identity::Listings,
}

impl Aws {
    pub fn new(config: ProviderConfig) -> Self {
        Aws {
            config,
            sdk: OnceCell::new(),
            ecr: Mutex::default(),
            eks: Mutex::default(),
            kms: Mutex::default(),
            cluster_locks: Mutex::default(),
            tokens: token::Tokens::default(),
            pod_identities: pod_identity::Listings::default(),
        }
    }

    /// The lock that serialises changes to one EKS cluster.
    pub async fn cluster_lock(&self, region: &str, cluster: &str) -> Arc<Mutex<()>> {
        self.cluster_locks
            .lock()
            .await
            .entry(format!("{region}/{cluster}"))
            .or_default()
            .clone()
    }

    /// The EKS client for `region` (`eks_endpoint` wins over `aws_endpoint`).
    pub async fn eks(&self, region: &str) -> aws_sdk_eks::Client {
        let sdk = self.sdk().await;
        let mut clients = self.eks.lock().await;
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let mut config =
                    aws_sdk_eks::config::Builder::from(sdk).region(Region::new(region.to_string()));
                if let Some(endpoint) = &self.config.eks_endpoint {
                    config = config.endpoint_url(endpoint.trim_end_matches('/'));
                }
                aws_sdk_eks::Client::from_conf(config.build())
            })
            .clone()
    }

    pub async fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        let sdk = self.sdk().await;
        let mut clients = self.kms.lock().await;
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = aws_sdk_kms::config::Builder::from(sdk)
                    .region(Region::new(region.to_string()))
                    .build();
                aws_sdk_kms::Client::from_conf(config)
            })
            .clone()
    }

    /// IAM is global.
    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(self.sdk().await)
    }

    pub async fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        let config = aws_sdk_sts::config::Builder::from(self.sdk().await)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }

    /// The credentials the SDK resolved (environment, profile, instance).
    pub async fn credentials(
        &self,
        call: &str,
    ) -> Result<aws_credential_types::Credentials, CloudError> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider =
            self.sdk()
                .await
                .credentials_provider()
                .ok_or_else(|| CloudError::AwsCredentials {
                    call: call.to_string(),
                    message: "no AWS credentials provider is configured".into(),
                })?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| CloudError::AwsCredentials {
                call: call.to_string(),
                message: aws_sdk_ecr::error::DisplayErrorContext(&e).to_string(),
            })
    }

    async fn sdk(&self) -> &SdkConfig {
        self.sdk
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                // AWS's User-Agent then ends in `app/terraform-provider-genesis-0.1.0`
                // (an app name cannot hold the `/` of a product token).
                if let Ok(app) = aws_config::AppName::new(format!(
                    "terraform-provider-genesis-{}",
                    crate::provider::VERSION
                )) {
                    loader = loader.app_name(app);
                }
                if let Some(region) = &self.config.aws_region {
                    loader = loader.region(Region::new(region.clone()));
                }
                if let Some(profile) = &self.config.aws_profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(endpoint) = &self.config.aws_endpoint {
                    loader = loader.endpoint_url(endpoint.trim_end_matches('/'));
                }
                loader.load().await
            })
            .await
    }

    /// The ECR client for `region`.
    pub async fn ecr(&self, region: &str) -> aws_sdk_ecr::Client {
        let sdk = self.sdk().await;
        let mut clients = self.ecr.lock().await;
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = aws_sdk_ecr::config::Builder::from(sdk)
                    .region(Region::new(region.to_string()))
                    .build();
                aws_sdk_ecr::Client::from_conf(config)
            })
            .clone()
    }
}

/// What is wrong, followed by the health issues as AWS words them:
/// `SUMMARY: CODE: message; ...`, or the summary alone when there are none.
pub(crate) fn with_issues<'a>(
    summary: String,
    items: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> String {
    let found: Vec<String> = items
        .map(|(code, message)| {
            format!(
                "{}: {}",
                code.unwrap_or("Unknown"),
                message.unwrap_or_default()
            )
        })
        .collect();
    if found.is_empty() {
        summary
    } else {
        format!("{summary}: {}", found.join("; "))
    }
}

/// An SDK error in the provider's terms: the HTTP status, the service's
/// error code (`RepositoryNotFoundException`) and its message.
pub(crate) fn api_error<E, R>(call: &str, e: SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus + 'static,
{
    match &e {
        SdkError::ServiceError(service) => CloudError::Api {
            call: call.to_string(),
            code: service.raw().status(),
            status: service.err().code().unwrap_or("Unknown").to_string(),
            message: service.err().message().unwrap_or("no message").to_string(),
            retry_after: None,
        },
        _ if lacks_credentials(&e) => CloudError::AwsCredentials {
            call: call.to_string(),
            message: aws_sdk_ecr::error::DisplayErrorContext(&e).to_string(),
        },
        _ => CloudError::Transport {
            call: call.to_string(),
            message: aws_sdk_ecr::error::DisplayErrorContext(&e).to_string(),
        },
    }
}

/// Whether a call failed because the credentials chain found none, or its
/// provider refused (an instance metadata service that answers 403, a
/// profile that cannot be read): trying again finds none either, so the
/// call must not be retried until the resource's timeout. The SDK already
/// retries a provider that timed out.
fn lacks_credentials(e: &(dyn std::error::Error + 'static)) -> bool {
    use aws_credential_types::provider::error::CredentialsError;
    let mut cause = Some(e);
    while let Some(error) = cause {
        if let Some(
            CredentialsError::CredentialsNotLoaded(_)
            | CredentialsError::InvalidConfiguration(_)
            | CredentialsError::ProviderError(_),
        ) = error.downcast_ref()
        {
            return true;
        }
        cause = error.source();
    }
    false
}

/// The HTTP status of a raw SDK response.
pub(crate) trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_sdk_ecr::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_eks::config::http::HttpResponse;
    use aws_sdk_eks::error::ConnectorError;
    use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;

    fn dispatch_failure(cause: CredentialsError) -> SdkError<DescribeClusterError, HttpResponse> {
        SdkError::dispatch_failure(ConnectorError::other(Box::new(cause), None))
    }

    #[test]
    fn a_call_without_credentials_fails_at_once() {
        for cause in [
            CredentialsError::not_loaded("no providers in chain provided credentials"),
            CredentialsError::provider_error("failed to load IMDS session token: 403"),
            CredentialsError::invalid_configuration("profile not found"),
        ] {
            let e = api_error("reading the EKS cluster", dispatch_failure(cause));
            assert!(matches!(e, CloudError::AwsCredentials { .. }), "{e:?}");
            assert!(!e.is_retryable(), "{e}");
        }
    }

    #[test]
    fn a_credentials_provider_that_timed_out_is_tried_again() {
        let cause = CredentialsError::provider_timed_out(std::time::Duration::from_secs(5));
        let e = api_error("reading the EKS cluster", dispatch_failure(cause));
        assert!(matches!(e, CloudError::Transport { .. }), "{e:?}");
        assert!(e.is_retryable(), "{e}");
    }
}
