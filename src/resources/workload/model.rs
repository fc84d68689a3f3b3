//! `genesis_workload` in typed form: what the configuration asks for,
//! decoded once from Terraform's value (`framework::model`), rendered into
//! Kubernetes objects and read back from them in these types. Field names
//! are the attribute names; defaults are the schema's (a test checks both).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::model::{decode, encode};
use crate::framework::value::Value;

type Strings = BTreeMap<String, String>;

/// The resource's attributes in typed form: where the workload runs, what
/// it is, and how an apply treats it. The rest is observed (`id`,
/// `status`, `load_balancer_ip`, `ingress_address`) or the framework's
/// (`timeouts`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub target: Target,
    pub spec: WorkloadSpec,
    pub apply: ApplySettings,
}

impl Model {
    /// Decodes a known value (an apply's plan, a state).
    pub fn decode(value: &Value) -> Result<Model, Diagnostics> {
        let misfit = |e: String| {
            Diagnostics::from(Diagnostic::error(
                "Provider error: the workload does not fit its model",
                format!("{e}. This is a bug in the provider; please report it."),
            ))
        };
        Ok(Model {
            target: decode(value).map_err(misfit)?,
            spec: decode(value).map_err(misfit)?,
            apply: decode(value).map_err(misfit)?,
        })
    }

    /// The model as the resource's value; observed attributes are null.
    pub fn encode(&self) -> Value {
        let ty = super::value_type();
        let parts = [
            encode(&self.target, &ty),
            encode(&self.spec, &ty),
            encode(&self.apply, &ty),
        ];
        // The parts own disjoint attributes: each is null in the others.
        let mut out = Value::Object(BTreeMap::new()).conform(&ty);
        for part in parts {
            for (name, value) in part.entries().into_iter().flatten() {
                if !value.is_null() {
                    out.set_attr(name, value.clone());
                }
            }
        }
        out
    }
}

/// How an apply treats the workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplySettings {
    pub wait_for_rollout: bool,
}

impl Default for ApplySettings {
    fn default() -> Self {
        ApplySettings {
            wait_for_rollout: true,
        }
    }
}

/// Where the workload runs: a `genesis_cluster`, or a kubeconfig.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Target {
    pub cluster: Option<String>,
    pub kubeconfig_path: Option<String>,
    pub kubeconfig_context: Option<String>,
}

impl Target {
    /// The target a plan names, once all three settings are known.
    pub fn planned(
        cluster: &Field<String>,
        kubeconfig_path: &Field<String>,
        kubeconfig_context: &Field<String>,
    ) -> Option<Target> {
        let known = |f: &Field<String>| match f {
            Field::Unknown => None,
            _ => Some(f.known().cloned()),
        };
        Some(Target {
            cluster: known(cluster)?,
            kubeconfig_path: known(kubeconfig_path)?,
            kubeconfig_context: known(kubeconfig_context)?,
        })
    }

    /// What the provider process remembers about the target by.
    pub fn key(&self) -> [&str; 3] {
        [
            self.cluster.as_deref().unwrap_or_default(),
            self.kubeconfig_path.as_deref().unwrap_or_default(),
            self.kubeconfig_context.as_deref().unwrap_or_default(),
        ]
    }
}

