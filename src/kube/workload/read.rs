//! The inverse of `render`: a workload's attributes read back from the
//! objects in its cluster, so that a change made behind Terraform's back
//! shows in the next plan and an import fills in every attribute.
//!
//! Only the parts of each object that are Genesis's are read (`ours`):
//! fields the `genesis` field manager owns, and fields Genesis applied last
//! time even if another manager has since taken them over (that is what an
//! edit with kubectl does). Fields added by others, such as an admission
//! controller's annotations or the HPA's replicas, are never read.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy, StatefulSet};
use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
};
use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, PersistentVolumeClaim, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, Service, ServiceAccount, Toleration,
};
use k8s_openapi::api::networking::v1::{
    Ingress, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Map, Value as Json};

use super::render::EXTERNAL_SECRETS_VOLUME;
use super::{NAME_LABEL, Observed, VOLUME_LABEL, WHEN_DELETED};
use crate::cloud::origin;
use crate::kube::compute_classes;
use crate::kube::{FIELD_MANAGER, MANAGED_BY, ingress_classes};
use crate::resources::node_pool::{LABEL_NODE_POOL, LABEL_POOL_TYPE};
use crate::resources::workload::{self as model, Kind, WorkloadSpec};

type Labels = BTreeMap<String, String>;

/// The parts of `live` that are Genesis's: what the `genesis` manager owns
/// by its managedFields, plus what Genesis last applied (`applied`, null
/// when unknown). An object no Genesis apply ever touched (an import of
/// something made by other tools) is taken whole, whatever the state
/// before the import renders.
pub fn ours(live: &Json, applied: &Json) -> Json {
    let owned = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|entry| {
            entry["manager"] == FIELD_MANAGER
                && entry["operation"] == "Apply"
                && entry["subresource"].as_str().unwrap_or_default().is_empty()
        })
        .map(|entry| &entry["fieldsV1"]);
    match owned {
        None => {
            let mut whole = live.clone();
            if let Some(fields) = whole.as_object_mut() {
                fields.remove("status");
            }
            if let Some(meta) = whole["metadata"].as_object_mut() {
                meta.retain(|k, _| {
                    matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations")
                });
            }
            whole
        }
        Some(owned) => prune(live, owned, applied),
    }
}

/// `live` cut down to the fields in the FieldsV1 set `owned` or in
/// `applied`.
fn prune(live: &Json, owned: &Json, applied: &Json) -> Json {
    match live {
        Json::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                let o = owned.get(format!("f:{key}"));
                let a = applied.get(key);
                if o.is_none() && a.is_none() {
                    continue;
                }
                // Leaves, atomic maps and lists, and lists of plain values
                // are owned as a whole.
                let whole = o.is_some_and(|o| o.as_object().is_some_and(Map::is_empty))
                    || a.is_some_and(|a| match a {
                        Json::Object(_) => false,
                        Json::Array(items) => !items.iter().any(Json::is_object),
                        _ => true,
                    });
                let kept = if whole {
                    value.clone()
                } else {
                    prune(value, o.unwrap_or(&Json::Null), a.unwrap_or(&Json::Null))
                };
                out.insert(key.clone(), kept);
            }
            Json::Object(out)
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let o = owned_item(owned, item);
                    let a = applied_item(applied, item, i);
                    if o.is_none() && a.is_none() {
                        return None;
                    }
                    Some(prune(
                        item,
                        o.unwrap_or(&Json::Null),
                        a.unwrap_or(&Json::Null),
                    ))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The FieldsV1 entry for a list element: `k:{...}` for keyed lists,
/// `v:...` for sets.
fn owned_item<'a>(owned: &'a Json, item: &Json) -> Option<&'a Json> {
    owned.as_object()?.iter().find_map(|(key, entry)| {
        let matches = if let Some(keys) = key.strip_prefix("k:") {
            serde_json::from_str::<Map<String, Json>>(keys)
                .is_ok_and(|keys| keys.iter().all(|(k, v)| &item[k] == v))
        } else if let Some(value) = key.strip_prefix("v:") {
            serde_json::from_str::<Json>(value).is_ok_and(|v| &v == item)
        } else {
            false
        };
        matches.then_some(entry)
    })
}

/// The element Genesis applied that corresponds to a live list element:
/// the one with the same merge key, else the one at the same position.
fn applied_item<'a>(applied: &'a Json, item: &Json, index: usize) -> Option<&'a Json> {
    let list = applied.as_array()?;
    for key in ["name", "mountPath", "containerPort", "port"] {
        if let Some(id) = item.get(key) {
            return list.iter().find(|a| a.get(key) == Some(id));
        }
    }
    list.get(index)
}

