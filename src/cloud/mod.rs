//! The clouds behind the resources. Each resource kind has one trait here;
//! `gcp/` and `aws/` implement them, so resource files never branch on the
//! cloud's API.

pub mod aws;
pub mod cluster;
pub mod disks;
pub mod gcp;
pub mod gpus;
pub mod node_pool;
pub mod origin;
pub mod registry;
pub mod retry;
pub mod workload_identity;
pub mod writes;

use std::time::Duration;

use crate::framework::diagnostics::Diagnostic;

/// Why a cloud call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudError {
    /// the API refused the call
    #[error("{call}: {status} ({code}): {message}")]
    Api {
        call: String,
        code: u16,
        status: String,
        message: String,
        /// The server's Retry-After, when it gave one.
        retry_after: Option<Duration>,
    },
    /// a long-running operation ended in an error
    #[error("{call}: operation {operation} failed: {message}")]
    Operation {
        call: String,
        operation: String,
        message: String,
    },
    /// the resource's timeout ran out while waiting
    #[error("{call}: still not done after {after:?} (operation {operation})")]
    Timeout {
        call: String,
        operation: String,
        after: Duration,
    },
    /// Terraform asked the provider to stop
    #[error("{call}: cancelled because Terraform is stopping")]
    Cancelled { call: String },
    /// credentials could not be loaded or the connection failed
    #[error("{call}: {message}")]
    Transport { call: String, message: String },
    /// no usable credentials: retrying cannot help
    #[error("{call}: no usable Google credentials ({message})")]
    Credentials { call: String, message: String },
    /// no usable AWS credentials: retrying cannot help
    #[error("{call}: no usable AWS credentials ({message})")]
    AwsCredentials { call: String, message: String },
    /// the configuration cannot be sent to this cloud
    #[error("{0}")]
    Invalid(String),
}

impl CloudError {
    /// Whether waiting and trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            CloudError::Api {
                code,
                status,
                message,
                ..
            } => {
                matches!(code, 408 | 429 | 500 | 502 | 503 | 504)
                    // Google's and AWS's names for "slow down" and "not now",
                    // whatever HTTP status carries them.
                    || matches!(
                        status.as_str(),
                        "UNAVAILABLE"
                            | "ThrottlingException"
                            | "Throttling"
                            | "RequestLimitExceeded"
                            | "TooManyRequestsException"
                            | "ServiceUnavailable"
                            | "ServiceUnavailableException"
                    )
                    || (status == "FAILED_PRECONDITION"
                        && message.contains("incompatible operation"))
            }
            CloudError::Transport { .. } => true,
            _ => false,
        }
    }

    /// How long the server asked clients to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CloudError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, CloudError::Api { code: 404, .. })
    }

    /// The create met an object of the same name (GKE's ALREADY_EXISTS,
    /// AWS's ResourceInUseException / RepositoryAlreadyExistsException).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, CloudError::Api { code: 409, .. })
            || matches!(self, CloudError::Api { status, .. } if status.ends_with("AlreadyExistsException") || status == "ResourceInUseException")
    }

    /// The error as a diagnostic that says what happened and what to do.
    pub fn diagnostic(&self, what: &str) -> Diagnostic {
        let hint = match self {
            CloudError::Api {
                code: 401 | 403, ..
            } => {
                " Check the provider's credentials (credentials, access_token or GOOGLE_OAUTH_ACCESS_TOKEN) and their permissions."
            }
            CloudError::Api { code: 409, .. } => {
                " An object with this name already exists: import it (terraform import) or choose another name."
            }
            CloudError::Api {
                code: 429 | 500 | 502 | 503 | 504,
                ..
            } => " The service kept failing after retries; run terraform apply again later.",
            CloudError::Timeout { .. } => {
                " The operation may still finish: run terraform apply again to pick it up, or raise the timeouts block's value."
            }
            CloudError::Transport { .. } => " Check the endpoint settings and the network.",
            CloudError::Credentials { .. } => {
                " Looked at, in order: the provider's `access_token` (GOOGLE_OAUTH_ACCESS_TOKEN) and `credentials` (GOOGLE_CREDENTIALS), GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials (~/.config/gcloud/application_default_credentials.json) and the metadata server (GCE_METADATA_HOST, default metadata.google.internal). Set one of the first two, or run `gcloud auth application-default login`."
            }
            CloudError::AwsCredentials { .. } => {
                " The AWS SDK looks, in order, at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the shared configuration's profile (aws_profile, AWS_PROFILE), web identity and the instance or container role. Set one of them, or run `aws sso login`."
            }
            _ => "",
        };
        let text = self.to_string();
        Diagnostic::error(
            format!("Failed to {what}"),
            format!("{}.{hint}", text.trim_end_matches('.')),
        )
    }
}
