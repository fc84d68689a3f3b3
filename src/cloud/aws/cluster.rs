//! EKS clusters through aws-sdk-eks: the create request built from a
//! `ClusterSpec`, the statuses waited on (polls back off to one
//! DescribeCluster per 10 s, since creates take about ten minutes), the
//! in-place changes as EKS updates, one kind of change per call, and the
//! cluster read back into an `ObservedCluster`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{
    AccessScope, AccessScopeType, AuthenticationMode, ClusterStatus, CreateAccessConfigRequest,
    ElasticLoadBalancing, EncryptionConfig, IpFamily, KubernetesNetworkConfigRequest, LogSetup,
    LogType, Logging, Provider, SupportType, UpdateAccessConfigRequest, UpgradePolicyRequest,
    VpcConfigRequest,
};

use super::addons::{AFTER_NODES, in_eks_order};
use super::auto_mode;
use super::iam::Role;
use super::own_addons;
use super::updates::{retry_also, send};
use super::{Aws, api_error, with_issues};
use crate::cloud::CloudError;
use crate::cloud::cluster::{
    AuthorizedNetwork, ClusterAddress, ClusterCloud, ClusterPlace, ClusterSpec, Clusters,
    EksCluster, ObservedCluster, Wait,
};
use crate::cloud::origin;
use crate::cloud::retry::{Backoff, Poll, poll_until_ready, read_optional, retry};
use crate::provider::Secret;

/// The tag holding the node role node groups use unless they name one.
pub const NODE_ROLE_TAG: &str = "genesis-node-role";
/// The tag listing add-ons still to install once a node group is ACTIVE.
pub const AFTER_NODES_TAG: &str = "genesis-after-nodes";
/// The tag keeping the display names of the public access CIDRs, which
/// EKS itself does not hold: `CIDR=NAME` pairs, spaces in names as `+`.
pub const NETWORK_NAMES_TAG: &str = "genesis-network-names";
/// What EKS grants the cluster's creator through its access entry.
const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/// "Open to the world", which EKS reports when no CIDR was given.
const ANYWHERE: &str = "0.0.0.0/0";

fn settings(spec: &ClusterSpec) -> Result<&EksCluster, CloudError> {
    spec.eks().ok_or_else(|| {
        CloudError::Invalid(format!(
            "cluster {} is not an EKS cluster (cloud = \"gcp\")",
            spec.name
        ))
    })
}

fn address_of(at: &ClusterAddress) -> Result<(&str, &str), CloudError> {
    match at {
        ClusterAddress::Eks { region, name } => Ok((region, name)),
        ClusterAddress::Gke { name, .. } => Err(CloudError::Invalid(format!(
            "cluster {name} is a GKE cluster, not an EKS one"
        ))),
    }
}

/// Tags Genesis keeps for itself, never shown as labels.
fn is_internal_tag(key: &str) -> bool {
    [
        origin::LABEL,
        NODE_ROLE_TAG,
        AFTER_NODES_TAG,
        NETWORK_NAMES_TAG,
    ]
    .contains(&key)
        || own_addons::ALL.iter().any(|a| a.tag == key)
}

/// The display names of the authorized networks as a tag value, if any.
pub fn network_names(networks: &[AuthorizedNetwork]) -> Option<String> {
    let pairs: Vec<String> = networks
        .iter()
        .filter(|n| !n.display_name.is_empty())
        .map(|n| format!("{}={}", n.cidr_block, n.display_name.replace(' ', "+")))
        .collect();
    (!pairs.is_empty()).then(|| pairs.join(" "))
}

/// The display name a tag value gives a CIDR.
fn network_name(tag: Option<&String>, cidr: &str) -> String {
    tag.into_iter()
        .flat_map(|v| v.split(' '))
        .filter_map(|pair| pair.split_once('='))
        .find(|(c, _)| *c == cidr)
        .map(|(_, name)| name.replace('+', " "))
        .unwrap_or_default()
}

fn vpc_config(spec: &ClusterSpec, e: &EksCluster) -> VpcConfigRequest {
    VpcConfigRequest::builder()
        .set_subnet_ids(Some(e.subnet_ids.clone()))
        .set_security_group_ids(Some(e.security_group_ids.clone()))
        .endpoint_public_access(!spec.private_endpoint)
        .endpoint_private_access(e.endpoint_private_access)
        .set_public_access_cidrs(public_cidrs(spec))
        .build()
}