/// Everything that becomes Kubernetes objects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkloadSpec {
    pub namespace: String,
    pub name: String,
    pub kind: Kind,
    pub cron: Option<Cron>,
    pub job: Option<JobSettings>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    pub volume_retention: Option<VolumeRetention>,
    pub pod_management_policy: Option<String>,
    pub image: String,
    pub image_pull_policy: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: Strings,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_env: BTreeMap<String, SecretKey>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_secrets: BTreeMap<String, ExternalSecret>,
    pub external_secrets_refresh_interval: String,
    /// `external_secrets` as files in this directory rather than variables.
    pub external_secrets_mount_path: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_from_secrets: Vec<String>,
    /// A ConfigMap named after the workload; `Some` even when empty.
    pub config_data: Option<Strings>,
    pub config_mount_path: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    /// `None` with autoscaling: the autoscaler owns the count.
    pub replicas: Option<i64>,
    pub autoscaling: Option<Autoscaling>,
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<ExtraContainer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<ExtraContainer>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
    pub strategy: Option<Strategy>,
    /// How a new version is released: `None` is the Deployment's own
    /// rolling update.
    pub rollout: Option<Release>,
    pub min_ready_seconds: i64,
    pub progress_deadline_seconds: i64,
    pub termination_grace_period_seconds: Option<i64>,
    pub service: Option<Service>,
    pub ingress: Option<Ingress>,
    pub disruption_budget: Option<DisruptionBudget>,
    pub network_policy: Option<NetworkPolicy>,
    pub mesh: Option<Mesh>,
    /// `None` is the restricted default (`SecurityContext::default()`).
    pub security_context: Option<SecurityContext>,
    /// `None` creates a ServiceAccount named after the workload.
    pub service_account: Option<ServiceAccount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: Strings,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    pub node_pool: Option<String>,
    pub node_pool_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Strings,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Strings,
    /// Which resource instance holds the objects (`origin::CLAIM_ANNOTATION`):
    /// not configuration but the instance's private data, written on
    /// every object so that a delete leaves what a newer instance took.
    #[serde(skip)]
    pub owner_claim: Option<String>,
    /// Whether the cluster's pools are ComputeClasses (GKE Autopilot),
    /// which pods must select for GKE to make nodes of them: not
    /// configuration but what the cluster is, known once connected.
    #[serde(skip)]
    pub pools_are_compute_classes: bool,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            namespace: "default".into(),
            name: String::new(),
            kind: Kind::Deployment,
            cron: None,
            job: None,
            volumes: BTreeMap::new(),
            volume_retention: None,
            pod_management_policy: None,
            image: String::new(),
            image_pull_policy: None,
            command: Vec::new(),
            args: Vec::new(),
            env: Strings::new(),
            secret_env: BTreeMap::new(),
            external_secrets: BTreeMap::new(),
            external_secrets_refresh_interval: "1h".into(),
            external_secrets_mount_path: None,
            env_from_secrets: Vec::new(),
            config_data: None,
            config_mount_path: None,
            ports: Vec::new(),
            replicas: None,
            autoscaling: None,
            resources: None,
            init_containers: Vec::new(),
            sidecars: Vec::new(),
            liveness_probe: None,
            readiness_probe: None,
            startup_probe: None,
            strategy: None,
            rollout: None,
            min_ready_seconds: 0,
            progress_deadline_seconds: 600,
            termination_grace_period_seconds: None,
            service: None,
            ingress: None,
            disruption_budget: None,
            network_policy: None,
            mesh: None,
            security_context: None,
            service_account: None,
            node_selector: Strings::new(),
            tolerations: Vec::new(),
            node_pool: None,
            node_pool_type: None,
            labels: Strings::new(),
            annotations: Strings::new(),
            owner_claim: None,
            pools_are_compute_classes: false,
        }
    }
}

impl WorkloadSpec {
    /// The ServiceAccount the pods run as.
    pub fn service_account_name(&self) -> &str {
        self.service_account
            .as_ref()
            .and_then(|sa| sa.name.as_deref())
            .unwrap_or(&self.name)
    }

    /// Whether the workload makes its own ServiceAccount.
    pub fn creates_service_account(&self) -> bool {
        self.service_account.as_ref().is_none_or(|sa| sa.create)
    }

    /// Whether any of the pod's containers asks for a GPU.
    pub fn wants_gpu(&self) -> bool {
        self.resources
            .iter()
            .chain(
                self.init_containers
                    .iter()
                    .chain(&self.sidecars)
                    .filter_map(|c| c.resources.as_ref()),
            )
            .any(Resources::wants_gpu)
    }

    pub fn security(&self) -> SecurityContext {
        self.security_context.clone().unwrap_or_default()
    }

