//! The GKE API v1 face: clusters, node pools and operations as
//! `container.v1.json` describes them, with long-running operations that
//! take a configurable time, one operation per cluster at a time, and GKE's
//! own rules on names, Autopilot and private clusters.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::faults::Outcome;
use crate::google::{ApiError, now_rfc3339};

/// The Kubernetes version new clusters run.
pub const DEFAULT_VERSION: &str = "1.33.5-gke.1080000";
const VALID_VERSIONS: &[&str] = &[
    "1.33.5-gke.1080000",
    "1.32.9-gke.1108000",
    "1.31.13-gke.1023000",
];

/// Simulated GKE state.
#[derive(Debug, Default, Serialize)]
pub struct Gke {
    /// Clusters by full name, in the API's JSON shape (node pools inside).
    pub clusters: BTreeMap<String, Json>,
    /// Operations by full name.
    pub operations: BTreeMap<String, Operation>,
}

/// A long-running operation and what happens when it ends.
#[derive(Debug, Serialize)]
pub struct Operation {
    pub body: Json,
    pub cluster: String,
    pub effect: Effect,
    pub outcome: Outcome,
    #[serde(skip)]
    pub finish_at: Instant,
}

/// The change an operation makes when it finishes.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub enum Effect {
    ClusterReady,
    ClusterGone,
    ClusterSettled,
    PoolReady(String),
    PoolGone(String),
    PoolSettled(String),
}

/// Everything a handler needs besides the state.
pub struct Context<'a> {
    pub method: &'a str,
    pub params: &'a std::collections::HashMap<String, String>,
    pub query: &'a BTreeMap<String, String>,
    pub body: Json,
    pub base_url: &'a str,
    pub operation_time: Duration,
    pub outcome: &'a mut dyn FnMut() -> Outcome,
    pub next_id: u64,
}

impl Context<'_> {
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    fn location(&self) -> String {
        format!(
            "projects/{}/locations/{}",
            self.param("projectsId"),
            self.param("locationsId")
        )
    }

    fn cluster_name(&self) -> String {
        format!("{}/clusters/{}", self.location(), self.param("clustersId"))
    }

    fn pool_id(&self) -> &str {
        self.param("nodePoolsId")
    }
}