fn endpoint_access(spec: &ClusterSpec, e: &EksCluster) -> VpcConfigRequest {
    VpcConfigRequest::builder()
        .endpoint_public_access(!spec.private_endpoint)
        .endpoint_private_access(e.endpoint_private_access)
        .set_public_access_cidrs(if spec.private_endpoint {
            None
        } else {
            Some(public_cidrs(spec).unwrap_or_else(|| vec![ANYWHERE.to_string()]))
        })
        .build()
}

fn public_cidrs(spec: &ClusterSpec) -> Option<Vec<String>> {
    (!spec.authorized_networks.is_empty()).then(|| {
        spec.authorized_networks
            .iter()
            .map(|n| n.cidr_block.clone())
            .collect()
    })
}

/// The log types on, and (for updates) the rest off.
fn logging(types: &[String]) -> Logging {
    let on: Vec<LogType> = types.iter().map(|t| LogType::from(t.as_str())).collect();
    let off: Vec<LogType> = LogType::values()
        .iter()
        .filter(|t| !types.iter().any(|x| x == *t))
        .map(|t| LogType::from(*t))
        .collect();
    let mut setups = Vec::new();
    if !on.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(on))
                .enabled(true)
                .build(),
        );
    }
    if !off.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(off))
                .enabled(false)
                .build(),
        );
    }
    Logging::builder().set_cluster_logging(Some(setups)).build()
}

fn upgrade_policy(e: &EksCluster) -> UpgradePolicyRequest {
    UpgradePolicyRequest::builder()
        .support_type(SupportType::from(e.support_type.as_str()))
        .build()
}

fn encryption(key: &str) -> EncryptionConfig {
    EncryptionConfig::builder()
        .resources("secrets")
        .provider(Provider::builder().key_arn(key).build())
        .build()
}

/// The tags of a create: the labels, the origin fingerprint, and what
/// node groups and later applies need to know.
fn tags(spec: &ClusterSpec, node_role: &str, after_nodes: &[&str]) -> HashMap<String, String> {
    let mut tags: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    tags.insert(origin::LABEL.into(), origin::fingerprint(spec));
    tags.insert(NODE_ROLE_TAG.into(), node_role.to_string());
    if let Some(names) = network_names(&spec.authorized_networks) {
        tags.insert(NETWORK_NAMES_TAG.into(), names);
    }
    if !after_nodes.is_empty() {
        tags.insert(AFTER_NODES_TAG.into(), after_nodes.join(" "));
    }
    tags
}

