//! The schema of `genesis_workload`: its attributes, their defaults and
//! validation, and the descriptions that become its documentation.

use super::same_file;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::types::Type;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::resources::common::timeouts_block;
use crate::resources::node_pool::POOL_TYPES;

const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer"];
const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const RELEASES: &[&str] = &[super::BLUE_GREEN, super::CANARY];
const STRATEGIES: &[&str] = &["RollingUpdate", "Recreate", "OnDelete"];
pub const KINDS: &[&str] = &["Deployment", "StatefulSet", "Job", "CronJob"];
const RETENTION: &[&str] = &["Retain", "Delete"];
const TOLERATION_OPERATORS: &[&str] = &["Equal", "Exists"];
const TOLERATION_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
const SELECT_POLICIES: &[&str] = &["Max", "Min", "Disabled"];

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

fn amounts(name: &str, what: &str) -> Attribute {
    Attribute::object(
        name,
        vec![
            quantity("cpu", "CPU, e.g. `500m`."),
            quantity("memory", "Memory, e.g. `512Mi`."),
            quantity("ephemeral_storage", "Local scratch space, e.g. `1Gi`."),
            Attribute::string_map("extended")
                .validate(extended_resources)
                .describe("Extended resources by name, e.g. `{ \"nvidia.com/gpu\" = \"1\" }`."),
        ],
    )
    .describe(what)
}

fn resources(description: &str) -> Attribute {
    Attribute::object(
        "resources",
        vec![
            amounts("requests", "What the scheduler reserves for the container."),
            amounts("limits", "The most the container may use."),
        ],
    )
    .describe(description)
}

/// Extended resources are named `DOMAIN/NAME` and counted in whole units.
fn extended_resources(v: &Value) -> Result<(), String> {
    for (name, amount) in v.entries().into_iter().flatten() {
        let domain = name.split_once('/').map(|(d, _)| d);
        if domain.is_none_or(|d| !d.contains('.') || d.ends_with("kubernetes.io")) {
            return Err(format!(
                "{name:?} is not an extended resource: write DOMAIN/NAME, such as \"nvidia.com/gpu\" (cpu, memory and ephemeral_storage have attributes of their own)."
            ));
        }
        if let Some(a) = amount.as_str()
            && !a.chars().all(|c| c.is_ascii_digit())
        {
            return Err(format!(
                "{name}: {a:?} is not a whole number; extended resources are counted in units."
            ));
        }
    }
    Ok(())
}

/// An init container or a sidecar: restricted like the workload's own.
fn extra_container(sidecar: bool) -> Vec<Attribute> {
    let mut attributes = vec![
        Attribute::string("name")
            .required()
            .validate(validators::dns1123_label)
            .describe("The container's name, unique in the pod."),
        Attribute::string("image")
            .required()
            .validate(image)
            .describe("The container image."),
        Attribute::string_list("command").describe("Overrides the image's entrypoint."),
        Attribute::string_list("args").describe("Arguments to the entrypoint."),
        Attribute::string_map("env").describe("Environment variables."),
        resources("Compute resources."),
    ];
    if sidecar {
        attributes.push(
            Attribute::object_list(
                "ports",
                vec![
                    Attribute::string("name")
                        .validate(port_name)
                        .describe("The port's name."),
                    port("container_port", "The port the sidecar listens on.").required(),
                    Attribute::string("protocol")
                        .default("TCP")
                        .validate(validators::one_of(PROTOCOLS))
                        .describe("`TCP` (default), `UDP` or `SCTP`."),
                ],
            )
            .describe("Ports the sidecar listens on."),
        );
    }
    attributes
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

/// The schema, built once: validation and planning read it on every
/// call, and building it (descriptions, validators) costs more than the
/// rules it serves.
pub fn schema() -> &'static Schema {
    static SCHEMA: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(build_schema);
    &SCHEMA
}

