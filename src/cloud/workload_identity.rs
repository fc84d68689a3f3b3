//! A workload's cloud identity, made on the cloud that runs its cluster:
//! the IAM role its pods get through an EKS Pod Identity association
//! (`aws/pod_identity.rs`), or the Google service account they act as
//! through Workload Identity (`gcp/workload_identity.rs`). One trait, so
//! the workload resource says what it wants once for both clouds.

use async_trait::async_trait;

use super::CloudError;
use super::aws::Aws;
use super::aws::pod_identity::ServiceAccountAt;
use super::cluster::Wait;
use super::gcp::Gcp;
use super::gcp::workload_identity::KubernetesServiceAccount;

/// The Kubernetes service account whose pods get the identity, and the
/// claim of the resource instance asking (where the cloud can record it).
#[derive(Clone, Copy, Debug)]
pub struct Holder<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub claim: Option<&'a str>,
}

#[async_trait]
pub trait WorkloadIdentities: Send + Sync {
    /// The identity the service account has, of `expected` where the cloud
    /// records the grant on the identity rather than on the account (GKE):
    /// `None` without one.
    async fn identity(
        &self,
        holder: Holder<'_>,
        expected: Option<&str>,
        wait: &Wait,
    ) -> Result<Option<String>, CloudError>;

    /// Gives the service account `identity`.
    async fn grant(
        &self,
        holder: Holder<'_>,
        identity: &str,
        wait: &Wait,
    ) -> Result<(), CloudError>;

    /// Takes `identity` (what the service account was given) away again,
    /// unless another instance holds it.
    async fn revoke(
        &self,
        holder: Holder<'_>,
        identity: &str,
        wait: &Wait,
    ) -> Result<(), CloudError>;
}

/// EKS Pod Identity on one cluster.
pub struct PodIdentity<'a> {
    pub aws: &'a Aws,
    pub region: &'a str,
    pub cluster: &'a str,
}

impl PodIdentity<'_> {
    fn at<'a>(&'a self, holder: &Holder<'a>) -> ServiceAccountAt<'a> {
        ServiceAccountAt {
            region: self.region,
            cluster: self.cluster,
            namespace: holder.namespace,
            name: holder.name,
        }
    }
}

#[async_trait]
impl WorkloadIdentities for PodIdentity<'_> {
    async fn identity(
        &self,
        holder: Holder<'_>,
        _expected: Option<&str>,
        wait: &Wait,
    ) -> Result<Option<String>, CloudError> {
        let found = self.aws.pod_identity(self.at(&holder), wait).await?;
        Ok(found.map(|a| a.role_arn))
    }

    async fn grant(
        &self,
        holder: Holder<'_>,
        role_arn: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let claim = holder.claim.unwrap_or_default();
        self.aws
            .set_pod_identity(self.at(&holder), role_arn, claim, wait)
            .await
    }

    async fn revoke(
        &self,
        holder: Holder<'_>,
        _role_arn: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        self.aws
            .remove_pod_identity(self.at(&holder), holder.claim, wait)
            .await
    }
}

/// GKE Workload Identity for the clusters of one project (its workload
/// pool). IAM policies record no claim: the grant names the namespace and
/// service account, which one workload holds per pool.
pub struct WorkloadIdentity<'a> {
    pub gcp: &'a Gcp,
    pub project: &'a str,
}

impl WorkloadIdentity<'_> {
    fn ksa<'a>(&'a self, holder: &Holder<'a>) -> KubernetesServiceAccount<'a> {
        KubernetesServiceAccount {
            project: self.project,
            namespace: holder.namespace,
            name: holder.name,
        }
    }
}

#[async_trait]
impl WorkloadIdentities for WorkloadIdentity<'_> {
    async fn identity(
        &self,
        holder: Holder<'_>,
        expected: Option<&str>,
        wait: &Wait,
    ) -> Result<Option<String>, CloudError> {
        let Some(account) = expected else {
            return Ok(None);
        };
        match self
            .gcp
            .workload_identity_granted(account, self.ksa(&holder), wait)
            .await
        {
            Ok(granted) => Ok(granted.then(|| account.to_string())),
            // The Google service account is gone, and its grants with it.
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn grant(
        &self,
        holder: Holder<'_>,
        account: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        self.gcp
            .set_workload_identity(account, self.ksa(&holder), true, wait)
            .await
    }

    async fn revoke(
        &self,
        holder: Holder<'_>,
        account: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        match self
            .gcp
            .set_workload_identity(account, self.ksa(&holder), false, wait)
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            done => done,
        }
    }
}
