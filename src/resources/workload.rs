//! `genesis_workload`: an application inside a cluster. One resource
//! renders a Deployment with its Service, HorizontalPodAutoscaler,
//! PodDisruptionBudget, NetworkPolicy, ServiceAccount, ConfigMap and
//! Ingress, restricted by default, applied with server-side apply. It
//! reaches its cluster through the `genesis_cluster` it names, so it can be
//! planned before the cluster exists.

use async_trait::async_trait;

use super::cluster::ClusterName;
use super::common::{bad_import_id, state_with, timeouts_block, wait_for};
use super::node_pool::{POOL_TYPES, is_label_key};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::path::AttributePath;
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::types::Type;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::kube::workload;
use crate::provider::ProviderContext;

pub const TYPE_NAME: &str = "genesis_workload";

const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer"];
const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const STRATEGIES: &[&str] = &["RollingUpdate", "Recreate"];
const TOLERATION_OPERATORS: &[&str] = &["Equal", "Exists"];
const TOLERATION_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
const SELECT_POLICIES: &[&str] = &["Max", "Min", "Disabled"];

pub struct Workload;

fn port(name: &str, description: &str) -> Attribute {
    Attribute::number(name)
        .validate(validators::int_between(1, 65_535))
        .describe(description)
}

fn quantity(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .validate(validators::quantity)
        .equivalent_when(validators::same_quantity)
        .describe(description)
}

fn int_or_percent(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .validate(int_or_percent_value)
        .describe(description)
}

fn int_or_percent_value(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let digits = s.strip_suffix('%').unwrap_or(s);
    if !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && (!s.ends_with('%') || digits.parse::<u32>().is_ok_and(|n| n <= 100))
    {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is neither a whole number nor a percentage: write e.g. \"1\" or \"25%\"."
        ))
    }
}

fn probe(name: &str, what: &str) -> Attribute {
    Attribute::object(
        name,
        vec![
            Attribute::object(
                "http_get",
                vec![
                    Attribute::string("path").default("/").describe("The HTTP path to GET."),
                    port("port", "The container port.").required(),
                    Attribute::string("scheme")
                        .default("HTTP")
                        .validate(validators::one_of(&["HTTP", "HTTPS"]))
                        .describe("`HTTP` or `HTTPS`."),
                ],
            )
            .describe("Probe with an HTTP GET; 2xx and 3xx pass."),
            Attribute::object("tcp_socket", vec![port("port", "The container port.").required()])
                .describe("Probe by opening a TCP connection."),
            Attribute::object("grpc", vec![port("port", "The container port.").required()])
                .describe("Probe with the gRPC health checking protocol."),
            Attribute::object(
                "exec",
                vec![Attribute::string_list("command").required().describe("The command to run; exit 0 passes.")],
            )
            .describe("Probe by running a command in the container."),
            Attribute::number("initial_delay_seconds")
                .default(0)
                .validate(validators::int_between(0, 3600))
                .describe("Seconds after start before the first probe."),
            Attribute::number("period_seconds")
                .default(10)
                .validate(validators::int_between(1, 3600))
                .describe("Seconds between probes."),
            Attribute::number("timeout_seconds")
                .default(1)
                .validate(validators::int_between(1, 3600))
                .describe("Seconds before a probe times out."),
            Attribute::number("failure_threshold")
                .default(3)
                .validate(validators::int_between(1, 1000))
                .describe("Failures in a row before the probe fails."),
            Attribute::number("success_threshold")
                .default(1)
                .validate(validators::int_between(1, 1000))
                .describe("Successes in a row before the probe passes (1 for liveness and startup probes)."),
        ],
    )
    .describe(what)
}

fn scaling_rule(name: &str, direction: &str) -> Attribute {
    Attribute::object(
        name,
        vec![
            Attribute::number("stabilization_window_seconds")
                .validate(validators::int_between(0, 3600))
                .describe(&format!("How far back the autoscaler looks before scaling {direction} (Kubernetes default: 0 up, 300 down).")),
            Attribute::number("max_percent")
                .validate(validators::int_between(1, 10_000))
                .describe(&format!("At most this percentage of current replicas added or removed per period when scaling {direction}.")),
            Attribute::number("max_pods")
                .validate(validators::int_between(1, 10_000))
                .describe(&format!("At most this many pods per period when scaling {direction}.")),
            Attribute::number("period_seconds")
                .default(60)
                .validate(validators::int_between(1, 1800))
                .describe("The period the limits above apply to."),
            Attribute::string("select_policy")
                .default("Max")
                .validate(validators::one_of(SELECT_POLICIES))
                .describe("Which limit wins when both are set: `Max` (default), `Min`, or `Disabled` to never scale in this direction."),
        ],
    )
    .describe(&format!("How fast to scale {direction}."))
}

fn peer_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string_map("namespace_labels").describe("Peers in namespaces with these labels."),
        Attribute::string_map("pod_labels").describe("Peer pods with these labels (in the workload's namespace unless namespace_labels is set)."),
        Attribute::string("cidr")
            .validate(validators::cidr)
            .describe("Peers in this IP range."),
        Attribute::typed("ports", Type::list(Type::Number)).describe("Ports allowed (all when left out)."),
    ]
}

