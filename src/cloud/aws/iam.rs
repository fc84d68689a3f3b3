//! The IAM roles and the KMS key an EKS cluster needs when the
//! configuration names none. Genesis tags what it creates with the
//! cluster's name (`genesis-cluster`), adopts only what carries that tag,
//! and deletes it with the cluster; anything else of the same name is
//! reported, never taken over.

use std::time::Duration;

use super::{Aws, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::Wait;
use crate::cloud::retry::{Backoff, retry};

/// The tag naming the cluster a role or key was made for.
pub const CLUSTER_TAG: &str = "genesis-cluster";

/// The roles Genesis makes for an EKS cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Assumed by EKS to run the control plane.
    Cluster,
    /// Assumed by the nodes' EC2 instances.
    Node,
    /// The Cluster Autoscaler's pods', through EKS Pod Identity
    /// (`cluster_autoscaler.rs`).
    Autoscaler,
    /// The AWS Load Balancer Controller's pods', through EKS Pod Identity
    /// (`load_balancer_controller.rs`).
    LoadBalancerController,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Node,
        Role::Cluster,
        Role::Autoscaler,
        Role::LoadBalancerController,
    ];

    pub fn name(self, cluster: &str) -> String {
        match self {
            Role::Cluster => format!("{cluster}-cluster"),
            Role::Node => format!("{cluster}-node"),
            Role::Autoscaler => format!("{cluster}-autoscaler"),
            Role::LoadBalancerController => format!("{cluster}-lb-controller"),
        }
    }

    fn service(self) -> &'static str {
        match self {
            Role::Cluster => "eks.amazonaws.com",
            Role::Node => "ec2.amazonaws.com",
            Role::Autoscaler | Role::LoadBalancerController => "pods.eks.amazonaws.com",
        }
    }

    /// The setting that gives a role of one's own instead, or drops it.
    fn instead(self) -> &'static str {
        match self {
            Role::Cluster => "give its ARN as eks.role_arn if it is meant for this cluster",
            Role::Node => "give its ARN as eks.node_role_arn if it is meant for this cluster",
            Role::Autoscaler => "leave \"cluster-autoscaler\" out of eks.addons",
            Role::LoadBalancerController => {
                "leave \"aws-load-balancer-controller\" out of eks.addons"
            }
        }
    }

    /// The role's own permissions, in an inline policy: what no AWS
    /// managed policy grants as narrowly.
    fn inline_policy(self, cluster: &str) -> Option<String> {
        match self {
            Role::Autoscaler => Some(super::cluster_autoscaler::policy(cluster)),
            Role::LoadBalancerController => Some(super::load_balancer_controller::policy(cluster)),
            Role::Cluster | Role::Node => None,
        }
    }

    /// The AWS managed policies the role needs with managed node groups.
    fn base_policies(self) -> &'static [&'static str] {
        match self {
            Role::Cluster => &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
            Role::Node => &[
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            ],
            Role::Autoscaler | Role::LoadBalancerController => &[],
        }
    }

    /// What Auto Mode adds: EKS launches the instances, volumes and load
    /// balancers as the cluster role; its nodes need the minimal node
    /// policy and image pulls.
    fn auto_mode_policies(self) -> &'static [&'static str] {
        match self {
            Role::Cluster => &[
                "arn:aws:iam::aws:policy/AmazonEKSComputePolicy",
                "arn:aws:iam::aws:policy/AmazonEKSBlockStoragePolicy",
                "arn:aws:iam::aws:policy/AmazonEKSLoadBalancingPolicy",
                "arn:aws:iam::aws:policy/AmazonEKSNetworkingPolicy",
            ],
            Role::Node => &[
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodeMinimalPolicy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            ],
            Role::Autoscaler | Role::LoadBalancerController => &[],
        }
    }

    /// The AWS managed policies the role needs, and those Genesis attached
    /// for the other mode and takes off (never any other).
    pub fn policies(self, auto_mode: bool) -> (Vec<&'static str>, &'static [&'static str]) {
        let mut wanted = self.base_policies().to_vec();
        if auto_mode {
            wanted.extend(self.auto_mode_policies());
            (wanted, &[])
        } else {
            (wanted, self.auto_mode_policies())
        }
    }

    fn trust_policy(self) -> String {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": self.service()},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }],
        })
        .to_string()
    }
}

