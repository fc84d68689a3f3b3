//! Clusters: created with EKS's checks (name, two subnets or more, known
//! version, an endpoint left on), deleted only without node groups, and
//! changed through updates of one kind each.

use serde_json::{Value as Json, json};

use super::{
    AwsError, Change, Context, DEFAULT_VERSION, Eks, VERSIONS, cluster_arn, merge, minor, now_epoch,
};

impl Eks {
    pub(super) fn create_cluster(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        let body = ctx.body.clone();
        let name = body["name"].as_str().unwrap_or_default().to_string();
        let valid = !name.is_empty()
            && name.len() <= 100
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(AwsError::invalid(format!(
                "The cluster name {name:?} must start with a letter or digit and hold only letters, digits, hyphens and underscores, at most 100 characters."
            )));
        }
        let arn = cluster_arn(&ctx.region, &name);
        if self.clusters.contains_key(&arn) {
            return Err(AwsError::in_use(format!(
                "Cluster already exists with name: {name}"
            )));
        }
        let vpc = &body["resourcesVpcConfig"];
        let subnets = vpc["subnetIds"].as_array().cloned().unwrap_or_default();
        if subnets.len() < 2 {
            return Err(AwsError::invalid(
                "Subnets specified must be in at least two different AZs",
            ));
        }
        let version = body["version"].as_str().unwrap_or(DEFAULT_VERSION);
        if !VERSIONS.contains(&version) {
            return Err(AwsError::invalid(format!(
                "unsupported Kubernetes version {version}"
            )));
        }
        for config in body["encryptionConfig"].as_array().into_iter().flatten() {
            if config["resources"] != json!(["secrets"]) {
                return Err(AwsError::invalid(
                    "Only the secrets resource can be encrypted",
                ));
            }
        }
        let public = vpc["endpointPublicAccess"].as_bool().unwrap_or(true);
        let private = vpc["endpointPrivateAccess"].as_bool().unwrap_or(false);
        if !public && !private {
            return Err(AwsError::invalid(
                "Either the public or the private endpoint must be enabled",
            ));
        }
        let network = &body["kubernetesNetworkConfig"];
        let ip_family = network["ipFamily"].as_str().unwrap_or("ipv4");
        let auto_mode = auto_mode_of(&body, None)?;
        if auto_mode == Some(true) {
            if body["bootstrapSelfManagedAddons"] != false {
                return Err(AwsError::invalid(
                    "When EKS Auto Mode is enabled, bootstrapSelfManagedAddons must be set to false.",
                ));
            }
            if body["accessConfig"]["authenticationMode"].as_str() == Some("CONFIG_MAP") {
                return Err(AwsError::invalid(
                    "EKS Auto Mode requires the cluster's authentication mode to be API or API_AND_CONFIG_MAP.",
                ));
            }
        }
        let mut cluster = json!({
            "name": name,
            "arn": arn,
            "createdAt": now_epoch(),
            "version": version,
            "endpoint": null,
            "roleArn": body["roleArn"],
            "resourcesVpcConfig": {
                "subnetIds": subnets,
                "securityGroupIds": vpc["securityGroupIds"].as_array().cloned().unwrap_or_default(),
                "clusterSecurityGroupId": format!("sg-{:017x}", ctx.next_id),
                "vpcId": format!("vpc-{:017x}", ctx.next_id),
                "endpointPublicAccess": public,
                "endpointPrivateAccess": private,
                "publicAccessCidrs": if public { vpc["publicAccessCidrs"].as_array().cloned().unwrap_or_else(|| vec![json!("0.0.0.0/0")]) } else { Vec::new() },
            },
            "kubernetesNetworkConfig": {
                "serviceIpv4Cidr": network["serviceIpv4Cidr"].as_str().unwrap_or("10.100.0.0/16"),
                "ipFamily": ip_family,
            },
            "logging": logging_of(&body["logging"], &json!({"clusterLogging": []})),
            "identity": {"oidc": {"issuer": format!("https://oidc.eks.{}.amazonaws.com/id/{:032X}", ctx.region, ctx.next_id)}},
            "status": "CREATING",
            "certificateAuthority": {},
            "platformVersion": "eks.1",
            "tags": body["tags"].as_object().cloned().unwrap_or_default(),
            "encryptionConfig": body["encryptionConfig"].as_array().cloned().unwrap_or_default(),
            "accessConfig": {
                "authenticationMode": body["accessConfig"]["authenticationMode"].as_str().unwrap_or("API_AND_CONFIG_MAP"),
                "bootstrapClusterCreatorAdminPermissions": body["accessConfig"]["bootstrapClusterCreatorAdminPermissions"].as_bool().unwrap_or(true),
            },
            "health": {"issues": []},
            "deletionProtection": body["deletionProtection"].as_bool().unwrap_or(false),
            "upgradePolicy": {"supportType": body["upgradePolicy"]["supportType"].as_str().unwrap_or("EXTENDED")},
        });
        if let Some(on) = auto_mode {
            merge(&mut cluster, &auto_mode_patch(on, &body["computeConfig"]));
        }
        self.clusters.insert(arn.clone(), cluster);
        self.schedule(ctx, &arn, Change::ClusterActive);
        Ok(json!({"cluster": self.clusters[&arn]}))
    }

    pub(super) fn delete_cluster(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        let c = self.cluster(&arn)?;
        let name = c["name"].as_str().unwrap_or_default().to_string();
        if self.nodegroups.get(&arn).is_some_and(|g| !g.is_empty()) {
            return Err(AwsError::in_use("Cluster has nodegroups attached"));
        }
        if self.update_running(&arn, None) {
            return Err(AwsError::in_use(format!(
                "Cannot delete because cluster {name} currently has an update in progress"
            )));
        }
        if c["status"] == "DELETING" {
            return Ok(json!({"cluster": c}));
        }
        if c["deletionProtection"] == true {
            return Err(AwsError::invalid(format!(
                "Cluster {name} has deletion protection enabled. Disable deletion protection before deleting the cluster."
            )));
        }
        if let Some(c) = self.clusters.get_mut(&arn) {
            c["status"] = json!("DELETING");
        }
        let body = self.clusters[&arn].clone();
        self.schedule(ctx, &arn, Change::ClusterGone);
        Ok(json!({"cluster": body}))
    }

    pub(super) fn update_cluster_config(
        &mut self,
        ctx: &mut Context<'_>,
    ) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        self.ready_for_change(&arn)?;
        let body = ctx.body.clone();
        let current = self.clusters[&arn].clone();
        let vpc = body["resourcesVpcConfig"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let endpoint = [
            "endpointPublicAccess",
            "endpointPrivateAccess",
            "publicAccessCidrs",
        ]
        .iter()
        .any(|k| vpc.contains_key(*k));
        let network = ["subnetIds", "securityGroupIds"]
            .iter()
            .any(|k| vpc.contains_key(*k));
        let mut kinds: Vec<&str> = Vec::new();
        if endpoint {
            kinds.push("EndpointAccessUpdate");
        }
        if network {
            kinds.push("VpcConfigUpdate");
        }
        // Auto Mode's three capabilities are one update.
        let load_balancing = !body["kubernetesNetworkConfig"]["elasticLoadBalancing"].is_null();
        for (member, kind) in [
            ("logging", "LoggingUpdate"),
            ("accessConfig", "AccessConfigUpdate"),
            ("upgradePolicy", "UpgradePolicyUpdate"),
            ("zonalShiftConfig", "ZonalShiftConfigUpdate"),
            ("computeConfig", "AutoModeUpdate"),
            (
                "kubernetesNetworkConfig",
                if load_balancing {
                    "AutoModeUpdate"
                } else {
                    "ConfigUpdate"
                },
            ),
            ("storageConfig", "AutoModeUpdate"),
            ("remoteNetworkConfig", "RemoteNetworkConfigUpdate"),
            ("deletionProtection", "DeletionProtectionUpdate"),
        ] {
            if !body[member].is_null() && !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        match kinds.as_slice() {
            [] => return Err(AwsError::invalid("No changes were requested.")),
            [_] => {}
            _ => {
                return Err(AwsError::invalid(format!(
                    "Only one type of update can be allowed. Requested: {}",
                    kinds.join(", ")
                )));
            }
        }
        let mut patch = json!({});
        let mut params = Vec::new();
        match kinds[0] {
            "EndpointAccessUpdate" => {
                let mut merged = current["resourcesVpcConfig"].clone();
                for k in [
                    "endpointPublicAccess",
                    "endpointPrivateAccess",
                    "publicAccessCidrs",
                ] {
                    if let Some(v) = vpc.get(k) {
                        merged[k] = v.clone();
                    }
                }
                if merged["endpointPublicAccess"] == false
                    && merged["endpointPrivateAccess"] == false
                {
                    return Err(AwsError::invalid(
                        "Either the public or the private endpoint must be enabled",
                    ));
                }
                if merged["endpointPublicAccess"] == false {
                    merged["publicAccessCidrs"] = json!([]);
                } else if merged["publicAccessCidrs"]
                    .as_array()
                    .is_none_or(Vec::is_empty)
                {
                    merged["publicAccessCidrs"] = json!(["0.0.0.0/0"]);
                }
                if merged == current["resourcesVpcConfig"] {
                    return Err(AwsError::invalid(
                        "Cluster is already at the desired configuration with endpointPrivateAccess and endpointPublicAccess as requested",
                    ));
                }
                for (k, t) in [
                    ("endpointPublicAccess", "EndpointPublicAccess"),
                    ("endpointPrivateAccess", "EndpointPrivateAccess"),
                    ("publicAccessCidrs", "PublicAccessCidrs"),
                ] {
                    params.push((t, merged[k].to_string()));
                }
                patch["resourcesVpcConfig"] = merged;
            }
            "VpcConfigUpdate" => {
                let mut merged = current["resourcesVpcConfig"].clone();
                for k in ["subnetIds", "securityGroupIds"] {
                    if let Some(v) = vpc.get(k) {
                        merged[k] = v.clone();
                    }
                }
                if merged["subnetIds"].as_array().is_none_or(|s| s.len() < 2) {
                    return Err(AwsError::invalid(
                        "Subnets specified must be in at least two different AZs",
                    ));
                }
                params.push(("Subnets", merged["subnetIds"].to_string()));
                params.push(("SecurityGroups", merged["securityGroupIds"].to_string()));
                patch["resourcesVpcConfig"] = merged;
            }
            "LoggingUpdate" => {
                let merged = logging_of(&body["logging"], &current["logging"]);
                if merged == current["logging"] {
                    return Err(AwsError::invalid(
                        "The type for cluster logging is already in the requested state",
                    ));
                }
                params.push(("ClusterLogging", merged.to_string()));
                patch["logging"] = merged;
            }
            "AccessConfigUpdate" => {
                let modes = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];
                let rank = |m: &Json| modes.iter().position(|x| m.as_str() == Some(*x));
                let (from, to) = (
                    rank(&current["accessConfig"]["authenticationMode"]),
                    rank(&body["accessConfig"]["authenticationMode"]),
                );
                match (from, to) {
                    (Some(a), Some(b)) if b > a => {}
                    (Some(a), Some(b)) if b == a => {
                        return Err(AwsError::invalid(
                            "The cluster is already in the requested authentication mode",
                        ));
                    }
                    _ => {
                        return Err(AwsError::invalid(format!(
                            "Unsupported authentication mode update from {} to {}",
                            current["accessConfig"]["authenticationMode"],
                            body["accessConfig"]["authenticationMode"]
                        )));
                    }
                }
                params.push((
                    "AuthenticationMode",
                    body["accessConfig"]["authenticationMode"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
                patch["accessConfig"] =
                    json!({"authenticationMode": body["accessConfig"]["authenticationMode"]});
            }
            "AutoModeUpdate" => {
                let Some(on) = auto_mode_of(&body, Some(&current))? else {
                    return Err(AwsError::invalid("No changes were requested."));
                };
                if on && current["accessConfig"]["authenticationMode"] == "CONFIG_MAP" {
                    return Err(AwsError::invalid(
                        "EKS Auto Mode requires the cluster's authentication mode to be API or API_AND_CONFIG_MAP.",
                    ));
                }
                let node_role = &current["computeConfig"]["nodeRoleArn"];
                let asked = &body["computeConfig"]["nodeRoleArn"];
                if on && node_role.is_string() && asked.is_string() && asked != node_role {
                    return Err(AwsError::invalid(
                        "nodeRoleArn cannot be changed once the compute capability of EKS Auto Mode has been enabled.",
                    ));
                }
                params.push(("ComputeConfig", body["computeConfig"].to_string()));
                params.push(("StorageConfig", body["storageConfig"].to_string()));
                params.push((
                    "KubernetesNetworkConfig",
                    body["kubernetesNetworkConfig"].to_string(),
                ));
                patch = auto_mode_patch(on, &body["computeConfig"]);
            }
            "DeletionProtectionUpdate" => {
                if body["deletionProtection"] == current["deletionProtection"] {
                    return Err(AwsError::invalid(
                        "Cluster is already at the desired configuration with deletionProtection as requested",
                    ));
                }
                params.push(("DeletionProtection", body["deletionProtection"].to_string()));
                patch["deletionProtection"] = body["deletionProtection"].clone();
            }
            other => {
                for (member, _) in body.as_object().into_iter().flatten() {
                    if member != "clientRequestToken" {
                        patch[member] = body[member].clone();
                    }
                }
                params.push(("ConfigurationValues", other.to_string()));
            }
        }
        Ok(self.start_update(ctx, &arn, kinds[0], params, patch, None))
    }

    pub(super) fn update_cluster_version(
        &mut self,
        ctx: &mut Context<'_>,
    ) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        self.ready_for_change(&arn)?;
        let current = self.clusters[&arn]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let wanted = ctx.body["version"].as_str().unwrap_or_default().to_string();
        if current == wanted {
            return Err(AwsError::invalid(format!(
                "Cluster is already at the desired version {wanted}"
            )));
        }
        let step = match (minor(&current), minor(&wanted)) {
            (Some((a, b)), Some((c, d))) => a == c && d == b + 1,
            _ => false,
        };
        if !step || !VERSIONS.contains(&wanted.as_str()) {
            return Err(AwsError::invalid(format!(
                "Unsupported Kubernetes minor version update from {current} to {wanted}"
            )));
        }
        let patch = json!({"version": wanted, "platformVersion": "eks.1"});
        Ok(self.start_update(
            ctx,
            &arn,
            "VersionUpdate",
            vec![
                ("Version", wanted.clone()),
                ("PlatformVersion", "eks.1".into()),
            ],
            patch,
            None,
        ))
    }

    pub(super) fn associate_encryption(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        self.ready_for_change(&arn)?;
        if self.clusters[&arn]["encryptionConfig"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
        {
            return Err(AwsError::invalid(
                "Encryption is already enabled on the cluster",
            ));
        }
        let config = ctx.body["encryptionConfig"].clone();
        if config
            .as_array()
            .is_none_or(|c| c.iter().any(|e| e["resources"] != json!(["secrets"])))
        {
            return Err(AwsError::invalid(
                "Only the secrets resource can be encrypted",
            ));
        }
        let patch = json!({"encryptionConfig": config});
        Ok(self.start_update(
            ctx,
            &arn,
            "AssociateEncryptionConfig",
            vec![("EncryptionConfig", config.to_string())],
            patch,
            None,
        ))
    }
}

/// Whether a request turns Auto Mode on (`Some(true)`), off, or leaves it
/// (`None`): EKS takes the three capabilities only all on or all off. An
/// update is checked with what it leaves as the cluster has it.
fn auto_mode_of(body: &Json, current: Option<&Json>) -> Result<Option<bool>, AwsError> {
    let paths: [&[&str]; 3] = [
        &["computeConfig", "enabled"],
        &["storageConfig", "blockStorage", "enabled"],
        &["kubernetesNetworkConfig", "elasticLoadBalancing", "enabled"],
    ];
    let at = |v: &Json, path: &[&str]| path.iter().fold(v.clone(), |v, k| v[*k].clone());
    let asked: Vec<Json> = paths.iter().map(|p| at(body, p)).collect();
    if asked.iter().all(Json::is_null) {
        return Ok(None);
    }
    let values: Vec<bool> = paths
        .iter()
        .zip(&asked)
        .map(|(p, v)| match (v, current) {
            (Json::Bool(b), _) => *b,
            (_, Some(c)) => at(c, p) == true,
            (_, None) => false,
        })
        .collect();
    if values.iter().any(|v| *v != values[0]) {
        return Err(AwsError::invalid(
            "For EKS Auto Mode, please ensure that all required configs, including computeConfig, kubernetesNetworkConfig, and blockStorage are all either fully enabled or fully disabled.",
        ));
    }
    let compute = &body["computeConfig"];
    let pools = compute["nodePools"].as_array().cloned().unwrap_or_default();
    if let Some(bad) = pools
        .iter()
        .find(|p| !matches!(p.as_str(), Some("general-purpose" | "system")))
    {
        return Err(AwsError::invalid(format!(
            "Unsupported node pool {bad}: the built-in node pools are general-purpose and system."
        )));
    }
    if values[0] && !pools.is_empty() && compute["nodeRoleArn"].as_str().is_none_or(str::is_empty) {
        return Err(AwsError::invalid(
            "nodeRoleArn is required when nodePools are specified.",
        ));
    }
    Ok(Some(values[0]))
}

/// The cluster's Auto Mode settings as DescribeCluster reports them.
fn auto_mode_patch(on: bool, compute: &Json) -> Json {
    let compute = if on {
        json!({
            "enabled": true,
            "nodePools": compute["nodePools"].as_array().cloned().unwrap_or_default(),
            "nodeRoleArn": compute["nodeRoleArn"],
        })
    } else {
        json!({"enabled": false, "nodePools": [], "nodeRoleArn": null})
    };
    json!({
        "computeConfig": compute,
        "storageConfig": {"blockStorage": {"enabled": on}},
        "kubernetesNetworkConfig": {"elasticLoadBalancing": {"enabled": on}},
    })
}

/// The cluster's logging after a request: each requested setup turns its
/// types on or off, the rest stay as they are. Reported as one enabled and
/// one disabled setup, as EKS does.
fn logging_of(requested: &Json, current: &Json) -> Json {
    let all = [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ];
    let mut on: Vec<&str> = current["clusterLogging"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["enabled"] == true)
        .flat_map(|s| {
            s["types"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
        })
        .collect();
    for setup in requested["clusterLogging"].as_array().into_iter().flatten() {
        for t in setup["types"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
        {
            on.retain(|x| *x != t);
            if setup["enabled"] == true {
                on.push(t);
            }
        }
    }
    let on: Vec<&str> = all.iter().copied().filter(|t| on.contains(t)).collect();
    let off: Vec<&str> = all.iter().copied().filter(|t| !on.contains(t)).collect();
    let mut setups = Vec::new();
    if !on.is_empty() {
        setups.push(json!({"types": on, "enabled": true}));
    }
    if !off.is_empty() {
        setups.push(json!({"types": off, "enabled": false}));
    }
    json!({"clusterLogging": setups})
}
