//! Checks of a workload's configuration across attributes, at validate
//! time: containers, the kinds' own settings, volumes.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;

use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::schema::Attribute;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;

use super::schema::schema;
use crate::resources::cluster::ClusterName;

/// What the rules across a workload's settings read, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct SettingsView {
    cluster: Field<String>,
    kubeconfig_path: Field<String>,
    kubeconfig_context: Field<String>,
    replicas: Field<IgnoredAny>,
    autoscaling: Field<AutoscalingView>,
    resources: Field<ResourcesView>,
    liveness_probe: Field<ProbeView>,
    readiness_probe: Field<ProbeView>,
    startup_probe: Field<ProbeView>,
    disruption_budget: Field<BudgetView>,
    ingress: Field<IgnoredAny>,
    service: Field<ServiceView>,
    ports: Field<Vec<IgnoredAny>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AutoscalingView {
    min_replicas: Field<f64>,
    max_replicas: Field<f64>,
    cpu_target: Field<f64>,
    memory_target: Field<f64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ProbeView {
    http_get: Field<IgnoredAny>,
    tcp_socket: Field<IgnoredAny>,
    grpc: Field<IgnoredAny>,
    exec: Field<IgnoredAny>,
    success_threshold: Field<f64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct BudgetView {
    min_available: Field<IgnoredAny>,
    max_unavailable: Field<IgnoredAny>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ServiceView {
    #[serde(rename = "type")]
    kind: Field<String>,
    ports: Field<Vec<Field<ServicePortView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ServicePortView {
    node_port: Field<IgnoredAny>,
}

/// The effective service (its `type` the schema's default where left out).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EffectiveService {
    service: Field<ServiceView>,
}

/// The cluster, autoscaling, probes, disruption budget and service of a
/// workload, each checked against the settings it depends on.
pub(super) fn validate_settings(config: &Value, diags: &mut Diagnostics) {
    let Ok(view) = view::as_written::<SettingsView>(config) else {
        return;
    };
    validate_target(&view, diags);
    validate_autoscaling(&view, diags);
    validate_probes(&view, diags);
    if let Some(budget) = view.disruption_budget.known()
        && Field::count_set([&budget.min_available, &budget.max_unavailable])
            .is_some_and(|n| n != 1)
    {
        diags.attribute_error(
            AttributePath::attr("disruption_budget"),
            "Set one disruption limit",
            "Set exactly one of min_available or max_unavailable.",
        );
    }
    validate_service(config, &view, diags);
}

fn validate_target(view: &SettingsView, diags: &mut Diagnostics) {
    let (cluster, kubeconfig) = (&view.cluster, &view.kubeconfig_path);
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
    if view.kubeconfig_context.is_set() && kubeconfig.is_null() {
        diags.attribute_error(
            AttributePath::attr("kubeconfig_context"),
            "Context without kubeconfig",
            "kubeconfig_context applies only with kubeconfig_path.",
        );
    }
}

fn validate_autoscaling(view: &SettingsView, diags: &mut Diagnostics) {
    let Some(autoscaling) = view.autoscaling.known() else {
        return;
    };
    if view.replicas.is_set() {
        diags.attribute_error(
            AttributePath::attr("replicas"),
            "replicas conflicts with autoscaling",
            "With autoscaling, the HorizontalPodAutoscaler sets the number of pods: remove replicas (use autoscaling.min_replicas).",
        );
    }
    if let (Some(min), Some(max)) = (
        autoscaling.min_replicas.known(),
        autoscaling.max_replicas.known(),
    ) && min > max
    {
        diags.attribute_error(
            AttributePath::attr("autoscaling").join("min_replicas"),
            "min_replicas is greater than max_replicas",
            format!("min_replicas ({min}) must not be greater than max_replicas ({max})."),
        );
    }
    if autoscaling.cpu_target.is_null() && autoscaling.memory_target.is_null() {
        diags.attribute_error(
            AttributePath::attr("autoscaling"),
            "Autoscaling without a target",
            "Set cpu_target, memory_target or both, e.g. cpu_target = 70.",
        );
    }
    // Null where the resources or their requests are left out; unknown
    // while either is.
    let request = |of: fn(&AmountsView) -> &Field<String>| {
        view.resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|requests| of(requests).as_ref())
            .map(|_| ())
    };
    type Request = fn(&AmountsView) -> &Field<String>;
    let targets: [(&str, &str, &Field<f64>, Request); 2] = [
        ("cpu_target", "cpu", &autoscaling.cpu_target, |r| &r.cpu),
        ("memory_target", "memory", &autoscaling.memory_target, |r| {
            &r.memory
        }),
    ];
    for (target, resource, asked, of) in targets {
        if asked.is_set() && request(of).is_null() {
            diags.attribute_error(
                AttributePath::attr("autoscaling").join(target),
                "Utilization target without a request",
                format!("{target} is a percentage of the containers' {resource} request: set resources.requests.{resource}."),
            );
        }
    }
}

fn validate_probes(view: &SettingsView, diags: &mut Diagnostics) {
    for (probe, p) in [
        ("liveness_probe", &view.liveness_probe),
        ("readiness_probe", &view.readiness_probe),
        ("startup_probe", &view.startup_probe),
    ] {
        let Some(p) = p.known() else {
            continue;
        };
        if Field::count_set([&p.http_get, &p.tcp_socket, &p.grpc, &p.exec]).is_some_and(|n| n != 1)
        {
            diags.attribute_error(
                AttributePath::attr(probe),
                "A probe needs exactly one check",
                "Set exactly one of http_get, tcp_socket, grpc or exec.",
            );
        }
        if probe != "readiness_probe" && p.success_threshold.known().is_some_and(|n| *n != 1.0) {
            diags.attribute_error(
                AttributePath::attr(probe).join("success_threshold"),
                "success_threshold must be 1",
                "Kubernetes requires success_threshold = 1 for liveness and startup probes.",
            );
        }
    }
}

fn validate_service(config: &Value, view: &SettingsView, diags: &mut Diagnostics) {
    if view.ingress.is_set() && view.service.is_null() {
        diags.attribute_error(
            AttributePath::attr("ingress"),
            "Ingress needs a service",
            "An Ingress routes to the workload's Service: add `service = {}` (or with ports).",
        );
    }
    let no_container_ports = match &view.ports {
        Field::Null => true,
        Field::Known(ports) => ports.is_empty(),
        Field::Unknown => false,
    };
    if view.service.known().is_some_and(|s| s.ports.is_null()) && no_container_ports {
        diags.attribute_error(
            AttributePath::attr("service"),
            "Service without ports",
            "Give the service ports (service.ports), or give the container ports (ports) for the service to expose.",
        );
    }
    // Left out, `type` is the schema's default (ClusterIP), which the
    // API server refuses a node port as it refuses one written out.
    let Ok(effective) = view::effective::<EffectiveService>(&schema().block, config) else {
        return;
    };
    let Some(service) = effective.service.known() else {
        return;
    };
    if service.kind.as_str() != Some("ClusterIP") {
        return;
    }
    let ports = service.ports.known().map_or(&[][..], Vec::as_slice);
    for (i, p) in ports.iter().enumerate() {
        if p.known().is_some_and(|p| p.node_port.is_set()) {
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

/// What the container rules read: the workload's own container (named
/// after the workload) and the others of its pod.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ContainersView {
    name: Field<String>,
    resources: Field<ResourcesView>,
    sidecars: Field<Vec<Field<ContainerView>>>,
    init_containers: Field<Vec<Field<ContainerView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ContainerView {
    name: Field<String>,
    resources: Field<ResourcesView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ResourcesView {
    requests: Field<AmountsView>,
    limits: Field<AmountsView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AmountsView {
    cpu: Field<String>,
    memory: Field<String>,
    extended: Field<BTreeMap<String, Field<String>>>,
}

impl ResourcesView {
    fn extended(amounts: &Field<AmountsView>) -> Option<&BTreeMap<String, Field<String>>> {
        amounts.known()?.extended.known()
    }
}

/// Container names are unique in the pod, and extended resources (GPUs)
/// are never overcommitted: a request needs the same limit.
pub(super) fn validate_containers(config: &Value, diags: &mut Diagnostics) {
    let Ok(view) = view::as_written::<ContainersView>(config) else {
        return;
    };
    let others = [
        ("sidecars", &view.sidecars),
        ("init_containers", &view.init_containers),
    ]
    .map(|(list, containers)| {
        let containers = containers.known().map_or(&[][..], Vec::as_slice);
        (list, containers)
    });
    let mut names: Vec<&str> = view.name.known().map(String::as_str).into_iter().collect();
    for (list, containers) in others {
        for (i, c) in containers.iter().enumerate() {
            let Some(name) = c.known().and_then(|c| c.name.known()) else {
                continue;
            };
            if names.contains(&name.as_str()) {
                diags.attribute_error(
                    AttributePath::attr(list).index(i).join("name"),
                    "Container name in use",
                    format!("{name:?} already names a container of this pod (the workload's own is named after the workload): choose another."),
                );
            }
            names.push(name);
        }
    }
    let mut check = |resources: &Field<ResourcesView>, at: AttributePath| {
        let Some(resources) = resources.known() else {
            return;
        };
        let limits = ResourcesView::extended(&resources.limits);
        for (name, amount) in ResourcesView::extended(&resources.requests)
            .into_iter()
            .flatten()
        {
            let limit = limits.and_then(|l| l.get(name)).unwrap_or(&Field::Null);
            if !amount.is_unknown() && !limit.is_unknown() && limit != amount {
                diags.attribute_error(
                    at.clone().join("requests").join("extended").key(name),
                    "Extended resources are not overcommitted",
                    format!("Kubernetes needs the limit of {name:?} equal to its request: set limits.extended[{name:?}] to the same amount, or give only the limit."),
                );
            }
        }
    };
    check(&view.resources, AttributePath::attr("resources"));
    for (list, containers) in others {
        for (i, c) in containers.iter().enumerate() {
            if let Some(c) = c.known() {
                check(
                    &c.resources,
                    AttributePath::attr(list).index(i).join("resources"),
                );
            }
        }
    }
}

/// What the kind rules read of a configuration, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct KindView {
    kind: Field<String>,
    cron: Field<IgnoredAny>,
    rollout: Field<IgnoredAny>,
    job: Field<IgnoredAny>,
    pod_management_policy: Field<IgnoredAny>,
    strategy: Field<StrategyView>,
    service: Field<ServiceTypeView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct StrategyView {
    #[serde(rename = "type")]
    kind: Field<String>,
    max_surge: Field<IgnoredAny>,
    max_unavailable: Field<IgnoredAny>,
    partition: Field<IgnoredAny>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ServiceTypeView {
    #[serde(rename = "type")]
    kind: Field<String>,
}

/// The workload's kind, the schema's default where left out.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EffectiveKind {
    kind: Field<String>,
}

/// Settings that belong to one kind of workload only.
pub(super) fn validate_kind(config: &Value, diags: &mut Diagnostics) {
    let (Ok(written), Ok(effective)) = (
        view::as_written::<KindView>(config),
        view::effective::<EffectiveKind>(&schema().block, config),
    ) else {
        return;
    };
    let Some(kind) = effective.kind.known().map(String::as_str) else {
        return;
    };
    let stateful = kind == "StatefulSet";
    let task = matches!(kind, "Job" | "CronJob");
    let strategy = written.strategy.known();
    let set = |field: &Field<IgnoredAny>| field.known().is_some();
    if kind == "CronJob" && written.cron.is_null() {
        diags.attribute_error(
            AttributePath::attr("cron"),
            "A CronJob needs a schedule",
            "Set cron = { schedule = \"...\" }, e.g. \"0 2 * * *\" for 02:00 every day.",
        );
    }
    let mut only = |path: AttributePath, set: bool, what: &str| {
        if set {
            diags.attribute_error(
                path,
                "Setting does not apply to this kind",
                format!("{what}; this workload is a {kind}. Remove it, or change kind."),
            );
        }
    };
    let strategy_type = strategy.and_then(|s| s.kind.known()).map(String::as_str);
    only(
        AttributePath::attr("rollout"),
        kind != "Deployment" && set(&written.rollout),
        "`rollout` applies to Deployments",
    );
    only(
        AttributePath::attr("cron"),
        kind != "CronJob" && set(&written.cron),
        "`cron` applies to CronJobs",
    );
    only(
        AttributePath::attr("job"),
        !task && set(&written.job),
        "`job` applies to Jobs and CronJobs",
    );
    // A setting at its default (the schema's) is accepted on any kind: a
    // configuration generated from an import writes every defaulted
    // attribute out.
    let block = &schema().block;
    let default_of = |attributes: &[Attribute], name: &str| {
        attributes
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.default.clone())
            .unwrap_or(Value::Null)
    };
    let changed = |v: &Value, default: Value| v.is_set() && *v != default;
    let retention = block
        .attribute("volume_retention")
        .and_then(Attribute::nested)
        .map_or(&[][..], |(_, attributes)| attributes);
    only(
        AttributePath::attr("volume_retention").join("when_scaled"),
        !stateful
            && changed(
                config.get("volume_retention").get("when_scaled"),
                default_of(retention, "when_scaled"),
            ),
        "`when_scaled` applies to StatefulSets (the pods of other kinds share their claims, which a scale-in leaves alone)",
    );
    if task {
        for name in [
            "replicas",
            "autoscaling",
            "service",
            "ingress",
            "disruption_budget",
            "strategy",
            "min_ready_seconds",
            "progress_deadline_seconds",
            "pod_management_policy",
        ] {
            only(
                AttributePath::attr(name),
                changed(config.get(name), default_of(&block.attributes, name)),
                &format!(
                    "`{name}` applies to Deployments and StatefulSets, whose pods serve rather than run to completion"
                ),
            );
        }
        return;
    }
    if stateful {
        only(
            AttributePath::attr("strategy").join("type"),
            strategy_type == Some("Recreate"),
            "`Recreate` applies to Deployments (StatefulSets use RollingUpdate or OnDelete)",
        );
        for (name, setting) in [
            ("max_surge", strategy.map(|s| &s.max_surge)),
            ("max_unavailable", strategy.map(|s| &s.max_unavailable)),
        ] {
            only(
                AttributePath::attr("strategy").join(name),
                setting.is_some_and(set),
                &format!("`{name}` applies to Deployments (StatefulSets update one pod at a time)"),
            );
        }
        let service_type = written
            .service
            .known()
            .and_then(|s| s.kind.known())
            .map(String::as_str);
        only(
            AttributePath::attr("service").join("type"),
            matches!(service_type, Some(t) if t != "ClusterIP"),
            "A StatefulSet's Service is headless (it names the pods), so it is a ClusterIP service; expose it with an ingress or a separate workload",
        );
    } else {
        only(
            AttributePath::attr("strategy").join("type"),
            strategy_type == Some("OnDelete"),
            "`OnDelete` applies to StatefulSets",
        );
        only(
            AttributePath::attr("pod_management_policy"),
            set(&written.pod_management_policy),
            "`pod_management_policy` applies to StatefulSets",
        );
        only(
            AttributePath::attr("strategy").join("partition"),
            strategy.is_some_and(|s| set(&s.partition)),
            "`partition` applies to StatefulSets",
        );
    }
}

/// What the volume rules read, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct VolumesView {
    kind: Field<String>,
    replicas: Field<f64>,
    autoscaling: Field<IgnoredAny>,
    config_mount_path: Field<String>,
    external_secrets_mount_path: Field<String>,
    volumes: Field<BTreeMap<String, Field<VolumeView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct VolumeView {
    mount_path: Field<String>,
    size: Field<String>,
    storage_class: Field<String>,
    access_modes: Field<Vec<Field<String>>>,
    empty_dir: Field<IgnoredAny>,
    config_map: Field<String>,
    secret: Field<String>,
    claim_name: Field<String>,
}

impl VolumeView {
    /// How many sources the volume names; `None` while any is unknown.
    fn sources(&self) -> Option<usize> {
        let set = [
            self.size.set(),
            self.empty_dir.set(),
            self.config_map.set(),
            self.secret.set(),
            self.claim_name.set(),
        ];
        set.iter()
            .try_fold(0, |n, s| s.map(|set| n + usize::from(set)))
    }
}

/// Each volume has one source and a mount path of its own.
pub(super) fn validate_volumes(config: &Value, diags: &mut Diagnostics) {
    let v = match view::as_written::<VolumesView>(config) {
        Ok(v) => v,
        Err(d) => return diags.extend(d),
    };
    let mut paths: Vec<&str> = vec!["/tmp"];
    paths.extend(v.config_mount_path.as_str());
    if let Some(path) = v.external_secrets_mount_path.as_str()
        && paths.contains(&path)
    {
        diags.attribute_error(
            AttributePath::attr("external_secrets_mount_path"),
            "Mount path in use",
            format!("{path} is already mounted (config_mount_path, or Genesis's /tmp): choose another directory."),
        );
    }
    paths.extend(v.external_secrets_mount_path.as_str());
    let volumes = v.volumes.known().into_iter().flatten();
    for (name, volume) in volumes {
        let at = AttributePath::attr("volumes").key(name);
        if !validators::is_dns1123_label(name)
            || ["tmp", "config", "external-secrets"].contains(&name.as_str())
        {
            diags.attribute_error(
                at.clone(),
                "Invalid volume name",
                format!("{name:?} must be a DNS label (lowercase letters, digits and '-') other than \"tmp\", \"config\" and \"external-secrets\", which Genesis uses."),
            );
        }
        let Field::Known(volume) = volume else {
            continue;
        };
        if volume.sources().is_some_and(|n| n != 1) {
            diags.attribute_error(
                at.clone(),
                "A volume needs exactly one source",
                "Set exactly one of size (a claim Genesis makes), empty_dir, config_map, secret or claim_name (an existing claim).",
            );
        }
        for (setting, set) in [
            ("storage_class", volume.storage_class.is_set()),
            ("access_modes", volume.access_modes.is_set()),
        ] {
            if set && volume.size.is_null() {
                diags.attribute_error(
                    at.join(setting),
                    "Setting of a claim",
                    format!("`{setting}` describes the claim `size` makes: set size or remove it."),
                );
            }
        }
        if let Some(path) = volume.mount_path.as_str() {
            if !path.starts_with('/') {
                diags.attribute_error(
                    at.join("mount_path"),
                    "Relative mount path",
                    format!("{path:?} must be an absolute path, e.g. \"/data\"."),
                );
            } else if paths.contains(&path) {
                diags.attribute_error(
                    at.join("mount_path"),
                    "Mount path in use",
                    format!("{path:?} is already mounted (Genesis mounts /tmp, and config_mount_path): choose another path."),
                );
            }
            paths.push(path);
        }
        shared_by_nodes(&v, name, volume, diags);
    }
}

/// A claim a Deployment's pods share in `ReadWriteOnce` mode mounts on one
/// node only: more than one pod (or a rolling update's surge) may never
/// start. A warning, since the pods may all fit one node.
fn shared_by_nodes(v: &VolumesView, name: &str, volume: &VolumeView, diags: &mut Diagnostics) {
    let once = match &volume.access_modes {
        Field::Null => true,
        Field::Known(modes) => modes
            .iter()
            .any(|m| matches!(m.as_str(), Some("ReadWriteOnce" | "ReadWriteOncePod"))),
        Field::Unknown => false,
    };
    let many = v.replicas.known().is_some_and(|r| *r > 1.0) || v.autoscaling.is_set();
    let deployment = v.kind.is_null() || v.kind.as_str() == Some("Deployment");
    if volume.size.is_set() && deployment && many && once {
        diags.push(
            Diagnostic::warning(
                "Pods share a single-node claim",
                format!("The Deployment's pods share the claim of {name}, which mounts on one node at a time: pods scheduled on another node do not start. Use access_modes = [\"ReadWriteMany\"] with a class that supports it, or kind = \"StatefulSet\" for a claim per pod."),
            )
            .at(AttributePath::attr("volumes").key(name).join("access_modes")),
        );
    }
}

/// What the release rules read, as written.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ReleaseView {
    rollout: Field<RolloutView>,
    service: Field<IgnoredAny>,
    wait_for_rollout: Field<bool>,
    ports: Field<Vec<IgnoredAny>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct RolloutView {
    strategy: Field<String>,
    analysis: Field<AnalysisView>,
    steps: Field<Vec<Field<StepView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AnalysisView {
    port: Field<f64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct StepView {
    weight: Field<f64>,
}

/// A blue-green or canary release switches a Service once the new version
/// is ready: it needs both; a canary needs rising steps, which blue-green
/// has none of.
pub(super) fn validate_rollout(config: &Value, diags: &mut Diagnostics) {
    let v = match view::as_written::<ReleaseView>(config) {
        Ok(v) => v,
        Err(d) => return diags.extend(d),
    };
    let Some(rollout) = v.rollout.known() else {
        return;
    };
    let Some(strategy) = rollout.strategy.as_str() else {
        return;
    };
    if v.service.is_null() {
        diags.attribute_error(
            AttributePath::attr("rollout").join("strategy"),
            "Releases by color need a service",
            format!("A {strategy} release moves traffic by switching the workload's Service to the new version: set `service`, or leave `rollout` out for a rolling update."),
        );
    }
    if v.wait_for_rollout.known() == Some(&false) {
        diags.attribute_error(
            AttributePath::attr("wait_for_rollout"),
            "Releases by color wait for the new version",
            format!("A {strategy} release switches traffic only once the new version is ready, so its apply always waits: remove wait_for_rollout = false."),
        );
    }
    let no_ports = match &v.ports {
        Field::Known(ports) => ports.is_empty(),
        Field::Null => true,
        Field::Unknown => false,
    };
    if rollout.analysis.known().is_some_and(|a| a.port.is_null()) && no_ports {
        diags.attribute_error(
            AttributePath::attr("rollout").join("analysis").join("port"),
            "The analysis needs a port",
            "The workload has no ports to ask by default: set analysis.port to the container port that serves the check.",
        );
    }
    let steps: &[Field<StepView>] = rollout.steps.known().map_or(&[], Vec::as_slice);
    let at = AttributePath::attr("rollout").join("steps");
    match (strategy, steps.len()) {
        (super::CANARY, 0) if !rollout.steps.is_unknown() => diags.attribute_error(
            at,
            "A canary needs steps",
            "Give the traffic the new version gets before all of it, e.g. steps = [{ weight = 10, pause = \"5m\" }, { weight = 50, pause = \"10m\" }].",
        ),
        (super::BLUE_GREEN, n) if n > 0 => diags.attribute_error(
            at,
            "Blue-green has no steps",
            "A blue-green release moves all the traffic at once: remove steps, or use strategy = \"canary\".",
        ),
        _ => {}
    }
    let mut last = 0.0;
    for (i, step) in steps.iter().enumerate() {
        let Some(&weight) = step.known().and_then(|s| s.weight.known()) else {
            continue;
        };
        if weight <= last {
            diags.attribute_error(
                AttributePath::attr("rollout").join("steps").index(i).join("weight"),
                "Canary weights rise",
                format!("Step {} gives the new version {weight}% after {last}%: each step gives it more of the traffic.", i + 1),
            );
        }
        last = weight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summaries(rule: fn(&Value, &mut Diagnostics), config: Value) -> Vec<String> {
        let mut diags = Diagnostics::new();
        rule(&config, &mut diags);
        diags.iter().map(|d| d.summary.clone()).collect()
    }

    fn volumes(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn settings_are_checked_against_what_they_depend_on() {
        let cluster = ("cluster", Value::from("projects/p/locations/l/clusters/c"));
        type Case<'a> = (Vec<(&'a str, Value)>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (vec![], vec!["No cluster"]),
            (
                vec![
                    cluster.clone(),
                    ("kubeconfig_path", "~/.kube/config".into()),
                ],
                vec!["Two clusters"],
            ),
            (
                vec![cluster.clone(), ("kubeconfig_context", "dev".into())],
                vec!["Context without kubeconfig"],
            ),
            (
                vec![
                    cluster.clone(),
                    ("replicas", 2.0.into()),
                    (
                        "autoscaling",
                        Value::object([("min_replicas", 5.0.into()), ("max_replicas", 3.0.into())]),
                    ),
                ],
                vec![
                    "replicas conflicts with autoscaling",
                    "min_replicas is greater than max_replicas",
                    "Autoscaling without a target",
                ],
            ),
            (
                vec![
                    cluster.clone(),
                    ("autoscaling", Value::object([("cpu_target", 70.0.into())])),
                    (
                        "resources",
                        Value::object([("requests", Value::object([("memory", "1Gi".into())]))]),
                    ),
                ],
                vec!["Utilization target without a request"],
            ),
            (
                // Requests not known yet are checked once known.
                vec![
                    cluster.clone(),
                    ("autoscaling", Value::object([("cpu_target", 70.0.into())])),
                    ("resources", Value::object([("requests", Value::Unknown)])),
                ],
                vec![],
            ),
            (
                vec![
                    cluster.clone(),
                    (
                        "liveness_probe",
                        Value::object([
                            ("exec", Value::object([])),
                            ("grpc", Value::object([])),
                            ("success_threshold", 2.0.into()),
                        ]),
                    ),
                    (
                        "readiness_probe",
                        Value::object([
                            ("exec", Value::Unknown),
                            ("success_threshold", 2.0.into()),
                        ]),
                    ),
                ],
                vec![
                    "A probe needs exactly one check",
                    "success_threshold must be 1",
                ],
            ),
            (
                vec![
                    cluster.clone(),
                    ("disruption_budget", Value::object([])),
                    ("ingress", Value::object([])),
                ],
                vec!["Set one disruption limit", "Ingress needs a service"],
            ),
            (
                vec![cluster.clone(), ("service", Value::object([]))],
                vec!["Service without ports"],
            ),
            (
                vec![
                    cluster.clone(),
                    ("service", Value::object([])),
                    ("ports", Value::Unknown),
                ],
                vec![],
            ),
        ];
        for (config, expected) in cases {
            let found = summaries(validate_settings, Value::object(config.clone()));
            assert_eq!(found, expected, "{config:?}");
        }
    }

    fn gpus(requests: Value, limits: Value) -> Value {
        let amounts =
            |gpus: Value| Value::object([("extended", volumes(vec![("nvidia.com/gpu", gpus)]))]);
        Value::object([("requests", amounts(requests)), ("limits", amounts(limits))])
    }

    #[test]
    fn containers_have_names_of_their_own_and_extended_resources_are_not_overcommitted() {
        let container = |name: &str, resources: Value| {
            Value::object([("name", name.into()), ("resources", resources)])
        };
        let config = Value::object([
            ("name", "api".into()),
            ("resources", gpus("1".into(), "2".into())),
            (
                "sidecars",
                Value::List(vec![
                    container("proxy", gpus("1".into(), "1".into())),
                    container("api", Value::Null),
                ]),
            ),
            (
                "init_containers",
                Value::List(vec![
                    container("proxy", Value::Null),
                    container("migrate", gpus("1".into(), Value::Unknown)),
                ]),
            ),
        ]);
        let mut diags = Diagnostics::new();
        validate_containers(&config, &mut diags);
        let found: Vec<(String, Option<AttributePath>)> = diags
            .iter()
            .map(|d| (d.summary.clone(), d.path.clone()))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "Container name in use".to_string(),
                    Some(AttributePath::attr("sidecars").index(1).join("name"))
                ),
                (
                    "Container name in use".to_string(),
                    Some(AttributePath::attr("init_containers").index(0).join("name"))
                ),
                (
                    "Extended resources are not overcommitted".to_string(),
                    Some(
                        AttributePath::attr("resources")
                            .join("requests")
                            .join("extended")
                            .key("nvidia.com/gpu")
                    )
                ),
            ],
            "a limit not known yet is checked once known"
        );
    }

    #[test]
    fn volumes_have_one_source_and_paths_of_their_own() {
        let config = Value::object([
            ("replicas", 3.0.into()),
            ("config_mount_path", "/etc/app".into()),
            (
                "volumes",
                volumes(vec![
                    (
                        "data",
                        Value::object([("mount_path", "/data".into()), ("size", "10Gi".into())]),
                    ),
                    (
                        "both",
                        Value::object([
                            ("mount_path", "/etc/app".into()),
                            ("secret", "s".into()),
                            ("config_map", "c".into()),
                        ]),
                    ),
                    (
                        "tmp",
                        Value::object([
                            ("mount_path", "relative".into()),
                            ("claim_name", "c".into()),
                            ("storage_class", "fast".into()),
                        ]),
                    ),
                    // Waits until known.
                    (
                        "later",
                        Value::object([("mount_path", "/later".into()), ("size", Value::Unknown)]),
                    ),
                ]),
            ),
        ]);
        assert_eq!(
            summaries(validate_volumes, config),
            [
                "A volume needs exactly one source",
                "Mount path in use",
                "Pods share a single-node claim",
                "Invalid volume name",
                "Setting of a claim",
                "Relative mount path",
            ]
        );
    }

    #[test]
    fn a_kinds_settings_at_the_schemas_defaults_are_accepted_on_any_kind() {
        let job = |ready: f64, deadline: f64, when_scaled: &str| {
            Value::object([
                ("kind", "Job".into()),
                ("min_ready_seconds", ready.into()),
                ("progress_deadline_seconds", deadline.into()),
                (
                    "volume_retention",
                    Value::object([("when_scaled", when_scaled.into())]),
                ),
            ])
        };
        assert!(summaries(validate_kind, job(0.0, 600.0, "Retain")).is_empty());
        assert_eq!(
            summaries(validate_kind, job(5.0, 60.0, "Delete")),
            ["Setting does not apply to this kind"; 3]
        );
    }

    #[test]
    fn releases_by_color_need_a_service_and_rising_steps() {
        let step = |weight: f64| Value::object([("weight", weight.into())]);
        let canary = Value::object([
            ("wait_for_rollout", false.into()),
            (
                "rollout",
                Value::object([
                    ("strategy", "canary".into()),
                    ("analysis", Value::object([("path", "/healthz".into())])),
                    ("steps", Value::List(vec![step(50.0), step(20.0)])),
                ]),
            ),
        ]);
        assert_eq!(
            summaries(validate_rollout, canary),
            [
                "Releases by color need a service",
                "Releases by color wait for the new version",
                "The analysis needs a port",
                "Canary weights rise",
            ]
        );
        let blue_green = Value::object([
            ("service", Value::object([])),
            ("ports", Value::Unknown),
            (
                "rollout",
                Value::object([
                    ("strategy", "blue-green".into()),
                    ("analysis", Value::object([("path", "/healthz".into())])),
                    ("steps", Value::List(vec![step(10.0)])),
                ]),
            ),
        ]);
        assert_eq!(
            summaries(validate_rollout, blue_green),
            ["Blue-green has no steps"],
            "unknown ports may hold the analysis's"
        );
        let no_steps = Value::object([
            ("service", Value::object([])),
            (
                "rollout",
                Value::object([("strategy", "canary".into()), ("steps", Value::Unknown)]),
            ),
        ]);
        assert!(summaries(validate_rollout, no_steps).is_empty());
    }
}