    /// The claims every pod shares, as (volume, claim name, volume): a
    /// sized volume of a Deployment, Job or CronJob (a StatefulSet gives
    /// each pod a claim of its own instead). Named `NAME-VOLUME`.
    pub fn shared_claims(&self) -> impl Iterator<Item = (&str, String, &Volume)> {
        self.volumes
            .iter()
            .filter(|(_, v)| v.makes_claim() && self.kind != Kind::StatefulSet)
            .map(|(volume, v)| (volume.as_str(), self.shared_claim(volume), v))
    }

    /// The name of the claim the pods share for `volume`.
    pub fn shared_claim(&self, volume: &str) -> String {
        format!("{}-{volume}", self.name)
    }

    /// The names the StatefulSet controller gives the claims of `volume`:
    /// `VOLUME-NAME-` and the pod's ordinal.
    pub fn pod_claim_prefix(&self, volume: &str) -> String {
        format!("{volume}-{}-", self.name)
    }

    /// The claims destroying the workload would leave or delete, as names
    /// a person reads (`VOLUME-NAME-N` for a claim per pod).
    pub fn claim_names(&self) -> Vec<String> {
        if self.kind == Kind::StatefulSet {
            self.volumes
                .iter()
                .filter(|(_, v)| v.makes_claim())
                .map(|(volume, _)| format!("{}N", self.pod_claim_prefix(volume)))
                .collect()
        } else {
            self.shared_claims().map(|(_, claim, _)| claim).collect()
        }
    }

    /// Whether destroying the workload keeps its claims (the default).
    pub fn keeps_claims(&self) -> bool {
        self.volume_retention
            .as_ref()
            .is_none_or(|r| r.when_deleted != "Delete")
    }

    /// The directory `config_data` is mounted at, when it is files rather
    /// than environment variables.
    pub fn config_files(&self) -> Option<&str> {
        self.config_data
            .as_ref()
            .and(self.config_mount_path.as_deref())
    }
}

/// What runs the pods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Interchangeable pods.
    #[default]
    Deployment,
    /// Pods with stable names and a claim each per sized volume.
    StatefulSet,
    /// A task run to completion.
    Job,
    /// A task run on a schedule.
    CronJob,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
        }
    }

    /// Whether its pods run a task to its end rather than a service.
    pub fn runs_to_completion(self) -> bool {
        matches!(self, Kind::Job | Kind::CronJob)
    }
}

/// Istio settings for the workload.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mesh {
    /// `STRICT`, `PERMISSIVE` or `DISABLE`.
    pub mtls: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<Retries>,
    pub outlier_detection: Option<OutlierDetection>,
}

impl Mesh {
    /// Whether it routes the workload's service (a VirtualService or a
    /// DestinationRule), which needs the service.
    pub fn routes(&self) -> bool {
        self.timeout.is_some() || self.retries.is_some() || self.outlier_detection.is_some()
    }
}

/// Retries of requests to the service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Retries {
    pub attempts: i64,
    pub per_try_timeout: Option<String>,
    pub retry_on: Option<String>,
}

/// Ejecting failing pods from the pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutlierDetection {
    pub consecutive_5xx_errors: Option<i64>,
    pub interval: Option<String>,
    pub base_ejection_time: Option<String>,
    pub max_ejection_percent: Option<i64>,
}

/// When a CronJob runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cron {
    pub schedule: String,
    pub time_zone: Option<String>,
    /// `Allow`, `Forbid` or `Replace`.
    pub concurrency_policy: String,
    pub starting_deadline_seconds: Option<i64>,
    pub successful_jobs_history_limit: i64,
    pub failed_jobs_history_limit: i64,
    pub suspend: bool,
}

impl Default for Cron {
    fn default() -> Self {
        Cron {
            schedule: String::new(),
            time_zone: None,
            concurrency_policy: "Forbid".into(),
            starting_deadline_seconds: None,
            successful_jobs_history_limit: 3,
            failed_jobs_history_limit: 1,
            suspend: false,
        }
    }
}

