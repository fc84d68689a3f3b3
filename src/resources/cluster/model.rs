//! `genesis_cluster`'s state and the back ends' `ClusterSpec`: decoded
//! once at the resource's edge, written back once from what the cloud
//! reports. Settings of the other cloud are null in the state.

use super::config::ClusterConfig;
use super::schema::{default_addons, environment_defaults};
use crate::cloud::cluster::{
    AuthorizedNetwork, ClusterAddress, ClusterCloud, ClusterSpec, EksCluster, GkeCluster,
    ObservedCluster,
};
use crate::framework::schema::Block;
use crate::framework::value::Value;

use super::super::common::state_with;

/// The resource label that records `environment` on the cluster itself, so
/// an imported cluster plans no change.
pub const ENVIRONMENT_LABEL: &str = "genesis-environment";

/// Settings of a GKE cluster: null in the state of an EKS one.
pub const GKE_ONLY: &[&str] = &[
    "project_id",
    "zone",
    "description",
    "release_channel",
    "network",
    "subnetwork",
    "enable_private_cluster",
    "master_ipv4_cidr_block",
    "enable_workload_identity",
    "enable_binary_authorization",
    "enable_network_policy",
    "enable_shielded_nodes",
    "enable_managed_prometheus",
    "monitoring_components",
    "self_link",
];

/// Where a GKE control plane lives: the zone of a zonal cluster, else the
/// region.
pub fn location_of(state: &Value) -> String {
    let zonal = state.get("regional_cluster").as_bool() == Some(false);
    let field = if zonal { "zone" } else { "region" };
    state.get(field).as_str().unwrap_or_default().to_string()
}

pub fn is_eks(state: &Value) -> bool {
    state.get("cloud").as_str() == Some("aws")
}