/// A live object (cut down by `ours`) as its k8s-openapi type; absent
/// fields stay absent, so a partial object reads as what it has.
fn typed<T: serde::de::DeserializeOwned + Default>(live: Option<&Json>) -> Option<T> {
    live.map(|json| serde_json::from_value(json.clone()).unwrap_or_default())
}

fn int(n: Option<i32>) -> Option<i64> {
    n.map(i64::from)
}

/// IntOrString as the attribute's string (`1`, `25%`).
fn int_or_percent(v: &Option<IntOrString>) -> Option<String> {
    v.as_ref().map(|v| match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    })
}

/// A port number; a named port has none.
fn port_number(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(s) => s.parse().unwrap_or_default(),
    }
}

/// A label or annotation map without the keys Genesis sets itself (and
/// never its origin marker or its owner's claim).
fn without(map: Option<&Labels>, keys: &[&str]) -> Labels {
    map.into_iter()
        .flatten()
        .filter(|(k, _)| {
            !keys.contains(&k.as_str())
                && k.as_str() != origin::ANNOTATION
                && k.as_str() != origin::CLAIM_ANNOTATION
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn labels_of(selector: Option<&LabelSelector>) -> Option<Labels> {
    selector.map(|s| s.match_labels.clone().unwrap_or_default())
}

/// The workload as the objects in `observed` (each cut down by `ours`)
/// have it; `applied` gives what the objects do not say (its namespace and
/// name). What produces no object reads as left out when the object is
/// missing, so the next plan puts it back.
/// Where the container mounts the volume `name`.
fn mount_path(container: &Container, name: &str) -> Option<String> {
    container
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.name == name)
        .map(|m| m.mount_path.clone())
}

pub fn spec_of(observed: &Observed, applied: &WorkloadSpec) -> WorkloadSpec {
    let live = &observed.objects;
    // By the name they were found under: a claim cut down to Genesis's
    // fields may not say it.
    let claims: Vec<PersistentVolumeClaim> = observed
        .claims
        .iter()
        .filter_map(|(name, c)| {
            let mut claim: PersistentVolumeClaim = serde_json::from_value(c.clone()).ok()?;
            claim.metadata.name = Some(name.clone());
            Some(claim)
        })
        .collect();
    let controller = Controller::of(live);
    let pod = controller.template.spec.clone().unwrap_or_default();
    let container = pod
        .containers
        .iter()
        .find(|c| c.name == applied.name)
        .or(pod.containers.first())
        .cloned()
        .unwrap_or_default();
    let autoscaling = typed::<HorizontalPodAutoscaler>(live.get("HorizontalPodAutoscaler"))
        .map(|h| autoscaler(&h.spec));
    let external = super::external_secrets::read(live);
    let mut w = WorkloadSpec {
        namespace: applied.namespace.clone(),
        name: applied.name.clone(),
        kind: controller.kind,
        // The autoscaler's count is not the configuration's.
        replicas: int(controller.replicas).filter(|_| autoscaling.is_none()),
        autoscaling,
        strategy: controller.strategy.clone(),
        rollout: observed.release.as_ref().map(|r| r.setting.clone()),
        min_ready_seconds: int(controller.min_ready_seconds).unwrap_or(0),
        progress_deadline_seconds: int(controller.progress_deadline_seconds).unwrap_or(600),
        volume_retention: controller
            .volume_retention
            .clone()
            .or_else(|| shared_retention(&claims)),
        pod_management_policy: controller.pod_management_policy.clone(),
        cron: controller.cron.clone(),
        job: controller.job.clone(),
        termination_grace_period_seconds: pod.termination_grace_period_seconds,
        security_context: security_context(&pod, &container),
        labels: without(controller.labels.as_ref(), &[NAME_LABEL, MANAGED_BY.0]),
        annotations: without(
            controller
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.annotations.as_ref()),
            &[],
        ),
        config_data: typed::<ConfigMap>(live.get("ConfigMap")).map(|m| m.data.unwrap_or_default()),
        config_mount_path: mount_path(&container, "config"),
        external_secrets_mount_path: mount_path(&container, EXTERNAL_SECRETS_VOLUME),
        service: typed::<Service>(live.get("Service")).map(|s| service(&s, &container)),
        ingress: typed::<Ingress>(live.get("Ingress")).map(|i| ingress(&i)),
        disruption_budget: typed::<PodDisruptionBudget>(live.get("PodDisruptionBudget")).map(|p| {
            let spec = p.spec.unwrap_or_default();
            model::DisruptionBudget {
                min_available: int_or_percent(&spec.min_available),
                max_unavailable: int_or_percent(&spec.max_unavailable),
            }
        }),
        network_policy: typed::<NetworkPolicy>(live.get("NetworkPolicy"))
            .map(|n| network_policy(&n.spec.unwrap_or_default())),
        mesh: super::mesh::read(live),
        external_secrets_refresh_interval: external
            .as_ref()
            .map_or_else(|| "1h".into(), |(_, refresh)| refresh.clone()),
        service_account: service_account(
            typed::<ServiceAccount>(live.get("ServiceAccount")).as_ref(),
            &pod,
            &applied.name,
        ),
        ..WorkloadSpec::default()
    };
    // Variables from the operator's Secret are the ExternalSecret's, while
    // it is there; without it they show as what they now are.
    let target = super::external_secrets::target(&w.name);
    let synced = external.as_ref().map(|_| target.as_str());
    read_container(&container, synced, &mut w);
    if let Some((secrets, _)) = external {
        w.external_secrets = secrets;
    }
    read_init_containers(&pod, &mut w);
    read_placement(&pod, &mut w);
    w.volumes = volumes(&pod, &container, &controller.claims, &claims);
    w
}

/// What a Deployment and a StatefulSet both say, and what only one does.
#[derive(Default)]
struct Controller {
    kind: Kind,
    labels: Option<Labels>,
    template: PodTemplateSpec,
    replicas: Option<i32>,
    min_ready_seconds: Option<i32>,
    progress_deadline_seconds: Option<i32>,
    strategy: Option<model::Strategy>,
    claims: Vec<PersistentVolumeClaim>,
    volume_retention: Option<model::VolumeRetention>,
    pod_management_policy: Option<String>,
    cron: Option<model::Cron>,
    job: Option<model::JobSettings>,
}

impl Controller {
    fn of(live: &BTreeMap<&str, Json>) -> Controller {
        if let Some(s) = typed::<StatefulSet>(live.get("StatefulSet")) {
            let spec = s.spec;
            let retention = spec
                .persistent_volume_claim_retention_policy
                .map(|r| model::VolumeRetention {
                    when_deleted: r.when_deleted.unwrap_or_else(|| "Retain".into()),
                    when_scaled: r.when_scaled.unwrap_or_else(|| "Retain".into()),
                })
                .filter(|r| *r != model::VolumeRetention::default());
            return Controller {
                kind: Kind::StatefulSet,
                labels: s.metadata.labels,
                template: spec.template,
                replicas: spec.replicas,
                min_ready_seconds: spec.min_ready_seconds,
                progress_deadline_seconds: None,
                strategy: spec.update_strategy.map(|u| model::Strategy {
                    kind: u.type_.unwrap_or_else(|| "RollingUpdate".into()),
                    partition: u.rolling_update.and_then(|r| r.partition).map(i64::from),
                    ..model::Strategy::default()
                }),
                claims: spec.volume_claim_templates.unwrap_or_default(),
                volume_retention: retention,
                pod_management_policy: spec.pod_management_policy,
                ..Controller::default()
            };
        }
        if let Some(c) = typed::<CronJob>(live.get("CronJob")) {
            let spec = c.spec;
            let defaults = model::Cron::default();
            let job = spec.job_template.spec.unwrap_or_default();
            return Controller {
                kind: Kind::CronJob,
                labels: c.metadata.labels,
                cron: Some(model::Cron {
                    schedule: spec.schedule,
                    time_zone: spec.time_zone,
                    concurrency_policy: spec
                        .concurrency_policy
                        .unwrap_or(defaults.concurrency_policy),
                    starting_deadline_seconds: spec.starting_deadline_seconds,
                    successful_jobs_history_limit: int(spec.successful_jobs_history_limit)
                        .unwrap_or(defaults.successful_jobs_history_limit),
                    failed_jobs_history_limit: int(spec.failed_jobs_history_limit)
                        .unwrap_or(defaults.failed_jobs_history_limit),
                    suspend: spec.suspend.unwrap_or(false),
                }),
                ..Controller::of_job(job)
            };
        }
        if let Some(j) = typed::<Job>(live.get("Job")) {
            return Controller {
                labels: j.metadata.labels,
                ..Controller::of_job(j.spec.unwrap_or_default())
            };
        }
        let Some(d) = typed::<Deployment>(live.get("Deployment")) else {
            return Controller::default();
        };
        Controller {
            kind: Kind::Deployment,
            labels: d.metadata.labels,
            template: d.spec.template,
            replicas: d.spec.replicas,
            min_ready_seconds: d.spec.min_ready_seconds,
            progress_deadline_seconds: d.spec.progress_deadline_seconds,
            strategy: d.spec.strategy.as_ref().map(strategy),
            ..Controller::default()
        }
    }
}

impl Controller {
    /// A Job's run: its pod template and how it is retried.
    fn of_job(spec: JobSpec) -> Controller {
        let defaults = model::JobSettings::default();
        let restart_policy = spec
            .template
            .spec
            .as_ref()
            .and_then(|p| p.restart_policy.clone())
            .unwrap_or(defaults.restart_policy);
        let settings = model::JobSettings {
            backoff_limit: int(spec.backoff_limit).unwrap_or(defaults.backoff_limit),
            active_deadline_seconds: spec.active_deadline_seconds,
            ttl_seconds_after_finished: int(spec.ttl_seconds_after_finished),
            restart_policy,
        };
        Controller {
            kind: Kind::Job,
            template: spec.template,
            job: (settings != model::JobSettings::default()).then_some(settings),
            ..Controller::default()
        }
    }
}

/// The container's volumes by name, each from its mount and its source:
/// a pod volume (a claim all pods share when it is one of `shared`), or a
/// claim template.
fn volumes(
    pod: &PodSpec,
    container: &Container,
    templates: &[PersistentVolumeClaim],
    shared: &[PersistentVolumeClaim],
) -> BTreeMap<String, model::Volume> {
    let sources = pod.volumes.clone().unwrap_or_default();
    let named = |claims: &'_ [PersistentVolumeClaim], name: &str| {
        claims
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name))
            .cloned()
    };
    container
        .volume_mounts
        .iter()
        .flatten()
        // Genesis's own: a writable /tmp, config_data's and external
        // secrets' files.
        .filter(|m| !["tmp", "config", EXTERNAL_SECRETS_VOLUME].contains(&m.name.as_str()))
        .map(|m| {
            let mut v = model::Volume {
                mount_path: m.mount_path.clone(),
                read_only: m.read_only.unwrap_or(false),
                ..model::Volume::default()
            };
            if let Some(source) = sources.iter().find(|s| s.name == m.name) {
                v.empty_dir = source.empty_dir.as_ref().map(|e| model::EmptyDir {
                    size_limit: e.size_limit.as_ref().map(|q| q.0.clone()),
                    memory: e.medium.as_deref() == Some("Memory"),
                });
                v.config_map = source.config_map.as_ref().map(|c| c.name.clone());
                v.secret = source.secret.as_ref().and_then(|s| s.secret_name.clone());
                let claim = source.persistent_volume_claim.as_ref();
                let ours = claim
                    .and_then(|c| named(shared, &c.claim_name))
                    .filter(|c| label(&c.metadata.labels, VOLUME_LABEL) == Some(&m.name));
                match ours {
                    Some(claim) => read_claim(&claim, &mut v),
                    None => v.claim_name = claim.map(|c| c.claim_name.clone()),
                }
            } else if let Some(claim) = named(templates, &m.name) {
                read_claim(&claim, &mut v);
            }
            (m.name.clone(), v)
        })
        .collect()
}

