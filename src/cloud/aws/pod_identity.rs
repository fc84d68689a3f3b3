//! EKS Pod Identity associations: the IAM role the pods of one service
//! account get through the pod identity agent. EKS holds one association
//! per namespace and service account; Genesis tags the ones it makes with
//! the claim of the resource instance holding them, changes or removes only
//! its own (or untagged ones, which no instance holds), and reports one
//! another instance holds instead of taking it over.

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

impl Aws {
    /// The association of a service account, if any.
    pub async fn pod_identity(
        &self,
        at: ServiceAccountAt<'_>,
        wait: &Wait,
    ) -> Result<Option<Association>, CloudError> {
        let eks = self.eks(at.region).await;
        let listed = read_optional(wait, || async {
            eks.list_pod_identity_associations()
                .cluster_name(at.cluster)
                .namespace(at.namespace)
                .service_account(at.name)
                .send()
                .await
                .map_err(|e| api_error("listing the EKS Pod Identity associations", e))
        })
        .await?;
        let Some(id) = listed
            .iter()
            .flat_map(|l| l.associations())
            .find_map(|a| a.association_id().map(str::to_string))
        else {
            return Ok(None);
        };
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
        match self.pod_identity(at, wait).await? {
            Some(found) if found.claim.as_deref().is_some_and(|c| c != claim) => {
                Err(held_elsewhere(at))
            }
            Some(found) => {
                if found.role_arn != role_arn {
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
                    .await?;
                }
                Ok(())
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
                    Err(e) if e.is_already_exists() => match self.pod_identity(at, wait).await? {
                        Some(a) if a.claim.as_deref() == Some(claim) && a.role_arn == role_arn => {
                            Ok(())
                        }
                        _ => Err(held_elsewhere(at)),
                    },
                    other => other.map(|_| ()),
                }
            }
        }
    }

    /// Removes the service account's association when this instance holds
    /// it (or no instance does); one another instance holds stays.
    pub async fn remove_pod_identity(
        &self,
        at: ServiceAccountAt<'_>,
        claim: Option<&str>,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let Some(found) = self.pod_identity(at, wait).await? else {
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