impl Gke {
    /// Finishes the operations whose time has come.
    pub fn advance(&mut self, now: Instant) {
        let due: Vec<String> = self
            .operations
            .iter()
            .filter(|(_, op)| {
                op.body["status"] == "RUNNING"
                    && op.outcome != Outcome::Stick
                    && op.finish_at <= now
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            self.finish(&name);
        }
    }

    fn finish(&mut self, name: &str) {
        let Some(op) = self.operations.get_mut(name) else {
            return;
        };
        op.body["status"] = json!("DONE");
        op.body["endTime"] = json!(now_rfc3339());
        op.body["progress"] = json!({"status": "DONE"});
        let failed = op.outcome == Outcome::Fail;
        if failed {
            op.body["error"] = json!({"code": 13, "message": "Operation failed: internal error (injected by genesis-sim)."});
            op.body["statusMessage"] = json!("Internal error (injected by genesis-sim).");
        }
        let (cluster_name, effect) = (op.cluster.clone(), op.effect.clone());
        let Some(cluster) = self.clusters.get_mut(&cluster_name) else {
            return;
        };
        match (effect, failed) {
            // A cluster whose creation failed exists, in ERROR, as on GKE.
            (Effect::ClusterReady, true) => cluster["status"] = json!("ERROR"),
            (Effect::ClusterReady | Effect::ClusterSettled, false)
            | (Effect::ClusterSettled | Effect::ClusterGone, true) => {
                cluster["status"] = json!("RUNNING");
                set_pools_status(cluster, "PROVISIONING", "RUNNING");
                set_pools_status(cluster, "RECONCILING", "RUNNING");
            }
            (Effect::ClusterGone, false) => {
                self.clusters.remove(&cluster_name);
            }
            (Effect::PoolReady(pool), failed) => {
                set_pool(cluster, &pool, |p| {
                    p["status"] = json!(if failed { "ERROR" } else { "RUNNING" })
                });
            }
            (Effect::PoolSettled(pool), _) | (Effect::PoolGone(pool), true) => {
                set_pool(cluster, &pool, |p| p["status"] = json!("RUNNING"));
            }
            (Effect::PoolGone(pool), false) => {
                if let Some(pools) = cluster["nodePools"].as_array_mut() {
                    pools.retain(|p| p["name"] != pool.as_str());
                }
            }
        }
        if let Some(cluster) = self.clusters.get_mut(&cluster_name) {
            refresh_node_count(cluster);
        }
    }

    /// Serves one GKE API method.
    pub fn handle(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        match ctx
            .method
            .trim_start_matches("container.projects.locations.")
        {
            "getServerConfig" => Ok(server_config()),
            "clusters.list" => Ok(public(self.list_clusters(ctx))),
            "clusters.get" => self.cluster(&ctx.cluster_name()).map(|c| public(c.clone())),
            "clusters.create" => self.create_cluster(ctx),
            "clusters.delete" => self.delete_cluster(ctx),
            "clusters.update" => self.update_cluster(ctx),
            "clusters.setResourceLabels" => self.set_labels(ctx),
            "clusters.setNetworkPolicy"
            | "clusters.setLogging"
            | "clusters.setMonitoring"
            | "clusters.setMasterAuth"
            | "clusters.setLegacyAbac"
            | "clusters.setLocations"
            | "clusters.setMaintenancePolicy"
            | "clusters.setAddons"
            | "clusters.updateMaster" => self.set_cluster_field(ctx),
            "clusters.nodePools.list" => {
                let cluster = self.cluster(&ctx.cluster_name())?;
                Ok(public(
                    json!({ "nodePools": cluster["nodePools"].as_array().cloned().unwrap_or_default() }),
                ))
            }
            "clusters.nodePools.get" => {
                let cluster = self.cluster(&ctx.cluster_name())?;
                pool(cluster, ctx.pool_id())
                    .map(|p| public(p.clone()))
                    .ok_or_else(|| {
                        ApiError::not_found(&format!(
                            "{}/nodePools/{}",
                            ctx.cluster_name(),
                            ctx.pool_id()
                        ))
                    })
            }
            "clusters.nodePools.create" => self.create_pool(ctx),
            "clusters.nodePools.delete" => self.change_pool(ctx, "DELETE_NODE_POOL"),
            "clusters.nodePools.update" => self.change_pool(ctx, "UPGRADE_NODES"),
            "clusters.nodePools.setSize" => self.change_pool(ctx, "SET_NODE_POOL_SIZE"),
            "clusters.nodePools.setAutoscaling" => {
                self.change_pool(ctx, "SET_NODE_POOL_MANAGEMENT")
            }
            "clusters.nodePools.setManagement" => self.change_pool(ctx, "SET_NODE_POOL_MANAGEMENT"),
            "operations.get" => {
                let name = format!(
                    "{}/operations/{}",
                    ctx.location(),
                    ctx.param("operationsId")
                );
                self.operations
                    .get(&name)
                    .map(|op| op.body.clone())
                    .ok_or_else(|| ApiError::not_found(&name))
            }
            "operations.list" => {
                let prefix = format!("{}/", ctx.location());
                let all = ctx.param("locationsId") == "-";
                let ops: Vec<Json> = self
                    .operations
                    .iter()
                    .filter(|(name, _)| all || name.starts_with(&prefix))
                    .map(|(_, op)| op.body.clone())
                    .collect();
                Ok(json!({ "operations": ops }))
            }
            "operations.cancel" => {
                let name = format!(
                    "{}/operations/{}",
                    ctx.location(),
                    ctx.param("operationsId")
                );
                let op = self
                    .operations
                    .get_mut(&name)
                    .ok_or_else(|| ApiError::not_found(&name))?;
                if op.body["status"] == "RUNNING" {
                    op.body["status"] = json!("DONE");
                    op.body["error"] = json!({"code": 1, "message": "Operation was cancelled."});
                    op.body["endTime"] = json!(now_rfc3339());
                    let cluster = op.cluster.clone();
                    if let Some(c) = self.clusters.get_mut(&cluster)
                        && c["status"] != "PROVISIONING"
                    {
                        c["status"] = json!("RUNNING");
                    }
                }
                Ok(json!({}))
            }
            _ => Err(ApiError::unimplemented(ctx.method)),
        }
    }

    fn cluster(&self, name: &str) -> Result<&Json, ApiError> {
        self.clusters
            .get(name)
            .ok_or_else(|| ApiError::not_found(name))
    }

    fn list_clusters(&self, ctx: &Context<'_>) -> Json {
        let all = ctx.param("locationsId") == "-";
        let prefix = format!("{}/", ctx.location());
        let project_prefix = format!("projects/{}/", ctx.param("projectsId"));
        let clusters: Vec<Json> = self
            .clusters
            .iter()
            .filter(|(name, _)| {
                if all {
                    name.starts_with(&project_prefix)
                } else {
                    name.starts_with(&prefix)
                }
            })
            .map(|(_, c)| c.clone())
            .collect();
        json!({ "clusters": clusters })
    }

    /// Refuses a second operation on a cluster while one runs, as GKE does.
    fn check_idle(&self, cluster_name: &str) -> Result<(), ApiError> {
        if let Some((name, _)) = self
            .operations
            .iter()
            .find(|(_, op)| op.cluster == cluster_name && op.body["status"] == "RUNNING")
        {
            let id = name.rsplit('/').next().unwrap_or(name);
            return Err(ApiError::failed_precondition(format!(
                "Cluster is running incompatible operation {id}."
            )));
        }
        Ok(())
    }

    fn start_operation(
        &mut self,
        ctx: &mut Context<'_>,
        cluster: &str,
        kind: &str,
        target: String,
        effect: Effect,
    ) -> Json {
        let id = format!("operation-{}-{:08x}", unix_millis(), ctx.next_id);
        let name = format!("{}/operations/{id}", ctx.location());
        let outcome = (ctx.outcome)();
        let body = json!({
            "name": id,
            "zone": ctx.param("locationsId"),
            "location": ctx.param("locationsId"),
            "operationType": kind,
            "status": "RUNNING",
            "selfLink": format!("{}/v1/{name}", ctx.base_url),
            "targetLink": format!("{}/v1/{target}", ctx.base_url),
            "startTime": now_rfc3339(),
        });
        self.operations.insert(
            name,
            Operation {
                body: body.clone(),
                cluster: cluster.to_string(),
                effect,
                outcome,
                finish_at: Instant::now() + ctx.operation_time,
            },
        );
        if ctx.operation_time.is_zero() && outcome != Outcome::Stick {
            self.advance(Instant::now());
            let key = format!("{}/operations/{id}", ctx.location());
            return self.operations[&key].body.clone();
        }
        body
    }

    fn create_cluster(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let mut cluster = ctx.body["cluster"].clone();
        if !cluster.is_object() {
            return Err(ApiError::invalid_argument("Cluster must be specified."));
        }
        let short = cluster["name"].as_str().unwrap_or_default().to_string();
        check_name(&short, "Cluster")?;
        let location = ctx.param("locationsId").to_string();
        let name = format!("{}/clusters/{short}", ctx.location());
        if self.clusters.contains_key(&name) {
            return Err(ApiError::already_exists(&name));
        }
        let autopilot = cluster["autopilot"]["enabled"] == true;
        let pools = cluster["nodePools"].as_array().cloned().unwrap_or_default();
        if autopilot && (!pools.is_empty() || cluster["initialNodeCount"].as_i64().unwrap_or(0) > 0)
        {
            return Err(ApiError::invalid_argument(
                "Autopilot clusters cannot be created with node pools or an initial node count: Google manages their nodes.",
            ));
        }
        if !autopilot && pools.is_empty() && cluster["initialNodeCount"].as_i64().unwrap_or(0) <= 0
        {
            return Err(ApiError::invalid_argument(
                "Cluster.initial_node_count must be greater than zero, or node_pools must be specified.",
            ));
        }
        if let Some(cidr) = cluster["privateClusterConfig"]["masterIpv4CidrBlock"].as_str() {
            check_master_cidr(cidr)?;
        }
        if cluster["privateClusterConfig"]["enablePrivateNodes"] == true
            && cluster["privateClusterConfig"]["masterIpv4CidrBlock"].is_null()
            && !autopilot
        {
            return Err(ApiError::invalid_argument(
                "Cluster.private_cluster_config.master_ipv4_cidr_block must be set for private clusters.",
            ));
        }
        if let Some(version) = cluster["initialClusterVersion"].as_str() {
            check_version(version)?;
        }
        for p in &pools {
            check_pool(p)?;
        }
        let version = cluster["initialClusterVersion"]
            .as_str()
            .map_or(DEFAULT_VERSION.to_string(), resolve_version);
        let mut node_pools: Vec<Json> = pools
            .into_iter()
            .map(|p| pool_defaults(p, &name, &location, &version, ctx.base_url))
            .collect();
        if node_pools.is_empty() && !autopilot {
            let default = json!({
                "name": "default-pool",
                "initialNodeCount": cluster["initialNodeCount"].clone(),
                "config": cluster["nodeConfig"].clone(),
            });
            node_pools.push(pool_defaults(
                default,
                &name,
                &location,
                &version,
                ctx.base_url,
            ));
        }
        let obj = cluster.as_object_mut().expect("checked above");
        obj.remove("initialNodeCount");
        obj.remove("nodeConfig");
        let defaults = json!({
            "location": location,
            "zone": location,
            "status": "PROVISIONING",
            "selfLink": format!("{}/v1/{name}", ctx.base_url),
            "createTime": now_rfc3339(),
            "initialClusterVersion": version,
            "currentMasterVersion": version,
            "currentNodeVersion": version,
            "network": "default",
            "subnetwork": "default",
            "clusterIpv4Cidr": "10.4.0.0/14",
            "servicesIpv4Cidr": "10.8.0.0/20",
            "labelFingerprint": fingerprint(&json!({})),
            "id": format!("{:032x}", ctx.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            "releaseChannel": {"channel": "REGULAR"},
        });
        for (k, v) in defaults.as_object().unwrap() {
            obj.entry(k.clone()).or_insert(v.clone());
        }
        // Autopilot turns these on whatever the request says, as GKE does:
        // Workload Identity with the project's pool, and shielded nodes.
        if autopilot {
            let project = ctx.param("projectsId").to_string();
            obj.insert(
                "workloadIdentityConfig".into(),
                json!({"workloadPool": format!("{project}.svc.id.goog")}),
            );
            obj.insert("shieldedNodes".into(), json!({"enabled": true}));
        }
        if !node_pools.is_empty() {
            obj.insert("nodePools".into(), Json::Array(node_pools));
        }
        self.clusters.insert(name.clone(), cluster);
        refresh_node_count(self.clusters.get_mut(&name).unwrap());
        Ok(self.start_operation(
            ctx,
            &name,
            "CREATE_CLUSTER",
            name.clone(),
            Effect::ClusterReady,
        ))
    }

    fn delete_cluster(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let name = ctx.cluster_name();
        self.cluster(&name)?;
        self.check_idle(&name)?;
        self.clusters.get_mut(&name).unwrap()["status"] = json!("STOPPING");
        Ok(self.start_operation(
            ctx,
            &name,
            "DELETE_CLUSTER",
            name.clone(),
            Effect::ClusterGone,
        ))
    }

    fn update_cluster(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let name = ctx.cluster_name();
        self.cluster(&name)?;
        self.check_idle(&name)?;
        let update = ctx.body["update"].as_object().cloned().unwrap_or_default();
        let desired: Vec<_> = update
            .iter()
            .filter(|(k, v)| k.starts_with("desired") && !v.is_null())
            .collect();
        if desired.is_empty() {
            return Err(ApiError::invalid_argument(
                "UpdateClusterRequest.update must set at least one desired field.",
            ));
        }
        if let Some(version) = update.get("desiredMasterVersion").and_then(Json::as_str) {
            check_version(version)?;
        }
        if let Some(cidr) = update
            .get("desiredPrivateClusterConfig")
            .and_then(|c| c["masterIpv4CidrBlock"].as_str())
        {
            check_master_cidr(cidr)?;
        }
        let cluster = self.clusters.get_mut(&name).unwrap();
        if let (Some(autoscaling), Some(pool_id)) = (
            update.get("desiredNodePoolAutoscaling"),
            update.get("desiredNodePoolId").and_then(Json::as_str),
        ) {
            check_autoscaling(autoscaling)?;
            if pool(cluster, pool_id).is_none() {
                return Err(ApiError::not_found(&format!("{name}/nodePools/{pool_id}")));
            }
            set_pool(cluster, pool_id, |p| p["autoscaling"] = autoscaling.clone());
        }
        let mut effect = Effect::ClusterSettled;
        for (key, value) in desired {
            apply_desired(cluster, key, value.clone(), &mut effect)?;
        }
        cluster["status"] = json!("RECONCILING");
        let kind = if update.contains_key("desiredMasterVersion") {
            "UPGRADE_MASTER"
        } else {
            "UPDATE_CLUSTER"
        };
        Ok(self.start_operation(ctx, &name, kind, name.clone(), effect))
    }

    fn set_labels(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let name = ctx.cluster_name();
        let cluster = self.cluster(&name)?;
        if let Some(fp) = ctx.body["labelFingerprint"].as_str()
            && !fp.is_empty()
            && cluster["labelFingerprint"] != fp
        {
            return Err(ApiError::failed_precondition(
                "Labels could not be set due to fingerprint mismatch: read the cluster again and retry.",
            ));
        }
        self.check_idle(&name)?;
        let labels = ctx.body["resourceLabels"].clone();
        let cluster = self.clusters.get_mut(&name).unwrap();
        cluster["labelFingerprint"] = json!(fingerprint(&labels));
        cluster["resourceLabels"] = labels;
        cluster["status"] = json!("RECONCILING");
        Ok(self.start_operation(
            ctx,
            &name,
            "SET_LABELS",
            name.clone(),
            Effect::ClusterSettled,
        ))
    }

    fn set_cluster_field(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let name = ctx.cluster_name();
        self.cluster(&name)?;
        self.check_idle(&name)?;
        let body = ctx.body.clone();
        let cluster = self.clusters.get_mut(&name).unwrap();
        let kind = match ctx.method.rsplit('.').next().unwrap_or_default() {
            "setNetworkPolicy" => {
                cluster["networkPolicy"] = body["networkPolicy"].clone();
                let disabled = body["networkPolicy"]["enabled"] != true;
                cluster["addonsConfig"]["networkPolicyConfig"] = json!({ "disabled": disabled });
                "SET_NETWORK_POLICY"
            }
            "setLogging" => {
                cluster["loggingService"] = body["loggingService"].clone();
                "UPDATE_CLUSTER"
            }
            "setMonitoring" => {
                cluster["monitoringService"] = body["monitoringService"].clone();
                "UPDATE_CLUSTER"
            }
            "setMasterAuth" => {
                cluster["masterAuth"]["username"] = body["update"]["username"].clone();
                "SET_MASTER_AUTH"
            }
            "setLegacyAbac" => {
                cluster["legacyAbac"] = json!({ "enabled": body["enabled"] });
                "UPDATE_CLUSTER"
            }
            "setLocations" => {
                cluster["locations"] = body["locations"].clone();
                "UPDATE_CLUSTER"
            }
            "setMaintenancePolicy" => {
                cluster["maintenancePolicy"] = body["maintenancePolicy"].clone();
                "SET_MAINTENANCE_POLICY"
            }
            "setAddons" => {
                cluster["addonsConfig"] = body["addonsConfig"].clone();
                "UPDATE_CLUSTER"
            }
            _ => {
                let version = body["masterVersion"].as_str().unwrap_or(DEFAULT_VERSION);
                check_version(version)?;
                cluster["currentMasterVersion"] = json!(resolve_version(version));
                "UPGRADE_MASTER"
            }
        };
        cluster["status"] = json!("RECONCILING");
        Ok(self.start_operation(ctx, &name, kind, name.clone(), Effect::ClusterSettled))
    }

    fn create_pool(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let name = ctx.cluster_name();
        let cluster = self.cluster(&name)?;
        let mut p = ctx.body["nodePool"].clone();
        check_pool(&p)?;
        if cluster["autopilot"]["enabled"] == true {
            return Err(ApiError::failed_precondition(
                "This operation is not supported on Autopilot clusters: Google manages their nodes.",
            ));
        }
        let short = p["name"].as_str().unwrap_or_default().to_string();
        if pool(cluster, &short).is_some() {
            return Err(ApiError::already_exists(&format!(
                "{name}/nodePools/{short}"
            )));
        }
        if cluster["status"] != "RUNNING" && cluster["status"] != "RECONCILING" {
            return Err(ApiError::failed_precondition(format!(
                "Cluster {name} is in state {}, not RUNNING.",
                cluster["status"].as_str().unwrap_or("UNKNOWN")
            )));
        }
        self.check_idle(&name)?;
        let location = ctx.param("locationsId").to_string();
        let master = cluster["currentMasterVersion"]
            .as_str()
            .unwrap_or(DEFAULT_VERSION)
            .to_string();
        // The nodes run the version asked for, never newer than the
        // control plane, else the control plane's.
        let version = match p["version"].as_str() {
            Some(asked) => node_version(asked, &master)?,
            None => master,
        };
        p["version"] = json!(version);
        let node_pool = pool_defaults(p, &name, &location, &version, ctx.base_url);
        let cluster = self.clusters.get_mut(&name).unwrap();
        match cluster["nodePools"].as_array_mut() {
            Some(pools) => pools.push(node_pool),
            None => cluster["nodePools"] = json!([node_pool]),
        }
        refresh_node_count(cluster);
        let target = format!("{name}/nodePools/{short}");
        Ok(self.start_operation(
            ctx,
            &name,
            "CREATE_NODE_POOL",
            target,
            Effect::PoolReady(short),
        ))
    }

    fn change_pool(&mut self, ctx: &mut Context<'_>, kind: &str) -> Result<Json, ApiError> {
        let name = ctx.cluster_name();
        let short = ctx.pool_id().to_string();
        let target = format!("{name}/nodePools/{short}");
        let cluster = self.cluster(&name)?;
        if pool(cluster, &short).is_none() {
            return Err(ApiError::not_found(&target));
        }
        self.check_idle(&name)?;
        let body = ctx.body.clone();
        let method = ctx
            .method
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_string();
        let cluster = self.clusters.get_mut(&name).unwrap();
        let master = cluster["currentMasterVersion"]
            .as_str()
            .unwrap_or(DEFAULT_VERSION)
            .to_string();
        let mut result = Ok(());
        set_pool(cluster, &short, |p| {
            result = apply_pool_change(p, &method, &body, &master);
            if result.is_ok() {
                p["status"] = json!(if method == "delete" {
                    "STOPPING"
                } else {
                    "RECONCILING"
                });
            }
        });
        result?;
        refresh_node_count(cluster);
        let effect = if method == "delete" {
            Effect::PoolGone(short)
        } else {
            Effect::PoolSettled(short)
        };
        Ok(self.start_operation(ctx, &name, kind, target, effect))
    }
}

fn apply_pool_change(
    p: &mut Json,
    method: &str,
    body: &Json,
    master: &str,
) -> Result<(), ApiError> {
    match method {
        "setSize" => {
            let n = body["nodeCount"].as_i64().unwrap_or(-1);
            if !(0..=1000).contains(&n) {
                return Err(ApiError::invalid_argument(
                    "node_count must be between 0 and 1000.",
                ));
            }
            p["simNodeCount"] = json!(n);
        }
        "setAutoscaling" => {
            check_autoscaling(&body["autoscaling"])?;
            p["autoscaling"] = body["autoscaling"].clone();
        }
        "setManagement" => p["management"] = body["management"].clone(),
        "update" => {
            for (field, target) in [
                ("machineType", "machineType"),
                ("diskSizeGb", "diskSizeGb"),
                ("diskType", "diskType"),
                ("imageType", "imageType"),
                ("labels", "labels"),
                ("taints", "taints"),
                ("resourceLabels", "resourceLabels"),
                ("tags", "tags"),
                ("kubeletConfig", "kubeletConfig"),
                ("linuxNodeConfig", "linuxNodeConfig"),
                ("workloadMetadataConfig", "workloadMetadataConfig"),
                ("accelerators", "accelerators"),
            ] {
                let value = &body[field];
                if value.is_null() {
                    continue;
                }
                // Labels and taints travel wrapped: {"labels": {"labels": {...}}}.
                let inner = match field {
                    "labels" => value["labels"].clone(),
                    "taints" => value["taints"].clone(),
                    "resourceLabels" => value["labels"].clone(),
                    "tags" => value["tags"].clone(),
                    _ => value.clone(),
                };
                p["config"][target] = if inner.is_null() && matches!(field, "labels" | "taints") {
                    json!(null)
                } else {
                    inner
                };
            }
            if let Some(version) = body["nodeVersion"].as_str() {
                p["version"] = json!(node_version(version, master)?);
            }
            if !body["locations"].is_null() {
                p["locations"] = body["locations"].clone();
            }
            if !body["upgradeSettings"].is_null() {
                p["upgradeSettings"] = body["upgradeSettings"].clone();
            }
        }
        _ => {}
    }
    Ok(())
}

fn apply_desired(
    cluster: &mut Json,
    key: &str,
    value: Json,
    effect: &mut Effect,
) -> Result<(), ApiError> {
    let mapped = match key {
        "desiredMasterVersion" => {
            cluster["currentMasterVersion"] =
                json!(resolve_version(value.as_str().unwrap_or(DEFAULT_VERSION)));
            return Ok(());
        }
        "desiredNodeVersion" => {
            let v = resolve_version(value.as_str().unwrap_or(DEFAULT_VERSION));
            cluster["currentNodeVersion"] = json!(v);
            if let Some(pools) = cluster["nodePools"].as_array_mut() {
                for p in pools {
                    p["version"] = json!(v);
                }
            }
            return Ok(());
        }
        "desiredPrivateClusterConfig" => {
            for (k, v) in value.as_object().into_iter().flatten() {
                cluster["privateClusterConfig"][k] = v.clone();
            }
            return Ok(());
        }
        "desiredEnablePrivateEndpoint" => {
            cluster["privateClusterConfig"]["enablePrivateEndpoint"] = value;
            return Ok(());
        }
        "desiredNodePoolAutoscaling" | "desiredNodePoolId" => return Ok(()),
        "desiredReleaseChannel" => "releaseChannel",
        "desiredWorkloadIdentityConfig" => "workloadIdentityConfig",
        "desiredBinaryAuthorization" => "binaryAuthorization",
        "desiredShieldedNodes" => "shieldedNodes",
        "desiredMonitoringConfig" => "monitoringConfig",
        "desiredLoggingConfig" => "loggingConfig",
        "desiredMasterAuthorizedNetworksConfig" => "masterAuthorizedNetworksConfig",
        "desiredAddonsConfig" => "addonsConfig",
        "desiredLocations" => "locations",
        "desiredVerticalPodAutoscaling" => "verticalPodAutoscaling",
        "desiredDatapathProvider" => {
            cluster["networkConfig"]["datapathProvider"] = value;
            return Ok(());
        }
        "desiredLoggingService" => "loggingService",
        "desiredMonitoringService" => "monitoringService",
        "desiredNotificationConfig" => "notificationConfig",
        "desiredClusterAutoscaling" => "autoscaling",
        "desiredDnsConfig" => {
            cluster["networkConfig"]["dnsConfig"] = value;
            return Ok(());
        }
        "desiredSecurityPostureConfig" => "securityPostureConfig",
        "desiredGatewayApiConfig" => {
            cluster["networkConfig"]["gatewayApiConfig"] = value;
            return Ok(());
        }
        other => {
            // Valid per the discovery document, but not simulated: accepted
            // and recorded so a read shows what was asked for.
            cluster["simUnmodelledUpdates"][other] = value;
            *effect = Effect::ClusterSettled;
            return Ok(());
        }
    };
    cluster[mapped] = value;
    Ok(())
}

/// Fields the simulator keeps on stored objects that the real API does not
/// return: a pool's current size (GKE reports it only through Compute
/// Engine) and updates accepted but not modelled.
const SIM_FIELDS: &[&str] = &["simNodeCount", "simUnmodelledUpdates"];

/// The API's view of a stored object.
pub fn public(mut v: Json) -> Json {
    match &mut v {
        Json::Object(map) => {
            map.retain(|k, _| !SIM_FIELDS.contains(&k.as_str()));
            for value in map.values_mut() {
                *value = public(std::mem::take(value));
            }
        }
        Json::Array(items) => {
            for item in items.iter_mut() {
                *item = public(std::mem::take(item));
            }
        }
        _ => {}
    }
    v
}

fn pool<'a>(cluster: &'a Json, name: &str) -> Option<&'a Json> {
    cluster["nodePools"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
}

fn set_pool(cluster: &mut Json, name: &str, f: impl FnOnce(&mut Json)) {
    if let Some(p) = cluster["nodePools"]
        .as_array_mut()
        .and_then(|ps| ps.iter_mut().find(|p| p["name"] == name))
    {
        f(p);
    }
}

fn set_pools_status(cluster: &mut Json, from: &str, to: &str) {
    if let Some(pools) = cluster["nodePools"].as_array_mut() {
        for p in pools.iter_mut().filter(|p| p["status"] == from) {
            p["status"] = json!(to);
        }
    }
}

/// `currentNodeCount`: nodes across pools (per zone times zones).
fn refresh_node_count(cluster: &mut Json) {
    let total: i64 = cluster["nodePools"]
        .as_array()
        .map(|pools| {
            pools
                .iter()
                .map(|p| {
                    let per_zone = p["simNodeCount"]
                        .as_i64()
                        .or_else(|| p["initialNodeCount"].as_i64())
                        .unwrap_or(0);
                    per_zone
                        * p["locations"]
                            .as_array()
                            .map_or(1, |l| l.len().max(1) as i64)
                })
                .sum()
        })
        .unwrap_or(0);
    cluster["currentNodeCount"] = json!(total);
}

fn pool_defaults(
    mut p: Json,
    cluster: &str,
    location: &str,
    version: &str,
    base_url: &str,
) -> Json {
    let name = p["name"].as_str().unwrap_or("default-pool").to_string();
    let zones: Vec<String> = if location.matches('-').count() >= 2 {
        vec![location.to_string()]
    } else {
        ["a", "b", "c"]
            .iter()
            .map(|z| format!("{location}-{z}"))
            .collect()
    };
    let defaults = json!({
        "status": "PROVISIONING",
        "version": version,
        "selfLink": format!("{base_url}/v1/{cluster}/nodePools/{name}"),
        "locations": zones,
        "initialNodeCount": 1,
        "podIpv4CidrSize": 24,
        "management": {"autoUpgrade": true, "autoRepair": true},
        "upgradeSettings": {"maxSurge": 1, "maxUnavailable": 0, "strategy": "SURGE"},
        "instanceGroupUrls": [],
    });
    let obj = p.as_object_mut().expect("node pools are objects");
    for (k, v) in defaults.as_object().unwrap() {
        obj.entry(k.clone()).or_insert(v.clone());
    }
    let config = obj.entry("config").or_insert(json!({}));
    if config.is_null() {
        *config = json!({});
    }
    let config_defaults = json!({
        "machineType": "e2-medium",
        "diskSizeGb": 100,
        "diskType": "pd-balanced",
        "imageType": "COS_CONTAINERD",
        "serviceAccount": "default",
        "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "metadata": {"disable-legacy-endpoints": "true"},
    });
    for (k, v) in config_defaults.as_object().unwrap() {
        config
            .as_object_mut()
            .unwrap()
            .entry(k.clone())
            .or_insert(v.clone());
    }
    p
}

fn check_name(name: &str, what: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_argument(format!(
            "Invalid value for field '{}.name': \"{name}\". {what} name must start with a lowercase letter followed by up to 39 lowercase letters, numbers, or hyphens, and cannot end with a hyphen.",
            what.to_lowercase()
        )))
    }
}

