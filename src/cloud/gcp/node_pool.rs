//! GKE node pools through `google-cloud-container-v1`. Changes to pools of
//! one cluster are serialised inside the provider (GKE runs one operation
//! per cluster at a time), and a busy cluster is retried, so several pools
//! created or changed in one apply do not fail with "operation in progress".

use async_trait::async_trait;
use google_cloud_container_v1::model::{
    self as gke, AcceleratorConfig, GPUDriverInstallationConfig, NodeConfig, NodeLabels,
    NodeManagement, NodePool, NodePoolAutoscaling, NodeTaint, NodeTaints,
};
use google_cloud_gax::options::RequestOptionsBuilder;

use super::{Gcp, api_error};
use crate::cloud::CloudError;
use crate::cloud::cluster::{ClusterAddress, Wait};
use crate::cloud::gpus::PoolGpu;
use crate::cloud::node_pool::{GkePool, NodePools, ObservedPool, PoolCloud, PoolSpec, PoolTaint};
use crate::cloud::origin;
use crate::cloud::retry::read_optional;
use crate::cloud::retry::{Poll, poll_until_ready};

fn cluster_name(project: &str, location: &str, cluster: &str) -> String {
    format!("projects/{project}/locations/{location}/clusters/{cluster}")
}

fn pool_name(project: &str, location: &str, cluster: &str, name: &str) -> String {
    format!(
        "{}/nodePools/{name}",
        cluster_name(project, location, cluster)
    )
}

