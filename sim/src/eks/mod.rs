//! The EKS face: clusters, node groups, add-ons, access entries and updates
//! as botocore's EKS service model describes them (`api/`), answered in
//! AWS's JSON error shape (`x-amzn-ErrorType`). It keeps EKS's contract
//! where the provider depends on it: statuses that move over
//! `--operation-time` (CREATING -> ACTIVE -> UPDATING -> DELETING), update
//! IDs followed through DescribeUpdate, one update at a time per cluster,
//! one kind of change per UpdateClusterConfig, Kubernetes upgrades one
//! minor version at a time, no delete while node groups are attached, no
//! node group on a cluster that is not ACTIVE, add-ons DEGRADED while no
//! node group runs, and failures (FAILED, CREATE_FAILED with health
//! issues, failed updates) through the fault API.

mod clusters;
pub mod model;
mod nodegroups;
mod pod_identity;
pub mod token;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::faults::Outcome;

/// The account every simulated ARN is in (moto's default).
pub const ACCOUNT: &str = "123456789012";
/// The Kubernetes version clusters get when the request names none.
pub const DEFAULT_VERSION: &str = "1.33";
pub(super) const VERSIONS: &[&str] = &["1.30", "1.31", "1.32", "1.33", "1.34"];
/// Add-ons whose pods need nodes: DEGRADED until a node group is ACTIVE.
const NEEDS_NODES: &[&str] = &["coredns", "aws-ebs-csi-driver", "metrics-server"];

/// Simulated EKS state, by cluster ARN.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Eks {
    /// Clusters in the API's `Cluster` shape.
    pub clusters: BTreeMap<String, Json>,
    /// Node groups by cluster, then name (`Nodegroup` shape).
    pub nodegroups: BTreeMap<String, BTreeMap<String, Json>>,
    /// Add-ons by cluster, then name (`Addon` shape).
    pub addons: BTreeMap<String, BTreeMap<String, Json>>,
    /// Access entries by cluster, then principal, with their policies.
    pub access_entries: BTreeMap<String, BTreeMap<String, Json>>,
    /// Pod Identity associations by cluster, then ID
    /// (`PodIdentityAssociation` shape).
    #[serde(default)]
    pub pod_identity_associations: BTreeMap<String, BTreeMap<String, Json>>,
    /// Updates by cluster, oldest first.
    pub updates: BTreeMap<String, Vec<Update>>,
    /// Changes that happen when their time comes.
    pub pending: Vec<Pending>,
}

/// An update and the change it makes when it succeeds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Update {
    /// The `Update` shape.
    pub body: Json,
    pub nodegroup: Option<String>,
    pub addon: Option<String>,
    /// Merged into the cluster or node group on success.
    pub patch: Json,
}

/// A status change to come.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub cluster: String,
    pub change: Change,
    pub outcome: Outcome,
    /// Due now after a restart from a state file.
    #[serde(skip, default = "Instant::now")]
    pub at: Instant,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    ClusterActive,
    ClusterGone,
    NodegroupActive(String),
    NodegroupGone(String),
    AddonActive(String),
    AddonGone(String),
    UpdateDone(String),
}

/// An error in AWS's terms: the error shape's name and a message.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub kind: &'static str,
    pub message: String,
}

impl AwsError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        AwsError {
            kind,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        AwsError::new("ResourceNotFoundException", message)
    }

    fn in_use(message: impl Into<String>) -> Self {
        AwsError::new("ResourceInUseException", message)
    }

    fn invalid(message: impl Into<String>) -> Self {
        AwsError::new("InvalidParameterException", message)
    }

    fn bad_request(message: impl Into<String>) -> Self {
        AwsError::new("InvalidRequestException", message)
    }
}

/// Everything a handler needs besides the state.
pub struct Context<'a> {
    pub operation: &'a str,
    pub params: &'a std::collections::HashMap<String, String>,
    pub query: &'a BTreeMap<String, Vec<String>>,
    pub body: Json,
    pub region: String,
    pub operation_time: Duration,
    pub outcome: &'a mut dyn FnMut() -> Outcome,
    pub next_id: u64,
}