fn check_pool(p: &Json) -> Result<(), ApiError> {
    if !p.is_object() {
        return Err(ApiError::invalid_argument("NodePool must be specified."));
    }
    check_name(p["name"].as_str().unwrap_or_default(), "NodePool")?;
    check_autoscaling(&p["autoscaling"])?;
    if p["config"]["preemptible"] == true && p["config"]["spot"] == true {
        return Err(ApiError::invalid_argument(
            "A node pool cannot be both preemptible and spot.",
        ));
    }
    for t in p["config"]["taints"].as_array().into_iter().flatten() {
        if t["key"].as_str().is_none_or(str::is_empty) {
            return Err(ApiError::invalid_argument("Taint key must be set."));
        }
    }
    Ok(())
}

fn check_autoscaling(a: &Json) -> Result<(), ApiError> {
    if a["enabled"] == true {
        let min = a["minNodeCount"].as_i64().unwrap_or(0);
        let max = a["maxNodeCount"].as_i64().unwrap_or(0);
        if max < 1 || min > max || min < 0 {
            return Err(ApiError::invalid_argument(format!(
                "Autoscaling limits are invalid: min_node_count ({min}) must be between 0 and max_node_count ({max}), and max_node_count must be at least 1."
            )));
        }
    }
    Ok(())
}