fn build_schema() -> Schema {
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
        Attribute::string("kind")
            .default("Deployment")
            .force_new()
            .validate(validators::one_of(KINDS))
            .describe("`Deployment` (default): interchangeable pods. `StatefulSet`: pods with stable names (`NAME-0`, `NAME-1`, ...) and a PersistentVolumeClaim each for every `volumes` entry with a `size`, started and updated in order, behind a headless Service named after the workload (`NAME-0.NAME.NAMESPACE.svc`). `Job`: a task run to completion, which the apply waits on (a change runs it again). `CronJob`: a task run on `cron.schedule`. Changing it replaces the workload; claims are kept (see `volume_retention`)."),
        Attribute::object(
            "cron",
            vec![
                Attribute::string("schedule")
                    .required()
                    .validate(cron_schedule)
                    .describe("When to run, in cron syntax (`MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK`, e.g. `0 2 * * *` for 02:00 every day) or a macro (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`)."),
                Attribute::string("time_zone")
                    .validate(time_zone)
                    .describe("The time zone of the schedule, e.g. `Europe/Paris` (the controller manager's, usually UTC, when left out)."),
                Attribute::string("concurrency_policy")
                    .default("Forbid")
                    .validate(validators::one_of(&["Allow", "Forbid", "Replace"]))
                    .describe("When a run is due while the last one still runs: `Forbid` (default: skip it), `Replace` (stop the last one) or `Allow`."),
                Attribute::number("starting_deadline_seconds")
                    .validate(validators::int_between(1, 86_400))
                    .describe("A run that could not start within this many seconds of its time is skipped."),
                Attribute::number("successful_jobs_history_limit")
                    .default(3)
                    .validate(validators::int_between(0, 100))
                    .describe("Finished successful runs kept."),
                Attribute::number("failed_jobs_history_limit")
                    .default(1)
                    .validate(validators::int_between(0, 100))
                    .describe("Failed runs kept."),
                Attribute::bool("suspend").default(false).describe("Stop scheduling runs (a run in progress goes on)."),
            ],
        )
        .describe("CronJobs: when the task runs."),
        Attribute::object(
            "job",
            vec![
                Attribute::number("backoff_limit")
                    .default(6)
                    .validate(validators::int_between(0, 1000))
                    .describe("Failed pods before the run counts as failed."),
                Attribute::number("active_deadline_seconds")
                    .validate(validators::int_between(1, 31_536_000))
                    .describe("The most a run may take; it fails after that."),
                Attribute::number("ttl_seconds_after_finished")
                    .validate(validators::int_between(0, 31_536_000))
                    .describe("Delete a finished run (and its pods) after this many seconds."),
                Attribute::string("restart_policy")
                    .default("Never")
                    .validate(validators::one_of(&["Never", "OnFailure"]))
                    .describe("`Never` (default: a failed container fails its pod, and a new pod tries again) or `OnFailure` (the container restarts in its pod)."),
            ],
        )
        .describe("Jobs and CronJobs: how a run is retried and bounded."),
        Attribute::object_map(
            "volumes",
            vec![
                Attribute::string("mount_path").required().describe("Where the container sees the volume, e.g. `/var/lib/postgresql/data`."),
                Attribute::bool("read_only").default(false).describe("Mount it read-only."),
                quantity("size", "A PersistentVolumeClaim of this size, e.g. `100Gi`: one per pod on a StatefulSet (`VOLUME-NAME-0`, ...), one all pods share on other kinds (`NAME-VOLUME`; with `ReadWriteOnce`, the pods must run on one node). Kept when the workload is destroyed (or a StatefulSet scaled in) unless `volume_retention` says otherwise, and taken back by a workload of the same name; growing it expands the claims in place, shrinking is refused."),
                Attribute::string("storage_class").describe("The claim's StorageClass, e.g. `fast-ssd` (the cluster's default when left out). With `size`."),
                Attribute::typed("access_modes", Type::list(Type::String))
                    .validate(|v| v.elements().iter().try_for_each(validators::one_of(&["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"])))
                    .describe("The claim's access modes (`ReadWriteOnce` when left out). With `size`."),
                Attribute::object(
                    "empty_dir",
                    vec![
                        quantity("size_limit", "The most it may hold, e.g. `1Gi`."),
                        Attribute::bool("memory").default(false).describe("Back it with memory (tmpfs) instead of the node's disk."),
                    ],
                )
                .describe("Scratch space that lives as long as the pod."),
                Attribute::string("config_map").validate(validators::dns1123_subdomain).describe("Mount this ConfigMap's keys as files."),
                Attribute::string("secret").validate(validators::dns1123_subdomain).describe("Mount this Secret's keys as files."),
                Attribute::string("claim_name").validate(validators::dns1123_subdomain).describe("Mount this existing PersistentVolumeClaim (shared by every pod)."),
            ],
        )
        .describe("Volumes mounted in the container, by name (a DNS label): set exactly one of `size` (a claim Genesis makes: per pod on a StatefulSet, shared otherwise), `empty_dir`, `config_map`, `secret` or `claim_name` (an existing claim)."),
        Attribute::object(
            "volume_retention",
            vec![
                Attribute::string("when_deleted")
                    .default("Retain")
                    .validate(validators::one_of(RETENTION))
                    .describe("`Retain` (default): destroying the workload keeps its claims and their data. `Delete` deletes them with it."),
                Attribute::string("when_scaled")
                    .default("Retain")
                    .validate(validators::one_of(RETENTION))
                    .describe("StatefulSets. `Retain` (default): scaling in keeps the removed pods' claims (a scale-out reuses them). `Delete` deletes them."),
            ],
        )
        .describe("What happens to the PersistentVolumeClaims Genesis made for `size` volumes. Left out, they are always kept, on destroy and when a volume is removed: deleting data takes an explicit `Delete`."),
        Attribute::string("pod_management_policy")
            .validate(validators::one_of(&["OrderedReady", "Parallel"]))
            .describe("StatefulSets: `OrderedReady` (Kubernetes' default: one pod at a time, in ordinal order) or `Parallel`."),
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
        Attribute::object_map(
            "external_secrets",
            vec![
                Attribute::string("store").required().validate(validators::dns1123_subdomain).describe("The store holding it: a key of `genesis_cluster.secret_stores` (a ClusterSecretStore)."),
                Attribute::string("key").required().describe("The secret's name in the store (`db-password`; a path in Vault)."),
                Attribute::string("version").describe("The version to read (`latest`, `5`; the store's current one when left out)."),
                Attribute::string("property").describe("A field of a JSON secret (or a Vault secret's key) rather than the whole value."),
            ],
        )
        .describe("Environment variables from the cloud's secret store, by variable name: `{ DB_PASSWORD = { store = \"gcp\", key = \"db-password\", version = \"latest\" } }`. Rendered as an External Secrets Operator ExternalSecret named after the workload, whose Secret (`NAME-external-secrets`) feeds the container; the apply waits until it is synced, or fails with the operator's reason. The values never pass through Terraform or its state. Needs the External Secrets Operator in the cluster (Genesis does not install it): a cluster without its CustomResourceDefinitions is refused at plan time when the cluster exists, else before anything is applied."),
        Attribute::string("external_secrets_refresh_interval")
            .default("1h")
            .validate(validators::go_duration)
            .describe("How often the operator reads `external_secrets` again from the store (`1h`, the default; `0` reads them once)."),
        Attribute::string("external_secrets_mount_path")
            .describe("Mount `external_secrets` as files in this directory (read-only, a file per variable name, e.g. `/var/run/secrets/app/DB_PASSWORD`) instead of as environment variables. The operator's refreshes reach the files without a restart."),
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
        .describe("A HorizontalPodAutoscaler (autoscaling/v2). It owns `replicas`: scaling never shows as a diff. It scales on the cluster's resource metrics (`metrics.k8s.io`): built into GKE, the metrics-server add-on Genesis installs on EKS (`genesis_cluster.eks.addons`). On a cluster that exists and serves none, the plan is refused here (a warning for a cluster given by a kubeconfig)."),
        resources("Compute resources. Equivalent spellings (`1` and `1000m`) are the same value and never show as a diff. A GPU request (`extended = { \"nvidia.com/gpu\" = \"1\" }`) also tolerates the GPU nodes' `nvidia.com/gpu` taint."),
        Attribute::object_list("init_containers", extra_container(false))
            .describe("Containers run one after the other before the workload's starts, each to completion, e.g. one that waits for a database. They run after the sidecars have started."),
        Attribute::object_list("sidecars", extra_container(true))
            .describe("Containers that run beside the workload's for the pod's whole life (native sidecars: started before it and stopped after it), e.g. a proxy."),
        probe("liveness_probe", "Restart the container when this fails."),
        probe("readiness_probe", "Send traffic only while this passes."),
        probe("startup_probe", "Hold the other probes until this passes, for slow starters."),
        Attribute::object(
            "strategy",
            vec![
                Attribute::string("type")
                    .default("RollingUpdate")
                    .validate(validators::one_of(STRATEGIES))
                    .describe("`RollingUpdate` (default); `Recreate` (Deployments: all old pods go before new ones start); `OnDelete` (StatefulSets: a pod takes the new version when you delete it)."),
                int_or_percent("max_surge", "Extra pods during a rollout, e.g. `25%` or `1` (Deployments)."),
                int_or_percent("max_unavailable", "Pods that may be unavailable during a rollout, e.g. `0` (Deployments)."),
                Attribute::number("partition")
                    .validate(validators::int_between(0, 10_000))
                    .describe("StatefulSets: only pods with an ordinal at or above this take the new version (a staged rollout); the apply waits for those."),
            ],
        )
        .describe("How a new version rolls out."),
        Attribute::object(
            "rollout",
            vec![
                Attribute::string("strategy")
                    .required()
                    .validate(validators::one_of(RELEASES))
                    .describe("`blue-green`: the new version runs beside the live one as a second Deployment (`NAME-blue`, `NAME-green`); the Service switches to it only once all its pods are ready. `canary`: the same, with traffic moved in `steps` first, each checked; a failing step rolls back to the live version and fails the apply with the reason."),
                Attribute::object_list(
                    "steps",
                    vec![
                        Attribute::number("weight")
                            .required()
                            .validate(validators::int_between(1, 99))
                            .describe("Percent of the traffic the new version gets in this step. Without a mesh, traffic follows the pods: the new version gets this share of `replicas` (at least one pod) beside all of the live version's, so the share is approximate."),
                        Attribute::string("pause")
                            .default("0s")
                            .validate(validators::duration)
                            .describe("How long the step lasts once the new pods are ready (`5m`); the apply waits, checking that they stay ready and do not restart. Count the pauses in `timeouts`."),
                    ],
                )
                .describe("Canary: the steps before the new version takes all the traffic, with rising weights: `[{ weight = 10, pause = \"5m\" }, { weight = 50, pause = \"10m\" }]`."),
                Attribute::bool("preview")
                    .default(false)
                    .describe("A ClusterIP Service `NAME-preview`, with the workload's ports, on the new version: during a release the color that is not live yet (to test it before it gets traffic), then the live one. Before the switch, the release waits until the preview Service lists every pod of the new version as a ready endpoint (its EndpointSlices), so the Service is known to reach them."),
                Attribute::string("keep_previous")
                    .default("1h")
                    .validate(validators::duration)
                    .describe("How long the previous version stays scaled after a switch (`1h`, the default; `0s` scales it down at once). Until then, re-applying its image switches back at once, with no new pods; the first apply after it scales it to zero, and the plan shows that apply (`previous_kept_until`)."),
                Attribute::object(
                    "analysis",
                    vec![
                        Attribute::string("path")
                            .required()
                            .validate(validators::http_path)
                            .describe("The path asked, from `/` (a query string is passed on): `/healthz/deep`, or an endpoint of the application that answers 2xx while the version is healthy by its own measure (error rate, latency)."),
                        Attribute::number("port")
                            .validate(validators::int_between(1, 65_535))
                            .describe("The container port asked; by default the first of `ports`."),
                        Attribute::string("timeout")
                            .default("5s")
                            .validate(validators::duration)
                            .describe("How long one answer may take."),
                    ],
                )
                .describe("An HTTP check of the new version before traffic moves to it: every ready pod of the new version is asked `GET path` through the API server's pod proxy (Terraform needs no network path to the pods, only the `pods/proxy` permission) and must answer 2xx; a pod is asked up to three times, two seconds apart. Blue-green checks once all the new pods are ready, before the switch; a canary at each step, once its pods are ready and again at the end of its pause. A failing check fails the release as a failing pod does: the canary rolls back, blue-green keeps traffic on the live version, and the error gives the pod's answer."),
            ],
        )
        .describe("A release driven by the apply itself, with no controller to install (Deployments with a `service`). Without it, a new version is the Deployment's rolling update (`strategy`)."),
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
                Attribute::string("class_name")
                    .optional_computed()
                    .describe("The IngressClass, i.e. which controller makes the load balancer. Left out: the cluster's own, the same HCL on both clouds: on GKE none (its built-in controller makes an external Application Load Balancer), on EKS `alb` (Auto Mode's controller, or with node groups the AWS Load Balancer Controller Genesis runs; Genesis makes the class for either); through a kubeconfig, the cluster's default class. GKE's `gce` and `gce-internal` are written as the `kubernetes.io/ingress.class` annotation, the only place GKE reads them. A class the cluster lacks is refused at plan time."),
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
            "mesh",
            vec![
                Attribute::string("mtls")
                    .validate(validators::one_of(&["STRICT", "PERMISSIVE", "DISABLE"]))
                    .describe("Mutual TLS for the pods' inbound traffic (a PeerAuthentication): `STRICT` (mesh traffic only), `PERMISSIVE` (plain text too) or `DISABLE`."),
                Attribute::string("timeout")
                    .validate(validators::duration)
                    .describe("How long a request to the service may take, e.g. `5s` (a VirtualService)."),
                Attribute::object(
                    "retries",
                    vec![
                        Attribute::number("attempts")
                            .required()
                            .validate(validators::int_between(0, 100))
                            .describe("Retries of a failed request."),
                        Attribute::string("per_try_timeout")
                            .validate(validators::duration)
                            .describe("How long each try may take, e.g. `2s`."),
                        Attribute::string("retry_on")
                            .describe("The failures retried, in Envoy's terms, e.g. `5xx,reset,connect-failure`."),
                    ],
                )
                .describe("Retries of requests to the service (a VirtualService)."),
                Attribute::object(
                    "outlier_detection",
                    vec![
                        Attribute::number("consecutive_5xx_errors")
                            .validate(validators::int_between(0, 1_000_000))
                            .describe("Errors in a row that eject a pod from the pool."),
                        Attribute::string("interval")
                            .validate(validators::duration)
                            .describe("How often pods are checked, e.g. `10s`."),
                        Attribute::string("base_ejection_time")
                            .validate(validators::duration)
                            .describe("How long an ejected pod stays out at first, e.g. `30s`."),
                        Attribute::number("max_ejection_percent")
                            .validate(validators::int_between(0, 100))
                            .describe("The most of the pool that may be ejected, in percent."),
                    ],
                )
                .describe("Ejecting failing pods from the load balancing pool (a DestinationRule)."),
            ],
        )
        .describe("Istio settings for the workload, on a cluster that runs Istio (`genesis_cluster.service_mesh`; Genesis does not install it): rendered as a PeerAuthentication (`mtls`), a VirtualService (`timeout`, `retries`) and a DestinationRule (`outlier_detection`) named after the workload. `timeout`, `retries` and `outlier_detection` apply to the workload's `service`. A cluster without Istio's CustomResourceDefinitions is refused at plan time when the cluster exists, else before anything is applied."),
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
                Attribute::string("gcp_service_account").describe("The Google service account the pods act as (GKE Workload Identity). On a `genesis_cluster` on GKE, Genesis annotates the Kubernetes service account (`iam.gke.io/gcp-service-account`) and grants it `roles/iam.workloadIdentityUser` on the Google service account (Genesis's credentials need `setIamPolicy` there), leaving other grants alone; the grant is read back for drift and taken back with the setting or the workload. Through a kubeconfig it is the annotation alone."),
                Attribute::string("aws_role_arn").describe("The IAM role the pods act as. On a `genesis_cluster` on EKS, Genesis makes an EKS Pod Identity association for the service account (the role must trust `pods.eks.amazonaws.com` with `sts:AssumeRole` and `sts:TagSession`, and the cluster run the pod identity agent: the `eks-pod-identity-agent` add-on, or Auto Mode), removes it with the workload and reads it back for drift and import; an association another workload holds is never taken over. Through a kubeconfig it is the IRSA annotation (`eks.amazonaws.com/role-arn`), which needs the cluster's OIDC provider."),
                Attribute::string_map("annotations").describe("More annotations on the ServiceAccount."),
            ],
        )
        .describe("The pods' identity and its cloud identity."),
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
            .describe("The rollout's state after the last apply or refresh: `Available`, `Progressing` or `Failed`; for a Job, `Complete` once its run succeeded (a CronJob is `Available`)."),
        Attribute::string("load_balancer_ip")
            .computed()
            .describe("The external address of a LoadBalancer service, once assigned."),
        Attribute::string("ingress_address")
            .computed()
            .describe("The address of the Ingress's load balancer once its controller assigned one: an IP on GKE, a DNS name on EKS (an ALB). Null without `ingress`; a refresh reads it when the controller was slower than the apply."),
        Attribute::string("live_color")
            .computed()
            .describe("Blue-green: the color (`blue` or `green`) whose Deployment, `NAME-COLOR`, the Service sends traffic to."),
        Attribute::string("previous_kept_until")
            .computed()
            .describe("Blue-green: until when the previous version stays scaled for an instant rollback (RFC 3339); null once it is scaled down."),
    ];
    Schema::new(
        // 1: `replicas` is null with autoscaling (it held the minimum).
        // 2: `kind` (force-new) is "Deployment" in older states, not null.
        2,
        Block::new(
            "An application in a cluster: Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy, ServiceAccount, ConfigMap and Ingress, restricted by default and applied with server-side apply.",
            attributes,
        )
        .with_block(timeouts_block(&[("create", "10m"), ("update", "10m"), ("delete", "5m")])),
    )
}

