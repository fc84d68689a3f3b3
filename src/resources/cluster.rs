//! `genesis_cluster`: a GKE cluster (Autopilot or Standard, regional or
//! zonal) or an EKS cluster, with secure defaults that follow from its
//! `environment`, and the namespaces the platform needs inside it.
//!
//! Attribute names follow the Genesis container-orchestration module, so a
//! team moving from the module copies its values over unchanged.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::common::{
    self, backend_missing, bad_import_id, only_for_cloud, state_with, timeouts_block, wait_for,
};
use crate::cloud::cluster::{ClusterSpec, Clusters, ObservedCluster};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::path::AttributePath;
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::types::Type;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::kube::namespaces::NamespaceSpec;
use crate::provider::ProviderContext;

pub const TYPE_NAME: &str = "genesis_cluster";

const ENVIRONMENTS: &[&str] = &["dev", "staging", "prod"];
const RELEASE_CHANNELS: &[&str] = &["RAPID", "REGULAR", "STABLE", "EXTENDED", "UNSPECIFIED"];
const MONITORING_COMPONENTS: &[&str] = &[
    "SYSTEM_COMPONENTS",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
    "STORAGE",
    "HPA",
    "POD",
    "DAEMONSET",
    "DEPLOYMENT",
    "STATEFULSET",
    "CADVISOR",
    "KUBELET",
    "DCGM",
    "JOBSET",
];
const LOGGING_COMPONENTS: &[&str] = &[
    "SYSTEM_COMPONENTS",
    "WORKLOADS",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
];
const POD_SECURITY_LEVELS: &[&str] = &["privileged", "baseline", "restricted"];
/// Namespaces every cluster has and Kubernetes itself manages.
const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Settings whose default follows from `environment`.
struct EnvironmentDefaults {
    release_channel: &'static str,
    enable_private_cluster: bool,
    enable_binary_authorization: bool,
    enable_managed_prometheus: bool,
    deletion_protection: bool,
}

fn environment_defaults(environment: &str) -> EnvironmentDefaults {
    match environment {
        "prod" => EnvironmentDefaults {
            release_channel: "STABLE",
            enable_private_cluster: true,
            enable_binary_authorization: true,
            enable_managed_prometheus: true,
            deletion_protection: true,
        },
        "staging" => EnvironmentDefaults {
            release_channel: "REGULAR",
            enable_private_cluster: true,
            enable_binary_authorization: false,
            enable_managed_prometheus: true,
            deletion_protection: false,
        },
        _ => EnvironmentDefaults {
            release_channel: "RAPID",
            enable_private_cluster: false,
            enable_binary_authorization: false,
            enable_managed_prometheus: false,
            deletion_protection: false,
        },
    }
}

/// The default control-plane range of a private cluster.
const DEFAULT_MASTER_CIDR: &str = "172.16.0.0/28";

pub struct Cluster;