fn label<'a>(labels: &'a Option<Labels>, key: &str) -> Option<&'a String> {
    labels.as_ref()?.get(key)
}

/// A sized volume as its claim (or claim template) has it.
fn read_claim(claim: &PersistentVolumeClaim, v: &mut model::Volume) {
    let spec = claim.spec.clone().unwrap_or_default();
    v.size = spec
        .resources
        .and_then(|r| r.requests)
        .and_then(|r| r.get("storage").map(|q| q.0.clone()));
    v.storage_class = spec.storage_class_name;
    // ReadWriteOnce alone is what leaving them out renders.
    v.access_modes = spec
        .access_modes
        .filter(|m| m != &["ReadWriteOnce"])
        .unwrap_or_default();
}

/// What destroying the workload does to the claims its pods share, as
/// their annotation says.
fn shared_retention(claims: &[PersistentVolumeClaim]) -> Option<model::VolumeRetention> {
    claims
        .iter()
        .any(|c| {
            let annotations = &c.metadata.annotations;
            label(annotations, WHEN_DELETED).is_some_and(|w| w == "Delete")
        })
        .then(|| model::VolumeRetention {
            when_deleted: "Delete".into(),
            ..model::VolumeRetention::default()
        })
}

/// What the workload's own container says: image, command, env, ports,
/// resources, probes.
/// `synced` names the Secret the workload's ExternalSecret writes, whose
/// variables are the ExternalSecret's.
fn read_container(c: &Container, synced: Option<&str>, w: &mut WorkloadSpec) {
    for e in c.env.iter().flatten() {
        if let Some(value) = &e.value {
            w.env.insert(e.name.clone(), value.clone());
        } else if let Some(secret) = e
            .value_from
            .as_ref()
            .and_then(|f| f.secret_key_ref.as_ref())
            .filter(|s| Some(s.name.as_str()) != synced)
        {
            w.secret_env.insert(
                e.name.clone(),
                model::SecretKey {
                    secret: secret.name.clone(),
                    key: secret.key.clone(),
                },
            );
        }
    }
    w.env_from_secrets = c
        .env_from
        .iter()
        .flatten()
        .filter_map(|e| Some(e.secret_ref.as_ref()?.name.clone()))
        .collect();
    w.ports = ports_of(c);
    w.image = c.image.clone().unwrap_or_default();
    w.image_pull_policy = c.image_pull_policy.clone();
    w.command = c.command.clone().unwrap_or_default();
    w.args = c.args.clone().unwrap_or_default();
    w.resources = resources(c.resources.as_ref());
    w.liveness_probe = c.liveness_probe.as_ref().map(probe);
    w.readiness_probe = c.readiness_probe.as_ref().map(probe);
    w.startup_probe = c.startup_probe.as_ref().map(probe);
}

