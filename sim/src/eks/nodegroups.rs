//! Managed node groups: created only on an ACTIVE cluster, sized within
//! their bounds (EKS's own messages), changed through updates one at a time
//! per node group, never newer than their cluster.

use serde_json::{Value as Json, json};

use super::{ACCOUNT, AwsError, Change, Context, Eks, merge, minor, now_epoch};

/// EKS's check of a scaling configuration.
fn check_scaling(scaling: &Json) -> Result<(), AwsError> {
    let get = |k: &str| scaling[k].as_i64();
    let (Some(min), Some(max), Some(desired)) =
        (get("minSize"), get("maxSize"), get("desiredSize"))
    else {
        return Ok(());
    };
    if max < 1 {
        return Err(AwsError::invalid("Maximum capacity must be at least 1"));
    }
    if min > max {
        return Err(AwsError::invalid(format!(
            "Minimum capacity {min} can't be greater than maximum capacity {max}"
        )));
    }
    if min > desired {
        return Err(AwsError::invalid(format!(
            "Minimum capacity {min} can't be greater than desired size {desired}"
        )));
    }
    if desired > max {
        return Err(AwsError::invalid(format!(
            "Desired capacity {desired} can't be greater than max size {max}"
        )));
    }
    Ok(())
}

fn check_update_config(config: &Json) -> Result<(), AwsError> {
    if let Some(n) = config["maxUnavailable"].as_i64()
        && !(1..=100).contains(&n)
    {
        return Err(AwsError::invalid(format!(
            "maxUnavailable {n} must be between 1 and 100"
        )));
    }
    if let Some(n) = config["maxUnavailablePercentage"].as_i64()
        && !(1..=100).contains(&n)
    {
        return Err(AwsError::invalid(format!(
            "maxUnavailablePercentage {n} must be between 1 and 100"
        )));
    }
    Ok(())
}