/// The alias of the key Genesis creates for a cluster's secrets.
pub fn key_alias(cluster: &str) -> String {
    format!("alias/genesis/{cluster}")
}

fn tag(key: &str, value: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("key and value are set")
}

impl Aws {
    /// The role's ARN: created with the policies the mode needs, or the
    /// one an earlier attempt (or an earlier mode) created for this
    /// cluster, its policies brought to the mode's.
    pub async fn ensure_role(
        &self,
        cluster: &str,
        role: Role,
        auto_mode: bool,
        wait: &Wait,
    ) -> Result<String, CloudError> {
        let iam = self.iam().await;
        let name = role.name(cluster);
        let backoff = Backoff::until(wait.deadline());
        let created = retry(backoff, &wait.stop, || async {
            iam.create_role()
                .role_name(&name)
                .assume_role_policy_document(role.trust_policy())
                .description(format!("EKS {role:?} role of {cluster}, made by Genesis"))
                .tags(tag(CLUSTER_TAG, cluster))
                .send()
                .await
                .map_err(|e| api_error("creating the IAM role", e))
        })
        .await;
        let fresh = created.is_ok();
        let arn = match created {
            Ok(out) => out.role().map(|r| r.arn().to_string()),
            Err(e) if e.is_already_exists() || status_is(&e, "EntityAlreadyExists") => {
                match self.own_role(&name, cluster, wait).await? {
                    Some(arn) => Some(arn),
                    None => {
                        return Err(CloudError::Invalid(format!(
                            "the IAM role {name} already exists and was not made by Genesis for cluster {cluster}: {}, or delete it",
                            role.instead()
                        )));
                    }
                }
            }
            Err(e) => return Err(e),
        };
        let arn =
            arn.ok_or_else(|| CloudError::Invalid(format!("IAM returned no ARN for {name}")))?;
        // A role made now has no policy of the other mode to take off.
        self.fit_policies(&name, role, auto_mode, !fresh, wait)
            .await?;
        if let Some(document) = role.inline_policy(cluster) {
            retry(backoff, &wait.stop, || async {
                iam.put_role_policy()
                    .role_name(&name)
                    .policy_name(&name)
                    .policy_document(&document)
                    .send()
                    .await
                    .map_err(|e| api_error("writing the IAM role's policy", e))
            })
            .await?;
        }
        Ok(arn)
    }

    /// Brings the policies of the role Genesis made for the cluster (if
    /// it made one) to what the mode needs.
    pub async fn fit_own_role(
        &self,
        cluster: &str,
        role: Role,
        auto_mode: bool,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let name = role.name(cluster);
        if self.own_role(&name, cluster, wait).await?.is_some() {
            self.fit_policies(&name, role, auto_mode, true, wait)
                .await?;
        }
        Ok(())
    }

