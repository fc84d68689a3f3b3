//! EKS updates: a change to a cluster or node group is an update with an
//! ID, one at a time per cluster, followed through DescribeUpdate until it
//! is Successful. EKS answers a change sent while another runs with
//! ResourceInUseException; that, throttling and 5xx are retried until the
//! resource's timeout.

use std::future::Future;
use std::time::Duration;

use aws_sdk_eks::types::{Update, UpdateStatus};

use super::{Aws, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;
use crate::cloud::retry::{Backoff, Poll, poll_until_ready, retry};

/// Whether EKS refused a change because another one is running.
pub fn is_busy(e: &CloudError) -> bool {
    matches!(e, CloudError::Api { status, .. } if status == "ResourceInUseException")
}

/// Sends a change, retrying while the cluster is busy or the API slow.
/// Not for creates: there ResourceInUseException means "already exists".
pub async fn send<T, F, Fut>(wait: &Wait, send: F) -> Result<T, CloudError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    let backoff = Backoff {
        initial: Duration::from_millis(500),
        max: Duration::from_secs(15),
        ..Backoff::until(wait.deadline())
    };
    retry_also(backoff, wait, is_busy, send).await
}

/// Makes a call until it succeeds, fails for good or the deadline passes:
/// what is retryable everywhere (throttling, 5xx, dropped connections) is
/// retried, and so are the errors `also` recognises as EKS's "not now".
pub async fn retry_also<T, F, Fut>(
    backoff: Backoff,
    wait: &Wait,
    also: fn(&CloudError) -> bool,
    call: F,
) -> Result<T, CloudError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    retry(backoff, &wait.stop, || async {
        call().await.map_err(|e| {
            if also(&e) {
                Retry::again(e)
            } else {
                Retry::settled(e)
            }
        })
    })
    .await
    .map_err(Retry::into_inner)
}

/// An error with the caller's say on whether to try again, beyond what
/// is retryable everywhere (throttling, 5xx, dropped connections).
struct Retry {
    error: CloudError,
    again: bool,
}

impl Retry {
    pub fn again(error: CloudError) -> Self {
        Retry { error, again: true }
    }

    pub fn settled(error: CloudError) -> Self {
        Retry {
            again: error.is_retryable(),
            error,
        }
    }

    pub fn into_inner(self) -> CloudError {
        self.error
    }
}

impl std::fmt::Display for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl crate::cloud::retry::Transient for Retry {
    fn is_retryable(&self) -> bool {
        self.again
    }

    fn retry_after(&self) -> Option<Duration> {
        self.error.retry_after()
    }
}

impl Aws {
    /// Follows an update until it succeeds; a failed or cancelled update
    /// is an error carrying EKS's own messages.
    pub async fn follow_update(
        &self,
        call: &str,
        region: &str,
        cluster: &str,
        nodegroup: Option<&str>,
        update: Option<&Update>,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let Some(id) = update.and_then(|u| u.id()) else {
            return Ok(());
        };
        let eks = self.eks(region).await;
        let backoff = Backoff::until(wait.deadline());
        poll_until_ready(
            call,
            wait,
            Duration::from_secs(1),
            Duration::from_secs(10),
            || async {
                let out = retry(backoff, &wait.stop, || async {
                    eks.describe_update()
                        .name(cluster)
                        .set_nodegroup_name(nodegroup.map(str::to_string))
                        .update_id(id)
                        .send()
                        .await
                        .map_err(|e| api_error("reading the EKS update", e))
                })
                .await?;
                let Some(update) = out.update() else {
                    return Ok(Poll::Pending);
                };
                Ok(match update.status() {
                    Some(UpdateStatus::Successful) => Poll::Ready,
                    Some(UpdateStatus::Failed | UpdateStatus::Cancelled) => {
                        Poll::Failed(update_errors(update))
                    }
                    _ => Poll::Pending,
                })
            },
        )
        .await
    }
}

/// An update's errors as EKS words them.
pub fn update_errors(update: &Update) -> String {
    let status = update.status().map_or("Failed", |s| s.as_str());
    let errors: Vec<String> = update
        .errors()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.error_code().map_or("Unknown", |c| c.as_str()),
                e.error_message().unwrap_or("no message")
            )
        })
        .collect();
    if errors.is_empty() {
        format!("update {} {status}", update.id().unwrap_or_default())
    } else {
        format!(
            "update {} {status}: {}",
            update.id().unwrap_or_default(),
            errors.join("; ")
        )
    }
}