/// Project, location and cluster name of a GKE cluster.
fn gke_cluster(at: &ClusterAddress) -> Result<(&str, &str, &str), CloudError> {
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

fn settings(spec: &PoolSpec) -> Result<&GkePool, CloudError> {
    spec.gke().ok_or_else(|| {
        CloudError::Invalid(format!("node pool {} is not on a GKE cluster", spec.name))
    })
}

fn taints(spec: &PoolSpec) -> Vec<NodeTaint> {
    spec.taints
        .iter()
        .map(|t| {
            NodeTaint::new()
                .set_key(&t.key)
                .set_value(&t.value)
                .set_effect(gke::node_taint::Effect::from(t.effect.as_str()))
        })
        .collect()
}

fn autoscaling(spec: &PoolSpec) -> NodePoolAutoscaling {
    match spec.autoscaling {
        Some((min, max)) => NodePoolAutoscaling::new()
            .set_enabled(true)
            .set_min_node_count(min as i32)
            .set_max_node_count(max as i32),
        None => NodePoolAutoscaling::new().set_enabled(false),
    }
}

fn management(spec: &PoolSpec, g: &GkePool) -> NodeManagement {
    NodeManagement::new()
        .set_auto_repair(spec.auto_repair)
        .set_auto_upgrade(g.auto_upgrade)
}

fn upgrade_settings(spec: &PoolSpec, g: &GkePool) -> gke::node_pool::UpgradeSettings {
    gke::node_pool::UpgradeSettings::new()
        .set_max_surge(g.max_surge as i32)
        .set_max_unavailable(spec.max_unavailable as i32)
}

/// The accelerators every node gets, with the driver GKE installs
/// (`DEFAULT` when the configuration names none).
fn accelerators(spec: &PoolSpec) -> Vec<AcceleratorConfig> {
    use gke::gpu_driver_installation_config::GPUDriverVersion;
    spec.gpu
        .iter()
        .map(|g| {
            let driver = g.driver.as_deref().unwrap_or("DEFAULT");
            AcceleratorConfig::new()
                .set_accelerator_type(&g.gpu_type)
                .set_accelerator_count(g.count)
                .set_gpu_driver_installation_config(
                    GPUDriverInstallationConfig::new()
                        .set_gpu_driver_version(GPUDriverVersion::from(driver)),
                )
        })
        .collect()
}

/// The pool's GPUs as GKE reports them.
fn gpu_of(config: &NodeConfig) -> Option<PoolGpu> {
    let a = config.accelerators.first()?;
    Some(PoolGpu {
        gpu_type: a.accelerator_type.clone(),
        count: a.accelerator_count,
        driver: a
            .gpu_driver_installation_config
            .as_ref()
            .and_then(|d| d.gpu_driver_version.as_ref()?.name())
            .map(str::to_string),
    })
}

/// The pool body for a create request.
pub fn pool_body(spec: &PoolSpec, g: &GkePool) -> NodePool {
    let mut config = NodeConfig::new()
        .set_machine_type(&spec.machine_type)
        .set_disk_size_gb(spec.disk_size_gb as i32)
        .set_disk_type(&g.disk_type)
        .set_image_type(&g.image_type)
        .set_labels(spec.labels.clone())
        .set_taints(taints(spec))
        .set_preemptible(spec.preemptible)
        .set_spot(spec.spot)
        .set_accelerators(accelerators(spec))
        .set_resource_labels([(origin::LABEL, origin::fingerprint(spec))]);
    if let Some(sa) = &g.service_account {
        config = config.set_service_account(sa);
    }
    let mut pool = NodePool::new()
        .set_name(&spec.name)
        .set_initial_node_count(spec.node_count.unwrap_or(spec.initial_node_count) as i32)
        .set_config(config)
        .set_autoscaling(autoscaling(spec))
        .set_management(management(spec, g))
        .set_upgrade_settings(upgrade_settings(spec, g));
    if !g.node_locations.is_empty() {
        pool = pool.set_locations(g.node_locations.clone());
    }
    if let Some(version) = &spec.version {
        pool = pool.set_version(version);
    }
    pool
}

pub fn observe(project: &str, location: &str, cluster: &str, p: &NodePool) -> ObservedPool {
    let config = p.config.clone().unwrap_or_default();
    let autoscaling = p
        .autoscaling
        .as_ref()
        .filter(|a| a.enabled)
        .map(|a| (i64::from(a.min_node_count), i64::from(a.max_node_count)));
    let management = p.management.clone().unwrap_or_default();
    let upgrade = p.upgrade_settings.clone().unwrap_or_default();
    let mut taints: Vec<PoolTaint> = config
        .taints
        .iter()
        .map(|t| PoolTaint {
            key: t.key.clone(),
            value: t.value.clone(),
            effect: t.effect.name().unwrap_or_default().to_string(),
        })
        .collect();
    taints.sort();
    ObservedPool {
        spec: PoolSpec {
            cluster: ClusterAddress::Gke {
                project: project.to_string(),
                location: location.to_string(),
                name: cluster.to_string(),
            },
            name: p.name.clone(),
            machine_type: config.machine_type.clone(),
            disk_size_gb: i64::from(config.disk_size_gb),
            initial_node_count: i64::from(p.initial_node_count),
            node_count: None,
            autoscaling,
            preemptible: config.preemptible,
            spot: config.spot,
            gpu: gpu_of(&config),
            labels: config
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            taints,
            auto_repair: management.auto_repair,
            max_unavailable: i64::from(upgrade.max_unavailable),
            version: None,
            cloud: PoolCloud::Gke(GkePool {
                disk_type: config.disk_type.clone(),
                image_type: config.image_type.clone(),
                node_locations: p.locations.clone(),
                auto_upgrade: management.auto_upgrade,
                max_surge: i64::from(upgrade.max_surge),
                service_account: (!config.service_account.is_empty()
                    && config.service_account != "default")
                    .then(|| config.service_account.clone()),
            }),
        },
        status: p.status.name().unwrap_or_default().to_string(),
        version: p.version.clone(),
        control_plane_version: None,
    }
}

impl Gcp {
    async fn get_pool(
        &self,
        project: &str,
        location: &str,
        cluster: &str,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<NodePool>, CloudError> {
        let client = self.gke().await?;
        let full = pool_name(project, location, cluster, name);
        read_optional(wait, || async {
            client
                .get_node_pool()
                .set_name(&full)
                .with_user_agent(&self.user_agent)
                .send()
                .await
                .map_err(|e| api_error("reading the node pool", e))
        })
        .await
    }

    /// Changes the nodes' machine, disk, image, labels, taints, locations
    /// and surge settings in one update, the nodes staying on `version`.
    async fn update_nodes(
        &self,
        to: &PoolSpec,
        g: &GkePool,
        version: &str,
        wait: &Wait,
    ) -> Result<(), CloudError> {
        let client = self.gke().await?;
        let (project, location, cluster) = gke_cluster(&to.cluster)?;
        let full = pool_name(project, location, cluster, &to.name);
        let labels = NodeLabels::new().set_labels(to.labels.clone());
        let node_taints = NodeTaints::new().set_taints(taints(to));
        let upgrade = upgrade_settings(to, g);
        self.change("updating the pool's nodes", project, location, wait, || {
            let mut request = client
                .update_node_pool()
                .set_name(&full)
                // GKE requires the image type on every node pool update.
                .set_image_type(&g.image_type)
                .set_node_version(version)
                .set_machine_type(&to.machine_type)
                .set_disk_size_gb(to.disk_size_gb)
                .set_disk_type(&g.disk_type)
                .set_labels(labels.clone())
                .set_taints(node_taints.clone())
                .set_accelerators(accelerators(to))
                .set_upgrade_settings(upgrade.clone());
            if !g.node_locations.is_empty() {
                request = request.set_locations(g.node_locations.clone());
            }
            request.with_user_agent(&self.user_agent).send()
        })
        .await
    }

    /// Whether the pool a create met is this create's own (see `origin`).
    async fn own_pool(&self, spec: &PoolSpec, wait: &Wait) -> bool {
        let Ok((project, location, cluster)) = gke_cluster(&spec.cluster) else {
            return false;
        };
        let found = self
            .get_pool(project, location, cluster, &spec.name, wait)
            .await;
        let own = matches!(&found, Ok(Some(p)) if p.config.as_ref().is_some_and(|c| origin::made_by(c.resource_labels.iter(), origin::LABEL, &origin::fingerprint(spec))));
        if own {
            tracing::info!(pool = %spec.name, "adopting the node pool an earlier attempt of this create made");
        }
        own
    }

    /// Waits until a pool an earlier attempt created is running.
    async fn wait_until_pool_runs(&self, spec: &PoolSpec, wait: &Wait) -> Result<(), CloudError> {
        let call = "creating the node pool";
        let (project, location, cluster) = gke_cluster(&spec.cluster)?;
        poll_until_ready(
            call,
            wait,
            std::time::Duration::from_millis(500),
            std::time::Duration::from_millis(500),
            || async {
                let pool = self
                    .get_pool(project, location, cluster, &spec.name, wait)
                    .await?;
                Ok(match pool.map(|p| p.status) {
                    Some(gke::node_pool::Status::Running) => Poll::Ready,
                    Some(gke::node_pool::Status::Error) => {
                        Poll::Failed("the node pool is in ERROR".into())
                    }
                    _ => Poll::Pending,
                })
            },
        )
        .await
    }
}

#[async_trait]
impl NodePools for Gcp {
    async fn create(
        &self,
        spec: &PoolSpec,
        wait: &Wait,
    ) -> Result<ObservedPool, (CloudError, Option<ObservedPool>)> {
        let client = self.gke().await.map_err(|e| (e, None))?;
        let g = settings(spec).map_err(|e| (e, None))?;
        let (project, location, cluster_id) = gke_cluster(&spec.cluster).map_err(|e| (e, None))?;
        let cluster = cluster_name(project, location, cluster_id);
        let body = pool_body(spec, g);
        let lock = self.cluster_lock(&cluster).await;
        let _serialised = lock.lock().await;
        let created = self
            .change("creating the node pool", project, location, wait, || {
                client
                    .create_node_pool()
                    .set_parent(&cluster)
                    .set_node_pool(body.clone())
                    .with_user_agent(&self.user_agent)
                    .send()
            })
            .await;
        // A pool of that name is this create's own only if an earlier
        // attempt made it (see `origin`); anything else must never be
        // returned as created, or Terraform would own (and later delete) it.
        let created = match created {
            Err(e) if e.is_already_exists() => match self.own_pool(spec, wait).await {
                true => self.wait_until_pool_runs(spec, wait).await,
                false => return Err((e, None)),
            },
            other => other,
        };
        let observed = self
            .get(&spec.cluster, &spec.name, wait)
            .await
            .ok()
            .flatten();
        match (created, observed) {
            (Ok(()), Some(o)) => Ok(o),
            (Ok(()), None) => Err((
                CloudError::Invalid(format!(
                    "GKE reported node pool {} created, but it cannot be read back",
                    spec.name
                )),
                None,
            )),
            (Err(e), observed) => Err((e, observed)),
        }
    }

    async fn list(&self, at: &ClusterAddress, wait: &Wait) -> Result<Vec<String>, CloudError> {
        let (project, location, cluster) = gke_cluster(at)?;
        let client = self.gke().await?;
        let parent = cluster_name(project, location, cluster);
        let listed = read_optional(wait, || async {
            client
                .list_node_pools()
                .set_parent(&parent)
                .with_user_agent(&self.user_agent)
                .send()
                .await
                .map_err(|e| api_error("listing the node pools", e))
        })
        .await?;
        let mut names: Vec<String> = listed
            .map(|l| l.node_pools.into_iter().map(|p| p.name).collect())
            .unwrap_or_default();
        names.sort();
        Ok(names)
    }

    async fn get(
        &self,
        at: &ClusterAddress,
        name: &str,
        wait: &Wait,
    ) -> Result<Option<ObservedPool>, CloudError> {
        let (project, location, cluster) = gke_cluster(at)?;
        let Some(pool) = self
            .get_pool(project, location, cluster, name, wait)
            .await?
        else {
            return Ok(None);
        };
        let mut observed = observe(project, location, cluster, &pool);
        observed.control_plane_version = self
            .read(project, location, cluster, wait)
            .await?
            .map(|c| c.master_version);
        Ok(Some(observed))
    }

    async fn update(&self, from: &PoolSpec, to: &PoolSpec, wait: &Wait) -> Result<(), CloudError> {
        let client = self.gke().await?;
        let (was, g) = (settings(from)?, settings(to)?);
        let (project, location, cluster) = gke_cluster(&to.cluster)?;
        let full = pool_name(project, location, cluster, &to.name);
        let lock = self
            .cluster_lock(&cluster_name(project, location, cluster))
            .await;
        let _serialised = lock.lock().await;
        if from.autoscaling != to.autoscaling {
            let a = autoscaling(to);
            self.change(
                "changing the pool's autoscaling",
                project,
                location,
                wait,
                || {
                    client
                        .set_node_pool_autoscaling()
                        .set_name(&full)
                        .set_autoscaling(a.clone())
                        .with_user_agent(&self.user_agent)
                        .send()
                },
            )
            .await?;
        }
        if from.auto_repair != to.auto_repair || was.auto_upgrade != g.auto_upgrade {
            let m = management(to, g);
            self.change(
                "changing the pool's management",
                project,
                location,
                wait,
                || {
                    client
                        .set_node_pool_management()
                        .set_name(&full)
                        .set_management(m.clone())
                        .with_user_agent(&self.user_agent)
                        .send()
                },
            )
            .await?;
        }
        if let Some(size) = to.node_count
            && to.autoscaling.is_none()
            && from.node_count != to.node_count
        {
            self.change("resizing the pool", project, location, wait, || {
                client
                    .set_node_pool_size()
                    .set_name(&full)
                    .set_node_count(size as i32)
                    .with_user_agent(&self.user_agent)
                    .send()
            })
            .await?;
        }
        let node_update = from.machine_type != to.machine_type
            || from.disk_size_gb != to.disk_size_gb
            || was.disk_type != g.disk_type
            || was.image_type != g.image_type
            || from.labels != to.labels
            || from.taints != to.taints
            || from.gpu != to.gpu
            || (was.node_locations != g.node_locations && !g.node_locations.is_empty())
            || was.max_surge != g.max_surge
            || from.max_unavailable != to.max_unavailable;
        let upgrade_to = to.version.as_ref().filter(|_| from.version != to.version);
        if node_update || upgrade_to.is_some() {
            // GKE requires the node version on every node pool update, and
            // `-` would upgrade the nodes to the control plane's: the nodes
            // keep theirs, exactly, unless this plan upgrades them.
            let current = self
                .get_pool(project, location, cluster, &to.name, wait)
                .await?
                .map(|p| p.version)
                .unwrap_or_default();
            if node_update {
                self.update_nodes(to, g, &current, wait).await?;
            }
            if let Some(version) = upgrade_to {
                self.change(
                    "upgrading the pool's nodes",
                    project,
                    location,
                    wait,
                    || {
                        client
                            .update_node_pool()
                            .set_name(&full)
                            .set_image_type(&g.image_type)
                            .set_node_version(version)
                            .with_user_agent(&self.user_agent)
                            .send()
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, at: &ClusterAddress, name: &str, wait: &Wait) -> Result<(), CloudError> {
        let client = self.gke().await?;
        let (project, location, cluster) = gke_cluster(at)?;
        let full = pool_name(project, location, cluster, name);
        let lock = self
            .cluster_lock(&cluster_name(project, location, cluster))
            .await;
        let _serialised = lock.lock().await;
        match self
            .change("deleting the node pool", project, location, wait, || {
                client
                    .delete_node_pool()
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
}