impl Context<'_> {
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    fn query_one(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// The ARN of the cluster named in the path.
    fn cluster_arn(&self) -> String {
        let name = match self.param("name") {
            "" => self.param("clusterName"),
            n => n,
        };
        cluster_arn(&self.region, name)
    }

    fn uuid(&self) -> String {
        let n = self.next_id;
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            n * 2_654_435_761 % 0xffff_ffff,
            n % 0xffff,
            n % 0xfff,
            (n * 7) % 0xfff,
            n
        )
    }
}

pub fn cluster_arn(region: &str, name: &str) -> String {
    format!("arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}")
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        .floor()
}

/// `major.minor` of a version.
fn minor(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Merges `patch` into `target` (objects recursively, the rest replaced).
fn merge(target: &mut Json, patch: &Json) {
    match (target, patch) {
        (Json::Object(t), Json::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

impl Eks {
    /// Makes the changes whose time has come.
    pub fn advance(&mut self, now: Instant) {
        let (due, later): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.outcome != Outcome::Stick && p.at <= now);
        self.pending = later;
        for p in due {
            self.finish(p);
        }
        // Add-ons that need nodes recover once a node group runs (or Auto
        // Mode launches nodes for them).
        let with_nodes: Vec<String> = self
            .addons
            .keys()
            .filter(|c| self.has_active_nodes(c))
            .cloned()
            .collect();
        for (cluster, addons) in &mut self.addons {
            let nodes = with_nodes.contains(cluster);
            for addon in addons.values_mut() {
                if addon["status"] == "DEGRADED" && nodes {
                    addon["status"] = json!("ACTIVE");
                    addon["health"] = json!({"issues": []});
                }
            }
        }
    }

    /// Nodes for pods: an ACTIVE node group, or Auto Mode, which launches
    /// nodes for pending pods.
    pub fn has_active_nodes(&self, cluster: &str) -> bool {
        let auto_mode = self
            .clusters
            .get(cluster)
            .is_some_and(|c| c["computeConfig"]["enabled"] == true && c["status"] == "ACTIVE");
        auto_mode
            || self
                .nodegroups
                .get(cluster)
                .is_some_and(|groups| groups.values().any(|g| g["status"] == "ACTIVE"))
    }

    fn finish(&mut self, p: Pending) {
        let failed = p.outcome == Outcome::Fail;
        let cluster = p.cluster.clone();
        match p.change {
            Change::ClusterActive => {
                if let Some(c) = self.clusters.get_mut(&cluster) {
                    if failed {
                        c["status"] = json!("FAILED");
                        c["health"] = json!({"issues": [{"code": "Ec2SubnetNotFound", "message": "The subnet could not be found (injected by genesis-sim).", "resourceIds": c["resourcesVpcConfig"]["subnetIds"].clone()}]});
                    } else {
                        c["status"] = json!("ACTIVE");
                    }
                }
            }
            Change::ClusterGone => {
                self.clusters.remove(&cluster);
                self.nodegroups.remove(&cluster);
                self.addons.remove(&cluster);
                self.access_entries.remove(&cluster);
                self.pod_identity_associations.remove(&cluster);
                self.updates.remove(&cluster);
            }
            Change::NodegroupActive(name) => {
                if let Some(g) = self
                    .nodegroups
                    .get_mut(&cluster)
                    .and_then(|g| g.get_mut(&name))
                {
                    if failed {
                        g["status"] = json!("CREATE_FAILED");
                        g["health"] = json!({"issues": [
                            {"code": "AsgInstanceLaunchFailures", "message": "Could not launch On-Demand Instances. InsufficientInstanceCapacity - We currently do not have sufficient capacity in the Availability Zone you requested (injected by genesis-sim).", "resourceIds": [format!("eks-{name}-asg")]},
                            {"code": "NodeCreationFailure", "message": "Instances failed to join the kubernetes cluster (injected by genesis-sim).", "resourceIds": []},
                        ]});
                    } else {
                        g["status"] = json!("ACTIVE");
                    }
                }
            }
            Change::NodegroupGone(name) => {
                if let Some(groups) = self.nodegroups.get_mut(&cluster) {
                    groups.remove(&name);
                }
            }
            Change::AddonActive(name) => {
                let nodes = self.has_active_nodes(&cluster);
                if let Some(a) = self.addons.get_mut(&cluster).and_then(|a| a.get_mut(&name)) {
                    if failed {
                        a["status"] = json!("CREATE_FAILED");
                        a["health"] = json!({"issues": [{"code": "ConfigurationConflict", "message": "Conflicts found when trying to apply (injected by genesis-sim).", "resourceIds": []}]});
                    } else if NEEDS_NODES.contains(&name.as_str()) && !nodes {
                        a["status"] = json!("DEGRADED");
                        a["health"] = json!({"issues": [{"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.", "resourceIds": []}]});
                    } else {
                        a["status"] = json!("ACTIVE");
                    }
                }
            }
            Change::AddonGone(name) => {
                if let Some(addons) = self.addons.get_mut(&cluster) {
                    addons.remove(&name);
                }
            }
            Change::UpdateDone(id) => self.finish_update(&cluster, &id, failed),
        }
    }

    fn finish_update(&mut self, cluster: &str, id: &str, failed: bool) {
        let Some(update) = self
            .updates
            .get_mut(cluster)
            .and_then(|u| u.iter_mut().find(|u| u.body["id"] == id))
        else {
            return;
        };
        if failed {
            update.body["status"] = json!("Failed");
            update.body["errors"] = json!([{"errorCode": "Unknown", "errorMessage": "The update failed (injected by genesis-sim).", "resourceIds": [cluster]}]);
        } else {
            update.body["status"] = json!("Successful");
        }
        let (patch, nodegroup) = (update.patch.clone(), update.nodegroup.clone());
        match nodegroup {
            Some(name) => {
                if let Some(g) = self
                    .nodegroups
                    .get_mut(cluster)
                    .and_then(|g| g.get_mut(&name))
                {
                    if !failed {
                        nodegroups::apply_patch(g, &patch);
                    }
                    g["status"] = json!("ACTIVE");
                    g["modifiedAt"] = json!(now_epoch());
                }
            }
            None => {
                if let Some(c) = self.clusters.get_mut(cluster) {
                    if !failed {
                        merge(c, &patch);
                    }
                    c["status"] = json!("ACTIVE");
                }
            }
        }
    }

    /// Schedules a change after the operation time, as the fault API says
    /// it will end; with no operation time it happens at once.
    fn schedule(&mut self, ctx: &mut Context<'_>, cluster: &str, change: Change) -> Outcome {
        let outcome = (ctx.outcome)();
        let p = Pending {
            cluster: cluster.to_string(),
            change,
            outcome,
            at: Instant::now() + ctx.operation_time,
        };
        if ctx.operation_time.is_zero() && outcome != Outcome::Stick {
            self.finish(p);
        } else {
            self.pending.push(p);
        }
        outcome
    }

    fn cluster(&self, arn: &str) -> Result<&Json, AwsError> {
        self.clusters.get(arn).ok_or_else(|| {
            AwsError::not_found(format!(
                "No cluster found for name: {}.",
                arn.rsplit('/').next().unwrap_or(arn)
            ))
        })
    }

    fn update_running(&self, cluster: &str, nodegroup: Option<&str>) -> bool {
        self.updates.get(cluster).is_some_and(|u| {
            u.iter().any(|u| {
                u.body["status"] == "InProgress"
                    && (nodegroup.is_none() || u.nodegroup.as_deref() == nodegroup)
            })
        })
    }

    /// Refuses a cluster change unless the cluster is ACTIVE with no update
    /// running, as EKS does.
    fn ready_for_change(&self, arn: &str) -> Result<(), AwsError> {
        let c = self.cluster(arn)?;
        let name = c["name"].as_str().unwrap_or_default();
        if self.update_running(arn, None) || c["status"] == "UPDATING" {
            return Err(AwsError::in_use(format!(
                "Cluster {name} has an update in progress: wait for it to finish."
            )));
        }
        if c["status"] != "ACTIVE" {
            return Err(AwsError::in_use(format!(
                "Cluster {name} is in {} status; try again when it is ACTIVE.",
                c["status"].as_str().unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Starts an update; the cluster (or node group) is UPDATING until it
    /// ends.
    fn start_update(
        &mut self,
        ctx: &mut Context<'_>,
        cluster: &str,
        kind: &str,
        params: Vec<(&str, String)>,
        patch: Json,
        nodegroup: Option<String>,
    ) -> Json {
        let id = ctx.uuid();
        let body = json!({
            "id": id,
            "status": "InProgress",
            "type": kind,
            "params": params.iter().map(|(t, v)| json!({"type": t, "value": v})).collect::<Vec<_>>(),
            "createdAt": now_epoch(),
            "errors": [],
        });
        match &nodegroup {
            Some(name) => {
                if let Some(g) = self
                    .nodegroups
                    .get_mut(cluster)
                    .and_then(|g| g.get_mut(name))
                {
                    g["status"] = json!("UPDATING");
                }
            }
            None => {
                if let Some(c) = self.clusters.get_mut(cluster) {
                    c["status"] = json!("UPDATING");
                }
            }
        }
        self.updates
            .entry(cluster.to_string())
            .or_default()
            .push(Update {
                body: body.clone(),
                nodegroup,
                addon: None,
                patch,
            });
        self.schedule(ctx, cluster, Change::UpdateDone(id.clone()));
        let current = self
            .updates
            .get(cluster)
            .and_then(|u| u.iter().find(|u| u.body["id"] == id))
            .map_or(body, |u| u.body.clone());
        json!({"update": current})
    }

    /// Serves one EKS operation.
    pub fn handle(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        match ctx.operation {
            "CreateCluster" => self.create_cluster(ctx),
            "DescribeCluster" => Ok(json!({"cluster": self.cluster(&ctx.cluster_arn())?})),
            "ListClusters" => {
                let prefix = format!("arn:aws:eks:{}:{ACCOUNT}:cluster/", ctx.region);
                let names: Vec<&str> = self
                    .clusters
                    .keys()
                    .filter_map(|k| k.strip_prefix(&prefix))
                    .collect();
                Ok(json!({"clusters": names}))
            }
            "DeleteCluster" => self.delete_cluster(ctx),
            "UpdateClusterConfig" => self.update_cluster_config(ctx),
            "UpdateClusterVersion" => self.update_cluster_version(ctx),
            "AssociateEncryptionConfig" => self.associate_encryption(ctx),
            "DescribeUpdate" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let id = ctx.param("updateId");
                self.updates
                    .get(&arn)
                    .and_then(|u| u.iter().find(|u| u.body["id"] == id))
                    .map(|u| json!({"update": u.body}))
                    .ok_or_else(|| AwsError::not_found(format!("No update found for ID: {id}")))
            }
            "ListUpdates" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let group = ctx.query_one("nodegroupName");
                let ids: Vec<Json> = self
                    .updates
                    .get(&arn)
                    .into_iter()
                    .flatten()
                    .filter(|u| u.nodegroup.as_deref() == group)
                    .map(|u| u.body["id"].clone())
                    .collect();
                Ok(json!({"updateIds": ids}))
            }
            "CreateNodegroup" => self.create_nodegroup(ctx),
            "DescribeNodegroup" => self.describe_nodegroup(ctx),
            "ListNodegroups" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let names: Vec<&String> = self
                    .nodegroups
                    .get(&arn)
                    .into_iter()
                    .flat_map(|g| g.keys())
                    .collect();
                Ok(json!({"nodegroups": names}))
            }
            "DeleteNodegroup" => self.delete_nodegroup(ctx),
            "UpdateNodegroupConfig" => self.update_nodegroup_config(ctx),
            "UpdateNodegroupVersion" => self.update_nodegroup_version(ctx),
            "CreateAddon" => self.create_addon(ctx),
            "DescribeAddon" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let name = ctx.param("addonName");
                self.addons
                    .get(&arn)
                    .and_then(|a| a.get(name))
                    .map(|a| json!({"addon": a}))
                    .ok_or_else(|| {
                        AwsError::not_found(format!(
                            "No addon: {name} found in cluster: {}",
                            arn.rsplit('/').next().unwrap_or_default()
                        ))
                    })
            }
            "ListAddons" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let names: Vec<&String> = self
                    .addons
                    .get(&arn)
                    .into_iter()
                    .flat_map(|a| a.keys())
                    .collect();
                Ok(json!({"addons": names}))
            }
            "DeleteAddon" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let name = ctx.param("addonName").to_string();
                let addon = self
                    .addons
                    .get_mut(&arn)
                    .and_then(|a| a.get_mut(&name))
                    .ok_or_else(|| {
                        AwsError::not_found(format!("No addon: {name} found in cluster"))
                    })?;
                addon["status"] = json!("DELETING");
                let body = addon.clone();
                self.schedule(ctx, &arn, Change::AddonGone(name));
                Ok(json!({"addon": body}))
            }
            "CreateAccessEntry" => self.create_access_entry(ctx),
            "CreatePodIdentityAssociation"
            | "DescribePodIdentityAssociation"
            | "UpdatePodIdentityAssociation"
            | "DeletePodIdentityAssociation"
            | "ListPodIdentityAssociations" => self.pod_identity(ctx),
            "DescribeAccessEntry" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let principal = ctx.param("principalArn");
                self.access_entries
                    .get(&arn)
                    .and_then(|e| e.get(principal))
                    .map(|e| json!({"accessEntry": e["entry"]}))
                    .ok_or_else(|| {
                        AwsError::not_found(format!(
                            "The specified principalArn could not be found: {principal}"
                        ))
                    })
            }
            "ListAccessEntries" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let names: Vec<&String> = self
                    .access_entries
                    .get(&arn)
                    .into_iter()
                    .flat_map(|e| e.keys())
                    .collect();
                Ok(json!({"accessEntries": names}))
            }
            "DeleteAccessEntry" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let principal = ctx.param("principalArn");
                self.access_entries
                    .get_mut(&arn)
                    .and_then(|e| e.remove(principal))
                    .map(|_| json!({}))
                    .ok_or_else(|| {
                        AwsError::not_found(format!(
                            "The specified principalArn could not be found: {principal}"
                        ))
                    })
            }
            "AssociateAccessPolicy" => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let principal = ctx.param("principalArn").to_string();
                let entry = self
                    .access_entries
                    .get_mut(&arn)
                    .and_then(|e| e.get_mut(&principal))
                    .ok_or_else(|| {
                        AwsError::not_found(format!(
                            "The specified principalArn could not be found: {principal}"
                        ))
                    })?;
                let policy = json!({
                    "policyArn": ctx.body["policyArn"],
                    "accessScope": ctx.body["accessScope"],
                    "associatedAt": now_epoch(),
                    "modifiedAt": now_epoch(),
                });
                let policies = entry["policies"]
                    .as_array_mut()
                    .expect("entries keep a policy list");
                policies.retain(|p| p["policyArn"] != ctx.body["policyArn"]);
                policies.push(policy.clone());
                Ok(json!({
                    "clusterName": arn.rsplit('/').next(),
                    "principalArn": principal,
                    "associatedAccessPolicy": policy,
                }))
            }
            "ListAssociatedAccessPolicies" => {
                let arn = ctx.cluster_arn();
                let principal = ctx.param("principalArn");
                let policies = self
                    .access_entries
                    .get(&arn)
                    .and_then(|e| e.get(principal))
                    .map(|e| e["policies"].clone())
                    .ok_or_else(|| {
                        AwsError::not_found(format!(
                            "The specified principalArn could not be found: {principal}"
                        ))
                    })?;
                Ok(
                    json!({"clusterName": arn.rsplit('/').next(), "principalArn": principal, "associatedAccessPolicies": policies}),
                )
            }
            "TagResource" => {
                let target = ctx.param("resourceArn").to_string();
                let tags = ctx.body["tags"].clone();
                let object = self.tagged(&target)?;
                merge(&mut object["tags"], &tags);
                Ok(json!({}))
            }
            "UntagResource" => {
                let target = ctx.param("resourceArn").to_string();
                let keys = ctx.query.get("tagKeys").cloned().unwrap_or_default();
                let object = self.tagged(&target)?;
                if let Some(tags) = object["tags"].as_object_mut() {
                    for key in keys {
                        tags.remove(&key);
                    }
                }
                Ok(json!({}))
            }
            "ListTagsForResource" => {
                let target = ctx.param("resourceArn").to_string();
                Ok(json!({"tags": self.tagged(&target)?["tags"]}))
            }
            other => Err(AwsError::new(
                "NotImplementedException",
                format!("{other} is not implemented by genesis-sim"),
            )),
        }
    }

    /// A cluster, node group or add-on by ARN, for behind-your-back
    /// changes through the control API.
    pub fn object(&mut self, arn: &str) -> Option<&mut Json> {
        self.tagged(arn).ok()
    }

    /// Removes a cluster, node group or add-on at once, as if deleted
    /// outside Terraform.
    pub fn remove(&mut self, arn: &str) -> bool {
        if self.clusters.remove(arn).is_some() {
            self.nodegroups.remove(arn);
            self.addons.remove(arn);
            self.access_entries.remove(arn);
            self.updates.remove(arn);
            return true;
        }
        for groups in self.nodegroups.values_mut() {
            let before = groups.len();
            groups.retain(|_, g| g["nodegroupArn"] != arn);
            if groups.len() != before {
                return true;
            }
        }
        for addons in self.addons.values_mut() {
            let before = addons.len();
            addons.retain(|_, a| a["addonArn"] != arn);
            if addons.len() != before {
                return true;
            }
        }
        false
    }

    /// The cluster, node group or add-on with this ARN, to tag.
    fn tagged(&mut self, arn: &str) -> Result<&mut Json, AwsError> {
        let missing = || AwsError::new("NotFoundException", format!("Resource not found: {arn}"));
        if self.clusters.contains_key(arn) {
            return self.clusters.get_mut(arn).ok_or_else(missing);
        }
        for groups in self.nodegroups.values_mut() {
            if let Some(g) = groups.values_mut().find(|g| g["nodegroupArn"] == arn) {
                return Ok(g);
            }
        }
        for addons in self.addons.values_mut() {
            if let Some(a) = addons.values_mut().find(|a| a["addonArn"] == arn) {
                return Ok(a);
            }
        }
        Err(missing())
    }

    fn create_addon(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        let c = self.cluster(&arn)?;
        let cluster = c["name"].as_str().unwrap_or_default().to_string();
        if c["status"] != "ACTIVE" && c["status"] != "UPDATING" {
            return Err(AwsError::bad_request(format!(
                "Cluster {cluster} is not in ACTIVE status"
            )));
        }
        let name = ctx.body["addonName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if self.addons.get(&arn).is_some_and(|a| a.contains_key(&name)) {
            return Err(AwsError::in_use(format!("Addon already exists: {name}")));
        }
        let addon = json!({
            "addonName": name,
            "clusterName": cluster,
            "status": "CREATING",
            "addonVersion": ctx.body["addonVersion"].as_str().unwrap_or("v1.0.0-eksbuild.1"),
            "health": {"issues": []},
            "addonArn": format!("arn:aws:eks:{}:{ACCOUNT}:addon/{cluster}/{name}/{}", ctx.region, ctx.uuid()),
            "createdAt": now_epoch(),
            "modifiedAt": now_epoch(),
            "tags": ctx.body["tags"].as_object().cloned().unwrap_or_default(),
            "owner": "aws",
            "publisher": "eks",
        });
        self.addons
            .entry(arn.clone())
            .or_default()
            .insert(name.clone(), addon);
        self.schedule(ctx, &arn, Change::AddonActive(name.clone()));
        Ok(json!({"addon": self.addons[&arn][&name]}))
    }

    fn create_access_entry(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        let c = self.cluster(&arn)?;
        let cluster = c["name"].as_str().unwrap_or_default().to_string();
        if c["accessConfig"]["authenticationMode"] == "CONFIG_MAP" {
            return Err(AwsError::bad_request(
                "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
            ));
        }
        let principal = ctx.body["principalArn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if self
            .access_entries
            .get(&arn)
            .is_some_and(|e| e.contains_key(&principal))
        {
            return Err(AwsError::in_use(format!(
                "The specified access entry resource is already in use on this cluster: {principal}"
            )));
        }
        let entry = json!({
            "clusterName": cluster,
            "principalArn": principal,
            "kubernetesGroups": ctx.body["kubernetesGroups"].as_array().cloned().unwrap_or_default(),
            "accessEntryArn": format!("arn:aws:eks:{}:{ACCOUNT}:access-entry/{cluster}/{}", ctx.region, ctx.uuid()),
            "createdAt": now_epoch(),
            "modifiedAt": now_epoch(),
            "tags": ctx.body["tags"].as_object().cloned().unwrap_or_default(),
            "username": principal,
            "type": ctx.body["type"].as_str().unwrap_or("STANDARD"),
        });
        self.access_entries
            .entry(arn)
            .or_default()
            .insert(principal, json!({"entry": entry, "policies": []}));
        Ok(json!({"accessEntry": entry}))
    }
}