/// Applies a node group update's change: labels and taints added or
/// removed, the rest merged.
pub fn apply_patch(group: &mut Json, patch: &Json) {
    let mut patch = patch.clone();
    if let Some(labels) = patch.as_object_mut().and_then(|p| p.remove("labels")) {
        let current = group["labels"].as_object_mut();
        if let Some(current) = current {
            for key in labels["removeLabels"].as_array().into_iter().flatten() {
                if let Some(k) = key.as_str() {
                    current.remove(k);
                }
            }
            for (k, v) in labels["addOrUpdateLabels"]
                .as_object()
                .into_iter()
                .flatten()
            {
                current.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(taints) = patch.as_object_mut().and_then(|p| p.remove("taints")) {
        let mut current: Vec<Json> = group["taints"].as_array().cloned().unwrap_or_default();
        let same = |a: &Json, b: &Json| a["key"] == b["key"] && a["effect"] == b["effect"];
        for gone in taints["removeTaints"].as_array().into_iter().flatten() {
            current.retain(|t| !same(t, gone));
        }
        for added in taints["addOrUpdateTaints"].as_array().into_iter().flatten() {
            current.retain(|t| !same(t, added));
            current.push(added.clone());
        }
        group["taints"] = json!(current);
    }
    merge(group, &patch);
}

impl Eks {
    fn nodegroup(&self, cluster: &str, name: &str) -> Result<&Json, AwsError> {
        self.nodegroups
            .get(cluster)
            .and_then(|g| g.get(name))
            .ok_or_else(|| AwsError::not_found(format!("No node group found for name: {name}.")))
    }

    pub(super) fn create_nodegroup(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        let c = self.cluster(&arn)?;
        let cluster = c["name"].as_str().unwrap_or_default().to_string();
        let cluster_version = c["version"].as_str().unwrap_or_default().to_string();
        if c["status"] != "ACTIVE" {
            return Err(AwsError::bad_request(format!(
                "Cluster '{cluster}' is not in ACTIVE status"
            )));
        }
        let body = ctx.body.clone();
        let name = body["nodegroupName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if self
            .nodegroups
            .get(&arn)
            .is_some_and(|g| g.contains_key(&name))
        {
            return Err(AwsError::in_use(format!(
                "NodeGroup already exists with name {name} and cluster name {cluster}"
            )));
        }
        let mut scaling = json!({"minSize": 1, "maxSize": 2, "desiredSize": 2});
        merge(&mut scaling, &body["scalingConfig"]);
        if body["scalingConfig"]["desiredSize"].is_null() {
            scaling["desiredSize"] = scaling["minSize"].clone();
            if scaling["desiredSize"] == 0 {
                scaling["desiredSize"] = json!(0);
            }
        }
        check_scaling(&scaling)?;
        let mut update_config = json!({"maxUnavailable": 1});
        if body["updateConfig"].is_object() {
            update_config = body["updateConfig"].clone();
        }
        check_update_config(&update_config)?;
        let version = body["version"]
            .as_str()
            .unwrap_or(&cluster_version)
            .to_string();
        if minor(&version) > minor(&cluster_version) {
            return Err(AwsError::invalid(format!(
                "Requested Nodegroup release version {version} is newer than the cluster version {cluster_version}"
            )));
        }
        if body["subnets"].as_array().is_none_or(Vec::is_empty) {
            return Err(AwsError::invalid("Subnets are required"));
        }
        for taint in body["taints"].as_array().into_iter().flatten() {
            if taint["key"].as_str().is_none_or(str::is_empty) {
                return Err(AwsError::invalid("Taint key cannot be empty"));
            }
        }
        let group = json!({
            "nodegroupName": name,
            "nodegroupArn": format!("arn:aws:eks:{}:{ACCOUNT}:nodegroup/{cluster}/{name}/{}", ctx.region, ctx.uuid()),
            "clusterName": cluster,
            "version": version,
            "releaseVersion": format!("{version}.0-20261101"),
            "createdAt": now_epoch(),
            "modifiedAt": now_epoch(),
            "status": "CREATING",
            "capacityType": body["capacityType"].as_str().unwrap_or("ON_DEMAND"),
            "scalingConfig": scaling,
            "instanceTypes": body["instanceTypes"].as_array().cloned().unwrap_or_else(|| vec![json!("t3.medium")]),
            "subnets": body["subnets"],
            "amiType": body["amiType"].as_str().unwrap_or("AL2023_x86_64_STANDARD"),
            "nodeRole": body["nodeRole"],
            "labels": body["labels"].as_object().cloned().unwrap_or_default(),
            "taints": body["taints"].as_array().cloned().unwrap_or_default(),
            "resources": {"autoScalingGroups": [{"name": format!("eks-{name}-{}", ctx.next_id)}]},
            "diskSize": body["diskSize"].as_i64().unwrap_or(20),
            "health": {"issues": []},
            "updateConfig": update_config,
            "nodeRepairConfig": if body["nodeRepairConfig"].is_object() { body["nodeRepairConfig"].clone() } else { json!({"enabled": false}) },
            "tags": body["tags"].as_object().cloned().unwrap_or_default(),
        });
        self.nodegroups
            .entry(arn.clone())
            .or_default()
            .insert(name.clone(), group);
        self.schedule(ctx, &arn, Change::NodegroupActive(name.clone()));
        Ok(json!({"nodegroup": self.nodegroups[&arn][&name]}))
    }

    pub(super) fn describe_nodegroup(&self, ctx: &Context<'_>) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        self.cluster(&arn)?;
        Ok(json!({"nodegroup": self.nodegroup(&arn, ctx.param("nodegroupName"))?}))
    }

    pub(super) fn delete_nodegroup(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        self.cluster(&arn)?;
        let name = ctx.param("nodegroupName").to_string();
        self.nodegroup(&arn, &name)?;
        if self.update_running(&arn, Some(&name)) {
            return Err(AwsError::in_use(format!(
                "Nodegroup {name} cannot be deleted because it has an update in progress"
            )));
        }
        let group = self
            .nodegroups
            .get_mut(&arn)
            .and_then(|g| g.get_mut(&name))
            .expect("checked above");
        if group["status"] == "DELETING" {
            return Ok(json!({"nodegroup": group}));
        }
        group["status"] = json!("DELETING");
        let body = group.clone();
        self.schedule(ctx, &arn, Change::NodegroupGone(name));
        Ok(json!({"nodegroup": body}))
    }

    /// Refuses a node group change unless it is ACTIVE (or DEGRADED) with
    /// no update running.
    fn group_ready(&self, cluster: &str, name: &str) -> Result<Json, AwsError> {
        let group = self.nodegroup(cluster, name)?;
        if self.update_running(cluster, Some(name)) {
            return Err(AwsError::in_use(format!(
                "Nodegroup {name} has an update in progress: wait for it to finish."
            )));
        }
        if group["status"] != "ACTIVE" && group["status"] != "DEGRADED" {
            return Err(AwsError::in_use(format!(
                "Nodegroup {name} is in {} status",
                group["status"].as_str().unwrap_or_default()
            )));
        }
        Ok(group.clone())
    }

    pub(super) fn update_nodegroup_config(
        &mut self,
        ctx: &mut Context<'_>,
    ) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        self.cluster(&arn)?;
        let name = ctx.param("nodegroupName").to_string();
        let group = self.group_ready(&arn, &name)?;
        let body = ctx.body.clone();
        let mut patch = json!({});
        let mut params = Vec::new();
        if body["scalingConfig"].is_object() {
            let mut scaling = group["scalingConfig"].clone();
            merge(&mut scaling, &body["scalingConfig"]);
            check_scaling(&scaling)?;
            for (k, t) in [
                ("minSize", "MinSize"),
                ("maxSize", "MaxSize"),
                ("desiredSize", "DesiredSize"),
            ] {
                if !body["scalingConfig"][k].is_null() {
                    params.push((t, scaling[k].to_string()));
                }
            }
            patch["scalingConfig"] = scaling;
        }
        if body["updateConfig"].is_object() {
            check_update_config(&body["updateConfig"])?;
            params.push(("MaxUnavailable", body["updateConfig"].to_string()));
            patch["updateConfig"] = body["updateConfig"].clone();
        }
        if body["labels"].is_object() {
            params.push((
                "LabelsToAdd",
                body["labels"]["addOrUpdateLabels"].to_string(),
            ));
            patch["labels"] = body["labels"].clone();
        }
        if body["nodeRepairConfig"].is_object() {
            params.push((
                "NodeRepairEnabled",
                body["nodeRepairConfig"]["enabled"].to_string(),
            ));
            patch["nodeRepairConfig"] = body["nodeRepairConfig"].clone();
        }
        if body["taints"].is_object() {
            params.push((
                "TaintsToAdd",
                body["taints"]["addOrUpdateTaints"].to_string(),
            ));
            patch["taints"] = body["taints"].clone();
        }
        if params.is_empty() {
            return Err(AwsError::invalid("No changes needed"));
        }
        Ok(self.start_update(ctx, &arn, "ConfigUpdate", params, patch, Some(name)))
    }

    pub(super) fn update_nodegroup_version(
        &mut self,
        ctx: &mut Context<'_>,
    ) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        let cluster_version = self.cluster(&arn)?["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = ctx.param("nodegroupName").to_string();
        let group = self.group_ready(&arn, &name)?;
        let version = ctx.body["version"]
            .as_str()
            .unwrap_or(&cluster_version)
            .to_string();
        if minor(&version) > minor(&cluster_version) {
            return Err(AwsError::invalid(format!(
                "Requested Nodegroup version {version} is newer than the cluster version {cluster_version}"
            )));
        }
        if group["version"] == version.as_str() {
            return Err(AwsError::invalid(format!(
                "Nodegroup {name} is already at version {version}"
            )));
        }
        let patch = json!({"version": version, "releaseVersion": format!("{version}.0-20261101")});
        Ok(self.start_update(
            ctx,
            &arn,
            "VersionUpdate",
            vec![("Version", version.clone())],
            patch,
            Some(name),
        ))
    }
}