/// The sidecars (init containers that keep running) and the init
/// containers.
fn read_init_containers(pod: &PodSpec, w: &mut WorkloadSpec) {
    for c in pod.init_containers.iter().flatten() {
        let extra = model::ExtraContainer {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            command: c.command.clone().unwrap_or_default(),
            args: c.args.clone().unwrap_or_default(),
            env: c
                .env
                .iter()
                .flatten()
                .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
                .collect(),
            resources: resources(c.resources.as_ref()),
            ports: ports_of(c),
        };
        if c.restart_policy.as_deref() == Some("Always") {
            w.sidecars.push(extra);
        } else {
            w.init_containers.push(extra);
        }
    }
}

fn ports_of(c: &Container) -> Vec<model::ContainerPort> {
    c.ports
        .iter()
        .flatten()
        .map(|p| model::ContainerPort {
            name: p.name.clone(),
            container_port: i64::from(p.container_port),
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
        })
        .collect()
}

fn resources(r: Option<&ResourceRequirements>) -> Option<model::Resources> {
    let amounts = |m: Option<&BTreeMap<String, Quantity>>| {
        let get = |k: &str| m.and_then(|m| m.get(k)).map(|q| q.0.clone());
        let own = ["cpu", "memory", "ephemeral-storage"];
        let a = model::Amounts {
            cpu: get("cpu"),
            memory: get("memory"),
            ephemeral_storage: get("ephemeral-storage"),
            extended: m
                .into_iter()
                .flatten()
                .filter(|(k, _)| !own.contains(&k.as_str()))
                .map(|(k, q)| (k.clone(), q.0.clone()))
                .collect(),
        };
        (a != model::Amounts::default()).then_some(a)
    };
    let r = model::Resources {
        requests: amounts(r.and_then(|r| r.requests.as_ref())),
        limits: amounts(r.and_then(|r| r.limits.as_ref())),
    };
    (r != model::Resources::default()).then_some(r)
}