fn schema() -> Schema {
    let attributes = vec![
        Attribute::string("id")
            .computed()
            .describe("`CLUSTER_ID/NAMESPACE/NAME`, or `NAMESPACE/NAME` for a kubeconfig cluster."),
        Attribute::string("cluster")
            .force_new()
            .describe("The `id` of the `genesis_cluster` to run in. The workload can be planned while the cluster does not exist yet."),
        Attribute::string("kubeconfig_path")
            .force_new()
            .equivalent_when(same_file)
            .describe("A kubeconfig file, for a cluster Genesis does not manage (instead of `cluster`)."),
        Attribute::string("kubeconfig_context")
            .force_new()
            .describe("The kubeconfig context to use (default: the current context)."),
        Attribute::string("namespace")
            .default("default")
            .force_new()
            .validate(validators::dns1123_label)
            .describe("The namespace to run in."),
        Attribute::string("name")
            .required()
            .force_new()
            .validate(validators::dns1123_label)
            .describe("The workload's name, given to every object it creates."),
        Attribute::string("image")
            .required()
            .validate(image)
            .describe("The container image, e.g. `us-central1-docker.pkg.dev/PROJECT/REPO/app:1.2.3`. Changing it rolls out."),
        Attribute::string("image_pull_policy")
            .validate(validators::one_of(PULL_POLICIES))
            .describe("`Always`, `IfNotPresent` or `Never` (Kubernetes' default when left out)."),
        Attribute::string_list("command").describe("Overrides the image's entrypoint."),
        Attribute::string_list("args").describe("Arguments to the entrypoint."),
        Attribute::string_map("env").describe("Environment variables."),
        Attribute::object_map(
            "secret_env",
            vec![
                Attribute::string("secret").required().validate(validators::dns1123_subdomain).describe("The Secret's name."),
                Attribute::string("key").required().describe("The key within the Secret."),
            ],
        )
        .describe("Environment variables from Secret keys, by variable name: `{ DB_PASSWORD = { secret = \"db\", key = \"password\" } }`."),
        Attribute::string_list("env_from_secrets").describe("Secrets whose every key becomes an environment variable."),
        Attribute::string_map("config_data").describe("Data for a ConfigMap named after the workload, given to the container as environment variables (or as files, with `config_mount_path`)."),
        Attribute::string("config_mount_path").describe("Mount `config_data` as files in this directory instead of as environment variables."),
        Attribute::object_list(
            "ports",
            vec![
                Attribute::string("name").validate(port_name).describe("The port's name (used by the service)."),
                port("container_port", "The port the container listens on.").required(),
                Attribute::string("protocol")
                    .default("TCP")
                    .validate(validators::one_of(PROTOCOLS))
                    .describe("`TCP` (default), `UDP` or `SCTP`."),
            ],
        )
        .describe("Ports the container listens on."),
        Attribute::number("replicas")
            .optional_computed()
            .validate(validators::int_between(0, 10_000))
            .describe("How many pods to run (default 1). With `autoscaling`, the HorizontalPodAutoscaler owns the count: this must be left out, and stays null in the state."),
        Attribute::object(
            "autoscaling",
            vec![
                Attribute::number("min_replicas")
                    .default(1)
                    .validate(validators::int_between(1, 10_000))
                    .describe("The fewest pods."),
                Attribute::number("max_replicas")
                    .required()
                    .validate(validators::int_between(1, 10_000))
                    .describe("The most pods."),
                Attribute::number("cpu_target")
                    .validate(validators::int_between(1, 1000))
                    .describe("Target average CPU use, in percent of requests."),
                Attribute::number("memory_target")
                    .validate(validators::int_between(1, 1000))
                    .describe("Target average memory use, in percent of requests."),
                scaling_rule("scale_up", "up"),
                scaling_rule("scale_down", "down"),
            ],
        )
        .describe("A HorizontalPodAutoscaler (autoscaling/v2). It owns `replicas`: scaling never shows as a diff."),
        Attribute::object(
            "resources",
            vec![
                Attribute::object(
                    "requests",
                    vec![
                        quantity("cpu", "CPU, e.g. `500m`."),
                        quantity("memory", "Memory, e.g. `512Mi`."),
                        quantity("ephemeral_storage", "Local scratch space, e.g. `1Gi`."),
                    ],
                )
                .describe("What the scheduler reserves for the container."),
                Attribute::object(
                    "limits",
                    vec![
                        quantity("cpu", "CPU, e.g. `1`."),
                        quantity("memory", "Memory, e.g. `1Gi`."),
                        quantity("ephemeral_storage", "Local scratch space."),
                    ],
                )
                .describe("The most the container may use."),
            ],
        )
        .describe("Compute resources. Equivalent spellings (`1` and `1000m`) are the same value and never show as a diff."),
        probe("liveness_probe", "Restart the container when this fails."),
        probe("readiness_probe", "Send traffic only while this passes."),
        probe("startup_probe", "Hold the other probes until this passes, for slow starters."),
        Attribute::object(
            "strategy",
            vec![
                Attribute::string("type")
                    .default("RollingUpdate")
                    .validate(validators::one_of(STRATEGIES))
                    .describe("`RollingUpdate` (default) or `Recreate`."),
                int_or_percent("max_surge", "Extra pods during a rollout, e.g. `25%` or `1`."),
                int_or_percent("max_unavailable", "Pods that may be unavailable during a rollout, e.g. `0`."),
            ],
        )
        .describe("How a new version rolls out."),
        Attribute::number("min_ready_seconds")
            .default(0)
            .validate(validators::int_between(0, 3600))
            .describe("Seconds a new pod must be ready before it counts as available."),
        Attribute::number("progress_deadline_seconds")
            .default(600)
            .validate(validators::int_between(1, 86_400))
            .describe("Seconds without progress before a rollout is reported failed."),
        Attribute::number("termination_grace_period_seconds")
            .validate(validators::int_between(0, 86_400))
            .describe("Seconds a pod gets to shut down."),
        Attribute::object(
            "service",
            vec![
                Attribute::string("type")
                    .default("ClusterIP")
                    .validate(validators::one_of(SERVICE_TYPES))
                    .describe("`ClusterIP` (default), `NodePort` or `LoadBalancer`."),
                Attribute::object_list(
                    "ports",
                    vec![
                        Attribute::string("name").validate(port_name).describe("The port's name."),
                        port("port", "The port the service listens on.").required(),
                        port("target_port", "The container port traffic goes to (default: `port`)."),
                        Attribute::string("protocol")
                            .default("TCP")
                            .validate(validators::one_of(PROTOCOLS))
                            .describe("`TCP` (default), `UDP` or `SCTP`."),
                        Attribute::number("node_port")
                            .validate(validators::int_between(30_000, 32_767))
                            .describe("The node port (NodePort and LoadBalancer services)."),
                    ],
                )
                .describe("The service's ports. Left out: one port per container port."),
                Attribute::string_map("annotations").describe("Annotations on the Service, e.g. for an internal load balancer."),
                Attribute::typed("load_balancer_source_ranges", Type::list(Type::String))
                    .validate(|v| v.elements().iter().try_for_each(validators::cidr))
                    .describe("Ranges allowed to reach a LoadBalancer service."),
            ],
        )
        .describe("A Service in front of the pods."),
        Attribute::object(
            "ingress",
            vec![
                Attribute::string("host").required().validate(validators::dns1123_subdomain).describe("The host name, e.g. `api.example.com`."),
                Attribute::string("path").default("/").describe("The path prefix routed to the service."),
                Attribute::string("path_type")
                    .default("Prefix")
                    .validate(validators::one_of(&["Prefix", "Exact", "ImplementationSpecific"]))
                    .describe("`Prefix` (default), `Exact` or `ImplementationSpecific`."),
                Attribute::string("tls_secret").validate(validators::dns1123_subdomain).describe("A Secret holding the TLS certificate for `host`."),
                Attribute::string("class_name").describe("The IngressClass, e.g. `gce` or `nginx`."),
                Attribute::string_map("annotations").describe("Annotations on the Ingress."),
            ],
        )
        .describe("An Ingress routing `host` to the service (requires `service`)."),
        Attribute::object(
            "disruption_budget",
            vec![
                int_or_percent("min_available", "Pods that must stay up during voluntary disruptions, e.g. `50%`."),
                int_or_percent("max_unavailable", "Pods that may be down during voluntary disruptions, e.g. `1`."),
            ],
        )
        .describe("A PodDisruptionBudget. Set exactly one of its attributes."),
        Attribute::object(
            "network_policy",
            vec![
                Attribute::bool("enabled").default(true).describe("Create the NetworkPolicy (default deny in and out, plus what is allowed below)."),
                Attribute::object_list("allow_from", peer_attributes()).describe("Who may connect to the pods."),
                Attribute::object_list("allow_to", peer_attributes()).describe("Where the pods may connect."),
                Attribute::bool("allow_dns").default(true).describe("Allow DNS lookups (UDP and TCP 53 to kube-system)."),
            ],
        )
        .describe("A NetworkPolicy that denies all traffic except what is listed."),
        Attribute::object(
            "security_context",
            vec![
                Attribute::bool("run_as_non_root").default(true).describe("Refuse to run as root."),
                Attribute::number("run_as_user").validate(validators::int_between(0, 2_147_483_647)).describe("The UID to run as."),
                Attribute::number("run_as_group").validate(validators::int_between(0, 2_147_483_647)).describe("The GID to run as."),
                Attribute::number("fs_group").validate(validators::int_between(0, 2_147_483_647)).describe("The group owning mounted volumes."),
                Attribute::bool("read_only_root_filesystem").default(true).describe("Mount the root filesystem read-only."),
                Attribute::bool("allow_privilege_escalation").default(false).describe("Allow gaining privileges (setuid)."),
                Attribute::typed("capabilities_add", Type::list(Type::String)).describe("Linux capabilities to add back after all are dropped, e.g. `[\"NET_BIND_SERVICE\"]`."),
                Attribute::string("seccomp_profile")
                    .default("RuntimeDefault")
                    .validate(validators::one_of(&["RuntimeDefault", "Unconfined"]))
                    .describe("`RuntimeDefault` (default) or `Unconfined`."),
            ],
        )
        .describe("Overrides of the restricted security context every container gets: non-root, read-only root filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp."),
        Attribute::object(
            "service_account",
            vec![
                Attribute::bool("create").default(true).describe("Create a ServiceAccount named after the workload (or `name`)."),
                Attribute::string("name").validate(validators::dns1123_subdomain).describe("The ServiceAccount to run as (default: the workload's name)."),
                Attribute::string("gcp_service_account").describe("A Google service account email for Workload Identity (`iam.gke.io/gcp-service-account`)."),
                Attribute::string("aws_role_arn").describe("An IAM role for IRSA (`eks.amazonaws.com/role-arn`)."),
                Attribute::string_map("annotations").describe("More annotations on the ServiceAccount."),
            ],
        )
        .describe("The pods' identity, with its cloud identity annotation."),
        Attribute::string_map("node_selector").describe("Node labels the pods must run on."),
        Attribute::object_list(
            "tolerations",
            vec![
                Attribute::string("key").describe("The taint key (all keys when left out with operator `Exists`)."),
                Attribute::string("operator").default("Equal").validate(validators::one_of(TOLERATION_OPERATORS)).describe("`Equal` (default) or `Exists`."),
                Attribute::string("value").describe("The taint value."),
                Attribute::string("effect").validate(validators::one_of(TOLERATION_EFFECTS)).describe("`NoSchedule`, `PreferNoSchedule` or `NoExecute` (all when left out)."),
                Attribute::number("toleration_seconds").describe("How long a NoExecute taint is tolerated."),
            ],
        )
        .describe("Taints the pods tolerate."),
        Attribute::string("node_pool")
            .validate(validators::gke_name)
            .describe("Shortcut: run on the genesis_node_pool with this name (selects `genesis.io/node-pool` and tolerates its pool-type taint)."),
        Attribute::string("node_pool_type")
            .validate(validators::one_of(POOL_TYPES))
            .describe("Shortcut: run on pools of this type (selects `genesis.io/pool-type` and tolerates its taint)."),
        Attribute::string_map("labels").describe("Labels on every object and on the pods."),
        Attribute::string_map("annotations").describe("Annotations on the pods."),
        Attribute::bool("wait_for_rollout")
            .default(true)
            .describe("Wait until the new pods are ready and available before finishing the apply; a failed rollout fails the apply with the reason."),
        Attribute::string("status")
            .computed()
            .describe("The rollout's state after the last apply or refresh: `Available`, `Progressing` or `Failed`."),
        Attribute::string("load_balancer_ip")
            .computed()
            .describe("The external address of a LoadBalancer service, once assigned."),
    ];
    Schema::new(
        // 1: `replicas` is null with autoscaling (it held the minimum).
        1,
        Block::new(
            "An application in a cluster: Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy, ServiceAccount, ConfigMap and Ingress, restricted by default and applied with server-side apply.",
            attributes,
        )
        .with_block(timeouts_block(&[("create", "10m"), ("update", "10m"), ("delete", "5m")])),
    )
}