/// A cron schedule as the CronJob controller reads it: five fields of
/// numbers, ranges, lists, steps and `*` (names of months and days too),
/// or a macro.
fn cron_schedule(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let macros = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if macros.contains(&s.trim()) {
        return Ok(());
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    let bounds = [
        (0, 59, "minute"),
        (0, 23, "hour"),
        (1, 31, "day of month"),
        (1, 12, "month"),
        (0, 7, "day of week"),
    ];
    if fields.len() != 5 {
        return Err(format!(
            "{s:?} has {} fields; a schedule has five: MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK, e.g. \"0 2 * * *\" (or @daily, @hourly, ...).",
            fields.len()
        ));
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    for (field, (low, high, what)) in fields.iter().zip(bounds) {
        let number = |t: &str| -> Option<u32> {
            let names: &[&str] = match what {
                "month" => &MONTHS,
                "day of week" => &DAYS,
                _ => &[],
            };
            let named = names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(t))
                .map(|i| i as u32 + if what == "month" { 1 } else { 0 });
            named
                .or_else(|| t.parse().ok())
                .filter(|n| (low..=high).contains(n))
        };
        for part in field.split(',') {
            let (range, step) = part.split_once('/').unwrap_or((part, "1"));
            let step_ok = step.parse::<u32>().is_ok_and(|n| n > 0);
            let range_ok = match range {
                "*" | "?" => true,
                r => match r.split_once('-') {
                    Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
                    None => number(r).is_some(),
                },
            };
            if !step_ok || !range_ok {
                return Err(format!(
                    "{s:?}: {part:?} is not a valid {what} (from {low} to {high}, with *, ranges a-b, lists a,b and steps */n)."
                ));
            }
        }
    }
    Ok(())
}

/// An IANA time zone name as Kubernetes accepts it (`Europe/Paris`,
/// `America/Argentina/Buenos_Aires`, `UTC`); the controller refuses names
/// its time zone database lacks.
fn time_zone(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let part = |p: &str| {
        !p.is_empty()
            && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
    };
    if s.split('/').all(part) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a time zone name: write one from the IANA database, e.g. \"Europe/Paris\" or \"UTC\"."
        ))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_schedules() {
        for ok in [
            "0 2 * * *",
            "*/15 * * * *",
            "0 9-17 * * mon-fri",
            "30 4 1,15 * *",
            "@daily",
            "0 0 * JAN sun",
        ] {
            assert!(cron_schedule(&ok.into()).is_ok(), "{ok}");
        }
        for bad in [
            "0 2 * *",
            "61 * * * *",
            "0 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "0 2 * * funday",
            "daily",
        ] {
            assert!(cron_schedule(&bad.into()).is_err(), "{bad}");
        }
        assert!(time_zone(&"Europe/Paris".into()).is_ok());
        assert!(time_zone(&"America/Argentina/Buenos_Aires".into()).is_ok());
        assert!(time_zone(&"Paris, France".into()).is_err());
    }

    #[test]
    fn int_or_percent_values() {
        for ok in ["0", "1", "25%", "100%"] {
            assert!(int_or_percent_value(&ok.into()).is_ok(), "{ok}");
        }
        for bad in ["", "%", "1.5", "101%", "abc"] {
            assert!(int_or_percent_value(&bad.into()).is_err(), "{bad}");
        }
    }
}