fn probe(p: &Probe) -> model::Probe {
    let defaults = model::Probe::default();
    model::Probe {
        http_get: p.http_get.as_ref().map(|h| model::HttpCheck {
            path: h.path.clone().unwrap_or_else(|| "/".into()),
            port: port_number(&h.port),
            scheme: h.scheme.clone().unwrap_or_else(|| "HTTP".into()),
        }),
        tcp_socket: p.tcp_socket.as_ref().map(|t| model::PortCheck {
            port: port_number(&t.port),
        }),
        grpc: p.grpc.as_ref().map(|g| model::PortCheck {
            port: i64::from(g.port),
        }),
        exec: p.exec.as_ref().map(|e| model::CommandCheck {
            command: e.command.clone().unwrap_or_default(),
        }),
        initial_delay_seconds: int(p.initial_delay_seconds).unwrap_or(0),
        period_seconds: int(p.period_seconds).unwrap_or(defaults.period_seconds),
        timeout_seconds: int(p.timeout_seconds).unwrap_or(defaults.timeout_seconds),
        failure_threshold: int(p.failure_threshold).unwrap_or(defaults.failure_threshold),
        success_threshold: int(p.success_threshold).unwrap_or(defaults.success_threshold),
    }
}

fn strategy(s: &DeploymentStrategy) -> model::Strategy {
    let rolling = s.rolling_update.clone().unwrap_or_default();
    model::Strategy {
        kind: s.type_.clone().unwrap_or_else(|| "RollingUpdate".into()),
        max_surge: int_or_percent(&rolling.max_surge),
        max_unavailable: int_or_percent(&rolling.max_unavailable),
        partition: None,
    }
}