fn image(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if s.trim().is_empty() || s.chars().any(char::is_whitespace) => Err(format!(
            "{s:?} is not an image reference: write e.g. \"nginx:1.27\" or \"REGION-docker.pkg.dev/PROJECT/REPO/app:TAG\"."
        )),
        Some(s)
            if s.chars().any(|c| c.is_ascii_uppercase())
                && !s.contains('@')
                && !s.contains(':') =>
        {
            Err(format!("{s:?}: image repository names must be lowercase."))
        }
        _ => Ok(()),
    }
}

fn port_name(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let valid = !s.is_empty()
        && s.len() <= 15
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.chars().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid port name: at most 15 lowercase letters, digits and '-', with at least one letter."
        ))
    }
}

#[async_trait]
impl Resource for Workload {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let cluster = config.get("cluster");
        let kubeconfig = config.get("kubeconfig_path");
        if cluster.is_null() && kubeconfig.is_null() {
            diags.attribute_error(
                AttributePath::attr("cluster"),
                "No cluster",
                "Set `cluster` to a genesis_cluster's id, or `kubeconfig_path` for a cluster Genesis does not manage.",
            );
        } else if cluster.is_set() && kubeconfig.is_set() {
            diags.attribute_error(
                AttributePath::attr("kubeconfig_path"),
                "Two clusters",
                "Set either `cluster` or `kubeconfig_path`, not both.",
            );
        }
        if let Some(id) = cluster.as_str()
            && ClusterName::parse(id).is_none()
        {
            diags.attribute_error(
                AttributePath::attr("cluster"),
                "Invalid cluster ID",
                format!("{id:?} is not a cluster ID: use a genesis_cluster's id (`genesis_cluster.NAME.id`)."),
            );
        }
        if config.get("kubeconfig_context").is_set() && kubeconfig.is_null() {
            diags.attribute_error(
                AttributePath::attr("kubeconfig_context"),
                "Context without kubeconfig",
                "kubeconfig_context applies only with kubeconfig_path.",
            );
        }
        let autoscaling = config.get("autoscaling");
        if autoscaling.is_set() {
            if config.get("replicas").is_set() {
                diags.attribute_error(
                    AttributePath::attr("replicas"),
                    "replicas conflicts with autoscaling",
                    "With autoscaling, the HorizontalPodAutoscaler sets the number of pods: remove replicas (use autoscaling.min_replicas).",
                );
            }
            if let (Some(min), Some(max)) = (
                autoscaling.get("min_replicas").as_f64(),
                autoscaling.get("max_replicas").as_f64(),
            ) && min > max
            {
                diags.attribute_error(
                    AttributePath::attr("autoscaling").join("min_replicas"),
                    "min_replicas is greater than max_replicas",
                    format!("min_replicas ({min}) must not be greater than max_replicas ({max})."),
                );
            }
            if autoscaling.get("cpu_target").is_null() && autoscaling.get("memory_target").is_null()
            {
                diags.attribute_error(
                    AttributePath::attr("autoscaling"),
                    "Autoscaling without a target",
                    "Set cpu_target, memory_target or both, e.g. cpu_target = 70.",
                );
            }
            for (target, resource) in [("cpu_target", "cpu"), ("memory_target", "memory")] {
                let requests = config.get("resources").get("requests");
                if autoscaling.get(target).is_set() && requests.get(resource).is_null() {
                    diags.attribute_error(
                        AttributePath::attr("autoscaling").join(target),
                        "Utilization target without a request",
                        format!("{target} is a percentage of the containers' {resource} request: set resources.requests.{resource}."),
                    );
                }
            }
        }
        for probe in ["liveness_probe", "readiness_probe", "startup_probe"] {
            let p = config.get(probe);
            if p.is_null() || p.is_unknown() {
                continue;
            }
            let handlers =
                Value::count_set(["http_get", "tcp_socket", "grpc", "exec"].map(|h| p.get(h)));
            if handlers.is_some_and(|n| n != 1) {
                diags.attribute_error(
                    AttributePath::attr(probe),
                    "A probe needs exactly one check",
                    "Set exactly one of http_get, tcp_socket, grpc or exec.",
                );
            }
            if probe != "readiness_probe"
                && p.get("success_threshold")
                    .as_f64()
                    .is_some_and(|n| n != 1.0)
            {
                diags.attribute_error(
                    AttributePath::attr(probe).join("success_threshold"),
                    "success_threshold must be 1",
                    "Kubernetes requires success_threshold = 1 for liveness and startup probes.",
                );
            }
        }
        let budget = config.get("disruption_budget");
        if budget.is_set() {
            let set = Value::count_set(["min_available", "max_unavailable"].map(|a| budget.get(a)));
            if set.is_some_and(|n| n != 1) {
                diags.attribute_error(
                    AttributePath::attr("disruption_budget"),
                    "Set one disruption limit",
                    "Set exactly one of min_available or max_unavailable.",
                );
            }
        }
        if config.get("ingress").is_set() && config.get("service").is_null() {
            diags.attribute_error(
                AttributePath::attr("ingress"),
                "Ingress needs a service",
                "An Ingress routes to the workload's Service: add `service = {}` (or with ports).",
            );
        }
        let service = config.get("service");
        if service.is_set()
            && service.get("ports").is_null()
            && config.get("ports").elements().is_empty()
            && !config.get("ports").is_unknown()
        {
            diags.attribute_error(
                AttributePath::attr("service"),
                "Service without ports",
                "Give the service ports (service.ports), or give the container ports (ports) for the service to expose.",
            );
        }
        if service.get("type").as_str() == Some("ClusterIP") {
            for (i, p) in service.get("ports").elements().iter().enumerate() {
                if p.get("node_port").is_set() {
                    diags.attribute_error(
                        AttributePath::attr("service")
                            .join("ports")
                            .index(i)
                            .join("node_port"),
                        "node_port on a ClusterIP service",
                        "node_port applies to NodePort and LoadBalancer services.",
                    );
                }
            }
        }
        if config.get("config_mount_path").is_set() && config.get("config_data").is_null() {
            diags.attribute_error(
                AttributePath::attr("config_mount_path"),
                "Nothing to mount",
                "config_mount_path mounts config_data: set config_data or remove config_mount_path.",
            );
        }
        if let Some(path) = config.get("config_mount_path").as_str()
            && !path.starts_with('/')
        {
            diags.attribute_error(
                AttributePath::attr("config_mount_path"),
                "Relative mount path",
                format!("{path:?} must be an absolute path, e.g. \"/etc/app\"."),
            );
        }
        for map in ["node_selector", "labels"] {
            for (key, _) in config.get(map).entries().into_iter().flatten() {
                if !is_label_key(key) {
                    diags.attribute_error(
                        AttributePath::attr(map).key(key),
                        "Invalid label key",
                        format!("{key:?} is not a valid Kubernetes label key."),
                    );
                }
            }
        }
        for (name, _) in config
            .get("env")
            .entries()
            .into_iter()
            .flatten()
            .chain(config.get("secret_env").entries().into_iter().flatten())
        {
            if name.is_empty()
                || name.starts_with(|c: char| c.is_ascii_digit())
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                diags.attribute_error(
                    AttributePath::attr("env").key(name),
                    "Invalid environment variable name",
                    format!("{name:?} is not a valid environment variable name: use letters, digits, '_', '-' and '.', not starting with a digit."),
                );
            }
        }
    }

    fn modify_plan(&self, ctx: &PlanContext<'_>, planned: &mut Value, _diags: &mut Diagnostics) {
        let config = ctx.config;
        if config.get("replicas").is_null() {
            // With autoscaling the HPA owns the count: the state has none,
            // so scaling is no diff and a configuration generated from an
            // import does not set replicas beside autoscaling.
            let replicas = match config.get("autoscaling") {
                Value::Null => Value::Number(1.0),
                Value::Unknown => Value::Unknown,
                _ => Value::Null,
            };
            planned.set_attr("replicas", replicas);
        }
        if ctx.is_create() {
            planned.set_attr("id", workload_id(planned));
            if !has_load_balancer(planned).unwrap_or(true) {
                planned.set_attr("load_balancer_ip", Value::Null);
            }
        } else {
            plan_observed(ctx.prior, planned);
        }
    }

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied {
        let client = match connect(provider, planned).await {
            Ok(Some(c)) => c,
            Ok(None) => return Applied::failed(Value::Null, cluster_missing(planned)),
            Err(d) => return Applied::failed(Value::Null, d.into()),
        };
        let objects = workload::render(planned);
        match workload::foreign(&client, &objects, &provider.stop).await {
            Ok(found) if found.is_empty() => {}
            Ok(found) => return Applied::failed(Value::Null, taken(planned, &found)),
            Err(e) => {
                return Applied::failed(
                    Value::Null,
                    Diagnostic::error("Failed to read the cluster", e.to_string()).into(),
                );
            }
        }
        apply_workload(provider, &client, &Value::Null, planned, "create").await
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        // A workload whose cluster is gone is gone too.
        let client = match connect(provider, state).await? {
            Some(c) => c,
            None => return Ok(None),
        };
        let (namespace, name) = names(state);
        let observed = workload::observe(
            &client,
            &namespace,
            &name,
            &workload::all_kinds(),
            &provider.stop,
        )
        .await
        .map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Failed to read the workload",
                e.to_string(),
            ))
        })?;
        let Some(deployment) = observed.deployment() else {
            return Ok(None);
        };
        let mut fresh = read_back(state, &observed);
        // After an import, what only the configuration says takes its
        // default.
        if fresh.get("wait_for_rollout").is_null() {
            fresh.set_attr("wait_for_rollout", true.into());
        }
        if fresh.get("kubeconfig_path").is_null() && fresh.get("cluster").is_null() {
            fresh.set_attr("kubeconfig_path", kubeconfig_path(state).into());
        }
        fresh.set_attr(
            "status",
            status_name(&workload::rollout_of(deployment)).into(),
        );
        fresh.set_attr("load_balancer_ip", observed.load_balancer_ip().into());
        Ok(Some((fresh, private.to_vec())))
    }

    async fn update(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        planned: &Value,
        private: &[u8],
    ) -> Applied {
        let client = match connect(provider, planned).await {
            Ok(Some(c)) => c,
            Ok(None) => return Applied::failed(prior.clone(), cluster_missing(planned)),
            Err(d) => return Applied::failed(prior.clone(), d.into()),
        };
        let mut applied = apply_workload(provider, &client, prior, planned, "update").await;
        applied.private = private.to_vec();
        applied
    }

    async fn delete(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        _private: &[u8],
    ) -> Diagnostics {
        let client = match connect(provider, prior).await {
            Ok(Some(c)) => c,
            Ok(None) => return Diagnostics::new(),
            Err(d) => return d.into(),
        };
        let (namespace, _) = names(prior);
        // Dependents first: the reverse of the order they were applied in.
        let mut objects = workload::identities(&workload::render(prior));
        objects.reverse();
        let wait = wait_for(provider, prior, "delete", 5);
        match workload::delete(&client, &namespace, &objects, wait.timeout, &wait.stop).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => Diagnostic::error("Failed to delete the workload", e.to_string()).into(),
        }
    }

    fn upgrade_state(&self, version: i64, mut state: Value) -> Result<Value, Diagnostics> {
        if version < 1 && state.get("autoscaling").is_set() {
            state.set_attr("replicas", Value::Null);
        }
        Ok(state)
    }

    fn import(&self, _provider: &ProviderContext, id: &str) -> Result<Value, Diagnostics> {
        let forms = [
            "CLUSTER_ID/NAMESPACE/NAME (e.g. projects/P/locations/L/clusters/C/apps/api)",
            "NAMESPACE/NAME or CONTEXT/NAMESPACE/NAME for a kubeconfig cluster (the kubeconfig is KUBECONFIG's, else ~/.kube/config)",
        ];
        let parts: Vec<&str> = id.rsplitn(3, '/').collect();
        let (name, namespace, prefix) = match parts.as_slice() {
            [name, namespace, prefix] => (*name, *namespace, Some(*prefix)),
            [name, namespace] => (*name, *namespace, None),
            _ => return Err(bad_import_id(id, &forms)),
        };
        if !validators::is_dns1123_label(namespace) || !validators::is_dns1123_label(name) {
            return Err(bad_import_id(id, &forms));
        }
        // A prefix is a cluster ID, or else a kubeconfig context name.
        let (cluster, context) = match prefix {
            Some(p) if ClusterName::parse(p).is_some() => (Some(p), None),
            Some(p) if !p.is_empty() && !p.contains('/') => (None, Some(p)),
            Some(_) => return Err(bad_import_id(id, &forms)),
            None => (None, None),
        };
        Ok(state_with(
            &schema().block,
            &[
                ("id", workload_id_of(cluster, namespace, name).into()),
                ("cluster", cluster.map(Value::from).unwrap_or_default()),
                (
                    "kubeconfig_context",
                    context.map(Value::from).unwrap_or_default(),
                ),
                ("namespace", namespace.into()),
                ("name", name.into()),
            ],
        ))
    }
}

