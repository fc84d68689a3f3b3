//! GKE clusters through `google-cloud-container-v1`: the request bodies
//! built from a `ClusterSpec`, the operations waited on, and the cluster
//! read back into an `ObservedCluster`.

// GKE marks the v1 private-cluster and authorized-network fields deprecated
// in favour of controlPlaneEndpointsConfig, but still serves them, and the
// Genesis module's settings map onto them one to one.
#![allow(deprecated)]

use std::time::{Duration, Instant};

use async_trait::async_trait;
use google_cloud_container_v1::model::{
    self as gke, Autopilot, BinaryAuthorization, Cluster, ClusterUpdate, LoggingComponentConfig,
    LoggingConfig, ManagedPrometheusConfig, MasterAuthorizedNetworksConfig,
    MonitoringComponentConfig, MonitoringConfig, NetworkPolicy, NodePool, PrivateClusterConfig,
    ReleaseChannel, ShieldedNodes, WorkloadIdentityConfig,
};
use google_cloud_gax::options::RequestOptionsBuilder;

use super::{Gcp, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::{
    AuthorizedNetwork, ClusterAddress, ClusterCloud, ClusterPlace, ClusterSpec, GkeCluster,
    ObservedCluster, Wait,
};
use crate::cloud::origin;
use crate::cloud::retry::{Backoff, read_optional, retry};
use crate::cloud::retry::{Poll, poll_until_ready};
use crate::provider::Secret;

/// A Standard cluster is created with a one-node pool (GKE requires one),
/// which is removed once the cluster runs: node pools are
/// `genesis_node_pool` resources of their own.
const BOOTSTRAP_POOL: &str = "genesis-bootstrap";

fn parent(project: &str, location: &str) -> String {
    format!("projects/{project}/locations/{location}")
}

fn name_of(project: &str, location: &str, name: &str) -> String {
    format!("{}/clusters/{name}", parent(project, location))
}

/// The GKE settings of a spec, or why it cannot go to GKE.
fn settings(spec: &ClusterSpec) -> Result<&GkeCluster, CloudError> {
    spec.gke().ok_or_else(|| {
        CloudError::Invalid(format!(
            "cluster {} is not a GKE cluster (cloud = \"aws\")",
            spec.name
        ))
    })
}

fn address_of(at: &ClusterAddress) -> Result<(&str, &str, &str), CloudError> {
    match at {
        ClusterAddress::Gke {
            project,
            location,
            name,
        } => Ok((project, location, name)),
        ClusterAddress::Eks { name, .. } => Err(CloudError::Invalid(format!(
            "cluster {name} is an EKS cluster, not a GKE one"
        ))),
    }
}

/// The cluster body for a create request.
pub fn cluster_body(spec: &ClusterSpec, g: &GkeCluster) -> Cluster {
    let mut labels = spec.labels.clone();
    labels.insert(origin::LABEL.into(), origin::fingerprint(spec));
    let mut c = Cluster::new()
        .set_name(&spec.name)
        .set_description(g.description.clone().unwrap_or_default())
        .set_network(&g.network)
        .set_subnetwork(&g.subnetwork)
        .set_resource_labels(labels)
        .set_shielded_nodes(ShieldedNodes::new().set_enabled(g.shielded_nodes || spec.autopilot))
        .set_binary_authorization(binary_authorization(g.binary_authorization))
        .set_monitoring_config(monitoring(g))
        .set_logging_config(logging(spec));
    if spec.autopilot {
        c = c.set_autopilot(Autopilot::new().set_enabled(true));
    } else {
        c = c.set_node_pools([NodePool::new()
            .set_name(BOOTSTRAP_POOL)
            .set_initial_node_count(1)]);
        if g.network_policy {
            c = c.set_network_policy(
                NetworkPolicy::new()
                    .set_enabled(true)
                    .set_provider(gke::network_policy::Provider::Calico),
            );
        }
    }
    if let Some(channel) = &g.release_channel {
        c = c.set_release_channel(
            ReleaseChannel::new()
                .set_channel(gke::release_channel::Channel::from(channel.as_str())),
        );
    }
    if let Some(version) = &spec.kubernetes_version {
        c = c.set_initial_cluster_version(version);
    }
    if g.private_nodes {
        c = c.set_private_cluster_config(private_config(spec, g));
    }
    if !spec.authorized_networks.is_empty() {
        c = c.set_master_authorized_networks_config(authorized_networks(spec));
    }
    if g.workload_identity || spec.autopilot {
        c = c.set_workload_identity_config(
            WorkloadIdentityConfig::new().set_workload_pool(format!("{}.svc.id.goog", g.project)),
        );
    }
    c
}

fn binary_authorization(on: bool) -> BinaryAuthorization {
    use gke::binary_authorization::EvaluationMode;
    BinaryAuthorization::new().set_evaluation_mode(if on {
        EvaluationMode::ProjectSingletonPolicyEnforce
    } else {
        EvaluationMode::Disabled
    })
}

fn private_config(spec: &ClusterSpec, g: &GkeCluster) -> PrivateClusterConfig {
    let mut p = PrivateClusterConfig::new()
        .set_enable_private_nodes(g.private_nodes)
        .set_enable_private_endpoint(spec.private_endpoint);
    if let Some(cidr) = &g.master_cidr {
        p = p.set_master_ipv4_cidr_block(cidr);
    }
    p
}

fn authorized_networks(spec: &ClusterSpec) -> MasterAuthorizedNetworksConfig {
    use gke::master_authorized_networks_config::CidrBlock;
    MasterAuthorizedNetworksConfig::new()
        .set_enabled(!spec.authorized_networks.is_empty())
        .set_cidr_blocks(spec.authorized_networks.iter().map(|n| {
            CidrBlock::new()
                .set_cidr_block(&n.cidr_block)
                .set_display_name(&n.display_name)
        }))
}

fn monitoring(g: &GkeCluster) -> MonitoringConfig {
    MonitoringConfig::new()
        .set_component_config(
            MonitoringComponentConfig::new().set_enable_components(
                g.monitoring_components
                    .iter()
                    .map(|c| gke::monitoring_component_config::Component::from(c.as_str())),
            ),
        )
        .set_managed_prometheus_config(
            ManagedPrometheusConfig::new().set_enabled(g.managed_prometheus),
        )
}

fn logging(spec: &ClusterSpec) -> LoggingConfig {
    LoggingConfig::new().set_component_config(
        LoggingComponentConfig::new().set_enable_components(
            spec.logging_components
                .iter()
                .map(|c| gke::logging_component_config::Component::from(c.as_str())),
        ),
    )
}

/// What the API reports, in the provider's terms.
pub fn observe(project: &str, c: &Cluster) -> ObservedCluster {
    let enum_name = |n: Option<&str>| n.unwrap_or_default().to_string();
    let private = c.private_cluster_config.as_ref();
    let monitoring = c.monitoring_config.as_ref();
    let mut monitoring_components: Vec<String> = monitoring
        .and_then(|m| m.component_config.as_ref())
        .map(|cc| {
            cc.enable_components
                .iter()
                .map(|x| enum_name(x.name()))
                .collect()
        })
        .unwrap_or_default();
    monitoring_components.sort();
    let mut logging_components: Vec<String> = c
        .logging_config
        .as_ref()
        .and_then(|l| l.component_config.as_ref())
        .map(|cc| {
            cc.enable_components
                .iter()
                .map(|x| enum_name(x.name()))
                .collect()
        })
        .unwrap_or_default();
    logging_components.sort();
    let gke = GkeCluster {
        project: project.to_string(),
        location: c.location.clone(),
        description: (!c.description.is_empty()).then(|| c.description.clone()),
        release_channel: c
            .release_channel
            .as_ref()
            .and_then(|r| r.channel.name())
            .map(str::to_string),
        network: c.network.clone(),
        subnetwork: c.subnetwork.clone(),
        private_nodes: private.is_some_and(|p| p.enable_private_nodes),
        master_cidr: private
            .map(|p| p.master_ipv4_cidr_block.clone())
            .filter(|s| !s.is_empty()),
        workload_identity: c
            .workload_identity_config
            .as_ref()
            .is_some_and(|w| !w.workload_pool.is_empty()),
        binary_authorization: c.binary_authorization.as_ref().is_some_and(|b| {
            b.enabled
                || b.evaluation_mode
                    == gke::binary_authorization::EvaluationMode::ProjectSingletonPolicyEnforce
        }),
        network_policy: c.network_policy.as_ref().is_some_and(|n| n.enabled),
        shielded_nodes: c.shielded_nodes.as_ref().is_some_and(|s| s.enabled),
        managed_prometheus: monitoring
            .and_then(|m| m.managed_prometheus_config.as_ref())
            .is_some_and(|p| p.enabled),
        monitoring_components,
    };
    let spec = ClusterSpec {
        name: c.name.clone(),
        kubernetes_version: (!c.initial_cluster_version.is_empty())
            .then(|| c.initial_cluster_version.clone()),
        private_endpoint: private.is_some_and(|p| p.enable_private_endpoint),
        authorized_networks: c
            .master_authorized_networks_config
            .as_ref()
            .filter(|m| m.enabled)
            .map(|m| {
                m.cidr_blocks
                    .iter()
                    .map(|b| AuthorizedNetwork {
                        cidr_block: b.cidr_block.clone(),
                        display_name: b.display_name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        logging_components,
        labels: c
            .resource_labels
            .iter()
            .filter(|(k, _)| k.as_str() != origin::LABEL)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        autopilot: c.autopilot.as_ref().is_some_and(|a| a.enabled),
        cloud: ClusterCloud::Gke(gke),
    };
    ObservedCluster {
        id: name_of(project, &c.location, &c.name),
        spec,
        endpoint: c.endpoint.clone(),
        ca_certificate: c
            .master_auth
            .as_ref()
            .map(|m| m.cluster_ca_certificate.clone())
            .unwrap_or_default(),
        status: enum_name(c.status.name()),
        master_version: c.current_master_version.clone(),
        self_link: Some(c.self_link.clone()),
        vpc_id: None,
    }
}

impl Gcp {
    /// Waits for a GKE operation, polling with capped backoff.
    async fn wait_for(
        &self,
        call: &str,
        project: &str,
        location: &str,
        op: gke::Operation,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let client = self.gke().await?;
        let name = format!("{}/operations/{}", parent(project, location), op.name);
        let started = Instant::now();
        let mut current = op;
        let mut attempt = 0u32;
        loop {
            if current.status == gke::operation::Status::Done {
                return match current.error.as_ref().filter(|e| e.code != 0) {
                    Some(e) => Err(CloudError::Operation {
                        call: call.to_string(),
                        operation: current.name.clone(),
                        message: e.message.clone(),
                    }),
                    None => Ok(()),
                };
            }
            if started.elapsed() >= wait.timeout {
                return Err(CloudError::Timeout {
                    call: call.to_string(),
                    operation: current.name.clone(),
                    after: wait.timeout,
                });
            }
            attempt += 1;
            tracing::debug!(call, operation = %current.name, elapsed_ms = started.elapsed().as_millis() as u64, "waiting on the operation");
            let delay = Duration::from_millis(250)
                .saturating_mul(1 << attempt.min(5))
                .min(Duration::from_secs(10));
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = wait.stop.cancelled() => return Err(CloudError::Cancelled { call: call.to_string() }),
            }
            current = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
                client
                    .get_operation()
                    .set_name(&name)
                    .with_user_agent(&self.user_agent)
                    .send()
                    .await
                    .map_err(|e| api_error("getting operation", e))
            })
            .await?;
        }
    }

    /// The running create operation of a Genesis-made cluster of this name,
    /// left by an apply that was interrupted (the provider killed, the
    /// machine lost) before it could record the cluster.
    /// Whether the cluster a create met is this create's own (see
    /// `origin`): `Some` with the operation still creating it, if any.
    async fn own_cluster(&self, spec: &ClusterSpec) -> Option<Option<gke::Operation>> {
        let client = self.gke().await.ok()?;
        let g = spec.gke()?;
        let existing = client
            .get_cluster()
            .set_name(name_of(&g.project, &g.location, &spec.name))
            .with_user_agent(&self.user_agent)
            .send()
            .await
            .ok()?;
        if !origin::made_by(
            existing.resource_labels.iter(),
            origin::LABEL,
            &origin::fingerprint(spec),
        ) {
            return None;
        }
        tracing::info!(cluster = %spec.name, status = ?existing.status, "adopting the cluster an earlier attempt of this create made");
        if existing.status != gke::cluster::Status::Provisioning {
            return Some(None);
        }
        let ops = client
            .list_operations()
            .set_parent(parent(&g.project, &g.location))
            .with_user_agent(&self.user_agent)
            .send()
            .await
            .ok()?;
        Some(ops.operations.into_iter().find(|op| {
            op.operation_type == gke::operation::Type::CreateCluster
                && op.status != gke::operation::Status::Done
                && op
                    .target_link
                    .ends_with(&format!("/clusters/{}", spec.name))
        }))
    }

    /// The cluster, or `None` when it does not exist.
    pub(super) async fn read(
        &self,
        project: &str,
        location: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedCluster>, CloudError> {
        let client = self.gke().await?;
        let full = name_of(project, location, name);
        let cluster = read_optional(wait, || async {
            client
                .get_cluster()
                .set_name(&full)
                .with_user_agent(&self.user_agent)
                .send()
                .await
                .map_err(|e| api_error("reading the GKE cluster", e))
        })
        .await?;
        Ok(cluster.map(|c| observe(project, &c)))
    }

    /// Waits for a cluster created by an earlier attempt to run.
    async fn wait_until_running(
        &self,
        call: &str,
        spec: &ClusterSpec,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let g = settings(spec)?;
        poll_until_ready(
            call,
            wait,
            Duration::from_secs(2),
            Duration::from_secs(2),
            || async {
                let found = self.read(&g.project, &g.location, &spec.name, wait).await?;
                Ok(match found.map(|c| c.status) {
                    Some(s) if s == "RUNNING" => Poll::Ready,
                    Some(s) if s == "ERROR" => Poll::Failed("the cluster is in ERROR".into()),
                    _ => Poll::Pending,
                })
            },
        )
        .await
    }

    /// Sends a cluster-changing call, retrying while the cluster is busy
    /// with another operation or the API is overloaded, then waits for it.
    pub(super) async fn change<F, Fut>(
        &self,
        call: &str,
        project: &str,
        location: &str,
        wait: &Wait,
        send: F,
    ) -> Result<(), CloudError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<gke::Operation, google_cloud_gax::error::Error>>,
    {
        let op = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
            send().await.map_err(|e| api_error(call, e))
        })
        .await?;
        self.wait_for(call, project, location, op, wait).await
    }
}

#[async_trait]
impl crate::cloud::cluster::Clusters for Gcp {
    async fn create(
        &self,
        spec: &ClusterSpec,
        wait: &Wait,
    ) -> Result<ObservedCluster, (CloudError, Option<ObservedCluster>)> {
        let client = self.gke().await.map_err(|e| (e, None))?;
        let g = settings(spec).map_err(|e| (e, None))?;
        let (project, location) = (g.project.as_str(), g.location.as_str());
        let body = cluster_body(spec, g);
        let call = "creating the GKE cluster";
        // 429s, 5xx and dropped connections are retried until the timeout.
        // After a 5xx or a dropped connection it is unknown whether GKE took
        // the request; an ALREADY_EXISTS on the retry is adopted when the
        // cluster carries this create's origin fingerprint.
        let backoff = Backoff::until(wait.deadline());
        let mut attempt = 0;
        let mut uncertain = false;
        let sent = loop {
            match client
                .create_cluster()
                .set_parent(parent(project, location))
                .set_cluster(body.clone())
                .with_user_agent(&self.user_agent)
                .send()
                .await
            {
                Ok(op) => break Ok(Some(op)),
                Err(e) => {
                    let error = api_error(call, e);
                    match &error {
                        // An earlier attempt of this create (this apply's,
                        // or one interrupted) made it: wait on it instead.
                        CloudError::Api { code: 409, .. } => match self.own_cluster(spec).await {
                            Some(op) => break Ok(op),
                            None => break Err(error),
                        },
                        e if e.is_retryable() && std::time::Instant::now() < wait.deadline() => {
                            uncertain |= !matches!(e, CloudError::Api { code: 429, .. });
                            attempt += 1;
                            let delay = backoff
                                .delay(attempt)
                                .max(e.retry_after().unwrap_or_default());
                            tracing::debug!(attempt, ?delay, error = %e, "retrying the cluster create");
                            tokio::select! {
                                () = tokio::time::sleep(delay) => {}
                                () = wait.stop.cancelled() => break Err(error),
                            }
                        }
                        _ => break Err(error),
                    }
                }
            }
        };
        let op = match sent {
            Ok(op) => op,
            Err(error) => {
                // A dropped connection leaves it unknown whether GKE got the
                // request: report what exists so it is not forgotten.
                let existing = if uncertain || matches!(error, CloudError::Transport { .. }) {
                    self.read(project, location, &spec.name, wait)
                        .await
                        .ok()
                        .flatten()
                } else {
                    None
                };
                return Err((error, existing));
            }
        };
        let waited = match op {
            Some(op) => self.wait_for(call, project, location, op, wait).await,
            None => self.wait_until_running(call, spec, wait).await,
        };
        let observed = self.read(project, location, &spec.name, wait).await;
        if let Err(e) = waited {
            return Err((e, observed.ok().flatten()));
        }
        if !spec.autopilot {
            let pool = format!(
                "{}/nodePools/{BOOTSTRAP_POOL}",
                name_of(project, location, &spec.name)
            );
            let removed = self
                .change(
                    "removing the bootstrap node pool",
                    project,
                    location,
                    wait,
                    || {
                        client
                            .delete_node_pool()
                            .set_name(&pool)
                            .with_user_agent(&self.user_agent)
                            .send()
                    },
                )
                .await;
            if let Err(e) = removed
                && !e.is_not_found()
            {
                return Err((
                    e,
                    self.read(project, location, &spec.name, wait)
                        .await
                        .ok()
                        .flatten(),
                ));
            }
        }
        match self.read(project, location, &spec.name, wait).await {
            Ok(Some(observed)) => Ok(observed),
            Ok(None) => Err((
                CloudError::Invalid(format!(
                    "GKE reported {} created, but it cannot be read back",
                    spec.name
                )),
                None,
            )),
            Err(e) => Err((e, None)),
        }
    }

    async fn get(
        &self,
        at: &ClusterAddress,
        wait: &Wait,
    ) -> Result<Option<ObservedCluster>, CloudError> {
        let (project, location, name) = address_of(at)?;
        self.read(project, location, name, wait).await
    }

    async fn list(&self, place: &ClusterPlace, wait: &Wait) -> Result<Vec<String>, CloudError> {
        let ClusterPlace::Gke { project, location } = place else {
            return Err(CloudError::Invalid("an EKS place given to GKE".into()));
        };
        let client = self.gke().await?;
        let parent = format!("projects/{project}/locations/{location}");
        let listed = retry(Backoff::until(wait.deadline()), &wait.stop, || async {
            client
                .list_clusters()
                .set_parent(&parent)
                .with_user_agent(&self.user_agent)
                .send()
                .await
                .map_err(|e| api_error("listing the GKE clusters", e))
        })
        .await?;
        let mut ids: Vec<String> = listed
            .clusters
            .iter()
            .map(|c| name_of(project, &c.location, &c.name))
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn update(
        &self,
        from: &ClusterSpec,
        to: &ClusterSpec,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let client = self.gke().await?;
        let (was, g) = (settings(from)?, settings(to)?);
        let (project, location) = (g.project.as_str(), g.location.as_str());
        let full = name_of(project, location, &to.name);
        // GKE takes one kind of change per call.
        let mut updates: Vec<(&str, ClusterUpdate)> = Vec::new();
        if was.release_channel != g.release_channel
            && let Some(channel) = &g.release_channel
        {
            updates.push((
                "changing the release channel",
                ClusterUpdate::new().set_desired_release_channel(
                    ReleaseChannel::new()
                        .set_channel(gke::release_channel::Channel::from(channel.as_str())),
                ),
            ));
        }
        if from.kubernetes_version != to.kubernetes_version
            && let Some(version) = &to.kubernetes_version
        {
            updates.push((
                "upgrading the control plane",
                ClusterUpdate::new().set_desired_master_version(version),
            ));
        }
        if was.workload_identity != g.workload_identity {
            let pool = if g.workload_identity {
                format!("{}.svc.id.goog", g.project)
            } else {
                String::new()
            };
            updates.push((
                "changing workload identity",
                ClusterUpdate::new().set_desired_workload_identity_config(
                    WorkloadIdentityConfig::new().set_workload_pool(pool),
                ),
            ));
        }
        if was.binary_authorization != g.binary_authorization {
            updates.push((
                "changing binary authorization",
                ClusterUpdate::new()
                    .set_desired_binary_authorization(binary_authorization(g.binary_authorization)),
            ));
        }
        if was.shielded_nodes != g.shielded_nodes {
            updates.push((
                "changing shielded nodes",
                ClusterUpdate::new()
                    .set_desired_shielded_nodes(ShieldedNodes::new().set_enabled(g.shielded_nodes)),
            ));
        }
        if was.monitoring_components != g.monitoring_components
            || was.managed_prometheus != g.managed_prometheus
        {
            updates.push((
                "changing monitoring",
                ClusterUpdate::new().set_desired_monitoring_config(monitoring(g)),
            ));
        }
        if from.logging_components != to.logging_components {
            updates.push((
                "changing logging",
                ClusterUpdate::new().set_desired_logging_config(logging(to)),
            ));
        }
        if from.authorized_networks != to.authorized_networks {
            updates.push((
                "changing authorized networks",
                ClusterUpdate::new()
                    .set_desired_master_authorized_networks_config(authorized_networks(to)),
            ));
        }
        if from.private_endpoint != to.private_endpoint {
            updates.push((
                "changing the private endpoint",
                ClusterUpdate::new().set_desired_enable_private_endpoint(to.private_endpoint),
            ));
        }
        for (call, update) in updates {
            self.change(call, project, location, wait, || {
                client
                    .update_cluster()
                    .set_name(&full)
                    .set_update(update.clone())
                    .with_user_agent(&self.user_agent)
                    .send()
            })
            .await?;
        }
        if was.network_policy != g.network_policy && !to.autopilot {
            let policy = NetworkPolicy::new()
                .set_enabled(g.network_policy)
                .set_provider(gke::network_policy::Provider::Calico);
            self.change("changing network policy", project, location, wait, || {
                client
                    .set_network_policy()
                    .set_name(&full)
                    .set_network_policy(policy.clone())
                    .with_user_agent(&self.user_agent)
                    .send()
            })
            .await?;
        }
        if from.labels != to.labels {
            self.change("changing labels", project, location, wait, || async {
                let current = client
                    .get_cluster()
                    .set_name(&full)
                    .with_user_agent(&self.user_agent)
                    .send()
                    .await?;
                client
                    .set_labels()
                    .set_name(&full)
                    .set_resource_labels(to.labels.clone())
                    .set_label_fingerprint(current.label_fingerprint)
                    .with_user_agent(&self.user_agent)
                    .send()
                    .await
            })
            .await?;
        }
        Ok(())
    }

    async fn delete(&self, at: &ClusterAddress, wait: &Wait) -> Result<(), CloudError> {
        let client = self.gke().await?;
        let (project, location, name) = address_of(at)?;
        let full = name_of(project, location, name);
        match self
            .change("deleting the GKE cluster", project, location, wait, || {
                client
                    .delete_cluster()
                    .set_name(&full)
                    .with_user_agent(&self.user_agent)
                    .send()
            })
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    async fn kube_token(&self, _at: &ClusterAddress) -> Result<Secret, CloudError> {
        self.bearer_token().await.map(Secret::new)
    }
}