fn schema() -> Schema {
    let attributes = vec![
        Attribute::string("id")
            .computed()
            .describe("The cluster's ID: `projects/PROJECT/locations/LOCATION/clusters/NAME` on GCP, the cluster ARN on AWS. Node pools and workloads name their cluster by this ID."),
        Attribute::string("name")
            .required()
            .force_new()
            .validate(validators::gke_name)
            .describe("The cluster's name: lowercase letters, digits and hyphens, starting with a letter, at most 40 characters. Changing it replaces the cluster."),
        Attribute::string("description")
            .force_new()
            .describe("A description of the cluster. Changing it replaces the cluster (GKE cannot change it in place)."),
        common::cloud_attribute(),
        Attribute::string("project_id")
            .optional_computed()
            .force_new()
            .describe("The Google Cloud project (GCP only). Defaults to the provider's `project`."),
        Attribute::string("region")
            .optional_computed()
            .force_new()
            .describe("The region. Defaults to the provider's `region` (`aws_region` for AWS). A regional GKE cluster runs its control plane and nodes across the region's zones."),
        Attribute::string("zone")
            .force_new()
            .describe("The zone of a zonal GKE cluster (`regional_cluster = false`), e.g. `us-central1-a`. Defaults to the provider's `zone`. Zonal clusters cost less but have a single-zone control plane."),
        Attribute::bool("regional_cluster")
            .default(true)
            .force_new()
            .describe("Whether the GKE cluster is regional (default) or zonal. Changing it replaces the cluster."),
        Attribute::string("environment")
            .default("dev")
            .validate(validators::one_of(ENVIRONMENTS))
            .describe("`dev`, `staging` or `prod`. Sets the defaults of `release_channel`, `enable_private_cluster`, `enable_binary_authorization`, `enable_managed_prometheus` and `deletion_protection`; anything set explicitly wins.\n\n| setting | dev | staging | prod |\n|---|---|---|---|\n| release_channel | RAPID | REGULAR | STABLE |\n| enable_private_cluster | false | true | true |\n| enable_binary_authorization | false | false | true |\n| enable_managed_prometheus | false | true | true |\n| deletion_protection | false | false | true |"),
        Attribute::bool("enable_autopilot")
            .default(false)
            .force_new()
            .describe("Create a GKE Autopilot cluster: Google manages the nodes, so `genesis_node_pool` cannot be used with it. Changing it replaces the cluster."),
        Attribute::string("release_channel")
            .optional_computed()
            .validate(validators::one_of(RELEASE_CHANNELS))
            .describe("The GKE release channel: `RAPID`, `REGULAR`, `STABLE`, `EXTENDED`, or `UNSPECIFIED` to pin `kubernetes_version`. Default from `environment`."),
        Attribute::string("kubernetes_version")
            .describe("The minimum Kubernetes version of the control plane, e.g. `1.33`. Left out, the release channel's default is used."),
        Attribute::string("master_version")
            .computed()
            .describe("The Kubernetes version the control plane runs."),
        Attribute::string("network")
            .default("default")
            .force_new()
            .describe("The VPC network (GCP) the cluster is attached to."),
        Attribute::string("subnetwork")
            .default("default")
            .force_new()
            .describe("The subnetwork (GCP) for the cluster's nodes."),
        Attribute::bool("enable_private_cluster")
            .optional_computed()
            .force_new()
            .describe("Give nodes internal IP addresses only. Default from `environment`. Changing it replaces the cluster."),
        Attribute::bool("enable_private_endpoint")
            .default(false)
            .describe("Make the control plane reachable only from inside the VPC. Requires `enable_private_cluster`."),
        Attribute::string("master_ipv4_cidr_block")
            .optional_computed()
            .force_new()
            .validate(validators::cidr_with_prefix(28))
            .describe("The /28 private range of the control plane of a private cluster. Default `172.16.0.0/28` when `enable_private_cluster` is on."),
        Attribute::object_list(
            "master_authorized_networks",
            vec![
                Attribute::string("cidr_block")
                    .required()
                    .validate(validators::cidr)
                    .describe("An IPv4 range allowed to reach the control plane."),
                Attribute::string("display_name").describe("A label for the range."),
            ],
        )
        .describe("Ranges allowed to reach the Kubernetes API. Left out, any address may reach a public endpoint (authenticated as always)."),
        Attribute::bool("enable_workload_identity")
            .default(true)
            .describe("Let Kubernetes service accounts act as Google service accounts (GKE Workload Identity), so pods need no key files."),
        Attribute::bool("enable_binary_authorization")
            .optional_computed()
            .describe("Enforce Binary Authorization: only attested images run. Default from `environment`."),
        Attribute::bool("enable_network_policy")
            .default(true)
            .describe("Enforce Kubernetes NetworkPolicy (Dataplane V2 on Autopilot)."),
        Attribute::bool("enable_shielded_nodes")
            .default(true)
            .describe("Use Shielded GKE nodes (secure boot, integrity monitoring)."),
        Attribute::bool("enable_managed_prometheus")
            .optional_computed()
            .describe("Enable Google Cloud Managed Service for Prometheus. Default from `environment`."),
        Attribute::string_set("monitoring_components")
            .default(Value::set(vec!["SYSTEM_COMPONENTS".into()]))
            .validate(monitoring_components)
            .describe("GKE components whose metrics go to Cloud Monitoring: any of `SYSTEM_COMPONENTS`, `APISERVER`, `SCHEDULER`, `CONTROLLER_MANAGER`, `STORAGE`, `HPA`, `POD`, `DAEMONSET`, `DEPLOYMENT`, `STATEFULSET`, `CADVISOR`, `KUBELET`, `DCGM`, `JOBSET`."),
        Attribute::string_set("logging_components")
            .default(Value::set(vec!["SYSTEM_COMPONENTS".into(), "WORKLOADS".into()]))
            .validate(validators::each_one_of(LOGGING_COMPONENTS))
            .describe("GKE components whose logs go to Cloud Logging: any of `SYSTEM_COMPONENTS`, `WORKLOADS`, `APISERVER`, `SCHEDULER`, `CONTROLLER_MANAGER`."),
        Attribute::string_map("labels")
            .validate(validators::gcp_labels)
            .describe("Labels on the cluster (GCP resource labels, AWS tags)."),
        Attribute::bool("deletion_protection")
            .optional_computed()
            .describe("Refuse to destroy the cluster. Default `true` for `environment = \"prod\"`, else `false`. The check runs at plan time, before any API call, so `terraform destroy` stops with a message instead of failing half-way."),
        Attribute::string_list("kubernetes_namespaces")
            .validate(namespace_names)
            .equivalent_when(validators::same_members)
            .describe("Namespaces to create in the cluster once it runs, as in the module (`[\"genesis-agents\", \"monitoring\"]`). Use `namespace` blocks for Pod Security levels, quotas and limits."),
        Attribute::object(
            "eks",
            vec![
                Attribute::string("role_arn")
                    .required()
                    .describe("The IAM role EKS uses to manage the cluster."),
                Attribute::string_list("subnet_ids")
                    .required()
                    .describe("Subnets for the control plane's network interfaces, in at least two availability zones."),
                Attribute::string_list("security_group_ids").describe("Extra security groups for the control plane."),
                Attribute::bool("endpoint_public_access")
                    .default(true)
                    .describe("Whether the Kubernetes API is reachable from the internet."),
                Attribute::string_list("public_access_cidrs")
                    .describe("Ranges allowed to reach a public API endpoint."),
            ],
        )
        .force_new()
        .describe("EKS settings (cloud = \"aws\" only)."),
        Attribute::string("endpoint")
            .computed()
            .describe("The address of the Kubernetes API server."),
        Attribute::string("ca_certificate")
            .computed()
            .describe("The cluster's CA certificate (PEM), for clients of the Kubernetes API."),
        Attribute::string("status")
            .computed()
            .describe("The cluster's status as the cloud reports it, e.g. `RUNNING`."),
        Attribute::string("location")
            .computed()
            .describe("Where the control plane runs: the region of a regional cluster, the zone of a zonal one."),
        Attribute::string("self_link")
            .computed()
            .describe("The cluster's API URL."),
    ];
    let namespace_block = Block::new(
        "A namespace created inside the cluster, labelled for Pod Security admission, with an optional quota and default limits.",
        vec![
            Attribute::string("name")
                .required()
                .validate(validators::dns1123_label)
                .describe("The namespace's name."),
            Attribute::string("pod_security_level")
                .default("baseline")
                .validate(validators::one_of(POD_SECURITY_LEVELS))
                .describe("The Pod Security Standard enforced in the namespace: `privileged`, `baseline` (default) or `restricted`."),
            Attribute::string_map("labels").describe("Extra labels on the namespace."),
            Attribute::object(
                "quota",
                vec![
                    quantity("requests_cpu", "Total CPU requests, e.g. `20`."),
                    quantity("requests_memory", "Total memory requests, e.g. `64Gi`."),
                    quantity("limits_cpu", "Total CPU limits."),
                    quantity("limits_memory", "Total memory limits."),
                    Attribute::number("pods")
                        .validate(validators::int_between(0, 1_000_000))
                        .describe("Maximum number of pods."),
                ],
            )
            .describe("A ResourceQuota for the namespace."),
            Attribute::object(
                "limit_range",
                vec![
                    quantity("default_request_cpu", "CPU request of containers that set none, e.g. `100m`."),
                    quantity("default_request_memory", "Memory request of containers that set none, e.g. `128Mi`."),
                    quantity("default_limit_cpu", "CPU limit of containers that set none."),
                    quantity("default_limit_memory", "Memory limit of containers that set none."),
                ],
            )
            .describe("A LimitRange giving containers default requests and limits."),
        ],
    );
    Schema::new(
        0,
        Block::new(
            "A GKE (Autopilot or Standard, regional or zonal) or EKS cluster with secure defaults: private nodes, workload identity, binary authorization, network policy, shielded nodes and managed Prometheus, plus the namespaces the platform needs.",
            attributes,
        )
        .with_block(NestedBlock::list("namespace", namespace_block))
        .with_block(timeouts_block(&[("create", "45m"), ("update", "60m"), ("delete", "45m")])),
    )
}