/// How a run of a Job or CronJob is retried and bounded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    pub backoff_limit: i64,
    pub active_deadline_seconds: Option<i64>,
    pub ttl_seconds_after_finished: Option<i64>,
    /// `Never` or `OnFailure`.
    pub restart_policy: String,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            backoff_limit: 6,
            active_deadline_seconds: None,
            ttl_seconds_after_finished: None,
            restart_policy: "Never".into(),
        }
    }
}

/// A volume in the container: exactly one source (validated).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    pub mount_path: String,
    pub read_only: bool,
    /// A claim of this size: one per pod on a StatefulSet (a volume claim
    /// template), one all pods share on other kinds.
    pub size: Option<String>,
    pub storage_class: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    pub empty_dir: Option<EmptyDir>,
    pub config_map: Option<String>,
    pub secret: Option<String>,
    pub claim_name: Option<String>,
}

impl Volume {
    /// Whether its source is a claim Genesis makes (`size`), rather than
    /// one the pods mount as it is.
    pub fn makes_claim(&self) -> bool {
        self.size.is_some()
            && self.empty_dir.is_none()
            && self.config_map.is_none()
            && self.secret.is_none()
            && self.claim_name.is_none()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmptyDir {
    pub size_limit: Option<String>,
    pub memory: bool,
}

/// What happens to a StatefulSet's claims; kept unless told otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeRetention {
    /// `Retain` or `Delete`.
    pub when_deleted: String,
    pub when_scaled: String,
}

impl Default for VolumeRetention {
    fn default() -> Self {
        VolumeRetention {
            when_deleted: "Retain".into(),
            when_scaled: "Retain".into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecretKey {
    pub secret: String,
    pub key: String,
}

/// A value in the cloud's secret store, read by the External Secrets
/// Operator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalSecret {
    /// The ClusterSecretStore's name.
    pub store: String,
    pub key: String,
    pub version: Option<String>,
    pub property: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub container_port: i64,
    pub protocol: String,
}

impl Default for ContainerPort {
    fn default() -> Self {
        ContainerPort {
            name: None,
            container_port: 0,
            protocol: "TCP".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Autoscaling {
    pub min_replicas: i64,
    pub max_replicas: i64,
    pub cpu_target: Option<i64>,
    pub memory_target: Option<i64>,
    pub scale_up: Option<ScalingRule>,
    pub scale_down: Option<ScalingRule>,
}

impl Default for Autoscaling {
    fn default() -> Self {
        Autoscaling {
            min_replicas: 1,
            max_replicas: 1,
            cpu_target: None,
            memory_target: None,
            scale_up: None,
            scale_down: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingRule {
    pub stabilization_window_seconds: Option<i64>,
    pub max_percent: Option<i64>,
    pub max_pods: Option<i64>,
    pub period_seconds: i64,
    /// `Max`, `Min` or `Disabled`.
    pub select_policy: String,
}

impl Default for ScalingRule {
    fn default() -> Self {
        ScalingRule {
            stabilization_window_seconds: None,
            max_percent: None,
            max_pods: None,
            period_seconds: 60,
            select_policy: "Max".into(),
        }
    }
}

/// Compute resources; quantities as written (`500m`, `1Gi`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub requests: Option<Amounts>,
    pub limits: Option<Amounts>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Amounts {
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub ephemeral_storage: Option<String>,
    /// Extended resources by name (`nvidia.com/gpu`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extended: Strings,
}

impl Resources {
    /// Whether the container asks for a GPU.
    pub fn wants_gpu(&self) -> bool {
        [&self.requests, &self.limits]
            .into_iter()
            .flatten()
            .any(|a| a.extended.contains_key(GPU))
    }
}

/// The extended resource NVIDIA's device plugin advertises, and the taint
/// GPU nodes carry under the same name.
pub const GPU: &str = "nvidia.com/gpu";

/// An init container or a sidecar (ports are the sidecars').
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtraContainer {
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: Strings,
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
}

/// A probe: exactly one check (validated), and its timing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Probe {
    pub http_get: Option<HttpCheck>,
    pub tcp_socket: Option<PortCheck>,
    pub grpc: Option<PortCheck>,
    pub exec: Option<CommandCheck>,
    pub initial_delay_seconds: i64,
    pub period_seconds: i64,
    pub timeout_seconds: i64,
    pub failure_threshold: i64,
    pub success_threshold: i64,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            http_get: None,
            tcp_socket: None,
            grpc: None,
            exec: None,
            initial_delay_seconds: 0,
            period_seconds: 10,
            timeout_seconds: 1,
            failure_threshold: 3,
            success_threshold: 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpCheck {
    pub path: String,
    pub port: i64,
    /// `HTTP` or `HTTPS`.
    pub scheme: String,
}

impl Default for HttpCheck {
    fn default() -> Self {
        HttpCheck {
            path: "/".into(),
            port: 0,
            scheme: "HTTP".into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortCheck {
    pub port: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandCheck {
    pub command: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Strategy {
    /// `RollingUpdate` or `Recreate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A whole number or a percentage (`1`, `25%`).
    pub max_surge: Option<String>,
    pub max_unavailable: Option<String>,
    /// StatefulSets: the lowest ordinal that takes a new version.
    pub partition: Option<i64>,
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy {
            kind: "RollingUpdate".into(),
            max_surge: None,
            max_unavailable: None,
            partition: None,
        }
    }
}

/// A release driven by the apply itself (`rollout`): the new version runs
/// in the color (Deployment) that is not live.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Release {
    /// `blue-green` or `canary`.
    pub strategy: String,
    /// Canary: the share of traffic at each step before all of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<CanaryStep>,
    /// How long the previous version stays scaled after a switch.
    pub keep_previous: String,
    /// A Service `NAME-preview` on the new version.
    pub preview: bool,
    /// An HTTP check of the new version's pods before traffic moves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
}

impl Default for Release {
    fn default() -> Self {
        Release {
            strategy: BLUE_GREEN.into(),
            steps: Vec::new(),
            keep_previous: "1h".into(),
            preview: false,
            analysis: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CanaryStep {
    /// Percent of the traffic (or of the pods, without a mesh).
    pub weight: i64,
    /// How long the step lasts once its pods are ready.
    pub pause: String,
}

impl Default for CanaryStep {
    fn default() -> Self {
        CanaryStep {
            weight: 0,
            pause: "0s".into(),
        }
    }
}

/// `rollout.analysis`: a GET that each ready pod of the new version must
/// answer with a 2xx status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Analysis {
    pub path: String,
    /// `None`: the first of the workload's ports.
    pub port: Option<i64>,
    /// How long one answer may take.
    pub timeout: String,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            path: "/".into(),
            port: None,
            timeout: "5s".into(),
        }
    }
}

pub const BLUE_GREEN: &str = "blue-green";
pub const CANARY: &str = "canary";

impl WorkloadSpec {
    /// Whether new versions go live in a second Deployment (blue-green or
    /// canary), rather than by the Deployment's own rolling update.
    pub fn releases_by_color(&self) -> bool {
        self.kind == Kind::Deployment && self.rollout.is_some()
    }

    /// The canary steps; empty for other releases.
    pub fn canary_steps(&self) -> &[CanaryStep] {
        match &self.rollout {
            Some(r) if r.strategy == CANARY && self.kind == Kind::Deployment => &r.steps,
            _ => &[],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    /// `ClusterIP`, `NodePort` or `LoadBalancer`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Empty: one port per container port.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Strings,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_source_ranges: Vec<String>,
}

impl Default for Service {
    fn default() -> Self {
        Service {
            kind: "ClusterIP".into(),
            ports: Vec::new(),
            annotations: Strings::new(),
            load_balancer_source_ranges: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i64,
    /// `None`: the same as `port`.
    pub target_port: Option<i64>,
    pub protocol: String,
    pub node_port: Option<i64>,
}

impl Default for ServicePort {
    fn default() -> Self {
        ServicePort {
            name: None,
            port: 0,
            target_port: None,
            protocol: "TCP".into(),
            node_port: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ingress {
    pub host: String,
    pub path: String,
    pub path_type: String,
    pub tls_secret: Option<String>,
    pub class_name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Strings,
}

impl Default for Ingress {
    fn default() -> Self {
        Ingress {
            host: String::new(),
            path: "/".into(),
            path_type: "Prefix".into(),
            tls_secret: None,
            class_name: None,
            annotations: Strings::new(),
        }
    }
}

/// Exactly one of the two is set (validated).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisruptionBudget {
    pub min_available: Option<String>,
    pub max_unavailable: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkPolicy {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_from: Vec<Peer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_to: Vec<Peer>,
    pub allow_dns: bool,
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        NetworkPolicy {
            enabled: true,
            allow_from: Vec::new(),
            allow_to: Vec::new(),
            allow_dns: true,
        }
    }
}

/// Peers of a network policy rule. An empty label map is a selector that
/// matches everything, so `Some(empty)` differs from `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Peer {
    pub namespace_labels: Option<Strings>,
    pub pod_labels: Option<Strings>,
    pub cidr: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<i64>,
}

/// Overrides of the restricted security context; the default is the
/// restricted one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityContext {
    pub run_as_non_root: bool,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub fs_group: Option<i64>,
    pub read_only_root_filesystem: bool,
    pub allow_privilege_escalation: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities_add: Vec<String>,
    /// `RuntimeDefault` or `Unconfined`.
    pub seccomp_profile: String,
}

impl Default for SecurityContext {
    fn default() -> Self {
        SecurityContext {
            run_as_non_root: true,
            run_as_user: None,
            run_as_group: None,
            fs_group: None,
            read_only_root_filesystem: true,
            allow_privilege_escalation: false,
            capabilities_add: Vec::new(),
            seccomp_profile: "RuntimeDefault".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceAccount {
    pub create: bool,
    /// `None`: the workload's name.
    pub name: Option<String>,
    pub gcp_service_account: Option<String>,
    pub aws_role_arn: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: Strings,
    /// `aws_role_arn` is given by an EKS Pod Identity association (the
    /// workload runs on a Genesis EKS cluster), not the IRSA annotation:
    /// set by the resource, never part of the configuration.
    #[serde(skip)]
    pub pod_identity: bool,
}

impl Default for ServiceAccount {
    fn default() -> Self {
        ServiceAccount {
            create: true,
            name: None,
            gcp_service_account: None,
            aws_role_arn: None,
            annotations: Strings::new(),
            pod_identity: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Toleration {
    pub key: Option<String>,
    /// `Equal` or `Exists`.
    pub operator: String,
    pub value: Option<String>,
    pub effect: Option<String>,
    pub toleration_seconds: Option<i64>,
}

impl Default for Toleration {
    fn default() -> Self {
        Toleration {
            key: None,
            operator: "Equal".into(),
            value: None,
            effect: None,
            toleration_seconds: None,
        }
    }
}

/// Planned values for tests, with their models: every attribute set, then
/// each optional one left out in turn, as a plan fills in defaults.
#[cfg(test)]
pub fn planned_samples() -> Vec<(Value, Model)> {
    use crate::framework::plan::plan_block;
    let schema = super::schema();
    let ty = schema.value_type();
    crate::framework::model::samples(&schema.block)
        .into_iter()
        .map(|sample| {
            let config = sample.conform(&ty);
            let mut planned = plan_block(&schema.block, &config, &config, &Value::Null);
            for computed in [
                "id",
                "status",
                "load_balancer_ip",
                "ingress_address",
                "replicas",
            ] {
                if planned.get(computed).is_unknown() {
                    planned.set_attr(computed, Value::Null);
                }
            }
            let model = Model::decode(&planned).expect("a planned sample decodes");
            (planned, model)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::model::coverage_problems;

    /// An attribute added to the schema but not to the model (or named or
    /// defaulted differently) fails here, not as a silent empty value.
    #[test]
    fn the_model_covers_every_attribute_both_ways() {
        let problems = coverage_problems(&super::super::schema::schema().block, &[], |v| {
            Model::decode(v).expect("decodes").encode()
        });
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
