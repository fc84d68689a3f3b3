//! The Kubernetes objects a `genesis_workload` becomes, built by pure
//! functions from its typed spec into k8s-openapi's typed objects:
//! Deployment, Service, HPA (autoscaling/v2), PodDisruptionBudget,
//! NetworkPolicy, ServiceAccount, ConfigMap and Ingress, restricted by
//! default. Every object carries the same labels so all of them are found
//! (and removed) with the workload. They leave here as JSON, the form
//! server-side apply sends.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource, ExecAction, GRPCAction,
    HTTPGetAction, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, SecretEnvSource, SecretKeySelector, SecretVolumeSource,
    SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, TCPSocketAction,
    Toleration, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule,
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
    ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value as Json, json};

use super::{NAME_LABEL, VOLUME_LABEL, WHEN_DELETED};
use crate::cloud::origin;
use crate::framework::validators::parse_quantity;
use crate::kube::compute_classes;
use crate::kube::{MANAGED_BY, ingress_classes};
use crate::resources::node_pool::{LABEL_NODE_POOL, LABEL_POOL_TYPE};
use crate::resources::workload::{self as model, Kind, WorkloadSpec};

type Labels = BTreeMap<String, String>;

/// Kubernetes counts in int32; the schema's ranges keep them there.
fn int32(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

/// "50%" stays a string; "2" becomes the integer 2.
fn int_or_percent(s: &str) -> IntOrString {
    s.parse::<i32>()
        .map_or_else(|_| IntOrString::String(s.to_string()), IntOrString::Int)
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn non_empty_map(map: &Labels) -> Option<Labels> {
    (!map.is_empty()).then(|| map.clone())
}

/// Labels on every object: the workload's name, Genesis as manager, and
/// the user's labels.
fn labels(w: &WorkloadSpec) -> Labels {
    let mut l = w.labels.clone();
    l.insert(NAME_LABEL.into(), w.name.clone());
    l.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    l
}

fn selector(w: &WorkloadSpec) -> LabelSelector {
    LabelSelector {
        match_labels: Some([(NAME_LABEL.to_string(), w.name.clone())].into()),
        ..LabelSelector::default()
    }
}

fn metadata(w: &WorkloadSpec, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(w.namespace.clone()),
        labels: Some(labels(w)),
        ..ObjectMeta::default()
    }
}

fn with_annotations(mut meta: ObjectMeta, annotations: &Labels) -> ObjectMeta {
    meta.annotations = non_empty_map(annotations);
    meta
}

fn to_json(object: impl serde::Serialize) -> Json {
    serde_json::to_value(object).unwrap_or_default()
}

/// Every object of the workload, in the order they are applied (what pods
/// need first).
pub fn render(w: &WorkloadSpec) -> Vec<Json> {
    let mut out = Vec::new();
    if let Some(sa) = service_account(w) {
        out.push(to_json(sa));
    }
    if let Some(data) = &w.config_data {
        out.push(to_json(ConfigMap {
            metadata: metadata(w, &w.name),
            data: Some(data.clone()),
            ..ConfigMap::default()
        }));
    }
    // Synced into the Secret the pods read before they start.
    out.extend(super::external_secrets::render(w, metadata(w, &w.name)));
    out.extend(shared_claims(w).into_iter().map(to_json));
    out.push(match w.kind {
        Kind::Deployment => to_json(deployment(w)),
        Kind::StatefulSet => to_json(stateful_set(w)),
        Kind::Job => to_json(Job {
            metadata: metadata(w, &w.name),
            spec: Some(job_spec(w)),
            ..Job::default()
        }),
        Kind::CronJob => to_json(cron_job(w)),
    });
    out.extend(service(w).map(to_json));
    out.extend(autoscaler(w).map(to_json));
    out.extend(disruption_budget(w).map(to_json));
    out.extend(network_policy(w).map(to_json));
    out.extend(ingress(w).map(to_json));
    out.extend(super::mesh::render(w, |name| metadata(w, name)));
    stamp_origin(&mut out);
    if let Some(claim) = &w.owner_claim {
        for object in &mut out {
            object["metadata"]["annotations"][origin::CLAIM_ANNOTATION] = json!(claim);
        }
    }
    out
}

/// Marks every object with its own fingerprint (see `cloud::origin`), so a
/// create that meets it can tell its own earlier attempt from someone
/// else's object, and a change to one object changes no other.
fn stamp_origin(objects: &mut [Json]) {
    for object in objects {
        let fingerprint = origin::fingerprint(&object.to_string());
        object["metadata"]["annotations"][origin::ANNOTATION] = json!(fingerprint);
    }
}

/// The origin fingerprint an object carries, if any.
pub fn origin_of(object: &Json) -> Option<&str> {
    object["metadata"]["annotations"][origin::ANNOTATION].as_str()
}

/// The claim of the resource instance holding an object, if any.
pub fn claim_of(object: &Json) -> Option<&str> {
    object["metadata"]["annotations"][origin::CLAIM_ANNOTATION].as_str()
}

fn service_account(w: &WorkloadSpec) -> Option<ServiceAccount> {
    if !w.creates_service_account() {
        return None;
    }
    let sa = w.service_account.clone().unwrap_or_default();
    let mut annotations = sa.annotations.clone();
    if let Some(gsa) = sa.gcp_service_account {
        annotations.insert("iam.gke.io/gcp-service-account".into(), gsa);
    }
    if let Some(role) = sa.aws_role_arn.filter(|_| !sa.pod_identity) {
        annotations.insert("eks.amazonaws.com/role-arn".into(), role);
    }
    Some(ServiceAccount {
        metadata: with_annotations(metadata(w, w.service_account_name()), &annotations),
        ..ServiceAccount::default()
    })
}

fn probe(p: &model::Probe) -> Probe {
    // One check per probe (validated); should more come, the first counts.
    let (http_get, tcp_socket, grpc, exec) = match p {
        model::Probe {
            http_get: Some(_), ..
        } => (p.http_get.as_ref(), None, None, None),
        model::Probe {
            tcp_socket: Some(_),
            ..
        } => (None, p.tcp_socket.as_ref(), None, None),
        model::Probe { grpc: Some(_), .. } => (None, None, p.grpc.as_ref(), None),
        _ => (None, None, None, p.exec.as_ref()),
    };
    Probe {
        http_get: http_get.map(|h| HTTPGetAction {
            path: Some(h.path.clone()),
            port: IntOrString::Int(int32(h.port)),
            scheme: Some(h.scheme.clone()),
            ..HTTPGetAction::default()
        }),
        tcp_socket: tcp_socket.map(|t| TCPSocketAction {
            port: IntOrString::Int(int32(t.port)),
            ..TCPSocketAction::default()
        }),
        grpc: grpc.map(|g| GRPCAction {
            port: int32(g.port),
            ..GRPCAction::default()
        }),
        exec: exec.map(|e| ExecAction {
            command: Some(e.command.clone()),
        }),
        initial_delay_seconds: Some(int32(p.initial_delay_seconds)),
        period_seconds: Some(int32(p.period_seconds)),
        timeout_seconds: Some(int32(p.timeout_seconds)),
        failure_threshold: Some(int32(p.failure_threshold)),
        success_threshold: Some(int32(p.success_threshold)),
        ..Probe::default()
    }
}

fn amounts(a: Option<&model::Amounts>) -> Option<BTreeMap<String, Quantity>> {
    let a = a?;
    let out: BTreeMap<String, Quantity> = [
        ("cpu", &a.cpu),
        ("memory", &a.memory),
        ("ephemeral-storage", &a.ephemeral_storage),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_string(), Quantity(v.clone()?))))
    .chain(
        a.extended
            .iter()
            .map(|(k, v)| (k.clone(), Quantity(v.clone()))),
    )
    .collect();
    (!out.is_empty()).then_some(out)
}