/// The restricted security context reads as left out when every setting
/// is the default.
fn security_context(pod: &PodSpec, c: &Container) -> Option<model::SecurityContext> {
    let p = pod.security_context.clone().unwrap_or_default();
    let s = c.security_context.clone().unwrap_or_default();
    let defaults = model::SecurityContext::default();
    let read = model::SecurityContext {
        run_as_non_root: p.run_as_non_root.unwrap_or(defaults.run_as_non_root),
        run_as_user: p.run_as_user,
        run_as_group: p.run_as_group,
        fs_group: p.fs_group,
        read_only_root_filesystem: s
            .read_only_root_filesystem
            .unwrap_or(defaults.read_only_root_filesystem),
        allow_privilege_escalation: s
            .allow_privilege_escalation
            .unwrap_or(defaults.allow_privilege_escalation),
        capabilities_add: s.capabilities.and_then(|c| c.add).unwrap_or_default(),
        seccomp_profile: p
            .seccomp_profile
            .map_or(defaults.seccomp_profile.clone(), |s| s.type_),
    };
    (read != defaults).then_some(read)
}

/// Node selector and tolerations, with the node-pool shortcuts taken back
/// out.
fn read_placement(pod: &PodSpec, w: &mut WorkloadSpec) {
    let selector = pod.node_selector.clone().unwrap_or_default();
    w.node_pool = selector.get(LABEL_NODE_POOL).cloned();
    w.node_pool_type = selector.get(LABEL_POOL_TYPE).cloned();
    let shortcut = |t: &Toleration| {
        t.key.as_deref() == Some(LABEL_POOL_TYPE)
            && t.effect.as_deref() == Some("NoSchedule")
            && ((w.node_pool.is_some() && t.operator.as_deref() == Some("Exists"))
                || (t.operator.as_deref() == Some("Equal")
                    && w.node_pool_type.is_some()
                    && t.value == w.node_pool_type))
    };
    // Taken for the GPU's own when the pod asks for one.
    let gpu = super::render::gpu_toleration();
    let gpu_shortcut = |t: &Toleration| w.wants_gpu() && *t == gpu;
    let tolerations = pod
        .tolerations
        .iter()
        .flatten()
        .filter(|t| !shortcut(t) && !gpu_shortcut(t))
        .map(|t| model::Toleration {
            key: t.key.clone(),
            operator: t.operator.clone().unwrap_or_else(|| "Equal".into()),
            value: t.value.clone(),
            effect: t.effect.clone(),
            toleration_seconds: t.toleration_seconds,
        })
        .collect();
    w.tolerations = tolerations;
    // The pool's ComputeClass, which GKE Autopilot's pods select besides.
    let class = selector.get(compute_classes::SELECTOR);
    w.pools_are_compute_classes = w.node_pool.is_some() && class == w.node_pool.as_ref();
    let shortcuts: &[&str] = if w.pools_are_compute_classes {
        &[LABEL_NODE_POOL, LABEL_POOL_TYPE, compute_classes::SELECTOR]
    } else {
        &[LABEL_NODE_POOL, LABEL_POOL_TYPE]
    };
    w.node_selector = without(Some(&selector), shortcuts);
}

fn autoscaler(spec: &HorizontalPodAutoscalerSpec) -> model::Autoscaling {
    let target = |resource: &str| {
        spec.metrics
            .iter()
            .flatten()
            .find_map(|m| m.resource.as_ref().filter(|r| r.name == resource))
            .and_then(|r| int(r.target.average_utilization))
    };
    let rule = |r: &HPAScalingRules| {
        let policies = r.policies.clone().unwrap_or_default();
        let limit = |kind: &str| {
            policies
                .iter()
                .find(|p| p.type_ == kind)
                .map(|p| i64::from(p.value))
        };
        model::ScalingRule {
            stabilization_window_seconds: int(r.stabilization_window_seconds),
            max_percent: limit("Percent"),
            max_pods: limit("Pods"),
            period_seconds: policies.first().map_or(60, |p| i64::from(p.period_seconds)),
            select_policy: r.select_policy.clone().unwrap_or_else(|| "Max".into()),
        }
    };
    let behavior = spec.behavior.clone().unwrap_or_default();
    model::Autoscaling {
        min_replicas: int(spec.min_replicas).unwrap_or(1),
        max_replicas: i64::from(spec.max_replicas),
        cpu_target: target("cpu"),
        memory_target: target("memory"),
        scale_up: behavior.scale_up.as_ref().map(rule),
        scale_down: behavior.scale_down.as_ref().map(rule),
    }
}