/// What the API reports, in the provider's terms. `addons` are those
/// installed plus those waiting for nodes.
pub fn observe(
    region: &str,
    c: &aws_sdk_eks::types::Cluster,
    installed: &[String],
) -> ObservedCluster {
    let vpc = c.resources_vpc_config();
    let tags: BTreeMap<String, String> = c
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let public = vpc.is_some_and(|v| v.endpoint_public_access());
    let cidrs: Vec<String> = vpc
        .map(|v| v.public_access_cidrs().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c != ANYWHERE)
        .collect();
    let mut log_types: Vec<String> = c
        .logging()
        .map(|l| {
            l.cluster_logging()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(|t| t.as_str().to_string()))
                .collect()
        })
        .unwrap_or_default();
    log_types.sort();
    let mut addons: Vec<String> = installed.to_vec();
    for pending in tags
        .get(AFTER_NODES_TAG)
        .into_iter()
        .flat_map(|v| v.split(' '))
    {
        if !pending.is_empty() && !addons.iter().any(|a| a == pending) {
            addons.push(pending.to_string());
        }
    }
    for addon in own_addons::ALL {
        if tags.contains_key(addon.tag) {
            addons.push(addon.name.to_string());
        }
    }
    addons.sort();
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let key = c
        .encryption_config()
        .iter()
        .find_map(|e| e.provider().and_then(|p| p.key_arn()))
        .map(str::to_string);
    let network = c.kubernetes_network_config();
    let eks = EksCluster {
        region: region.to_string(),
        role_arn: c.role_arn().map(str::to_string),
        node_role_arn: tags.get(NODE_ROLE_TAG).cloned(),
        subnet_ids: sorted(vpc.map(|v| v.subnet_ids()).unwrap_or_default()),
        security_group_ids: sorted(vpc.map(|v| v.security_group_ids()).unwrap_or_default()),
        endpoint_private_access: vpc.is_some_and(|v| v.endpoint_private_access()),
        authentication_mode: c
            .access_config()
            .and_then(|a| a.authentication_mode())
            .map_or("CONFIG_MAP", |m| m.as_str())
            .to_string(),
        secrets_encryption: key.is_some(),
        kms_key_arn: key,
        ip_family: network
            .and_then(|n| n.ip_family())
            .map_or("ipv4", |f| f.as_str())
            .to_string(),
        service_ipv4_cidr: network
            .and_then(|n| n.service_ipv4_cidr())
            .map(str::to_string),
        addons,
        deletion_protection: c.deletion_protection() == Some(true),
        // EKS's own default, for clusters made before the setting existed.
        support_type: c
            .upgrade_policy()
            .and_then(|u| u.support_type())
            .map_or("EXTENDED", |t| t.as_str())
            .to_string(),
    };
    let spec = ClusterSpec {
        name: c.name().unwrap_or_default().to_string(),
        kubernetes_version: c.version().map(str::to_string),
        private_endpoint: !public,
        authorized_networks: cidrs
            .into_iter()
            .map(|cidr_block| AuthorizedNetwork {
                display_name: network_name(tags.get(NETWORK_NAMES_TAG), &cidr_block),
                cidr_block,
            })
            .collect(),
        logging_components: log_types,
        labels: tags
            .into_iter()
            .filter(|(k, _)| !is_internal_tag(k))
            .collect(),
        autopilot: auto_mode::is_on(c),
        cloud: ClusterCloud::Eks(eks),
    };
    ObservedCluster {
        id: c.arn().unwrap_or_default().to_string(),
        spec,
        // EKS gives a URL, GKE a host: the state holds the host on both,
        // so `https://${endpoint}` is the server on either cloud.
        endpoint: c
            .endpoint()
            .unwrap_or_default()
            .trim_start_matches("https://")
            .to_string(),
        ca_certificate: c
            .certificate_authority()
            .and_then(|a| a.data())
            .unwrap_or_default()
            .to_string(),
        status: c.status().map_or("", |s| s.as_str()).to_string(),
        master_version: c.version().unwrap_or_default().to_string(),
        self_link: None,
        vpc_id: vpc.and_then(|v| v.vpc_id()).map(str::to_string),
    }
}

/// The cluster's health issues, for a failed create.
fn health(c: &aws_sdk_eks::types::Cluster) -> String {
    let issues = c.health().map(|h| h.issues()).unwrap_or_default();
    with_issues(
        "the cluster is FAILED".into(),
        issues
            .iter()
            .map(|i| (i.code().map(|c| c.as_str()), i.message())),
    )
}

/// IAM is eventually consistent: a role made a moment ago may not be
/// assumable by EKS yet.
fn role_not_ready(e: &CloudError) -> bool {
    matches!(e, CloudError::Api { status, message, .. }
        if status == "InvalidParameterException" && message.contains("could not be assumed"))
}

/// EKS's answer to a configuration change it already has.
fn already_applied(e: &CloudError) -> bool {
    matches!(e, CloudError::Api { status, message, .. }
        if status == "InvalidParameterException" && message.contains("already at the desired"))
}