    /// Attaches the managed policies the mode needs and detaches those
    /// only the other mode needs (attaching and detaching are idempotent).
    async fn fit_policies(
        &self,
        name: &str,
        role: Role,
        auto_mode: bool,
        detach: bool,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let iam = self.iam().await;
        let backoff = Backoff::until(wait.deadline());
        let (wanted, unwanted) = role.policies(auto_mode);
        for policy in wanted {
            retry(backoff, &wait.stop, || async {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(policy)
                    .send()
                    .await
                    .map_err(|e| api_error("attaching a policy to the IAM role", e))
            })
            .await?;
        }
        for policy in unwanted.iter().filter(|_| detach) {
            let detached = retry(backoff, &wait.stop, || async {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(*policy)
                    .send()
                    .await
                    .map_err(|e| api_error("detaching a policy from the IAM role", e))
            })
            .await;
            match detached {
                Err(e) if !(e.is_not_found() || status_is(&e, "NoSuchEntity")) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The role's ARN when it carries this cluster's tag.
    async fn own_role(
        &self,
        name: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<Option<String>, CloudError> {
        let iam = self.iam().await;
        let backoff = Backoff::until(wait.deadline());
        let found = retry(backoff, &wait.stop, || async {
            iam.get_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| api_error("reading the IAM role", e))
        })
        .await;
        let role = match found {
            Ok(out) => out.role,
            Err(e) if e.is_not_found() || status_is(&e, "NoSuchEntity") => return Ok(None),
            Err(e) => return Err(e),
        };
        let tags = retry(backoff, &wait.stop, || async {
            iam.list_role_tags()
                .role_name(name)
                .send()
                .await
                .map_err(|e| api_error("reading the IAM role's tags", e))
        })
        .await?;
        let ours = tags
            .tags()
            .iter()
            .any(|t| t.key() == CLUSTER_TAG && t.value() == cluster);
        Ok(role.filter(|_| ours).map(|r| r.arn().to_string()))
    }

    /// Deletes the roles Genesis made for the cluster (nothing else).
    pub async fn delete_roles(&self, cluster: &str, wait: &Wait) -> Result<(), CloudError> {
        for role in Role::ALL {
            self.delete_own_role(cluster, role, wait).await?;
        }
        Ok(())
    }

    /// Deletes the role if Genesis made it for the cluster, with its
    /// policies.
    pub async fn delete_own_role(
        &self,
        cluster: &str,
        role: Role,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let iam = self.iam().await;
        let backoff = Backoff::until(wait.deadline());
        let name = role.name(cluster);
        if self.own_role(&name, cluster, wait).await?.is_none() {
            return Ok(());
        }
        if role.inline_policy(cluster).is_some() {
            let deleted = retry(backoff, &wait.stop, || async {
                iam.delete_role_policy()
                    .role_name(&name)
                    .policy_name(&name)
                    .send()
                    .await
                    .map_err(|e| api_error("deleting the IAM role's policy", e))
            })
            .await;
            match deleted {
                Err(e) if !(e.is_not_found() || status_is(&e, "NoSuchEntity")) => {
                    return Err(e);
                }
                _ => {}
            }
        }
        let attached = retry(backoff, &wait.stop, || async {
            iam.list_attached_role_policies()
                .role_name(&name)
                .send()
                .await
                .map_err(|e| api_error("listing the IAM role's policies", e))
        })
        .await?;
        for policy in attached.attached_policies() {
            let Some(arn) = policy.policy_arn() else {
                continue;
            };
            retry(backoff, &wait.stop, || async {
                iam.detach_role_policy()
                    .role_name(&name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| api_error("detaching a policy from the IAM role", e))
            })
            .await?;
        }
        let deleted = retry(backoff, &wait.stop, || async {
            iam.delete_role()
                .role_name(&name)
                .send()
                .await
                .map_err(|e| api_error("deleting the IAM role", e))
        })
        .await;
        match deleted {
            Err(e) if !(e.is_not_found() || status_is(&e, "NoSuchEntity")) => return Err(e),
            _ => tracing::info!(role = %name, "deleted the IAM role Genesis made"),
        }
        Ok(())
    }

    /// The ARN of the key encrypting the cluster's secrets: made (with its
    /// alias) or found from an earlier attempt.
    pub async fn ensure_key(
        &self,
        region: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<String, CloudError> {
        if let Some((_, arn)) = self.own_key(region, cluster, wait).await? {
            return Ok(arn);
        }
        let kms = self.kms(region).await;
        let backoff = Backoff::until(wait.deadline());
        let created = retry(backoff, &wait.stop, || async {
            kms.create_key()
                .description(format!(
                    "Encrypts the Kubernetes secrets of EKS cluster {cluster}; made by Genesis"
                ))
                .tags(
                    aws_sdk_kms::types::Tag::builder()
                        .tag_key(CLUSTER_TAG)
                        .tag_value(cluster)
                        .build()
                        .expect("key and value are set"),
                )
                .send()
                .await
                .map_err(|e| api_error("creating the KMS key", e))
        })
        .await?;
        let meta = created
            .key_metadata()
            .ok_or_else(|| CloudError::Invalid("KMS returned no key".into()))?;
        let (id, arn) = (
            meta.key_id().to_string(),
            meta.arn().unwrap_or_default().to_string(),
        );
        retry(backoff, &wait.stop, || async {
            kms.create_alias()
                .alias_name(key_alias(cluster))
                .target_key_id(&id)
                .send()
                .await
                .map_err(|e| api_error("naming the KMS key", e))
        })
        .await?;
        Ok(arn)
    }

    /// The key (ID, ARN) behind the cluster's Genesis alias, when it
    /// carries this cluster's tag and is not scheduled for deletion.
    async fn own_key(
        &self,
        region: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<Option<(String, String)>, CloudError> {
        let kms = self.kms(region).await;
        let backoff = Backoff::until(wait.deadline());
        let found = retry(backoff, &wait.stop, || async {
            kms.describe_key()
                .key_id(key_alias(cluster))
                .send()
                .await
                .map_err(|e| api_error("reading the KMS key", e))
        })
        .await;
        let meta = match found {
            Ok(out) => out.key_metadata,
            Err(e) if e.is_not_found() || status_is(&e, "NotFoundException") => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(meta) = meta else { return Ok(None) };
        if meta.key_state() != Some(&aws_sdk_kms::types::KeyState::Enabled) {
            return Ok(None);
        }
        let tags = retry(backoff, &wait.stop, || async {
            kms.list_resource_tags()
                .key_id(meta.key_id())
                .send()
                .await
                .map_err(|e| api_error("reading the KMS key's tags", e))
        })
        .await?;
        let ours = tags
            .tags()
            .iter()
            .any(|t| t.tag_key() == CLUSTER_TAG && t.tag_value() == cluster);
        Ok(ours.then(|| {
            (
                meta.key_id().to_string(),
                meta.arn().unwrap_or_default().to_string(),
            )
        }))
    }

    /// Schedules the key Genesis made for the cluster for deletion, after
    /// KMS's shortest waiting period (7 days), and frees its alias.
    pub async fn retire_key(
        &self,
        region: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let Some((id, arn)) = self.own_key(region, cluster, wait).await? else {
            return Ok(());
        };
        let kms = self.kms(region).await;
        let backoff = Backoff::until(wait.deadline());
        retry(backoff, &wait.stop, || async {
            kms.delete_alias()
                .alias_name(key_alias(cluster))
                .send()
                .await
                .map_err(|e| api_error("removing the KMS key's alias", e))
        })
        .await?;
        retry(backoff, &wait.stop, || async {
            kms.schedule_key_deletion()
                .key_id(&id)
                .pending_window_in_days(7)
                .send()
                .await
                .map_err(|e| api_error("scheduling the KMS key's deletion", e))
        })
        .await?;
        tracing::info!(key = %arn, after = ?Duration::from_secs(7 * 86_400), "scheduled the deletion of the KMS key Genesis made");
        Ok(())
    }

    /// The caller's IAM principal (a role, not its assumed-role session),
    /// for the creator's access entry.
    pub async fn caller(&self, region: &str, wait: &Wait) -> Result<String, CloudError> {
        let sts = self.sts(region).await;
        let me = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
            sts.get_caller_identity()
                .send()
                .await
                .map_err(|e| api_error("asking STS who the caller is", e))
        })
        .await?;
        Ok(principal_of(me.arn().unwrap_or_default()))
    }
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` is the session of
/// `arn:aws:iam::ACCOUNT:role/ROLE`, the principal access entries name.
pub fn principal_of(arn: &str) -> String {
    if let Some(rest) = arn.strip_prefix("arn:aws:sts::")
        && let Some((account, resource)) = rest.split_once(':')
        && let Some(role) = resource.strip_prefix("assumed-role/")
    {
        let role = role.split('/').next().unwrap_or(role);
        return format!("arn:aws:iam::{account}:role/{role}");
    }
    arn.to_string()
}

fn status_is(e: &CloudError, status: &str) -> bool {
    matches!(e, CloudError::Api { status: s, .. } if s == status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_sessions_map_to_their_role() {
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/Admin/alice"),
            "arn:aws:iam::123456789012:role/Admin"
        );
        assert_eq!(
            principal_of("arn:aws:iam::123456789012:user/bob"),
            "arn:aws:iam::123456789012:user/bob"
        );
    }
}
