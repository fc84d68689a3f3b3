//! Workload Identity on GKE, made rather than only annotated: a Kubernetes
//! service account acts as a Google service account once the Google one's
//! own IAM policy grants the member
//! `serviceAccount:PROJECT.svc.id.goog[NAMESPACE/NAME]` the role
//! `roles/iam.workloadIdentityUser` (PROJECT is the cluster's, whose
//! workload pool it is). Granted and revoked by a read-modify-write of
//! that policy with its etag, done again whole when another writer won
//! the race (IAM's `ABORTED`), touching no other member or role.

use google_cloud_gax::options::RequestOptionsBuilder;
use google_cloud_iam_v1::model::{Binding, Policy};

use super::{Gcp, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;
use crate::cloud::retry::{Backoff, retry};

/// The role that lets a Kubernetes service account act as a Google one.
pub const ROLE: &str = "roles/iam.workloadIdentityUser";

/// A Kubernetes service account of a GKE cluster in `project`.
#[derive(Clone, Copy, Debug)]
pub struct KubernetesServiceAccount<'a> {
    pub project: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

impl KubernetesServiceAccount<'_> {
    /// Its member name in IAM policies.
    pub fn member(&self) -> String {
        format!(
            "serviceAccount:{}.svc.id.goog[{}/{}]",
            self.project, self.namespace, self.name
        )
    }
}

/// The Google service account's resource name (any project: `-`).
fn resource(google_service_account: &str) -> String {
    format!("projects/-/serviceAccounts/{google_service_account}")
}

/// Whether `policy` grants `member` the role.
pub fn grants(policy: &Policy, member: &str) -> bool {
    policy
        .bindings
        .iter()
        .any(|b| b.role == ROLE && b.condition.is_none() && b.members.iter().any(|m| m == member))
}

/// `policy` with `member` granted the role (`grant`) or not; `None` when
/// it already is as asked.
pub fn with_member(mut policy: Policy, member: &str, grant: bool) -> Option<Policy> {
    if grants(&policy, member) == grant {
        return None;
    }
    let unconditional = |b: &Binding| b.role == ROLE && b.condition.is_none();
    if grant {
        match policy.bindings.iter_mut().find(|b| unconditional(b)) {
            Some(binding) => binding.members.push(member.to_string()),
            None => policy.bindings.push(
                Binding::new()
                    .set_role(ROLE)
                    .set_members([member.to_string()]),
            ),
        }
    } else {
        for binding in policy.bindings.iter_mut().filter(|b| unconditional(b)) {
            binding.members.retain(|m| m != member);
        }
        policy.bindings.retain(|b| !b.members.is_empty());
    }
    Some(policy)
}

impl Gcp {
    pub async fn iam(&self) -> Result<&google_cloud_iam_admin_v1::client::Iam, CloudError> {
        self.iam
            .get_or_try_init(|| async {
                let mut builder = google_cloud_iam_admin_v1::client::Iam::builder()
                    .with_credentials(self.credentials().await?);
                if let Some(endpoint) = &self.config.iam_endpoint {
                    builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
                }
                builder.build().await.map_err(|e| CloudError::Transport {
                    call: "connecting to the IAM API".into(),
                    message: e.to_string(),
                })
            })
            .await
    }

    async fn service_account_policy(
        &self,
        google_service_account: &str,
        wait: &Wait,
    ) -> Result<Policy, CloudError> {
        let client = self.iam().await?;
        let backoff = Backoff::until(wait.deadline());
        retry(backoff, &wait.stop, || async {
            client
                .get_iam_policy()
                .set_resource(resource(google_service_account))
                .with_user_agent(&self.user_agent)
                .send()
                .await
                .map_err(|e| {
                    api_error(
                        &format!("reading the IAM policy of {google_service_account}"),
                        e,
                    )
                })
        })
        .await
    }

    /// Whether the Kubernetes service account may act as the Google one.
    pub async fn workload_identity_granted(
        &self,
        google_service_account: &str,
        ksa: KubernetesServiceAccount<'_>,
        wait: &Wait,
    ) -> Result<bool, CloudError> {
        let policy = self
            .service_account_policy(google_service_account, wait)
            .await?;
        Ok(grants(&policy, &ksa.member()))
    }

    /// Grants (`grant`) or revokes the Kubernetes service account's use of
    /// the Google one.
    pub async fn set_workload_identity(
        &self,
        google_service_account: &str,
        ksa: KubernetesServiceAccount<'_>,
        grant: bool,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let client = self.iam().await?;
        let member = ksa.member();
        let call = format!("writing the IAM policy of {google_service_account}");
        loop {
            let policy = self
                .service_account_policy(google_service_account, wait)
                .await?;
            let Some(next) = with_member(policy, &member, grant) else {
                return Ok(());
            };
            let written = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
                client
                    .set_iam_policy()
                    .set_resource(resource(google_service_account))
                    .set_policy(next.clone())
                    .with_user_agent(&self.user_agent)
                    .send()
                    .await
                    .map_err(|e| api_error(&call, e))
            })
            .await;
            match written {
                Ok(_) => return Ok(()),
                // Another writer changed the policy since it was read.
                Err(CloudError::Api { status, .. })
                    if status == "ABORTED" && std::time::Instant::now() < wait.deadline() =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: &str = "serviceAccount:p.svc.id.goog[apps/api]";

    #[test]
    fn the_member_is_named_after_the_clusters_workload_pool() {
        let ksa = KubernetesServiceAccount {
            project: "p",
            namespace: "apps",
            name: "api",
        };
        assert_eq!(ksa.member(), MEMBER);
    }

    #[test]
    fn granting_and_revoking_touch_only_that_member() {
        let other = Binding::new()
            .set_role("roles/iam.serviceAccountTokenCreator")
            .set_members(["user:ops@example.com"]);
        let shared = Binding::new()
            .set_role(ROLE)
            .set_members(["serviceAccount:p.svc.id.goog[apps/web]"]);
        let policy = Policy::new().set_bindings([other.clone(), shared.clone()]);
        let granted = with_member(policy.clone(), MEMBER, true).unwrap();
        assert!(grants(&granted, MEMBER));
        assert_eq!(granted.bindings.len(), 2, "joined the role's binding");
        assert!(
            with_member(granted.clone(), MEMBER, true).is_none(),
            "no write"
        );
        let revoked = with_member(granted, MEMBER, false).unwrap();
        assert_eq!(revoked.bindings, policy.bindings);
        // The last member out drops the binding.
        let alone = with_member(Policy::new(), MEMBER, true).unwrap();
        assert!(
            with_member(alone, MEMBER, false)
                .unwrap()
                .bindings
                .is_empty()
        );
    }
}