impl Aws {
    pub(super) async fn describe_cluster(
        &self,
        region: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<aws_sdk_eks::types::Cluster>, CloudError> {
        let eks = self.eks(region).await;
        let out = read_optional(wait, || async {
            eks.describe_cluster()
                .name(name)
                .send()
                .await
                .map_err(|e| api_error("reading the EKS cluster", e))
        })
        .await?;
        Ok(out.and_then(|o| o.cluster))
    }

    async fn observe_cluster(
        &self,
        region: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedCluster>, CloudError> {
        let Some(cluster) = self.describe_cluster(region, name, wait).await? else {
            return Ok(None);
        };
        let addons = match cluster.status() {
            Some(ClusterStatus::Active | ClusterStatus::Updating) => {
                self.addons(region, name, wait).await?
            }
            _ => Vec::new(),
        };
        Ok(Some(observe(region, &cluster, &addons)))
    }

    /// Waits until the cluster is ACTIVE. Polls back off from 1 s to one
    /// per 10 s.
    async fn wait_until_active(
        &self,
        call: &str,
        region: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        poll_until_ready(
            call,
            wait,
            Duration::from_secs(1),
            Duration::from_secs(10),
            || async {
                Ok(match self.describe_cluster(region, name, wait).await? {
                    Some(c) => match c.status() {
                        Some(ClusterStatus::Active) => Poll::Ready,
                        Some(ClusterStatus::Failed) => Poll::Failed(health(&c)),
                        Some(ClusterStatus::Deleting) => {
                            Poll::Failed("the cluster is being deleted".into())
                        }
                        _ => Poll::Pending,
                    },
                    None => Poll::Failed("the cluster disappeared while being created".into()),
                })
            },
        )
        .await
    }

    /// Whether the cluster a create met is this create's own.
    async fn own_cluster(&self, region: &str, spec: &ClusterSpec, wait: &Wait) -> bool {
        let Ok(Some(c)) = self.describe_cluster(region, &spec.name, wait).await else {
            return false;
        };
        let ours = c
            .tags()
            .is_some_and(|t| origin::made_by(t.iter(), origin::LABEL, &origin::fingerprint(spec)));
        if ours {
            tracing::info!(cluster = %spec.name, status = ?c.status(), "adopting the EKS cluster an earlier attempt of this create made");
        }
        ours
    }

    /// Gives the cluster's creator cluster admin through an access entry.
    async fn grant_creator(
        &self,
        region: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let principal = self.caller(region, wait).await?;
        let eks = self.eks(region).await;
        let created = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
            eks.create_access_entry()
                .cluster_name(cluster)
                .principal_arn(&principal)
                .send()
                .await
                .map_err(|e| api_error("creating the creator's EKS access entry", e))
        })
        .await;
        match created {
            Ok(_) => {}
            Err(e) if e.is_already_exists() => {}
            Err(e) => return Err(e),
        }
        send(wait, || async {
            eks.associate_access_policy()
                .cluster_name(cluster)
                .principal_arn(&principal)
                .policy_arn(ADMIN_POLICY)
                .access_scope(
                    AccessScope::builder()
                        .r#type(AccessScopeType::Cluster)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| api_error("granting the creator cluster admin", e))
        })
        .await?;
        Ok(())
    }

    /// The node groups of a cluster.
    pub(super) async fn nodegroups(
        &self,
        region: &str,
        cluster: &str,
        wait: &Wait,
    ) -> Result<Vec<String>, CloudError> {
        let eks = self.eks(region).await;
        let out = read_optional(wait, || async {
            eks.list_nodegroups()
                .cluster_name(cluster)
                .send()
                .await
                .map_err(|e| api_error("listing the EKS node groups", e))
        })
        .await?;
        Ok(out.map(|o| o.nodegroups().to_vec()).unwrap_or_default())
    }

    /// Sends one UpdateClusterConfig (one kind of change) and follows it.
    pub(super) async fn update_config<F>(
        &self,
        call: &str,
        region: &str,
        name: &str,
        wait: &Wait,
        build: F,
    ) -> Result<(), CloudError>
    where
        F: Fn(
            aws_sdk_eks::operation::update_cluster_config::builders::UpdateClusterConfigFluentBuilder,
        ) -> aws_sdk_eks::operation::update_cluster_config::builders::UpdateClusterConfigFluentBuilder,
    {
        let eks = self.eks(region).await;
        let sent = send(wait, || async {
            build(eks.update_cluster_config().name(name))
                .send()
                .await
                .map_err(|e| api_error(call, e))
        })
        .await;
        match sent {
            Ok(out) => {
                self.follow_update(call, region, name, None, out.update(), wait)
                    .await
            }
            // A retry after a lost response finds its own change made: the
            // update it started runs until the cluster is ACTIVE again.
            Err(e) if already_applied(&e) => self.wait_until_active(call, region, name, wait).await,
            Err(e) => Err(e),
        }
    }

    /// Sets (`Some`) or removes (`None`) one tag Genesis keeps for itself.
    pub(super) async fn set_tag(
        &self,
        arn: &str,
        region: &str,
        key: &str,
        value: Option<String>,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let (from, to) = match value {
            Some(v) => (BTreeMap::new(), BTreeMap::from([(key.to_string(), v)])),
            None => (
                BTreeMap::from([(key.to_string(), String::new())]),
                BTreeMap::new(),
            ),
        };
        self.set_tags(arn, region, &from, &to, wait).await
    }

    /// Makes an EKS resource's tags go from `from` to `to`: one call for
    /// those removed, one for those added or changed.
    async fn set_tags(
        &self,
        arn: &str,
        region: &str,
        from: &BTreeMap<String, String>,
        to: &BTreeMap<String, String>,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let eks = self.eks(region).await;
        let gone: Vec<String> = from
            .keys()
            .filter(|k| !to.contains_key(*k))
            .cloned()
            .collect();
        if !gone.is_empty() {
            send(wait, || async {
                eks.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(gone.clone()))
                    .send()
                    .await
                    .map_err(|e| api_error("removing tags from the EKS resource", e))
            })
            .await?;
        }
        let changed: HashMap<String, String> = to
            .iter()
            .filter(|(k, v)| from.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            send(wait, || async {
                eks.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(changed.clone()))
                    .send()
                    .await
                    .map_err(|e| api_error("tagging the EKS resource", e))
            })
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Clusters for Aws {
    async fn create(
        &self,
        spec: &ClusterSpec,
        wait: &Wait,
    ) -> Result<ObservedCluster, (CloudError, Option<ObservedCluster>)> {
        let e = settings(spec).map_err(|e| (e, None))?;
        let (region, name) = (e.region.as_str(), spec.name.as_str());
        let call = "creating the EKS cluster";
        let auto = spec.autopilot;
        let role = match &e.role_arn {
            Some(arn) => arn.clone(),
            None => self
                .ensure_role(name, Role::Cluster, auto, wait)
                .await
                .map_err(|e| (e, None))?,
        };
        let node_role = match &e.node_role_arn {
            Some(arn) => arn.clone(),
            None => self
                .ensure_role(name, Role::Node, auto, wait)
                .await
                .map_err(|e| (e, None))?,
        };
        let key = match (&e.kms_key_arn, e.secrets_encryption) {
            (Some(arn), _) => Some(arn.clone()),
            (None, true) => Some(
                self.ensure_key(region, name, wait)
                    .await
                    .map_err(|e| (e, None))?,
            ),
            (None, false) => None,
        };
        // Auto Mode makes nodes for the add-ons' pods itself: nothing waits
        // for a node group.
        let (before, after): (Vec<String>, Vec<String>) = in_eks_order(&e.addons)
            .into_iter()
            .partition(|a| auto || !AFTER_NODES.contains(&a.as_str()));
        let after_refs: Vec<&str> = after.iter().map(String::as_str).collect();
        let eks = self.eks(region).await;
        let config_map = e.authentication_mode == "CONFIG_MAP";
        let mut request = eks
            .create_cluster()
            .name(name)
            .role_arn(&role)
            .resources_vpc_config(vpc_config(spec, e))
            .kubernetes_network_config(
                KubernetesNetworkConfigRequest::builder()
                    .ip_family(IpFamily::from(e.ip_family.as_str()))
                    .set_service_ipv4_cidr(e.service_ipv4_cidr.clone())
                    .set_elastic_load_balancing(
                        auto.then(|| ElasticLoadBalancing::builder().enabled(true).build()),
                    )
                    .build(),
            )
            .deletion_protection(e.deletion_protection)
            .upgrade_policy(upgrade_policy(e))
            .logging(logging(&spec.logging_components))
            .access_config(
                CreateAccessConfigRequest::builder()
                    .authentication_mode(AuthenticationMode::from(e.authentication_mode.as_str()))
                    // The aws-auth ConfigMap has no entry for the creator
                    // otherwise; with access entries Genesis adds one.
                    .bootstrap_cluster_creator_admin_permissions(config_map)
                    .build(),
            )
            .set_tags(Some(tags(spec, &node_role, &after_refs)))
            .set_version(spec.kubernetes_version.clone());
        if let Some(key) = &key {
            request = request.encryption_config(encryption(key));
        }
        if auto {
            // EKS refuses to also install the self-managed networking
            // add-ons on an Auto Mode cluster: it runs their work itself.
            request = request
                .compute_config(auto_mode::compute(true, &node_role))
                .storage_config(auto_mode::block_storage(true))
                .bootstrap_self_managed_addons(false);
        }
        // Throttling, 5xx, a busy account and a role IAM has not spread yet
        // are retried until the timeout; "already exists" is adopted when
        // the cluster carries this create's fingerprint.
        let sent = retry_also(
            Backoff::until(wait.deadline()),
            wait,
            role_not_ready,
            || async { request.clone().send().await.map_err(|e| api_error(call, e)) },
        )
        .await;
        match sent {
            Ok(_) => {}
            Err(err) if err.is_already_exists() => {
                if !self.own_cluster(region, spec, wait).await {
                    return Err((err, None));
                }
            }
            Err(err) => {
                // A dropped connection leaves it unknown whether EKS got
                // the request: report what exists so it is not forgotten.
                let existing = self
                    .observe_cluster(region, name, wait)
                    .await
                    .ok()
                    .flatten();
                return Err((err, existing));
            }
        }
        if let Err(err) = self.wait_until_active(call, region, name, wait).await {
            return Err((
                err,
                self.observe_cluster(region, name, wait)
                    .await
                    .ok()
                    .flatten(),
            ));
        }
        let setup = async {
            if !config_map {
                self.grant_creator(region, name, wait).await?;
            }
            self.install_addons(region, name, &before, wait).await?;
            // A cluster created beside existing nodes (an adopted create)
            // can take the rest now.
            if !after.is_empty() && self.has_active_nodes(region, name, wait).await? {
                self.install_after_nodes(region, name, wait).await?;
            }
            let own: Vec<_> = own_addons::ALL
                .into_iter()
                .filter(|a| a.wanted(&e.addons))
                .collect();
            if !own.is_empty() {
                let arn = self
                    .describe_cluster(region, name, wait)
                    .await?
                    .and_then(|c| c.arn().map(str::to_string))
                    .unwrap_or_default();
                for addon in own {
                    self.install_own_addon(addon, region, name, &arn, wait)
                        .await?;
                }
            }
            Ok::<(), CloudError>(())
        };
        if let Err(err) = setup.await {
            return Err((
                err,
                self.observe_cluster(region, name, wait)
                    .await
                    .ok()
                    .flatten(),
            ));
        }
        match self.observe_cluster(region, name, wait).await {
            Ok(Some(o)) => Ok(o),
            Ok(None) => Err((
                CloudError::Invalid(format!(
                    "EKS reported {name} created, but it cannot be read back"
                )),
                None,
            )),
            Err(err) => Err((err, None)),
        }
    }

    async fn get(
        &self,
        at: &ClusterAddress,
        wait: &Wait,
    ) -> Result<Option<ObservedCluster>, CloudError> {
        let (region, name) = address_of(at)?;
        self.observe_cluster(region, name, wait).await
    }

    async fn update(
        &self,
        from: &ClusterSpec,
        to: &ClusterSpec,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let (was, e) = (settings(from)?, settings(to)?);
        let (region, name) = (e.region.as_str(), to.name.as_str());
        let lock = self.cluster_lock(region, name).await;
        let _one_at_a_time = lock.lock().await;
        // Each call carries one kind of change: EKS refuses more.
        if from.private_endpoint != to.private_endpoint
            || from.authorized_networks != to.authorized_networks
            || was.endpoint_private_access != e.endpoint_private_access
        {
            self.update_config("changing the endpoint access", region, name, wait, |r| {
                r.resources_vpc_config(endpoint_access(to, e))
            })
            .await?;
        }
        if was.subnet_ids != e.subnet_ids || was.security_group_ids != e.security_group_ids {
            let vpc = VpcConfigRequest::builder()
                .set_subnet_ids(Some(e.subnet_ids.clone()))
                .set_security_group_ids(Some(e.security_group_ids.clone()))
                .build();
            self.update_config(
                "changing the subnets and security groups",
                region,
                name,
                wait,
                |r| r.resources_vpc_config(vpc.clone()),
            )
            .await?;
        }
        if from.logging_components != to.logging_components {
            self.update_config("changing the control-plane logs", region, name, wait, |r| {
                r.logging(logging(&to.logging_components))
            })
            .await?;
        }
        if was.deletion_protection != e.deletion_protection {
            self.update_config("changing deletion protection", region, name, wait, |r| {
                r.deletion_protection(e.deletion_protection)
            })
            .await?;
        }
        if was.support_type != e.support_type {
            self.update_config("changing the support policy", region, name, wait, |r| {
                r.upgrade_policy(upgrade_policy(e))
            })
            .await?;
        }
        // One step at a time towards API.
        let modes = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];
        let rank = |m: &str| modes.iter().position(|x| *x == m).unwrap_or(0);
        for step in modes
            .iter()
            .take(rank(&e.authentication_mode) + 1)
            .skip(rank(&was.authentication_mode) + 1)
        {
            self.update_config(
                "changing the authentication mode",
                region,
                name,
                wait,
                |r| {
                    r.access_config(
                        UpdateAccessConfigRequest::builder()
                            .authentication_mode(AuthenticationMode::from(*step))
                            .build(),
                    )
                },
            )
            .await?;
        }
        if from.autopilot != to.autopilot {
            let node_role = e.node_role_arn.clone().unwrap_or_default();
            self.switch_auto_mode(region, name, to.autopilot, &node_role, wait)
                .await?;
        }
        if e.secrets_encryption && !was.secrets_encryption {
            let key = match &e.kms_key_arn {
                Some(k) => k.clone(),
                None => self.ensure_key(region, name, wait).await?,
            };
            let eks = self.eks(region).await;
            let call = "turning on secrets encryption";
            let out = send(wait, || async {
                eks.associate_encryption_config()
                    .cluster_name(name)
                    .encryption_config(encryption(&key))
                    .send()
                    .await
                    .map_err(|e| api_error(call, e))
            })
            .await?;
            self.follow_update(call, region, name, None, out.update(), wait)
                .await?;
        }
        if from.kubernetes_version != to.kubernetes_version
            && let Some(version) = &to.kubernetes_version
        {
            let eks = self.eks(region).await;
            let call = "upgrading the control plane";
            let sent = send(wait, || async {
                eks.update_cluster_version()
                    .name(name)
                    .version(version)
                    .send()
                    .await
                    .map_err(|e| api_error(call, e))
            })
            .await;
            match sent {
                Ok(out) => {
                    self.follow_update(call, region, name, None, out.update(), wait)
                        .await?;
                }
                Err(e) if already_applied(&e) => {
                    self.wait_until_active(call, region, name, wait).await?;
                }
                Err(e) => return Err(e),
            }
        }
        let Some(current) = self.describe_cluster(region, name, wait).await? else {
            return Err(CloudError::Invalid(format!(
                "the EKS cluster {name} disappeared"
            )));
        };
        let arn = current.arn().unwrap_or_default().to_string();
        let current_tags: BTreeMap<String, String> = current
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let user_tags = |t: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            t.iter()
                .filter(|(k, _)| !is_internal_tag(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let mut wanted = to.labels.clone();
        let mut have = user_tags(&current_tags);
        if let Some(names) = current_tags.get(NETWORK_NAMES_TAG) {
            have.insert(NETWORK_NAMES_TAG.into(), names.clone());
        }
        if let Some(names) = network_names(&to.authorized_networks) {
            wanted.insert(NETWORK_NAMES_TAG.into(), names);
        }
        self.set_tags(&arn, region, &have, &wanted, wait).await?;
        if was.addons != e.addons {
            self.sync_addons(
                region,
                name,
                &arn,
                &current_tags,
                &e.addons,
                to.autopilot,
                wait,
            )
            .await?;
        }
        Ok(())
    }

    async fn delete(&self, at: &ClusterAddress, wait: &Wait) -> Result<(), CloudError> {
        let (region, name) = address_of(at)?;
        if self.describe_cluster(region, name, wait).await?.is_some() {
            // EKS refuses to delete a cluster with node groups; say which
            // instead of sending a delete that cannot work.
            let groups = self.nodegroups(region, name, wait).await?;
            if !groups.is_empty() {
                return Err(CloudError::Invalid(format!(
                    "the EKS cluster {name} still has node groups attached ({}): destroy their genesis_node_pool resources first, or delete node groups made outside Terraform",
                    groups.join(", ")
                )));
            }
            for addon in self.addons(region, name, wait).await? {
                self.remove_addon(region, name, &addon, wait).await?;
            }
            let eks = self.eks(region).await;
            let deleted = send(wait, || async {
                eks.delete_cluster()
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| api_error("deleting the EKS cluster", e))
            })
            .await;
            match deleted {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
            poll_until_ready(
                "deleting the EKS cluster",
                wait,
                Duration::from_secs(1),
                Duration::from_secs(10),
                || async {
                    Ok(match self.describe_cluster(region, name, wait).await? {
                        None => Poll::Ready,
                        Some(c) if c.status() == Some(&ClusterStatus::Failed) => {
                            Poll::Failed(health(&c))
                        }
                        Some(_) => Poll::Pending,
                    })
                },
            )
            .await?;
        }
        // What Genesis made for the cluster goes with it.
        self.delete_roles(name, wait).await?;
        self.retire_key(region, name, wait).await
    }

    async fn kube_token(&self, at: &ClusterAddress) -> Result<Secret, CloudError> {
        let (region, name) = address_of(at)?;
        self.tokens
            .get(region, name, self.credentials("signing the EKS token"))
            .await
    }

    async fn list(&self, place: &ClusterPlace, wait: &Wait) -> Result<Vec<String>, CloudError> {
        let ClusterPlace::Eks { region } = place else {
            return Err(CloudError::Invalid("a GKE place given to EKS".into()));
        };
        let eks = self.eks(region).await;
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
                eks.list_clusters()
                    .set_next_token(next.clone())
                    .send()
                    .await
                    .map_err(|e| api_error("listing the EKS clusters", e))
            })
            .await?;
            names.extend(page.clusters().iter().cloned());
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        if names.is_empty() {
            return Ok(names);
        }
        // ListClusters gives names; an ID is an ARN, whose account is the
        // caller's.
        let caller = self.caller(region, wait).await?;
        let account = caller.split(':').nth(4).unwrap_or_default();
        let mut ids: Vec<String> = names
            .iter()
            .map(|name| format!("arn:aws:eks:{region}:{account}:cluster/{name}"))
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn client_token(
        &self,
        at: &ClusterAddress,
    ) -> Result<(Secret, Option<std::time::SystemTime>), CloudError> {
        let (region, name) = address_of(at)?;
        let credentials = self.credentials("signing the EKS token").await?;
        let now = std::time::SystemTime::now();
        let token = super::token::mint(&credentials, region, name, now)?;
        Ok((token, Some(now + super::token::VALID_FOR)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::aws::updates::is_busy;

    #[test]
    fn logging_turns_on_the_chosen_types_and_off_the_rest() {
        let l = logging(&["api".into(), "audit".into()]);
        let setups = l.cluster_logging();
        assert_eq!(setups.len(), 2);
        assert_eq!(setups[0].enabled(), Some(true));
        assert_eq!(setups[0].types().len(), 2);
        assert_eq!(setups[1].enabled(), Some(false));
        assert_eq!(setups[1].types().len(), 3);
        let none = logging(&[]);
        assert_eq!(none.cluster_logging().len(), 1);
    }

    #[test]
    fn network_names_survive_a_tag() {
        let networks = vec![
            AuthorizedNetwork {
                cidr_block: "203.0.113.0/24".into(),
                display_name: "head office".into(),
            },
            AuthorizedNetwork {
                cidr_block: "198.51.100.0/24".into(),
                display_name: String::new(),
            },
        ];
        let tag = network_names(&networks);
        assert_eq!(tag.as_deref(), Some("203.0.113.0/24=head+office"));
        assert_eq!(network_name(tag.as_ref(), "203.0.113.0/24"), "head office");
        assert_eq!(network_name(tag.as_ref(), "198.51.100.0/24"), "");
        assert_eq!(network_names(&networks[1..]), None);
    }

    #[test]
    fn busy_is_recognised() {
        let e = CloudError::Api {
            call: "x".into(),
            code: 409,
            status: "ResourceInUseException".into(),
            message: "update in progress".into(),
            retry_after: None,
        };
        assert!(is_busy(&e));
    }
}