/// The service; its ports read as left out when they are the ones the
/// container ports give.
fn service(s: &Service, container: &Container) -> model::Service {
    let spec = s.spec.clone().unwrap_or_default();
    let ports = spec.ports.clone().unwrap_or_default();
    let container_ports = container.ports.clone().unwrap_or_default();
    let derived = container.ports.is_some()
        && container_ports.len() == ports.len()
        && container_ports.iter().zip(&ports).all(|(c, p)| {
            p.port == c.container_port
                && p.target_port == Some(IntOrString::Int(c.container_port))
                && p.protocol == c.protocol
                && p.name == c.name
                && p.node_port.is_none()
        });
    model::Service {
        kind: spec.type_.clone().unwrap_or_else(|| "ClusterIP".into()),
        ports: if derived {
            Vec::new()
        } else {
            ports
                .iter()
                .map(|p| {
                    let target = p.target_port.as_ref().map(port_number);
                    model::ServicePort {
                        name: p.name.clone(),
                        port: i64::from(p.port),
                        target_port: target.filter(|t| *t != i64::from(p.port)),
                        protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        node_port: int(p.node_port),
                    }
                })
                .collect()
        },
        annotations: without(s.metadata.annotations.as_ref(), &[]),
        load_balancer_source_ranges: spec.load_balancer_source_ranges.unwrap_or_default(),
    }
}

fn ingress(i: &Ingress) -> model::Ingress {
    let spec = i.spec.clone().unwrap_or_default();
    let rule = spec
        .rules
        .iter()
        .flatten()
        .next()
        .cloned()
        .unwrap_or_default();
    let path = rule
        .http
        .and_then(|h| h.paths.into_iter().next())
        .unwrap_or_default();
    let defaults = model::Ingress::default();
    let annotated = i
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ingress_classes::CLASS_ANNOTATION))
        .filter(|class| ingress_classes::is_gce(class) && spec.ingress_class_name.is_none())
        .cloned();
    let written_as_class: &[&str] = match annotated {
        Some(_) => &[ingress_classes::CLASS_ANNOTATION],
        None => &[],
    };
    model::Ingress {
        host: rule.host.unwrap_or_default(),
        path: path.path.unwrap_or(defaults.path),
        path_type: path.path_type,
        tls_secret: spec
            .tls
            .iter()
            .flatten()
            .next()
            .and_then(|t| t.secret_name.clone()),
        class_name: spec.ingress_class_name.or(annotated),
        annotations: without(i.metadata.annotations.as_ref(), written_as_class),
    }
}

fn network_policy(spec: &NetworkPolicySpec) -> model::NetworkPolicy {
    let is_dns = |peers: &Option<Vec<NetworkPolicyPeer>>,
                  ports: &Option<Vec<NetworkPolicyPort>>| {
        let kube_system = peers.iter().flatten().next().is_some_and(|p| {
            labels_of(p.namespace_selector.as_ref()).is_some_and(|l| {
                l.get("kubernetes.io/metadata.name").map(String::as_str) == Some("kube-system")
            })
        });
        kube_system
            && ports
                .as_ref()
                .is_some_and(|ports| ports.iter().all(|p| p.port == Some(IntOrString::Int(53))))
    };
    let rule = |peers: &Option<Vec<NetworkPolicyPeer>>, ports: &Option<Vec<NetworkPolicyPort>>| {
        let peer = peers.iter().flatten().next().cloned().unwrap_or_default();
        model::Peer {
            namespace_labels: labels_of(peer.namespace_selector.as_ref()),
            pod_labels: labels_of(peer.pod_selector.as_ref()),
            cidr: peer.ip_block.map(|b| b.cidr),
            ports: ports
                .iter()
                .flatten()
                .filter_map(|p| p.port.as_ref().map(port_number))
                .collect(),
        }
    };
    let ingress = spec.ingress.clone().unwrap_or_default();
    let egress = spec.egress.clone().unwrap_or_default();
    model::NetworkPolicy {
        enabled: true,
        allow_from: ingress
            .iter()
            .filter(|r| !is_dns(&r.from, &r.ports))
            .map(|r| rule(&r.from, &r.ports))
            .collect(),
        allow_to: egress
            .iter()
            .filter(|r| !is_dns(&r.to, &r.ports))
            .map(|r| rule(&r.to, &r.ports))
            .collect(),
        allow_dns: egress.iter().any(|r| is_dns(&r.to, &r.ports)),
    }
}

