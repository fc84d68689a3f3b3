//! EKS Pod Identity associations: the IAM role the pods of one service
//! account get through the pod identity agent. EKS holds one association
//! per namespace and service account; Genesis tags the ones it makes with
//! the claim of the resource instance holding them, changes or removes only
//! its own (or untagged ones, which no instance holds), and reports one
//! another instance holds instead of taking it over.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::updates::send;
use super::{Aws, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;
use crate::cloud::retry::read_optional;

/// The tag holding the claim of the resource instance an association is
/// for.
pub const CLAIM_TAG: &str = "genesis-claim";

/// Where an association is: the cluster and the service account.
#[derive(Clone, Copy, Debug)]
pub struct ServiceAccountAt<'a> {
    pub region: &'a str,
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// An association as EKS holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    pub id: String,
    pub role_arn: String,
    pub claim: Option<String>,
}

/// The associations of a cluster as listed: (namespace, service account,
/// association ID).
type Listing = Vec<(String, String, String)>;

/// How long a cluster's listing serves reads: one plan's refresh, not a
/// long-lived process's later ones.
const LISTING_KEPT: Duration = Duration::from_secs(30);

/// Each cluster's associations (by region and cluster), listed once and
/// shared by the refreshes of its workloads, which would otherwise list
/// once each (a workload at a time, in parallel). Every change Genesis
/// makes to a cluster's associations drops its listing, and changes read
/// afresh, so a read after Genesis's own write sees the write.
#[derive(Default)]
pub struct Listings(std::sync::Mutex<HashMap<(String, String), Listed>>);

/// When a cluster's listing began, and the listing once made.
type Listed = (Instant, Arc<OnceCell<Listing>>);

impl Listings {
    /// The listing of a cluster, made by whoever asks first.
    fn cell(&self, at: ServiceAccountAt<'_>) -> Arc<OnceCell<Listing>> {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = (at.region.to_string(), at.cluster.to_string());
        match all.get(&key) {
            Some((listed, cell)) if listed.elapsed() < LISTING_KEPT => cell.clone(),
            _ => {
                let cell = Arc::new(OnceCell::new());
                all.insert(key, (Instant::now(), cell.clone()));
                cell
            }
        }
    }

    fn forget(&self, at: ServiceAccountAt<'_>) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.remove(&(at.region.to_string(), at.cluster.to_string()));
    }
}

impl Aws {
    /// The association of a service account, if any, from the cluster's
    /// listing shared by the reads of this process.
    pub async fn pod_identity(
        &self,
        at: ServiceAccountAt<'_>,
        wait: &Wait,
    ) -> Result<Option<Association>, CloudError> {
        let listing = self
            .pod_identities
            .cell(at)
            .get_or_try_init(|| self.list_pod_identities(at, wait))
            .await?
            .clone();
        self.describe_pod_identity(at, &listing, wait).await
    }

    /// The association of a service account as EKS holds it now, for a
    /// change: the shared listing is dropped first.
    async fn pod_identity_now(
        &self,
        at: ServiceAccountAt<'_>,
        wait: &Wait,
    ) -> Result<Option<Association>, CloudError> {
        self.pod_identities.forget(at);
        let listing = self.list_pod_identities(at, wait).await?;
        self.describe_pod_identity(at, &listing, wait).await
    }