fn resources(r: Option<&model::Resources>) -> ResourceRequirements {
    ResourceRequirements {
        requests: amounts(r.and_then(|r| r.requests.as_ref())),
        limits: amounts(r.and_then(|r| r.limits.as_ref())),
        ..ResourceRequirements::default()
    }
}

fn environment(w: &WorkloadSpec) -> Vec<EnvVar> {
    let plain = w.env.iter().map(|(name, value)| EnvVar {
        name: name.clone(),
        value: Some(value.clone()),
        ..EnvVar::default()
    });
    let from_secret = |name: &String, secret: String, key: String| EnvVar {
        name: name.clone(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret,
                key,
                ..SecretKeySelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let secrets = w
        .secret_env
        .iter()
        .map(|(name, from)| from_secret(name, from.secret.clone(), from.key.clone()));
    // The operator writes each under its variable's name.
    let external = w
        .external_secrets
        .keys()
        .filter(|_| w.external_secrets_mount_path.is_none())
        .map(|name| from_secret(name, super::external_secrets::target(&w.name), name.clone()));
    plain.chain(secrets).chain(external).collect()
}

fn container_ports(ports: &[model::ContainerPort]) -> Option<Vec<ContainerPort>> {
    non_empty(
        ports
            .iter()
            .map(|p| ContainerPort {
                name: p.name.clone(),
                container_port: int32(p.container_port),
                protocol: Some(p.protocol.clone()),
                ..ContainerPort::default()
            })
            .collect(),
    )
}

/// The restricted security context every container gets, with the
/// workload's overrides.
fn restricted(sc: &model::SecurityContext) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(sc.allow_privilege_escalation),
        read_only_root_filesystem: Some(sc.read_only_root_filesystem),
        run_as_non_root: Some(sc.run_as_non_root),
        privileged: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: non_empty(sc.capabilities_add.clone()),
        }),
        ..SecurityContext::default()
    }
}