/// The state as the cluster has it: every rendered attribute read back from
/// Genesis's parts of the live objects. Where a reading renders the same
/// objects as the prior state (`1` for `1000m`, a node-pool shortcut
/// spelled out), the prior's spelling stays, so only real changes show.
fn read_back(prior: &Value, observed: &workload::Observed) -> Value {
    let applied = workload::render(prior);
    let (_, name) = names(prior);
    let live = observed
        .objects
        .iter()
        .filter(|(_, object)| workload::belongs(object, &name, observed))
        .map(|(kind, object)| {
            let last = applied
                .iter()
                .find(|o| o["kind"] == *kind)
                .unwrap_or(&serde_json::Value::Null);
            (*kind, workload::ours(object, last))
        })
        .collect();
    let read = workload::attributes_of(&live, &name);
    let Type::Object(types) = value_type() else {
        return prior.clone();
    };
    let mut fresh = prior.clone();
    for (attribute, value) in read.entries().into_iter().flatten() {
        let value = value
            .clone()
            .conform(types.get(attribute).unwrap_or(&Type::Dynamic));
        let mut candidate = prior.clone();
        candidate.set_attr(attribute, value.clone());
        if !workload::same_objects(&workload::render(&candidate), &applied) {
            fresh.set_attr(attribute, value);
        }
    }
    fresh
}