fn check_master_cidr(cidr: &str) -> Result<(), ApiError> {
    let valid = cidr
        .split_once('/')
        .is_some_and(|(addr, len)| addr.parse::<std::net::Ipv4Addr>().is_ok() && len == "28");
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_argument(format!(
            "Invalid value for field 'cluster.privateClusterConfig.masterIpv4CidrBlock': '{cidr}'. The master CIDR block must be a /28 range."
        )))
    }
}

fn check_version(version: &str) -> Result<(), ApiError> {
    if version == "latest"
        || version == "-"
        || VALID_VERSIONS.iter().any(|v| v.starts_with(version))
    {
        Ok(())
    } else {
        Err(ApiError::invalid_argument(format!(
            "Master version \"{version}\" is unsupported. Valid versions: {}.",
            VALID_VERSIONS.join(", ")
        )))
    }
}

/// The node version an alias resolves to on a cluster whose control plane
/// runs `master`: `-` is the control plane's, and nodes are never newer.
fn node_version(asked: &str, master: &str) -> Result<String, ApiError> {
    if asked == "-" {
        return Ok(master.to_string());
    }
    check_version(asked)?;
    let version = resolve_version(asked);
    let minor = |v: &str| -> u32 {
        v.split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or_default()
    };
    if minor(&version) > minor(master) {
        return Err(ApiError::invalid_argument(format!(
            "Node version \"{version}\" must not be newer than the master version \"{master}\"."
        )));
    }
    Ok(version)
}

fn resolve_version(version: &str) -> String {
    VALID_VERSIONS
        .iter()
        .find(|v| v.starts_with(version))
        .unwrap_or(&DEFAULT_VERSION)
        .to_string()
}

fn server_config() -> Json {
    json!({
        "defaultClusterVersion": DEFAULT_VERSION,
        "validMasterVersions": VALID_VERSIONS,
        "validNodeVersions": VALID_VERSIONS,
        "defaultImageType": "COS_CONTAINERD",
        "validImageTypes": ["COS_CONTAINERD", "UBUNTU_CONTAINERD"],
        "channels": [
            {"channel": "RAPID", "defaultVersion": VALID_VERSIONS[0]},
            {"channel": "REGULAR", "defaultVersion": VALID_VERSIONS[0]},
            {"channel": "STABLE", "defaultVersion": VALID_VERSIONS[1]},
            {"channel": "EXTENDED", "defaultVersion": VALID_VERSIONS[2]},
        ],
    })
}

/// A stable fingerprint of a JSON value, as GKE's labelFingerprint.
fn fingerprint(v: &Json) -> String {
    let s = v.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:016x}", h)[..8].to_string()
}

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}