/// The service account: created by the workload when its ServiceAccount
/// is there, otherwise one made elsewhere that the pods run as. At its
/// defaults it reads as left out.
fn service_account(
    sa: Option<&ServiceAccount>,
    pod: &PodSpec,
    name: &str,
) -> Option<model::ServiceAccount> {
    let runs_as = pod.service_account_name.as_deref().unwrap_or(name);
    let other_name = (runs_as != name).then(|| runs_as.to_string());
    let Some(sa) = sa else {
        return Some(model::ServiceAccount {
            create: false,
            name: other_name,
            ..model::ServiceAccount::default()
        });
    };
    let annotations = sa.metadata.annotations.clone().unwrap_or_default();
    let (gcp, aws) = (
        "iam.gke.io/gcp-service-account",
        "eks.amazonaws.com/role-arn",
    );
    let read = model::ServiceAccount {
        create: true,
        name: other_name,
        gcp_service_account: annotations.get(gcp).cloned(),
        aws_role_arn: annotations.get(aws).cloned(),
        annotations: without(Some(&annotations), &[gcp, aws]),
        pod_identity: false,
    };
    (read != model::ServiceAccount::default()).then_some(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> Json {
        json!({
            "metadata": {
                "name": "api",
                "uid": "1",
                "annotations": {"injected.example/by": "webhook"},
                "managedFields": [
                    {"manager": "genesis", "operation": "Apply", "fieldsV1": {
                        "f:spec": {"f:template": {"f:spec": {"f:containers": {
                            "k:{\"name\":\"api\"}": {".": {}, "f:name": {}, "f:image": {}, "f:args": {}}
                        }}}}
                    }},
                    {"manager": "webhook", "operation": "Update", "fieldsV1": {
                        "f:metadata": {"f:annotations": {"f:injected.example/by": {}}}
                    }},
                ],
            },
            "spec": {"replicas": 7, "template": {"spec": {"containers": [
                {"name": "api", "image": "nginx:1", "args": ["a", "b"], "imagePullPolicy": "IfNotPresent"},
                {"name": "istio-proxy", "image": "proxy"},
            ]}}},
            "status": {"replicas": 7},
        })
    }

    /// What Genesis applies reads back as a workload that renders the
    /// same objects: an apply followed by a refresh shows no change.
    #[test]
    fn what_is_rendered_reads_back_as_the_same_objects() {
        use super::super::colors::{self, Color, Colors};
        for (_, model) in crate::resources::workload::planned_samples() {
            let objects = colors::comparable(&model.spec);
            // A read finds the workload's Service by its name.
            let found: Vec<Json> = objects
                .iter()
                .filter(|o| !colors::is_preview(o))
                .cloned()
                .collect();
            let mut live = super::super::Observed::of(&found);
            // A release by color is read through its colors.
            if model.spec.releases_by_color() {
                let deployment = live.objects.remove("Deployment");
                let blue = Colors {
                    live: Some(Color::Blue),
                    blue: deployment,
                    green: None,
                };
                colors::uncolor(&mut live, &model.spec.name, &blue);
            }
            let back = spec_of(&live, &model.spec);
            let again = colors::comparable(&back);
            assert!(
                super::super::same_objects(&again, &objects),
                "{:#?}\nread back as\n{:#?}",
                model.spec,
                back
            );
        }
    }

    #[test]
    fn only_what_genesis_owns_is_read() {
        let ours = ours(&live(), &Json::Null);
        assert_eq!(
            ours,
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "api", "image": "nginx:1", "args": ["a", "b"]}
            ]}}}})
        );
    }

    #[test]
    fn fields_genesis_applied_are_read_after_another_manager_took_them() {
        // kubectl edit of the image moves its ownership away from genesis.
        let mut live = live();
        live["metadata"]["managedFields"][0]["fieldsV1"] = json!({});
        let applied = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "api", "image": "nginx:0"}]}}}});
        let ours = ours(&live, &applied);
        assert_eq!(ours["spec"]["replicas"], 7);
        assert_eq!(
            ours["spec"]["template"]["spec"]["containers"],
            json!([{"name": "api", "image": "nginx:1"}])
        );
    }

    #[test]
    fn objects_genesis_never_applied_are_read_whole() {
        let mut live = live();
        live["metadata"]["managedFields"] = json!([]);
        let ours = ours(&live, &Json::Null);
        assert!(ours["status"].is_null() && ours["metadata"]["uid"].is_null());
        assert_eq!(
            ours["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