fn names(state: &Value) -> (String, String) {
    (
        state
            .get("namespace")
            .as_str()
            .unwrap_or("default")
            .to_string(),
        state.get("name").as_str().unwrap_or_default().to_string(),
    )
}

fn status_name(rollout: &workload::Rollout) -> &'static str {
    match rollout {
        workload::Rollout::Available => "Available",
        workload::Rollout::Progressing => "Progressing",
        workload::Rollout::Failed(_) => "Failed",
    }
}

/// The error for a create whose objects someone else already has.
fn taken(planned: &Value, found: &[(String, String)]) -> Diagnostics {
    let (namespace, _) = names(planned);
    let objects = found
        .iter()
        .map(|(kind, name)| format!("{kind} {namespace}/{name}"))
        .collect::<Vec<_>>()
        .join(", ");
    let id = workload_id(planned);
    Diagnostic::error(
        "Workload objects already exist",
        format!(
            "The cluster already has {objects}, which this resource did not create (another configuration's workload, or objects made with kubectl). Nothing was changed. To manage them with Terraform, import them (an `import` block with id = {:?}, or terraform import); otherwise choose another name or namespace. With create_before_destroy, a replacement under the same name meets its own predecessor: see the README.",
            id.as_str().unwrap_or_default()
        ),
    )
    .at(AttributePath::attr("name"))
    .into()
}