fn quantity(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .validate(validators::quantity)
        .equivalent_when(validators::same_quantity)
        .describe(description)
}

fn monitoring_components(v: &Value) -> Result<(), String> {
    for item in v.elements() {
        match item.as_str() {
            Some("WORKLOADS") => {
                return Err("GKE no longer offers WORKLOADS as a monitoring component. For workload metrics, set enable_managed_prometheus = true and add the components you need (e.g. \"POD\", \"DEPLOYMENT\").".into());
            }
            Some(s) if !MONITORING_COMPONENTS.contains(&s) => {
                return Err(format!(
                    "{s:?} is not a GKE monitoring component: use any of {}.",
                    MONITORING_COMPONENTS.join(", ")
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn namespace_names(v: &Value) -> Result<(), String> {
    for item in v.elements() {
        validators::dns1123_label(item)?;
        if let Some(name) = item.as_str()
            && SYSTEM_NAMESPACES.contains(&name)
        {
            return Err(format!(
                "{name:?} exists in every cluster and is managed by Kubernetes: leave it out."
            ));
        }
    }
    Ok(())
}

fn is_private_range(cidr: &str) -> bool {
    let Ok((addr, _)) = validators::parse_cidr(cidr) else {
        return true;
    };
    addr.is_private()
}

#[async_trait]
impl Resource for Cluster {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        only_for_cloud(
            config,
            "gcp",
            &[
                "project_id",
                "zone",
                "release_channel",
                "master_ipv4_cidr_block",
                "network",
                "subnetwork",
            ],
            diags,
        );
        only_for_cloud(config, "aws", &["eks"], diags);
        if config.get("cloud").as_str() == Some("aws") {
            if config.get("enable_autopilot").as_bool() == Some(true) {
                diags.attribute_error(
                    AttributePath::attr("enable_autopilot"),
                    "Autopilot is a GKE mode",
                    "EKS has no Autopilot mode: remove enable_autopilot or set cloud = \"gcp\".",
                );
            }
            if config.get("eks").is_null() {
                diags.attribute_error(
                    AttributePath::attr("eks"),
                    "Missing EKS settings",
                    "An EKS cluster needs `eks = { role_arn = ..., subnet_ids = [...] }`.",
                );
            }
        }
        if config.get("regional_cluster").bool_or(true) == Some(true) && config.get("zone").is_set()
        {
            diags.attribute_error(
                AttributePath::attr("zone"),
                "Zone set on a regional cluster",
                "`zone` makes a zonal cluster, but regional_cluster is true (the default). Set regional_cluster = false for a zonal cluster, or remove zone.",
            );
        }
        let autopilot = config.get("enable_autopilot").as_bool() == Some(true);
        if autopilot {
            for (name, why) in [
                (
                    "enable_workload_identity",
                    "Autopilot clusters always use Workload Identity",
                ),
                (
                    "enable_shielded_nodes",
                    "Autopilot nodes are always shielded",
                ),
            ] {
                if config.get(name).as_bool() == Some(false) {
                    diags.attribute_error(
                        AttributePath::attr(name),
                        "Setting conflicts with Autopilot",
                        format!("{why}: remove `{name} = false` or set enable_autopilot = false."),
                    );
                }
            }
            if config.get("regional_cluster").as_bool() == Some(false) {
                diags.attribute_error(
                    AttributePath::attr("regional_cluster"),
                    "Autopilot clusters are regional",
                    "GKE Autopilot clusters are always regional: remove regional_cluster = false or set enable_autopilot = false.",
                );
            }
        }
        let private = config.get("enable_private_cluster");
        if private.as_bool() == Some(false) {
            if config.get("enable_private_endpoint").as_bool() == Some(true) {
                diags.attribute_error(
                    AttributePath::attr("enable_private_endpoint"),
                    "Private endpoint needs a private cluster",
                    "enable_private_endpoint requires enable_private_cluster = true.",
                );
            }
            if config.get("master_ipv4_cidr_block").is_set() {
                diags.attribute_error(
                    AttributePath::attr("master_ipv4_cidr_block"),
                    "Control-plane range needs a private cluster",
                    "master_ipv4_cidr_block applies only to private clusters: set enable_private_cluster = true or remove it.",
                );
            }
        }
        if let Some(cidr) = config.get("master_ipv4_cidr_block").as_str()
            && validators::parse_cidr(cidr).is_ok()
            && !is_private_range(cidr)
        {
            diags.attribute_error(
                AttributePath::attr("master_ipv4_cidr_block"),
                "Control-plane range must be private",
                format!("{cidr:?} is not in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)."),
            );
        }
        validate_namespaces(config, diags);
    }

    fn modify_plan(&self, ctx: &PlanContext<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        let config = ctx.config;
        common::plan_location(planned, config, &ctx.provider.config, diags);
        let cloud = planned.get("cloud").as_str().unwrap_or("gcp").to_string();
        if cloud == "gcp"
            && planned.get("regional_cluster").as_bool() == Some(false)
            && config.get("zone").is_null()
        {
            match &ctx.provider.config.zone {
                Some(zone) => planned.set_attr("zone", zone.clone().into()),
                None => diags.attribute_error(
                    AttributePath::attr("zone"),
                    "No zone for a zonal cluster",
                    "regional_cluster = false needs a zone: set `zone` here or `zone` in the provider block (or GOOGLE_ZONE).",
                ),
            }
        }
        if let Some(environment) = planned.get("environment").as_str() {
            let defaults = environment_defaults(environment);
            let mut default = |name: &str, value: Value| {
                if config.get(name).is_null() {
                    planned.set_attr(name, value);
                }
            };
            default("release_channel", defaults.release_channel.into());
            default(
                "enable_private_cluster",
                defaults.enable_private_cluster.into(),
            );
            default(
                "enable_binary_authorization",
                defaults.enable_binary_authorization.into(),
            );
            default(
                "enable_managed_prometheus",
                defaults.enable_managed_prometheus.into(),
            );
            default("deletion_protection", defaults.deletion_protection.into());
        }
        if cloud == "aws" {
            for name in ["release_channel", "master_ipv4_cidr_block"] {
                planned.set_attr(name, Value::Null);
            }
        } else if config.get("master_ipv4_cidr_block").is_null() {
            let private = planned.get("enable_private_cluster").as_bool() == Some(true);
            planned.set_attr(
                "master_ipv4_cidr_block",
                if private {
                    DEFAULT_MASTER_CIDR.into()
                } else {
                    Value::Null
                },
            );
        }
        if planned.get("enable_private_endpoint").as_bool() == Some(true)
            && planned.get("enable_private_cluster").as_bool() == Some(false)
        {
            diags.attribute_error(
                AttributePath::attr("enable_private_endpoint"),
                "Private endpoint needs a private cluster",
                "enable_private_endpoint requires enable_private_cluster = true, which this environment does not default to: set it explicitly.",
            );
        }
        if ctx.is_create() {
            plan_computed_location(planned);
        }
    }

    fn plan_destroy(&self, prior: &Value, diags: &mut Diagnostics) {
        if prior.get("deletion_protection").as_bool() == Some(true) {
            diags.push(
                Diagnostic::error(
                    "Cluster is protected from deletion",
                    format!(
                        "genesis_cluster {:?} has deletion_protection = true (the default for environment = \"prod\"), so Terraform will not destroy it. To destroy it, set deletion_protection = false, run terraform apply, then destroy. Nothing was changed.",
                        prior.get("name").as_str().unwrap_or_default()
                    ),
                )
                .at(AttributePath::attr("deletion_protection")),
            );
        }
    }

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied {
        if cloud_of(planned) == "aws" {
            return Applied::failed(Value::Null, backend_missing(TYPE_NAME, "aws", "create"));
        }
        let wait = wait_for(provider, planned, "create", 45);
        match provider.gcp.create(&spec_of(planned), &wait).await {
            Ok(observed) => {
                let state = state_from(planned, &observed);
                match sync_namespaces(provider, &observed, &namespace_specs(planned)).await {
                    Ok(()) => Applied::ok(state),
                    Err(d) => Applied::failed(state, d.into()),
                }
            }
            // The cluster exists although creating it failed: record it, so
            // Terraform marks it tainted instead of forgetting it.
            Err((e, Some(observed))) => Applied::failed(
                state_from(planned, &observed),
                e.diagnostic("create the GKE cluster").into(),
            ),
            Err((e, None)) => {
                Applied::failed(Value::Null, e.diagnostic("create the GKE cluster").into())
            }
        }
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        if cloud_of(state) == "aws" {
            return Err(backend_missing(TYPE_NAME, "aws", "read"));
        }
        let (Some(project), Some(name)) =
            (state.get("project_id").as_str(), state.get("name").as_str())
        else {
            return Err(Diagnostic::error(
                "Incomplete state",
                "The cluster's state has no project_id or name: import it again.",
            )
            .into());
        };
        let wait = wait_for(provider, state, "read", 5);
        match provider
            .gcp
            .get(project, &location_of(state), name, &wait)
            .await
        {
            Ok(Some(observed)) => {
                let mut fresh = state_from(state, &observed);
                if observed.status == "RUNNING" || observed.status == "RECONCILING" {
                    let actual = read_namespaces(provider, &observed)
                        .await
                        .map_err(Diagnostics::from)?;
                    namespaces_into_state(&mut fresh, state, &actual);
                }
                Ok(Some((fresh, private.to_vec())))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e.diagnostic("read the GKE cluster").into()),
        }
    }

    async fn update(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        planned: &Value,
        private: &[u8],
    ) -> Applied {
        if cloud_of(planned) == "aws" {
            return Applied::failed(prior.clone(), backend_missing(TYPE_NAME, "aws", "update"));
        }
        let wait = wait_for(provider, planned, "update", 60);
        let result = provider
            .gcp
            .update(&spec_of(prior), &spec_of(planned), &wait)
            .await;
        let project = planned
            .get("project_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = planned.get("name").as_str().unwrap_or_default().to_string();
        let observed = provider
            .gcp
            .get(&project, &location_of(planned), &name, &wait)
            .await;
        // The namespaces live inside the cluster: the prior state holds
        // what the cluster has (refreshed), so any difference is applied.
        let wanted = namespace_specs(planned);
        let namespaces = match &observed {
            Ok(Some(o)) if wanted != namespace_specs(prior) => {
                sync_namespaces(provider, o, &wanted).await
            }
            _ => Ok(()),
        };
        let mut applied = match observed {
            Ok(Some(o)) if namespaces.is_err() => {
                // The next plan shows the namespaces still to change.
                let mut state = state_from(planned, &o);
                for name in ["kubernetes_namespaces", "namespace"] {
                    state.set_attr(name, prior.get(name).clone());
                }
                Applied::failed(state, Diagnostics::new())
            }
            Ok(Some(o)) => Applied::ok(state_from(planned, &o)),
            Ok(None) => Applied::failed(Value::Null, Diagnostic::error("Cluster disappeared", format!("The GKE cluster {name} no longer exists; the next plan will create it again.")).into()),
            Err(e) => Applied::failed(prior.clone(), e.diagnostic("read the GKE cluster after updating it").into()),
        };
        applied.private = private.to_vec();
        if let Err(d) = namespaces {
            applied.diagnostics.push(d);
        }
        if let Err(e) = result {
            // Keep what the cloud now reports, so the next plan shows what
            // is left to change.
            applied
                .diagnostics
                .push(e.diagnostic("update the GKE cluster"));
            if applied.state.is_null() {
                applied.state = prior.clone();
            }
        }
        applied
    }

    async fn delete(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        _private: &[u8],
    ) -> Diagnostics {
        if cloud_of(prior) == "aws" {
            return backend_missing(TYPE_NAME, "aws", "delete");
        }
        let (Some(project), Some(name)) =
            (prior.get("project_id").as_str(), prior.get("name").as_str())
        else {
            return Diagnostics::new();
        };
        let wait = wait_for(provider, prior, "delete", 45);
        match provider
            .gcp
            .delete(project, &location_of(prior), name, &wait)
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(e) => e.diagnostic("delete the GKE cluster").into(),
        }
    }

    fn import(&self, _provider: &ProviderContext, id: &str) -> Result<Value, Diagnostics> {
        let name = ClusterName::parse(id).ok_or_else(|| {
            bad_import_id(
                id,
                &[
                    "projects/PROJECT/locations/LOCATION/clusters/NAME",
                    "PROJECT/LOCATION/NAME",
                    "arn:aws:eks:REGION:ACCOUNT:cluster/NAME",
                ],
            )
        })?;
        Ok(name.import_state(&schema().block))
    }
}

fn cloud_of(state: &Value) -> &str {
    state.get("cloud").as_str().unwrap_or("gcp")
}

/// The resource label that records `environment` on the cluster itself, so
/// an imported cluster plans no change.
pub const ENVIRONMENT_LABEL: &str = "genesis-environment";

/// Quota attributes and the ResourceQuota `hard` keys they set.
const QUOTA_KEYS: &[(&str, &str)] = &[
    ("requests_cpu", "requests.cpu"),
    ("requests_memory", "requests.memory"),
    ("limits_cpu", "limits.cpu"),
    ("limits_memory", "limits.memory"),
    ("pods", "pods"),
];

/// LimitRange attributes and the (kind, resource) they set.
const LIMIT_KEYS: &[(&str, &str, &str)] = &[
    ("default_request_cpu", "defaultRequest", "cpu"),
    ("default_request_memory", "defaultRequest", "memory"),
    ("default_limit_cpu", "default", "cpu"),
    ("default_limit_memory", "default", "memory"),
];

/// The namespaces the configuration asks for: the module-style list (with
/// the baseline Pod Security level) and the `namespace` blocks.
fn namespace_specs(state: &Value) -> Vec<NamespaceSpec> {
    let mut out: Vec<NamespaceSpec> = state
        .get("kubernetes_namespaces")
        .string_elements()
        .into_iter()
        .enumerate()
        .map(|(i, name)| NamespaceSpec {
            name: name.to_string(),
            pod_security_level: "baseline".into(),
            declared_as: Some(format!("kubernetes_namespaces[{i}]")),
            ..NamespaceSpec::default()
        })
        .collect();
    for (i, block) in state.get("namespace").elements().iter().enumerate() {
        let Some(name) = block.get("name").as_str() else {
            continue;
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(_) => v.as_i64().map(|n| n.to_string()),
            _ => None,
        };
        out.push(NamespaceSpec {
            name: name.to_string(),
            pod_security_level: block
                .get("pod_security_level")
                .as_str()
                .unwrap_or("baseline")
                .to_string(),
            labels: block
                .get("labels")
                .entries()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
            quota: QUOTA_KEYS
                .iter()
                .filter_map(|(attr, key)| {
                    Some((key.to_string(), text(block.get("quota").get(attr))?))
                })
                .collect(),
            limits: LIMIT_KEYS
                .iter()
                .filter_map(|(attr, kind, resource)| {
                    Some((
                        (kind.to_string(), resource.to_string()),
                        block.get("limit_range").get(attr).as_str()?.to_string(),
                    ))
                })
                .collect(),
            declared_as: Some(format!("namespace[{i}]")),
        });
    }
    out
}

async fn cluster_client(
    provider: &ProviderContext,
    observed: &ObservedCluster,
) -> Result<kube::Client, Diagnostic> {
    let token = provider
        .gcp
        .bearer_token()
        .await
        .map_err(|e| e.diagnostic("authenticate to the cluster"))?;
    provider
        .kube
        .for_cluster(&observed.endpoint, &observed.ca_certificate, &token)
        .await
        .map_err(|e| Diagnostic::error("Failed to reach the cluster", e.to_string()))
}

/// Makes the cluster's Genesis namespaces match the configuration.
async fn sync_namespaces(
    provider: &ProviderContext,
    observed: &ObservedCluster,
    wanted: &[NamespaceSpec],
) -> Result<(), Diagnostic> {
    if wanted.is_empty() && observed.endpoint.is_empty() {
        return Ok(());
    }
    let client = cluster_client(provider, observed).await?;
    crate::kube::namespaces::reconcile(&client, wanted, &provider.stop)
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Failed to set up the cluster's namespaces",
                format!("{e}. The cluster itself is in place; run terraform apply again to retry."),
            )
            .at(AttributePath::attr("namespace"))
        })
}

async fn read_namespaces(
    provider: &ProviderContext,
    observed: &ObservedCluster,
) -> Result<Vec<NamespaceSpec>, Diagnostic> {
    let client = cluster_client(provider, observed).await?;
    crate::kube::namespaces::managed(&client, &provider.stop)
        .await
        .map_err(|e| Diagnostic::error("Failed to read the cluster's namespaces", e.to_string()))
}

/// Writes the namespaces found in the cluster into the state, in the
/// configuration's arrangement: those listed in `kubernetes_namespaces` stay
/// there, blocks stay blocks, and missing ones drop out (the next plan adds
/// them back). With no arrangement to follow (after an import), baseline
/// namespaces without quota or limits go to the list, the rest to blocks.
fn namespaces_into_state(state: &mut Value, base: &Value, actual: &[NamespaceSpec]) {
    let find = |name: &str| actual.iter().find(|n| n.name == name);
    let listed: Vec<&str> = base.get("kubernetes_namespaces").string_elements();
    let blocks = base.get("namespace").elements().to_vec();
    let arranged = !listed.is_empty() || !blocks.is_empty();
    let block_value = |ns: &NamespaceSpec, old: &Value| {
        let labels = if ns.labels.is_empty() && old.get("labels").is_null() {
            Value::Null
        } else {
            Value::Map(
                ns.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect(),
            )
        };
        let quota = if ns.quota.is_empty() {
            Value::Null
        } else {
            Value::object(QUOTA_KEYS.iter().map(|(attr, key)| {
                let v = ns.quota.get(*key).map_or(Value::Null, |q| {
                    if *attr == "pods" {
                        q.parse::<f64>().map_or(Value::Null, Value::Number)
                    } else {
                        q.clone().into()
                    }
                });
                (*attr, v)
            }))
        };
        let limit_range = if ns.limits.is_empty() {
            Value::Null
        } else {
            Value::object(LIMIT_KEYS.iter().map(|(attr, kind, resource)| {
                (
                    *attr,
                    ns.limits
                        .get(&(kind.to_string(), resource.to_string()))
                        .map_or(Value::Null, |q| q.clone().into()),
                )
            }))
        };
        Value::object([
            ("name", ns.name.clone().into()),
            ("pod_security_level", ns.pod_security_level.clone().into()),
            ("labels", labels),
            ("quota", quota),
            ("limit_range", limit_range),
        ])
    };
    if arranged {
        let kept: Vec<Value> = listed
            .iter()
            .filter(|n| find(n).is_some())
            .map(|n| Value::from(*n))
            .collect();
        if !listed.is_empty() || !base.get("kubernetes_namespaces").is_null() {
            state.set_attr("kubernetes_namespaces", Value::List(kept));
        }
        let kept_blocks: Vec<Value> = blocks
            .iter()
            .filter_map(|old| {
                let ns = find(old.get("name").as_str()?)?;
                Some(block_value(ns, old))
            })
            .collect();
        state.set_attr("namespace", Value::List(kept_blocks));
    } else if !actual.is_empty() {
        // Each namespace goes back where the configuration declared it
        // (recorded on the namespace); one made before that was recorded
        // goes to the list when it is plain, to a block otherwise.
        let place = |n: &NamespaceSpec| -> Option<(bool, usize)> {
            let declared = n.declared_as.as_deref()?;
            let (list, index) = declared.strip_suffix(']')?.split_once('[')?;
            Some((list == "kubernetes_namespaces", index.parse().ok()?))
        };
        let mut ordered: Vec<&NamespaceSpec> = actual.iter().collect();
        ordered.sort_by_key(|n| place(n).map(|(_, i)| i));
        let (simple, rich): (Vec<&NamespaceSpec>, Vec<&NamespaceSpec>) =
            ordered.into_iter().partition(|n| match place(n) {
                Some((listed, _)) => listed,
                None => {
                    n.pod_security_level == "baseline"
                        && n.quota.is_empty()
                        && n.limits.is_empty()
                        && n.labels.is_empty()
                }
            });
        if !simple.is_empty() {
            state.set_attr(
                "kubernetes_namespaces",
                Value::List(
                    simple
                        .iter()
                        .map(|n| Value::from(n.name.as_str()))
                        .collect(),
                ),
            );
        }
        state.set_attr(
            "namespace",
            Value::List(rich.iter().map(|n| block_value(n, &Value::Null)).collect()),
        );
    }
}

/// Where the control plane lives: the zone of a zonal cluster, else the region.
fn location_of(state: &Value) -> String {
    let zonal = state.get("regional_cluster").as_bool() == Some(false);
    let field = if zonal { "zone" } else { "region" };
    state.get(field).as_str().unwrap_or_default().to_string()
}

fn flag(state: &Value, name: &str) -> bool {
    state.get(name).as_bool() == Some(true)
}

/// The configuration in the back end's terms.
fn spec_of(state: &Value) -> ClusterSpec {
    let strings = |name: &str| -> Vec<String> {
        let mut v: Vec<String> = state
            .get(name)
            .string_elements()
            .into_iter()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let mut labels: BTreeMap<String, String> = state
        .get("labels")
        .entries()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    if let Some(environment) = state.get("environment").as_str() {
        labels.insert(ENVIRONMENT_LABEL.into(), environment.into());
    }
    let string = |name: &str| state.get(name).as_str().map(str::to_string);
    ClusterSpec {
        project: string("project_id").unwrap_or_default(),
        location: location_of(state),
        name: string("name").unwrap_or_default(),
        description: string("description"),
        autopilot: flag(state, "enable_autopilot"),
        release_channel: string("release_channel"),
        kubernetes_version: string("kubernetes_version"),
        network: string("network").unwrap_or_else(|| "default".into()),
        subnetwork: string("subnetwork").unwrap_or_else(|| "default".into()),
        private_nodes: flag(state, "enable_private_cluster"),
        private_endpoint: flag(state, "enable_private_endpoint"),
        master_cidr: string("master_ipv4_cidr_block"),
        authorized_networks: state
            .get("master_authorized_networks")
            .elements()
            .iter()
            .filter_map(|n| {
                Some((
                    n.get("cidr_block").as_str()?.to_string(),
                    n.get("display_name")
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ))
            })
            .collect(),
        workload_identity: flag(state, "enable_workload_identity"),
        binary_authorization: flag(state, "enable_binary_authorization"),
        network_policy: flag(state, "enable_network_policy"),
        shielded_nodes: flag(state, "enable_shielded_nodes"),
        managed_prometheus: flag(state, "enable_managed_prometheus"),
        monitoring_components: strings("monitoring_components"),
        logging_components: strings("logging_components"),
        labels,
    }
}

/// The state after reading the cluster: what the API reports, plus what
/// only the configuration holds (deletion protection, timeouts, the
/// requested version).
fn state_from(base: &Value, observed: &ObservedCluster) -> Value {
    let spec = &observed.spec;
    let mut state = base.clone();
    let set = |state: &mut Value, name: &str, v: Value| state.set_attr(name, v);
    let zonal = ClusterName::zone_of(&spec.location).is_some();
    set(
        &mut state,
        "id",
        ClusterName::Gcp {
            project: spec.project.clone(),
            location: spec.location.clone(),
            name: spec.name.clone(),
        }
        .id()
        .into(),
    );
    set(&mut state, "cloud", "gcp".into());
    set(&mut state, "name", spec.name.clone().into());
    set(&mut state, "project_id", spec.project.clone().into());
    set(&mut state, "regional_cluster", (!zonal).into());
    if zonal {
        let region = spec
            .location
            .rsplit_once('-')
            .map_or(spec.location.as_str(), |(r, _)| r);
        set(&mut state, "region", region.into());
        set(&mut state, "zone", spec.location.clone().into());
    } else {
        set(&mut state, "region", spec.location.clone().into());
        set(&mut state, "zone", Value::Null);
    }
    set(&mut state, "location", spec.location.clone().into());
    set(&mut state, "description", spec.description.clone().into());
    set(&mut state, "enable_autopilot", spec.autopilot.into());
    if spec.release_channel.is_some() {
        set(
            &mut state,
            "release_channel",
            spec.release_channel.clone().into(),
        );
    }
    set(&mut state, "network", spec.network.clone().into());
    set(&mut state, "subnetwork", spec.subnetwork.clone().into());
    set(
        &mut state,
        "enable_private_cluster",
        spec.private_nodes.into(),
    );
    set(
        &mut state,
        "enable_private_endpoint",
        spec.private_endpoint.into(),
    );
    set(
        &mut state,
        "master_ipv4_cidr_block",
        spec.master_cidr.clone().into(),
    );
    let networks: Vec<Value> = spec
        .authorized_networks
        .iter()
        .map(|(cidr, name)| {
            let display = if name.is_empty() {
                Value::Null
            } else {
                name.clone().into()
            };
            Value::object([
                ("cidr_block", cidr.clone().into()),
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
        "enable_workload_identity",
        spec.workload_identity.into(),
    );
    set(
        &mut state,
        "enable_binary_authorization",
        spec.binary_authorization.into(),
    );
    if !spec.autopilot {
        set(
            &mut state,
            "enable_network_policy",
            spec.network_policy.into(),
        );
        set(
            &mut state,
            "enable_shielded_nodes",
            spec.shielded_nodes.into(),
        );
    } else {
        // Autopilot always enforces network policy (Dataplane V2) and
        // shields its nodes, and GKE reports neither as a setting: an
        // imported Autopilot cluster has both, as a planned one does.
        for name in ["enable_network_policy", "enable_shielded_nodes"] {
            if !state.get(name).is_set() {
                set(&mut state, name, true.into());
            }
        }
    }
    set(
        &mut state,
        "enable_managed_prometheus",
        spec.managed_prometheus.into(),
    );
    let set_of =
        |items: &[String]| Value::set(items.iter().map(|s| Value::from(s.as_str())).collect());
    set(
        &mut state,
        "monitoring_components",
        set_of(&spec.monitoring_components),
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
    // After an import the configuration-only settings follow the
    // environment, as a plan would set them, so the import plans no change.
    if state.get("deletion_protection").is_null() || state.get("deletion_protection").is_unknown() {
        let protect = state
            .get("environment")
            .as_str()
            .map(|e| environment_defaults(e).deletion_protection);
        set(&mut state, "deletion_protection", protect.into());
    }
    for (name, default) in [("environment", Value::from("dev"))] {
        if state.get(name).is_null() {
            set(&mut state, name, default);
        }
    }
    state
}

/// The location of a new cluster. Its `id` stays unknown until the cluster
/// exists, even though it could be predicted from the name: when a cluster
/// is replaced under the same name, the unknown id is what tells its node
/// pools and workloads that they are replaced with it (as with the google
/// provider). A predicted id would plan them as unchanged, and the new
/// cluster would come up empty.
fn plan_computed_location(planned: &mut Value) {
    let location = if planned.get("cloud").as_str() == Some("gcp")
        && planned.get("regional_cluster").as_bool() == Some(false)
    {
        planned.get("zone").clone()
    } else {
        planned.get("region").clone()
    };
    planned.set_attr("location", location);
}

fn validate_namespaces(config: &Value, diags: &mut Diagnostics) {
    let mut seen: Vec<&str> = config.get("kubernetes_namespaces").string_elements();
    for (i, block) in config.get("namespace").elements().iter().enumerate() {
        let Some(name) = block.get("name").as_str() else {
            continue;
        };
        let path = AttributePath::attr("namespace").index(i).join("name");
        if SYSTEM_NAMESPACES.contains(&name) {
            diags.attribute_error(
                path,
                "System namespace",
                format!(
                    "{name:?} exists in every cluster and is managed by Kubernetes: leave it out."
                ),
            );
        } else if seen.contains(&name) {
            diags.attribute_error(
                path,
                "Duplicate namespace",
                format!("Namespace {name:?} is listed more than once (in kubernetes_namespaces or namespace blocks): list it once."),
            );
        } else {
            seen.push(name);
        }
    }
    let listed = config.get("kubernetes_namespaces").string_elements();
    for (i, name) in listed.iter().enumerate() {
        if listed[..i].contains(name) {
            diags.attribute_error(
                AttributePath::attr("kubernetes_namespaces").index(i),
                "Duplicate namespace",
                format!("Namespace {name:?} is listed more than once: list it once."),
            );
        }
    }
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

    fn import_state(&self, block: &Block) -> Value {
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

/// The schema's value type, for tests that build configurations.
pub fn value_type() -> Type {
    schema().value_type()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_in_every_accepted_form() {
        let long = ClusterName::parse("projects/p/locations/us-central1/clusters/c").unwrap();
        let short = ClusterName::parse("p/us-central1/c").unwrap();
        assert_eq!(long, short);
        assert_eq!(long.id(), "projects/p/locations/us-central1/clusters/c");
        let arn = ClusterName::parse("arn:aws:eks:eu-west-1:123456789012:cluster/prod").unwrap();
        assert_eq!(arn.id(), "arn:aws:eks:eu-west-1:123456789012:cluster/prod");
        for bad in [
            "",
            "a/b",
            "projects/p/locations//clusters/c",
            "arn:aws:eks:x",
        ] {
            assert_eq!(ClusterName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn zonal_locations_are_recognised() {
        assert_eq!(
            ClusterName::zone_of("us-central1-a"),
            Some(("us-central1", "us-central1-a"))
        );
        assert_eq!(ClusterName::zone_of("us-central1"), None);
        assert_eq!(ClusterName::zone_of("europe-west4"), None);
    }
}
