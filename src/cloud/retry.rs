//! Retries with capped, jittered exponential backoff for calls that may be
//! repeated safely: the clouds' APIs and the clusters' Kubernetes APIs.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::CloudError;

/// How hard to try: a number of attempts, or until a deadline.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub attempts: u32,
    /// No retry starts after this.
    pub until: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(10),
            attempts: 8,
            until: None,
        }
    }
}

impl Backoff {
    /// Retries for as long as an operation may take: until its deadline
    /// (the resource's timeout), however many attempts that is.
    pub fn until(deadline: Instant) -> Self {
        Backoff {
            attempts: u32::MAX,
            until: Some(deadline),
            ..Backoff::default()
        }
    }

    /// Whether a retry after `delay` starts in time.
    fn allows(&self, attempt: u32, delay: Duration) -> bool {
        attempt < self.attempts && self.until.is_none_or(|u| Instant::now() + delay < u)
    }

    /// The delay before attempt `n` (from 1), with up to 20% jitter.
    pub fn delay(&self, n: u32) -> Duration {
        let base = self.initial.saturating_mul(1u32 << n.min(16)).min(self.max);
        let nanos = Instant::now().elapsed().subsec_nanos() ^ std::process::id();
        base + base.mul_f64(f64::from(nanos % 200) / 1000.0)
    }
}

/// An error that may pass if the call is made again.
pub trait Transient: std::fmt::Display {
    /// 429, 5xx, a dropped connection, a busy cluster.
    fn is_retryable(&self) -> bool;
    /// How long the server asked clients to wait.
    fn retry_after(&self) -> Option<Duration>;
}

impl Transient for CloudError {
    fn is_retryable(&self) -> bool {
        CloudError::is_retryable(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        CloudError::retry_after(self)
    }
}

/// Runs `call` until it succeeds, fails for good, or runs out of attempts;
/// retryable errors (429, 5xx, dropped connections, a busy cluster) wait
/// and go again.
pub async fn retry<T, E, F, Fut>(
    backoff: Backoff,
    stop: &CancellationToken,
    mut call: F,
) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e)
                if e.is_retryable() && {
                    // Never sooner than the server asked.
                    let delay = backoff
                        .delay(attempt + 1)
                        .max(e.retry_after().unwrap_or_default());
                    backoff.allows(attempt + 1, delay)
                } =>
            {
                attempt += 1;
                let delay = backoff
                    .delay(attempt)
                    .max(e.retry_after().unwrap_or_default());
                tracing::debug!(attempt, ?delay, error = %e, "retrying");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.cancelled() => return Err(e),
                }
            }
            other => return other,
        }
    }
}

/// A read, retried like any other call, where absence is a value: a 404
/// is `Ok(None)`, so the resource leaves the state instead of failing.
pub async fn read_optional<T, F, Fut>(
    wait: &super::cluster::Wait,
    call: F,
) -> Result<Option<T>, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    match retry(Backoff::until(wait.deadline()), &wait.stop, call).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads an object that a create met as "already exists" until it can be
/// read, or the deadline passes (then `None`). A service that creates
/// through a long-running operation may refuse a second create of a name
/// before it serves the first (Artifact Registry does): what cannot be
/// read yet cannot be told to be ours or someone else's.
pub async fn read_once_it_exists<T, F, Fut>(
    wait: &super::cluster::Wait,
    mut read: F,
) -> Result<Option<T>, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, CloudError>>,
{
    let mut pause = Duration::from_millis(250);
    loop {
        if let Some(found) = read().await? {
            return Ok(Some(found));
        }
        if Instant::now() + pause >= wait.deadline() {
            return Ok(None);
        }
        tracing::debug!(
            elapsed_ms = wait.started.elapsed().as_millis() as u64,
            "the create met an object it cannot read yet: waiting"
        );
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wait.stop.cancelled() => return Ok(None),
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// What one look at an object being created found.
pub enum Poll {
    Ready,
    Failed(String),
    Pending,
}

/// Looks at an object until it is ready or failed, the operation's timeout
/// runs out, or Terraform stops: first after `every`, then at growing
/// intervals up to `cap` (equal to `every` for a steady pace).
pub async fn poll_until_ready<F, Fut>(
    call: &str,
    wait: &super::cluster::Wait,
    every: Duration,
    cap: Duration,
    mut look: F,
) -> Result<(), CloudError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Poll, CloudError>>,
{
    let mut pause = every;
    loop {
        match look().await? {
            Poll::Ready => return Ok(()),
            Poll::Failed(message) => {
                return Err(CloudError::Operation {
                    call: call.into(),
                    operation: String::new(),
                    message,
                });
            }
            Poll::Pending => {
                tracing::debug!(
                    call,
                    elapsed_ms = wait.started.elapsed().as_millis() as u64,
                    "waiting until it is ready"
                );
            }
        }
        if wait.started.elapsed() >= wait.timeout {
            return Err(CloudError::Timeout {
                call: call.into(),
                operation: String::new(),
                after: wait.timeout,
            });
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wait.stop.cancelled() => return Err(CloudError::Cancelled { call: call.into() }),
        }
        pause = (pause * 2).min(cap.max(every));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn busy() -> CloudError {
        CloudError::Api {
            call: "get".into(),
            code: 503,
            status: "UNAVAILABLE".into(),
            message: "busy".into(),
            retry_after: None,
        }
    }

    #[tokio::test]
    async fn a_deadline_bounds_the_retries_not_a_count() {
        let calls = AtomicU32::new(0);
        let backoff = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
            ..Backoff::until(Instant::now() + Duration::from_millis(300))
        };
        let started = Instant::now();
        let result: Result<(), _> = retry(backoff, &CancellationToken::new(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(busy())
        })
        .await;
        assert!(result.is_err());
        assert!(
            calls.load(Ordering::SeqCst) > 8,
            "more than a count's worth"
        );
        assert!(started.elapsed() < Duration::from_millis(400));
    }

    #[tokio::test]
    async fn retryable_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let fast = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            attempts: 5,
            until: None,
        };
        let result = retry(fast, &CancellationToken::new(), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(busy())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn other_errors_and_exhaustion_stop() {
        let calls = AtomicU32::new(0);
        let fast = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            attempts: 3,
            until: None,
        };
        let result: Result<(), _> = retry(fast, &CancellationToken::new(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(busy())
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let not_found: Result<(), _> = retry(fast, &CancellationToken::new(), || async {
            Err(CloudError::Api {
                call: "get".into(),
                code: 404,
                status: "NOT_FOUND".into(),
                message: "x".into(),
                retry_after: None,
            })
        })
        .await;
        assert!(not_found.unwrap_err().is_not_found());
    }

    #[tokio::test]
    async fn retry_after_is_honoured() {
        let calls = AtomicU32::new(0);
        let fast = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            attempts: 3,
            until: None,
        };
        let started = std::time::Instant::now();
        let result = retry(fast, &CancellationToken::new(), || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(CloudError::Api {
                    call: "get".into(),
                    code: 429,
                    status: "RESOURCE_EXHAUSTED".into(),
                    message: "slow down".into(),
                    retry_after: Some(Duration::from_millis(300)),
                })
            } else {
                Ok(())
            }
        })
        .await;
        assert!(result.is_ok());
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "waited as the server asked"
        );
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let b = Backoff::default();
        assert!(b.delay(1) < b.delay(4));
        assert!(b.delay(30) <= b.max.mul_f64(1.2));
    }
}