    /// Every association of the cluster, page by page; none when the
    /// cluster is gone.
    async fn list_pod_identities(
        &self,
        at: ServiceAccountAt<'_>,
        wait: &Wait,
    ) -> Result<Listing, CloudError> {
        let eks = self.eks(at.region).await;
        let mut listing = Listing::new();
        let mut next: Option<String> = None;
        loop {
            let page = read_optional(wait, || async {
                eks.list_pod_identity_associations()
                    .cluster_name(at.cluster)
                    .max_results(100)
                    .set_next_token(next.clone())
                    .send()
                    .await
                    .map_err(|e| api_error("listing the EKS Pod Identity associations", e))
            })
            .await?;
            let Some(page) = page else {
                return Ok(listing);
            };
            listing.extend(page.associations().iter().filter_map(|a| {
                Some((
                    a.namespace()?.to_string(),
                    a.service_account()?.to_string(),
                    a.association_id()?.to_string(),
                ))
            }));
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                return Ok(listing);
            }
        }
    }

    async fn describe_pod_identity(
        &self,
        at: ServiceAccountAt<'_>,
        listing: &Listing,
        wait: &Wait,
    ) -> Result<Option<Association>, CloudError> {
        let Some(id) = listing
            .iter()
            .find(|(namespace, account, _)| namespace == at.namespace && account == at.name)
            .map(|(_, _, id)| id.clone())
        else {
            return Ok(None);
        };
        let eks = self.eks(at.region).await;
        let described = read_optional(wait, || async {
            eks.describe_pod_identity_association()
                .cluster_name(at.cluster)
                .association_id(&id)
                .send()
                .await
                .map_err(|e| api_error("reading the EKS Pod Identity association", e))
        })
        .await?;
        Ok(described.and_then(|d| d.association).map(|a| Association {
            id: a.association_id().unwrap_or_default().to_string(),
            role_arn: a.role_arn().unwrap_or_default().to_string(),
            claim: a.tags().and_then(|t| t.get(CLAIM_TAG)).cloned(),
        }))
    }

    /// Makes the service account's pods get `role_arn`: creates the
    /// association, or changes the role of one this instance holds (or an
    /// untagged one, made outside Genesis, which no instance holds).
    pub async fn set_pod_identity(
        &self,
        at: ServiceAccountAt<'_>,
        role_arn: &str,
        claim: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let eks = self.eks(at.region).await;
        let result = match self.pod_identity_now(at, wait).await? {
            Some(found) if found.claim.as_deref().is_some_and(|c| c != claim) => {
                Err(held_elsewhere(at))
            }
            Some(found) => {
                if found.role_arn == role_arn {
                    return Ok(());
                }
                send(wait, || async {
                    eks.update_pod_identity_association()
                        .cluster_name(at.cluster)
                        .association_id(&found.id)
                        .role_arn(role_arn)
                        .send()
                        .await
                        .map_err(|e| {
                            api_error("changing the EKS Pod Identity association's role", e)
                        })
                })
                .await
                .map(|_| ())
            }
            None => {
                let created = send(wait, || async {
                    eks.create_pod_identity_association()
                        .cluster_name(at.cluster)
                        .namespace(at.namespace)
                        .service_account(at.name)
                        .role_arn(role_arn)
                        .tags(CLAIM_TAG, claim)
                        .send()
                        .await
                        .map_err(|e| api_error("creating the EKS Pod Identity association", e))
                })
                .await;
                match created {
                    // A retry after a lost answer finds its own.
                    Err(e) if e.is_already_exists() => {
                        match self.pod_identity_now(at, wait).await? {
                            Some(a)
                                if a.claim.as_deref() == Some(claim) && a.role_arn == role_arn =>
                            {
                                Ok(())
                            }
                            _ => Err(held_elsewhere(at)),
                        }
                    }
                    other => other.map(|_| ()),
                }
            }
        };
        self.pod_identities.forget(at);
        result
    }

    /// Removes the service account's association when this instance holds
    /// it (or no instance does); one another instance holds stays.
    pub async fn remove_pod_identity(
        &self,
        at: ServiceAccountAt<'_>,
        claim: Option<&str>,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let Some(found) = self.pod_identity_now(at, wait).await? else {
            return Ok(());
        };
        if found.claim.is_some() && found.claim.as_deref() != claim {
            tracing::info!(
                namespace = at.namespace,
                service_account = at.name,
                "left the Pod Identity association another workload holds"
            );
            return Ok(());
        }
        let eks = self.eks(at.region).await;
        let deleted = send(wait, || async {
            eks.delete_pod_identity_association()
                .cluster_name(at.cluster)
                .association_id(&found.id)
                .send()
                .await
                .map_err(|e| api_error("deleting the EKS Pod Identity association", e))
        })
        .await;
        self.pod_identities.forget(at);
        match deleted {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }
}

fn held_elsewhere(at: ServiceAccountAt<'_>) -> CloudError {
    CloudError::Invalid(format!(
        "the service account {}/{} of EKS cluster {} already has a Pod Identity association that another resource holds: give this workload another service account (service_account.name), or remove that association",
        at.namespace, at.name, at.cluster
    ))
}