/// The sidecars (native: init containers that keep running), then the
/// init containers, in the order given.
fn init_containers(w: &WorkloadSpec) -> Vec<Container> {
    let sc = w.security();
    let make = |c: &model::ExtraContainer, sidecar: bool| Container {
        name: c.name.clone(),
        image: Some(c.image.clone()),
        command: non_empty(c.command.clone()),
        args: non_empty(c.args.clone()),
        env: non_empty(
            c.env
                .iter()
                .map(|(name, value)| EnvVar {
                    name: name.clone(),
                    value: Some(value.clone()),
                    ..EnvVar::default()
                })
                .collect(),
        ),
        ports: container_ports(&c.ports),
        resources: Some(resources(c.resources.as_ref())),
        restart_policy: sidecar.then(|| "Always".to_string()),
        security_context: Some(restricted(&sc)),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    w.sidecars
        .iter()
        .map(|c| make(c, true))
        .chain(w.init_containers.iter().map(|c| make(c, false)))
        .collect()
}

fn container(w: &WorkloadSpec) -> Container {
    let sc = w.security();
    let mut env_from: Vec<EnvFromSource> = w
        .env_from_secrets
        .iter()
        .map(|s| EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: s.clone(),
                ..SecretEnvSource::default()
            }),
            ..EnvFromSource::default()
        })
        .collect();
    if w.config_data.is_some() && w.config_mount_path.is_none() {
        env_from.push(EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: w.name.clone(),
                ..ConfigMapEnvSource::default()
            }),
            ..EnvFromSource::default()
        });
    }
    // A writable /tmp, since the root filesystem is read-only.
    let mut mounts = vec![VolumeMount {
        name: "tmp".into(),
        mount_path: "/tmp".into(),
        ..VolumeMount::default()
    }];
    if let Some(path) = w.config_files() {
        mounts.push(VolumeMount {
            name: "config".into(),
            mount_path: path.to_string(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    if let Some(path) = external_secret_files(w) {
        mounts.push(VolumeMount {
            name: EXTERNAL_SECRETS_VOLUME.into(),
            mount_path: path.to_string(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    mounts.extend(w.volumes.iter().map(|(name, v)| VolumeMount {
        name: name.clone(),
        mount_path: v.mount_path.clone(),
        read_only: v.read_only.then_some(true),
        ..VolumeMount::default()
    }));
    Container {
        name: w.name.clone(),
        image: Some(w.image.clone()),
        image_pull_policy: w.image_pull_policy.clone(),
        command: non_empty(w.command.clone()),
        args: non_empty(w.args.clone()),
        ports: container_ports(&w.ports),
        env: non_empty(environment(w)),
        env_from: non_empty(env_from),
        resources: Some(resources(w.resources.as_ref())),
        security_context: Some(restricted(&sc)),
        volume_mounts: Some(mounts),
        liveness_probe: w.liveness_probe.as_ref().map(probe),
        readiness_probe: w.readiness_probe.as_ref().map(probe),
        startup_probe: w.startup_probe.as_ref().map(probe),
        ..Container::default()
    }
}

/// What a pod asking for a GPU tolerates: the taint GPU nodes carry (the
/// toleration Kubernetes' ExtendedResourceToleration admission would add).
pub fn gpu_toleration() -> Toleration {
    Toleration {
        key: Some(model::GPU.into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Toleration::default()
    }
}

/// Node selector and tolerations, with the node-pool shortcuts spelled out.
fn placement(w: &WorkloadSpec) -> (Labels, Vec<Toleration>) {
    let mut node_selector = w.node_selector.clone();
    let mut tolerations: Vec<Toleration> = w
        .tolerations
        .iter()
        .map(|t| Toleration {
            key: t.key.clone(),
            operator: Some(t.operator.clone()),
            value: t.value.clone(),
            effect: t.effect.clone(),
            toleration_seconds: t.toleration_seconds,
        })
        .collect();
    let pool_taint = |operator: &str, value: Option<&str>| Toleration {
        key: Some(LABEL_POOL_TYPE.into()),
        operator: Some(operator.into()),
        value: value.map(str::to_string),
        effect: Some("NoSchedule".into()),
        toleration_seconds: None,
    };
    if let Some(pool) = &w.node_pool {
        node_selector.insert(LABEL_NODE_POOL.into(), pool.clone());
        // A class the configuration selects itself stays its choice.
        if w.pools_are_compute_classes {
            node_selector
                .entry(compute_classes::SELECTOR.into())
                .or_insert_with(|| pool.clone());
        }
        // Whatever type the pool is, its dedication taint is tolerated.
        tolerations.push(pool_taint("Exists", None));
    }
    if let Some(kind) = &w.node_pool_type {
        node_selector.insert(LABEL_POOL_TYPE.into(), kind.clone());
        tolerations.push(pool_taint("Equal", Some(kind)));
    }
    if w.wants_gpu() {
        tolerations.push(gpu_toleration());
    }
    tolerations.dedup();
    (node_selector, tolerations)
}

/// The volume `external_secrets` are mounted from, as files.
pub const EXTERNAL_SECRETS_VOLUME: &str = "external-secrets";

/// Where `external_secrets` are mounted as files, when they are.
fn external_secret_files(w: &WorkloadSpec) -> Option<&str> {
    w.external_secrets_mount_path
        .as_deref()
        .filter(|_| !w.external_secrets.is_empty())
}

fn pod(w: &WorkloadSpec) -> PodSpec {
    let sc = w.security();
    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    if w.config_files().is_some() {
        volumes.push(Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: w.name.clone(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    if external_secret_files(w).is_some() {
        volumes.push(Volume {
            name: EXTERNAL_SECRETS_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(super::external_secrets::target(&w.name)),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    volumes.extend(w.volumes.iter().filter_map(|(name, v)| volume(w, name, v)));
    let (node_selector, tolerations) = placement(w);
    PodSpec {
        service_account_name: Some(w.service_account_name().to_string()),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(sc.run_as_non_root),
            run_as_user: sc.run_as_user,
            run_as_group: sc.run_as_group,
            fs_group: sc.fs_group,
            seccomp_profile: Some(SeccompProfile {
                type_: sc.seccomp_profile.clone(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        containers: vec![container(w)],
        init_containers: non_empty(init_containers(w)),
        volumes: Some(volumes),
        termination_grace_period_seconds: w.termination_grace_period_seconds,
        node_selector: non_empty_map(&node_selector),
        tolerations: non_empty(tolerations),
        ..PodSpec::default()
    }
}

/// A pod volume; `None` for a claim per pod, which the StatefulSet makes
/// from its claim template.
fn volume(w: &WorkloadSpec, name: &str, v: &model::Volume) -> Option<Volume> {
    let shared = w
        .shared_claims()
        .find(|(volume, _, _)| *volume == name)
        .map(|(_, claim, _)| claim);
    let mut out = Volume {
        name: name.to_string(),
        ..Volume::default()
    };
    if let Some(e) = &v.empty_dir {
        out.empty_dir = Some(EmptyDirVolumeSource {
            medium: e.memory.then(|| "Memory".to_string()),
            size_limit: e.size_limit.clone().map(Quantity),
            ..EmptyDirVolumeSource::default()
        });
    } else if let Some(map) = &v.config_map {
        out.config_map = Some(ConfigMapVolumeSource {
            name: map.clone(),
            ..ConfigMapVolumeSource::default()
        });
    } else if let Some(secret) = &v.secret {
        out.secret = Some(SecretVolumeSource {
            secret_name: Some(secret.clone()),
            ..SecretVolumeSource::default()
        });
    } else if let Some(claim) = v.claim_name.clone().or(shared) {
        out.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim,
            ..PersistentVolumeClaimVolumeSource::default()
        });
    } else {
        return None;
    }
    Some(out)
}

/// What a sized volume's claim asks for (ReadWriteOnce unless told).
fn claim_spec(v: &model::Volume) -> Option<PersistentVolumeClaimSpec> {
    let size = v.size.clone()?;
    let access_modes = if v.access_modes.is_empty() {
        vec!["ReadWriteOnce".to_string()]
    } else {
        v.access_modes.clone()
    };
    Some(PersistentVolumeClaimSpec {
        access_modes: Some(access_modes),
        storage_class_name: v.storage_class.clone(),
        resources: Some(VolumeResourceRequirements {
            requests: Some([("storage".to_string(), Quantity(size))].into()),
            ..VolumeResourceRequirements::default()
        }),
        ..PersistentVolumeClaimSpec::default()
    })
}

/// The claim templates of a StatefulSet, one per sized volume. Only
/// Genesis's own labels: the templates cannot change once created.
fn claim_templates(w: &WorkloadSpec) -> Vec<PersistentVolumeClaim> {
    w.volumes
        .iter()
        .filter_map(|(name, v)| {
            Some(PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    labels: Some(
                        [
                            (NAME_LABEL.to_string(), w.name.clone()),
                            (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
                        ]
                        .into(),
                    ),
                    ..ObjectMeta::default()
                },
                spec: Some(claim_spec(v)?),
                ..PersistentVolumeClaim::default()
            })
        })
        .collect()
}

/// The claims the pods of a Deployment, Job or CronJob share, one per
/// sized volume: labelled with their volume, and annotated with whether
/// destroying the workload deletes them, so that a claim left behind says
/// why it is there.
fn shared_claims(w: &WorkloadSpec) -> Vec<PersistentVolumeClaim> {
    let when_deleted = if w.keeps_claims() { "Retain" } else { "Delete" };
    w.shared_claims()
        .filter_map(|(volume, claim, v)| {
            let mut metadata = with_annotations(
                metadata(w, &claim),
                &[(WHEN_DELETED.to_string(), when_deleted.to_string())].into(),
            );
            metadata
                .labels
                .get_or_insert_default()
                .insert(VOLUME_LABEL.into(), volume.into());
            Some(PersistentVolumeClaim {
                metadata,
                spec: Some(claim_spec(v)?),
                ..PersistentVolumeClaim::default()
            })
        })
        .collect()
}

fn template(w: &WorkloadSpec) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(w)),
            annotations: non_empty_map(&w.annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod(w)),
    }
}

/// With an autoscaler, replicas are the autoscaler's: not applied.
fn replicas(w: &WorkloadSpec) -> Option<i32> {
    w.replicas.filter(|_| w.autoscaling.is_none()).map(int32)
}

fn stateful_set(w: &WorkloadSpec) -> StatefulSet {
    let update_strategy = w.strategy.as_ref().map(|s| StatefulSetUpdateStrategy {
        type_: Some(s.kind.clone()),
        rolling_update: s.partition.map(|p| RollingUpdateStatefulSetStrategy {
            partition: Some(int32(p)),
            ..RollingUpdateStatefulSetStrategy::default()
        }),
    });
    let retention = w.volume_retention.clone().unwrap_or_default();
    StatefulSet {
        metadata: metadata(w, &w.name),
        spec: StatefulSetSpec {
            service_name: Some(w.name.clone()),
            selector: selector(w),
            template: template(w),
            replicas: replicas(w),
            update_strategy,
            pod_management_policy: w.pod_management_policy.clone(),
            min_ready_seconds: Some(int32(w.min_ready_seconds)),
            volume_claim_templates: non_empty(claim_templates(w)),
            // Always said, so that keeping the data is never a default
            // someone else can change.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(retention.when_deleted),
                    when_scaled: Some(retention.when_scaled),
                },
            ),
            ..StatefulSetSpec::default()
        },
        ..StatefulSet::default()
    }
}

/// A run of the task: its pods restart as `job.restart_policy` says, and
/// the Job gives up after `backoff_limit` failed pods.
fn job_spec(w: &WorkloadSpec) -> JobSpec {
    let settings = w.job.clone().unwrap_or_default();
    let mut template = template(w);
    if let Some(pod) = template.spec.as_mut() {
        pod.restart_policy = Some(settings.restart_policy.clone());
    }
    JobSpec {
        template,
        backoff_limit: Some(int32(settings.backoff_limit)),
        active_deadline_seconds: settings.active_deadline_seconds,
        ttl_seconds_after_finished: settings.ttl_seconds_after_finished.map(int32),
        ..JobSpec::default()
    }
}

fn cron_job(w: &WorkloadSpec) -> CronJob {
    let cron = w.cron.clone().unwrap_or_default();
    CronJob {
        metadata: metadata(w, &w.name),
        spec: CronJobSpec {
            schedule: cron.schedule,
            time_zone: cron.time_zone,
            concurrency_policy: Some(cron.concurrency_policy),
            starting_deadline_seconds: cron.starting_deadline_seconds,
            successful_jobs_history_limit: Some(int32(cron.successful_jobs_history_limit)),
            failed_jobs_history_limit: Some(int32(cron.failed_jobs_history_limit)),
            suspend: Some(cron.suspend),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(w)),
                    ..ObjectMeta::default()
                }),
                spec: Some(job_spec(w)),
            },
        },
        ..CronJob::default()
    }
}

fn strategy(s: &model::Strategy) -> DeploymentStrategy {
    let rolling = (s.kind == "RollingUpdate")
        .then(|| RollingUpdateDeployment {
            max_surge: s.max_surge.as_deref().map(int_or_percent),
            max_unavailable: s.max_unavailable.as_deref().map(int_or_percent),
        })
        .filter(|r| r.max_surge.is_some() || r.max_unavailable.is_some());
    DeploymentStrategy {
        type_: Some(s.kind.clone()),
        rolling_update: rolling,
    }
}

fn deployment(w: &WorkloadSpec) -> Deployment {
    Deployment {
        metadata: metadata(w, &w.name),
        spec: DeploymentSpec {
            selector: selector(w),
            template: template(w),
            replicas: replicas(w),
            strategy: w.strategy.as_ref().map(strategy),
            min_ready_seconds: Some(int32(w.min_ready_seconds)),
            progress_deadline_seconds: Some(int32(w.progress_deadline_seconds)),
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

/// The service's ports: as configured, or one per container port.
fn service_ports(w: &WorkloadSpec) -> Vec<ServicePort> {
    let configured = w.service.as_ref().map(|s| &s.ports[..]).unwrap_or(&[]);
    if !configured.is_empty() {
        return configured
            .iter()
            .map(|p| ServicePort {
                name: p.name.clone(),
                port: int32(p.port),
                target_port: Some(IntOrString::Int(int32(p.target_port.unwrap_or(p.port)))),
                protocol: Some(p.protocol.clone()),
                node_port: p.node_port.map(int32),
                ..ServicePort::default()
            })
            .collect();
    }
    w.ports
        .iter()
        .map(|p| ServicePort {
            name: p.name.clone(),
            port: int32(p.container_port),
            target_port: Some(IntOrString::Int(int32(p.container_port))),
            protocol: Some(p.protocol.clone()),
            ..ServicePort::default()
        })
        .collect()
}

/// The workload's Service. A StatefulSet always has one, headless, which
/// gives its pods their stable names.
fn service(w: &WorkloadSpec) -> Option<Service> {
    let stateful = w.kind == Kind::StatefulSet;
    let s = match (&w.service, stateful) {
        (Some(s), _) => s.clone(),
        (None, true) => model::Service::default(),
        (None, false) => return None,
    };
    Some(Service {
        metadata: with_annotations(metadata(w, &w.name), &s.annotations),
        spec: Some(ServiceSpec {
            cluster_ip: stateful.then(|| "None".to_string()),
            type_: Some(s.kind.clone()),
            selector: selector(w).match_labels,
            ports: Some(service_ports(w)),
            load_balancer_source_ranges: non_empty(s.load_balancer_source_ranges.clone()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })
}

fn scaling_rule(r: &model::ScalingRule) -> HPAScalingRules {
    let limit = |kind: &str, value: Option<i64>| {
        value.map(|v| HPAScalingPolicy {
            type_: kind.into(),
            value: int32(v),
            period_seconds: int32(r.period_seconds),
        })
    };
    let policies: Vec<HPAScalingPolicy> =
        [limit("Percent", r.max_percent), limit("Pods", r.max_pods)]
            .into_iter()
            .flatten()
            .collect();
    HPAScalingRules {
        select_policy: Some(r.select_policy.clone()),
        stabilization_window_seconds: r.stabilization_window_seconds.map(int32),
        policies: non_empty(policies),
        ..HPAScalingRules::default()
    }
}

fn autoscaler(w: &WorkloadSpec) -> Option<HorizontalPodAutoscaler> {
    let a = w.autoscaling.as_ref()?;
    let metric = |resource: &str, target: Option<i64>| {
        target.map(|t| MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: resource.into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(int32(t)),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        })
    };
    let behavior = HorizontalPodAutoscalerBehavior {
        scale_up: a.scale_up.as_ref().map(scaling_rule),
        scale_down: a.scale_down.as_ref().map(scaling_rule),
    };
    let has_behavior = behavior.scale_up.is_some() || behavior.scale_down.is_some();
    Some(HorizontalPodAutoscaler {
        metadata: metadata(w, &w.name),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: w.kind.name().into(),
                name: w.name.clone(),
            },
            min_replicas: Some(int32(a.min_replicas)),
            max_replicas: int32(a.max_replicas),
            metrics: Some(
                [
                    metric("cpu", a.cpu_target),
                    metric("memory", a.memory_target),
                ]
                .into_iter()
                .flatten()
                .collect(),
            ),
            behavior: has_behavior.then_some(behavior),
        },
        ..HorizontalPodAutoscaler::default()
    })
}

fn disruption_budget(w: &WorkloadSpec) -> Option<PodDisruptionBudget> {
    let b = w.disruption_budget.as_ref()?;
    Some(PodDisruptionBudget {
        metadata: metadata(w, &w.name),
        spec: Some(PodDisruptionBudgetSpec {
            selector: Some(selector(w)),
            min_available: b.min_available.as_deref().map(int_or_percent),
            max_unavailable: b.max_unavailable.as_deref().map(int_or_percent),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}

/// The peer and ports of one allow rule.
fn peers_and_ports(
    rule: &model::Peer,
) -> (
    Option<Vec<NetworkPolicyPeer>>,
    Option<Vec<NetworkPolicyPort>>,
) {
    let match_labels = |labels: &Option<Labels>| {
        labels.as_ref().map(|l| LabelSelector {
            match_labels: Some(l.clone()),
            ..LabelSelector::default()
        })
    };
    let peer = NetworkPolicyPeer {
        namespace_selector: match_labels(&rule.namespace_labels),
        pod_selector: match_labels(&rule.pod_labels),
        ip_block: rule.cidr.as_ref().map(|cidr| IPBlock {
            cidr: cidr.clone(),
            ..IPBlock::default()
        }),
    };
    let any =
        peer.namespace_selector.is_some() || peer.pod_selector.is_some() || peer.ip_block.is_some();
    let ports = rule.ports.iter().map(|p| tcp_port(int32(*p))).collect();
    (any.then(|| vec![peer]), non_empty(ports))
}

fn tcp_port(port: i32) -> NetworkPolicyPort {
    port_of(port, "TCP")
}

fn port_of(port: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        ..NetworkPolicyPort::default()
    }
}

fn network_policy(w: &WorkloadSpec) -> Option<NetworkPolicy> {
    let n = w.network_policy.as_ref().filter(|n| n.enabled)?;
    let ingress = n
        .allow_from
        .iter()
        .map(|r| {
            let (from, ports) = peers_and_ports(r);
            NetworkPolicyIngressRule { from, ports }
        })
        .collect();
    let mut egress: Vec<NetworkPolicyEgressRule> = n
        .allow_to
        .iter()
        .map(|r| {
            let (to, ports) = peers_and_ports(r);
            NetworkPolicyEgressRule { to, ports }
        })
        .collect();
    if n.allow_dns {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector {
                    match_labels: Some(
                        [(
                            "kubernetes.io/metadata.name".to_string(),
                            "kube-system".to_string(),
                        )]
                        .into(),
                    ),
                    ..LabelSelector::default()
                }),
                ..NetworkPolicyPeer::default()
            }]),
            ports: Some(vec![port_of(53, "UDP"), port_of(53, "TCP")]),
        });
    }
    Some(NetworkPolicy {
        metadata: metadata(w, &w.name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(w)),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    })
}

fn ingress(w: &WorkloadSpec) -> Option<Ingress> {
    let i = w.ingress.as_ref()?;
    let port = service_ports(w).first().map_or(80, |p| p.port);
    // GKE's controller reads its classes from the annotation only.
    let mut annotations = i.annotations.clone();
    let class_name = match i.class_name.as_deref() {
        Some(class) if ingress_classes::is_gce(class) => {
            annotations.insert(ingress_classes::CLASS_ANNOTATION.into(), class.into());
            None
        }
        other => other.map(str::to_string),
    };
    Some(Ingress {
        metadata: with_annotations(metadata(w, &w.name), &annotations),
        spec: Some(IngressSpec {
            ingress_class_name: class_name,
            rules: Some(vec![IngressRule {
                host: Some(i.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(i.path.clone()),
                        path_type: i.path_type.clone(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: w.name.clone(),
                                port: Some(ServiceBackendPort {
                                    number: Some(port),
                                    ..ServiceBackendPort::default()
                                }),
                            }),
                            ..IngressBackend::default()
                        },
                    }],
                }),
            }]),
            tls: i.tls_secret.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![i.host.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
}

/// Whether two renderings are the same objects, as the API server would
/// store them: quantities compare by amount (`1` is `1000m`).
pub fn same_objects(a: &[Json], b: &[Json]) -> bool {
    a.len() == b.len() && a.iter().map(canonical).eq(b.iter().map(canonical))
}

fn canonical(object: &Json) -> Json {
    let mut object = object.clone();
    if let Some(containers) = object
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Json::as_array_mut)
    {
        for c in containers {
            for kind in ["requests", "limits"] {
                if let Some(amounts) = c
                    .pointer_mut(&format!("/resources/{kind}"))
                    .and_then(Json::as_object_mut)
                {
                    for amount in amounts.values_mut() {
                        if let Some(n) = amount.as_str().and_then(parse_quantity) {
                            *amount = Json::String(n.to_string());
                        }
                    }
                }
            }
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_left_to_the_autoscaler() {
        let mut w = WorkloadSpec {
            name: "api".into(),
            namespace: "apps".into(),
            image: "nginx:1.27".into(),
            replicas: Some(3),
            autoscaling: Some(model::Autoscaling {
                min_replicas: 3,
                max_replicas: 5,
                cpu_target: Some(70),
                ..model::Autoscaling::default()
            }),
            ..WorkloadSpec::default()
        };
        let objects = render(&w);
        let d = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
        assert!(d["spec"]["replicas"].is_null());
        w.autoscaling = None;
        let d = render(&w)
            .into_iter()
            .find(|o| o["kind"] == "Deployment")
            .unwrap();
        assert_eq!(d["spec"]["replicas"], 3);
    }

    #[test]
    fn gkes_classes_are_written_where_gke_reads_them_and_read_back() {
        for (class, annotated) in [("gce", true), ("gce-internal", true), ("alb", false)] {
            let w = WorkloadSpec {
                name: "shop".into(),
                namespace: "apps".into(),
                image: "nginx:1.27".into(),
                service: Some(model::Service::default()),
                ingress: Some(model::Ingress {
                    host: "shop.example.com".into(),
                    class_name: Some(class.into()),
                    ..model::Ingress::default()
                }),
                ..WorkloadSpec::default()
            };
            let objects = render(&w);
            let ingress = objects.iter().find(|o| o["kind"] == "Ingress").unwrap();
            let annotation = &ingress["metadata"]["annotations"][ingress_classes::CLASS_ANNOTATION];
            assert_eq!(annotation == class, annotated, "{class}: {ingress}");
            assert_eq!(ingress["spec"]["ingressClassName"].is_null(), annotated);
            let live = super::super::Observed::of(&objects).ours(&w.name, &objects);
            let read = super::super::spec_of(&live, &w);
            assert_eq!(read.ingress, w.ingress, "{class}");
        }
    }
}