/// Where the cluster in this state is.
pub fn address_of(state: &Value) -> ClusterAddress {
    let string = |name: &str| state.get(name).as_str().unwrap_or_default().to_string();
    if is_eks(state) {
        ClusterAddress::Eks {
            region: string("region"),
            name: string("name"),
        }
    } else {
        ClusterAddress::Gke {
            project: string("project_id"),
            location: location_of(state),
            name: string("name"),
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.string_elements()
        .into_iter()
        .map(str::to_string)
        .collect()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out = strings(v);
    out.sort();
    out
}

/// The configuration in the back end's terms.
pub fn spec_of(config: &ClusterConfig) -> ClusterSpec {
    let mut labels = config.labels.clone().unwrap_or_default();
    labels.insert(ENVIRONMENT_LABEL.into(), config.environment.clone());
    let sorted = |items: &Option<Vec<String>>| {
        let mut items = items.clone().unwrap_or_default();
        items.sort();
        items
    };
    let flag = |v: Option<bool>| v == Some(true);
    let region = config.region.clone().unwrap_or_default();
    let cloud = if config.cloud == "aws" {
        let eks = config.eks.clone().unwrap_or_default();
        ClusterCloud::Eks(EksCluster {
            region,
            role_arn: eks.role_arn.clone(),
            node_role_arn: eks.node_role_arn.clone(),
            subnet_ids: sorted(&Some(eks.subnet_ids.clone())),
            security_group_ids: sorted(&eks.security_group_ids),
            endpoint_private_access: flag(eks.endpoint_private_access)
                || config.enable_private_endpoint,
            authentication_mode: eks.authentication_mode.clone(),
            secrets_encryption: flag(eks.secrets_encryption),
            kms_key_arn: eks.kms_key_arn.clone(),
            ip_family: eks.ip_family.clone(),
            service_ipv4_cidr: eks.service_ipv4_cidr.clone(),
            addons: match &eks.addons {
                Some(_) => sorted(&eks.addons),
                None => default_addons(config.enable_autopilot)
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
            deletion_protection: flag(config.deletion_protection),
            support_type: eks.support_type.clone(),
        })
    } else {
        ClusterCloud::Gke(GkeCluster {
            project: config.project_id.clone().unwrap_or_default(),
            location: if config.regional_cluster {
                region
            } else {
                config.zone.clone().unwrap_or_default()
            },
            description: config.description.clone(),
            release_channel: config.release_channel.clone(),
            network: config.network.clone().unwrap_or_else(|| "default".into()),
            subnetwork: config
                .subnetwork
                .clone()
                .unwrap_or_else(|| "default".into()),
            private_nodes: flag(config.enable_private_cluster),
            master_cidr: config.master_ipv4_cidr_block.clone(),
            workload_identity: flag(config.enable_workload_identity),
            binary_authorization: flag(config.enable_binary_authorization),
            network_policy: flag(config.enable_network_policy),
            shielded_nodes: flag(config.enable_shielded_nodes),
            managed_prometheus: flag(config.enable_managed_prometheus),
            monitoring_components: sorted(&config.monitoring_components),
        })
    };
    ClusterSpec {
        name: config.name.clone(),
        kubernetes_version: config.kubernetes_version.clone(),
        private_endpoint: config.enable_private_endpoint,
        authorized_networks: config
            .master_authorized_networks
            .iter()
            .flatten()
            .map(|n| AuthorizedNetwork {
                cidr_block: n.cidr_block.clone(),
                display_name: n.display_name.clone().unwrap_or_default(),
            })
            .collect(),
        logging_components: sorted(&config.logging_components),
        labels,
        autopilot: config.enable_autopilot,
        cloud,
    }
}

/// A list in the base's order when it holds the same members (the cloud
/// may report them in another order).
fn list_like(base: &Value, items: &[String]) -> Value {
    let mut have = sorted(base);
    let mut want = items.to_vec();
    have.sort();
    want.sort();
    if !base.is_null() && have == want {
        return base.clone();
    }
    if items.is_empty() && base.is_null() {
        return Value::Null;
    }
    Value::List(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn set_of(items: &[String]) -> Value {
    Value::set(items.iter().map(|s| Value::from(s.as_str())).collect())
}

/// The state after reading the cluster: what the API reports, plus what
/// only the configuration holds (deletion protection, timeouts, the
/// requested version).
pub fn state_from(base: &Value, observed: &ObservedCluster) -> Value {
    let spec = &observed.spec;
    let mut state = base.clone();
    let set = |state: &mut Value, name: &str, v: Value| state.set_attr(name, v);
    set(&mut state, "id", observed.id.clone().into());
    set(&mut state, "name", spec.name.clone().into());
    set(
        &mut state,
        "enable_private_endpoint",
        spec.private_endpoint.into(),
    );
    let networks: Vec<Value> = spec
        .authorized_networks
        .iter()
        .map(|n| {
            // A name EKS lost (a tag removed) keeps the configuration's.
            let known = base
                .get("master_authorized_networks")
                .elements()
                .iter()
                .find(|b| b.get("cidr_block").as_str() == Some(n.cidr_block.as_str()))
                .map(|b| b.get("display_name").clone());
            let display = if !n.display_name.is_empty() {
                n.display_name.clone().into()
            } else if spec.eks().is_some() {
                known.unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            Value::object([
                ("cidr_block", n.cidr_block.clone().into()),
                ("display_name", display),
            ])
        })
        .collect();
    set(
        &mut state,
        "master_authorized_networks",
        if networks.is_empty() {
            Value::Null
        } else {
            Value::List(networks)
        },
    );
    set(
        &mut state,
        "logging_components",
        set_of(&spec.logging_components),
    );
    let mut labels = spec.labels.clone();
    if let Some(environment) = labels.remove(ENVIRONMENT_LABEL) {
        set(&mut state, "environment", environment.into());
    }
    let labels_value = if labels.is_empty() && base.get("labels").is_null() {
        Value::Null
    } else {
        Value::Map(labels.into_iter().map(|(k, v)| (k, v.into())).collect())
    };
    set(&mut state, "labels", labels_value);
    set(&mut state, "endpoint", observed.endpoint.clone().into());
    set(
        &mut state,
        "ca_certificate",
        observed.ca_certificate.clone().into(),
    );
    set(&mut state, "status", observed.status.clone().into());
    set(
        &mut state,
        "master_version",
        observed.master_version.clone().into(),
    );
    set(&mut state, "self_link", observed.self_link.clone().into());
    set(&mut state, "enable_autopilot", spec.autopilot.into());
    match &spec.cloud {
        ClusterCloud::Gke(g) => gke_into_state(&mut state, g, spec.autopilot),
        ClusterCloud::Eks(e) => eks_into_state(&mut state, base, e, &spec.kubernetes_version),
    }
    // After an import the configuration-only settings follow the
    // environment (its default first), as a plan would set them, so the
    // import plans no change.
    if state.get("environment").is_null() {
        set(&mut state, "environment", "dev".into());
    }
    if state.get("deletion_protection").is_null() || state.get("deletion_protection").is_unknown() {
        let protect = state
            .get("environment")
            .as_str()
            .map(|e| environment_defaults(e).deletion_protection);
        set(&mut state, "deletion_protection", protect.into());
    }
    state
}

fn gke_into_state(state: &mut Value, g: &GkeCluster, autopilot: bool) {
    if state.get("kubernetes_version").is_unknown() {
        state.set_attr("kubernetes_version", Value::Null);
    }
    let zonal = ClusterName::zone_of(&g.location).is_some();
    let mut set = |name: &str, v: Value| state.set_attr(name, v);
    set("cloud", "gcp".into());
    set("project_id", g.project.clone().into());
    set("regional_cluster", (!zonal).into());
    if zonal {
        let region = g
            .location
            .rsplit_once('-')
            .map_or(g.location.as_str(), |(r, _)| r);
        set("region", region.into());
        set("zone", g.location.clone().into());
    } else {
        set("region", g.location.clone().into());
        set("zone", Value::Null);
    }
    set("location", g.location.clone().into());
    set("description", g.description.clone().into());
    set("network", g.network.clone().into());
    set("subnetwork", g.subnetwork.clone().into());
    set("enable_private_cluster", g.private_nodes.into());
    set("master_ipv4_cidr_block", g.master_cidr.clone().into());
    set("enable_workload_identity", g.workload_identity.into());
    set("enable_binary_authorization", g.binary_authorization.into());
    set("enable_managed_prometheus", g.managed_prometheus.into());
    set("monitoring_components", set_of(&g.monitoring_components));
    set("eks", Value::Null);
    if g.release_channel.is_some() {
        set("release_channel", g.release_channel.clone().into());
    }
    if !autopilot {
        set("enable_network_policy", g.network_policy.into());
        set("enable_shielded_nodes", g.shielded_nodes.into());
    } else {
        // Autopilot always enforces network policy (Dataplane V2) and
        // shields its nodes, and GKE reports neither as a setting: an
        // imported Autopilot cluster has both, as a planned one does.
        for name in ["enable_network_policy", "enable_shielded_nodes"] {
            if !state.get(name).is_set() {
                state.set_attr(name, true.into());
            }
        }
    }
}

fn eks_into_state(state: &mut Value, base: &Value, e: &EksCluster, version: &Option<String>) {
    for name in GKE_ONLY {
        state.set_attr(name, Value::Null);
    }
    state.set_attr("kubernetes_version", version.clone().into());
    state.set_attr("cloud", "aws".into());
    state.set_attr("region", e.region.clone().into());
    state.set_attr("location", e.region.clone().into());
    state.set_attr("regional_cluster", true.into());
    // EKS keeps the protection itself: what it reports is the truth.
    state.set_attr("deletion_protection", e.deletion_protection.into());
    let old = base.get("eks");
    let security_groups =
        if e.security_group_ids.is_empty() && old.get("security_group_ids").is_null() {
            Value::Null
        } else {
            list_like(old.get("security_group_ids"), &e.security_group_ids)
        };
    state.set_attr(
        "eks",
        Value::object([
            ("role_arn", e.role_arn.clone().into()),
            ("node_role_arn", e.node_role_arn.clone().into()),
            (
                "subnet_ids",
                list_like(old.get("subnet_ids"), &e.subnet_ids),
            ),
            ("security_group_ids", security_groups),
            ("endpoint_private_access", e.endpoint_private_access.into()),
            ("authentication_mode", e.authentication_mode.clone().into()),
            ("secrets_encryption", e.secrets_encryption.into()),
            ("kms_key_arn", e.kms_key_arn.clone().into()),
            ("ip_family", e.ip_family.clone().into()),
            ("service_ipv4_cidr", e.service_ipv4_cidr.clone().into()),
            ("addons", set_of(&e.addons)),
            ("support_type", e.support_type.clone().into()),
        ]),
    );
}

/// The location of a new cluster. Its `id` stays unknown until the cluster
/// exists, even though it could be predicted from the name: when a cluster
/// is replaced under the same name, the unknown id is what tells its node
/// pools and workloads that they are replaced with it (as with the google
/// provider). A predicted id would plan them as unchanged, and the new
/// cluster would come up empty.
pub fn plan_computed_location(planned: &mut Value) {
    let location = if planned.get("cloud").as_str() == Some("gcp")
        && planned.get("regional_cluster").as_bool() == Some(false)
    {
        planned.get("zone").clone()
    } else {
        planned.get("region").clone()
    };
    planned.set_attr("location", location);
}

/// A cluster's identity, parsed from an ID or an import string.
#[derive(Debug, PartialEq, Eq)]
pub enum ClusterName {
    Gcp {
        project: String,
        location: String,
        name: String,
    },
    Aws {
        region: String,
        account: String,
        name: String,
    },
}

impl ClusterName {
    /// Where the named cluster is, for the back end.
    pub fn address(&self) -> ClusterAddress {
        match self {
            ClusterName::Gcp {
                project,
                location,
                name,
            } => ClusterAddress::Gke {
                project: project.clone(),
                location: location.clone(),
                name: name.clone(),
            },
            ClusterName::Aws { region, name, .. } => ClusterAddress::Eks {
                region: region.clone(),
                name: name.clone(),
            },
        }
    }

    pub fn parse(id: &str) -> Option<ClusterName> {
        if let Some(rest) = id.strip_prefix("arn:aws:eks:") {
            let parts: Vec<&str> = rest.split(':').collect();
            if let [region, account, resource] = parts.as_slice()
                && let Some(name) = resource.strip_prefix("cluster/")
                && !region.is_empty()
                && !name.is_empty()
            {
                return Some(ClusterName::Aws {
                    region: region.to_string(),
                    account: account.to_string(),
                    name: name.to_string(),
                });
            }
            return None;
        }
        let parts: Vec<&str> = id.split('/').collect();
        let (project, location, name) = match parts.as_slice() {
            ["projects", p, "locations", l, "clusters", n] => (*p, *l, *n),
            [p, l, n] => (*p, *l, *n),
            _ => return None,
        };
        if [project, location, name].iter().any(|s| s.is_empty()) {
            return None;
        }
        Some(ClusterName::Gcp {
            project: project.to_string(),
            location: location.to_string(),
            name: name.to_string(),
        })
    }

    pub fn id(&self) -> String {
        match self {
            ClusterName::Gcp {
                project,
                location,
                name,
            } => {
                format!("projects/{project}/locations/{location}/clusters/{name}")
            }
            ClusterName::Aws {
                region,
                account,
                name,
            } => format!("arn:aws:eks:{region}:{account}:cluster/{name}"),
        }
    }

    /// A GKE location is a zone when it has a zone suffix (`us-central1-a`).
    fn zone_of(location: &str) -> Option<(&str, &str)> {
        let (region, suffix) = location.rsplit_once('-')?;
        (suffix.len() == 1
            && suffix.chars().all(|c| c.is_ascii_lowercase())
            && region.contains('-'))
        .then_some((region, location))
    }

    pub fn import_state(&self, block: &Block) -> Value {
        match self {
            ClusterName::Gcp {
                project,
                location,
                name,
            } => {
                let (region, zone, regional) = match ClusterName::zone_of(location) {
                    Some((region, zone)) => (region.to_string(), Value::from(zone), false),
                    None => (location.clone(), Value::Null, true),
                };
                state_with(
                    block,
                    &[
                        ("id", self.id().into()),
                        ("cloud", "gcp".into()),
                        ("name", name.as_str().into()),
                        ("project_id", project.as_str().into()),
                        ("region", region.into()),
                        ("zone", zone),
                        ("regional_cluster", regional.into()),
                        ("location", location.as_str().into()),
                    ],
                )
            }
            ClusterName::Aws { region, name, .. } => state_with(
                block,
                &[
                    ("id", self.id().into()),
                    ("cloud", "aws".into()),
                    ("name", name.as_str().into()),
                    ("region", region.as_str().into()),
                    ("regional_cluster", true.into()),
                    ("location", region.as_str().into()),
                ],
            ),
        }
    }
}

/// A validator: the value is a cluster's ID (`genesis_cluster`'s `id`).
pub fn cluster_id(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if ClusterName::parse(s).is_none() => Err(format!(
            "{s:?} is not a cluster ID: use a genesis_cluster's id (`genesis_cluster.NAME.id`), i.e. projects/PROJECT/locations/LOCATION/clusters/NAME or an EKS cluster ARN."
        )),
        _ => Ok(()),
    }
}