fn cluster_missing(state: &Value) -> Diagnostics {
    Diagnostic::error(
        "Cluster not found",
        format!("The cluster {:?} does not exist (yet). Create it first, or check the `cluster` attribute.", state.get("cluster").as_str().unwrap_or_default()),
    )
    .at(AttributePath::attr("cluster"))
    .into()
}

/// The kubeconfig a workload uses: its `kubeconfig_path`, or, for a
/// workload just imported by `NAMESPACE/NAME` (neither `cluster` nor
/// `kubeconfig_path` known yet), kubectl's: the first file in KUBECONFIG,
/// else `~/.kube/config`.
fn kubeconfig_path(state: &Value) -> Option<String> {
    if let Some(path) = state.get("kubeconfig_path").as_str() {
        return Some(path.to_string());
    }
    if !state.get("cluster").is_null() {
        return None;
    }
    std::env::var("KUBECONFIG")
        .ok()
        .and_then(|v| v.split(':').find(|p| !p.is_empty()).map(str::to_string))
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .map(|home| format!("{home}/.kube/config"))
        })
}

/// Whether two kubeconfig paths name the same file (`./kubeconfig` and
/// its absolute path).
fn same_file(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => {
            a == b
                || matches!(
                    (std::fs::canonicalize(a), std::fs::canonicalize(b)),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        _ => false,
    }
}

/// A client for the workload's cluster: through the genesis_cluster's
/// endpoint and CA with a token from the Google credentials, or through a
/// kubeconfig. `Ok(None)` when the cluster does not exist.
async fn connect(
    provider: &ProviderContext,
    state: &Value,
) -> Result<Option<kube::Client>, Diagnostic> {
    if let Some(path) = kubeconfig_path(state) {
        let context = state.get("kubeconfig_context").as_str();
        return provider
            .kube
            .get_or_make(&[&path, context.unwrap_or_default()], || {
                crate::kube::connect_kubeconfig(&path, context)
            })
            .await
            .map(Some)
            .map_err(|e| {
                Diagnostic::error("Cannot use the kubeconfig", e.to_string())
                    .at(AttributePath::attr("kubeconfig_path"))
            });
    }
    let id = state.get("cluster").as_str().unwrap_or_default();
    let Some(name) = ClusterName::parse(id) else {
        return Err(Diagnostic::error(
            "Not a cluster ID",
            format!("{id:?} is not the id of a genesis_cluster."),
        )
        .at(AttributePath::attr("cluster")));
    };
    let at = name.address();
    let wait = wait_for(provider, state, "read", 5);
    let cluster = provider
        .clusters(&at)
        .get(&at, &wait)
        .await
        .map_err(|e| e.diagnostic("read the workload's cluster"))?;
    let Some(cluster) = cluster else {
        return Ok(None);
    };
    super::common::cluster_client(provider, &cluster)
        .await
        .map(Some)
}

/// Applies the rendered objects, removes those the new configuration no
/// longer renders, and waits for the rollout when asked.
async fn apply_workload(
    provider: &ProviderContext,
    client: &kube::Client,
    prior: &Value,
    planned: &Value,
    op: &str,
) -> Applied {
    let objects = workload::render(planned);
    // The prior state is what the cluster holds (refreshed): when the plan
    // renders the same objects (only `timeouts` or `wait_for_rollout`
    // changed, say, or an import met its configuration), nothing is written.
    let unchanged = !prior.is_null() && workload::same_objects(&workload::render(prior), &objects);
    let applied = if unchanged {
        Ok(())
    } else {
        workload::apply(client, &objects, &provider.stop).await
    };
    if let Err(e) = applied {
        // A create that applied some objects before failing keeps them in
        // state (tainted), so the next apply replaces rather than meets them.
        let state = if !prior.is_null() {
            prior.clone()
        } else if workload::existing(client, &objects, &provider.stop)
            .await
            .is_ok_and(|found| found.is_empty())
        {
            Value::Null
        } else {
            planned_state(planned, "Failed", None)
        };
        return Applied::failed(
            state,
            Diagnostic::error("Failed to apply the workload", e.to_string()).into(),
        );
    }
    let (namespace, name) = names(planned);
    let wait = wait_for(provider, planned, op, 10);
    let kept = workload::identities(&objects);
    let dropped: Vec<(String, String)> = workload::identities(&workload::render(prior))
        .into_iter()
        .filter(|o| !kept.contains(o))
        .collect();
    if !dropped.is_empty()
        && let Err(e) =
            workload::delete(client, &namespace, &dropped, wait.timeout, &wait.stop).await
    {
        return Applied::failed(
            planned_state(planned, "Progressing", None),
            Diagnostic::error(
                "Failed to remove objects the workload no longer has",
                e.to_string(),
            )
            .into(),
        );
    }
    let rollout = if planned.get("wait_for_rollout").as_bool() == Some(false) {
        Ok(workload::Rollout::Progressing)
    } else {
        workload::wait_for_rollout(client, &namespace, &name, wait.timeout, &wait.stop).await
    };
    let observed = workload::observe(client, &namespace, &name, &["Service"], &wait.stop)
        .await
        .ok();
    let lb = observed.and_then(|o| o.load_balancer_ip());
    let pods = async {
        workload::pod_problems(client, &namespace, &name)
            .await
            .map(|p| format!(" Pods: {p}."))
            .unwrap_or_default()
    };
    match rollout {
        Ok(workload::Rollout::Failed(reason)) => Applied::failed(
            planned_state(planned, "Failed", lb),
            Diagnostic::error(
                "Rollout failed",
                format!("Deployment {namespace}/{name} did not roll out: {reason}{}", pods.await),
            )
            .into(),
        ),
        Ok(workload::Rollout::Progressing) if wait.stop.is_cancelled() => Applied::failed(
            planned_state(planned, "Progressing", lb),
            Diagnostic::error(
                "Stopped during the rollout",
                format!("Terraform asked the provider to stop while Deployment {namespace}/{name} was rolling out. Its objects are applied and the rollout goes on in the cluster; the next plan shows how it ended (`status`)."),
            )
            .into(),
        ),
        Ok(workload::Rollout::Progressing)
            if planned.get("wait_for_rollout").as_bool() != Some(false) =>
        {
            Applied::failed(
                planned_state(planned, "Progressing", lb),
                Diagnostic::error(
                    "Rollout not finished",
                    format!("Deployment {namespace}/{name} was still rolling out when the timeout ran out; raise timeouts or check its pods.{}", pods.await),
                )
                .into(),
            )
        }
        Ok(rollout) => Applied::ok(planned_state(planned, status_name(&rollout), lb)),
        Err(e) => Applied::failed(
            planned_state(planned, "Progressing", lb),
            Diagnostic::error("Failed to watch the rollout", e.to_string()).into(),
        ),
    }
}

/// Whether the workload has a LoadBalancer service; `None` while unknown.
fn has_load_balancer(planned: &Value) -> Option<bool> {
    match planned.get("service") {
        Value::Null => Some(false),
        Value::Unknown => None,
        service => match service.get("type") {
            Value::Unknown => None,
            t => Some(t.as_str() == Some("LoadBalancer")),
        },
    }
}

/// Plans `status` and `load_balancer_ip` of an update: each keeps its prior
/// value unless the objects it comes from change. A new rollout's outcome,
/// and a changed load balancer's address, are known only after apply; a
/// workload without a LoadBalancer service has no address at all.
fn plan_observed(prior: &Value, planned: &mut Value) {
    let mut after = planned.clone();
    for observed in ["status", "load_balancer_ip"] {
        after.set_attr(observed, prior.get(observed).clone());
    }
    let (before, after) = if after.is_wholly_known() {
        (workload::render(prior), workload::render(&after))
    } else {
        (Vec::new(), Vec::new())
    };
    let unchanged = |kind: &str| {
        let find =
            |objects: &[serde_json::Value]| objects.iter().find(|o| o["kind"] == kind).cloned();
        !after.is_empty() && find(&before) == find(&after)
    };
    // Only a finished rollout stays as it was: one still going (or failed)
    // is waited on again by the apply, and may end otherwise. An apply
    // that does not wait has nothing to wait on again: no perpetual diff.
    let settled = prior.get("status").as_str() == Some("Available")
        || planned.get("wait_for_rollout").as_bool() == Some(false);
    let status = if unchanged("Deployment") && settled {
        prior.get("status").clone()
    } else {
        Value::Unknown
    };
    planned.set_attr("status", status);
    let address = match has_load_balancer(planned) {
        Some(false) => Value::Null,
        Some(true) if unchanged("Service") => prior.get("load_balancer_ip").clone(),
        _ => Value::Unknown,
    };
    planned.set_attr("load_balancer_ip", address);
}

fn planned_state(planned: &Value, status: &str, load_balancer_ip: Option<String>) -> Value {
    let mut state = planned.clone();
    state.set_attr("status", status.into());
    state.set_attr("load_balancer_ip", load_balancer_ip.into());
    state
}

fn workload_id(planned: &Value) -> Value {
    let (namespace, name) = (planned.get("namespace"), planned.get("name"));
    let (Some(namespace), Some(name)) = (namespace.as_str(), name.as_str()) else {
        return Value::Unknown;
    };
    match planned.get("cluster") {
        Value::String(cluster) => workload_id_of(Some(cluster), namespace, name).into(),
        Value::Null => workload_id_of(None, namespace, name).into(),
        _ => Value::Unknown,
    }
}

fn workload_id_of(cluster: Option<&str>, namespace: &str, name: &str) -> String {
    match cluster {
        Some(cluster) => format!("{cluster}/{namespace}/{name}"),
        None => format!("{namespace}/{name}"),
    }
}

pub fn value_type() -> Type {
    schema().value_type()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_or_percent_values() {
        for ok in ["0", "1", "25%", "100%"] {
            assert!(int_or_percent_value(&ok.into()).is_ok(), "{ok}");
        }
        for bad in ["", "%", "1.5", "101%", "abc"] {
            assert!(int_or_percent_value(&bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn imports_accept_cluster_and_kubeconfig_forms() {
        let ctx = ProviderContext::default();
        let v = Workload
            .import(&ctx, "projects/p/locations/us-central1/clusters/c/apps/api")
            .unwrap();
        assert_eq!(
            v.get("cluster"),
            &Value::from("projects/p/locations/us-central1/clusters/c")
        );
        assert_eq!(v.get("namespace"), &Value::from("apps"));
        let v = Workload.import(&ctx, "apps/api").unwrap();
        assert_eq!(v.get("cluster"), &Value::Null);
        let v = Workload.import(&ctx, "dev/apps/api").unwrap();
        assert_eq!(v.get("kubeconfig_context"), &Value::from("dev"));
        assert_eq!(v.get("id"), &Value::from("apps/api"));
        assert!(Workload.import(&ctx, "api").is_err());
        assert!(Workload.import(&ctx, "bad/cluster/apps/api").is_err());
    }
}
