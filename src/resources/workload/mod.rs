//! `genesis_workload`: an application inside a cluster. One resource
//! renders a Deployment with its Service, HorizontalPodAutoscaler,
//! PodDisruptionBudget, NetworkPolicy, ServiceAccount, ConfigMap and
//! Ingress, restricted by default, applied with server-side apply. It
//! reaches its cluster through the `genesis_cluster` it names, so it can be
//! planned before the cluster exists.

mod claims;
mod model;
use self::claims::{Recorded, plan_claims};
mod schema;

use async_trait::async_trait;

use super::cluster::ClusterName;
use super::common::{bad_import_id, state_with, wait_for};
use super::node_pool::is_label_key;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::identity::{IdentityAttribute, IdentitySchema};
use crate::framework::path::AttributePath;
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::Schema;
use crate::framework::types::Type;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::kube::workload::{self, Addon};

pub use self::model::*;
pub use self::schema::schema;
use crate::provider::ProviderContext;

pub const TYPE_NAME: &str = "genesis_workload";

pub struct Workload;

#[async_trait]
impl Resource for Workload {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_mesh(config, diags);
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
        validate_kind(config, diags);
        validate_volumes(config, diags);
        validate_containers(config, diags);
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
        let mut variables: Vec<(&str, &str)> = Vec::new();
        for map in ["env", "secret_env", "external_secrets"] {
            for (name, _) in config.get(map).entries().into_iter().flatten() {
                let path = AttributePath::attr(map).key(name);
                if name.is_empty()
                    || name.starts_with(|c: char| c.is_ascii_digit())
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                {
                    diags.attribute_error(
                        path,
                        "Invalid environment variable name",
                        format!("{name:?} is not a valid environment variable name: use letters, digits, '_', '-' and '.', not starting with a digit."),
                    );
                } else if let Some((_, first)) = variables.iter().find(|(n, _)| n == name) {
                    diags.attribute_error(
                        path,
                        "Environment variable set twice",
                        format!(
                            "{name} is already set in {first}: a variable comes from one place."
                        ),
                    );
                }
                variables.push((name, map));
            }
        }
    }

    fn modify_plan(&self, ctx: &PlanContext<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        let config = ctx.config;
        if !ctx.is_create() {
            plan_claims(
                ctx.prior,
                planned,
                &Recorded::decode(ctx.prior_private),
                diags,
            );
        }
        if config.get("replicas").is_null() {
            // With autoscaling the HPA owns the count: the state has none,
            // so scaling is no diff and a configuration generated from an
            // import does not set replicas beside autoscaling. A task has
            // no count at all.
            let task = matches!(planned.get("kind").as_str(), Some("Job" | "CronJob"));
            let replicas = match (config.get("autoscaling"), planned.get("kind")) {
                (_, Value::Unknown) | (Value::Unknown, _) => Value::Unknown,
                _ if task => Value::Null,
                (Value::Null, _) => Value::Number(1.0),
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

    /// A workload using an add-on (Istio, the External Secrets Operator)
    /// on a cluster that exists is checked against it: without the
    /// add-on's APIs the plan fails with what to install, rather than the
    /// apply with an API error.
    async fn check_plan(&self, ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
        let needed: Vec<Addon> = Addon::ALL
            .into_iter()
            .filter(|a| {
                let setting = planned.get(addon_setting(*a));
                setting.is_set() && setting.entries().is_none_or(|e| !e.is_empty())
            })
            .collect();
        let reachable = ["cluster", "kubeconfig_path", "kubeconfig_context"]
            .iter()
            .all(|a| !planned.get(a).is_unknown());
        if needed.is_empty() || !reachable {
            return;
        }
        let Ok(target) = crate::framework::model::decode::<Target>(planned) else {
            return;
        };
        // A cluster that cannot be reached yet is checked by the apply.
        let Ok(Some(client)) = connect(ctx.provider, &target, planned).await else {
            return;
        };
        for addon in needed {
            if let Ok(false) = workload::serves(&client, addon, &ctx.provider.stop).await {
                diags.push(missing(addon).at(AttributePath::attr(addon_setting(addon))));
            }
        }
    }

    /// Data outlives its workload unless the configuration says otherwise:
    /// the plan says which claims stay.
    fn plan_destroy(&self, prior: &Value, diags: &mut Diagnostics) {
        if let Ok(model) = Model::decode(prior) {
            claims::plan_destroy(&model.spec, diags);
        }
    }

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied {
        let model = match Model::decode(planned) {
            Ok(model) => model,
            Err(d) => return Applied::failed(Value::Null, d),
        };
        let client = match connect(provider, &model.target, planned).await {
            Ok(Some(c)) => c,
            Ok(None) => return Applied::failed(Value::Null, cluster_missing(&model.target)),
            Err(d) => return Applied::failed(Value::Null, d.into()),
        };
        let objects = workload::render(&model.spec);
        match workload::foreign(&client, &objects, &provider.stop).await {
            Ok(found) if found.is_empty() => {}
            Ok(found) => return Applied::failed(Value::Null, taken(planned, &model.spec, &found)),
            Err(e) => {
                return Applied::failed(
                    Value::Null,
                    Diagnostic::error("Failed to read the cluster", e.to_string()).into(),
                );
            }
        }
        apply_workload(provider, &client, None, (planned, &model), "create").await
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        let model = Model::decode(state)?;
        // A workload whose cluster is gone is gone too.
        let client = match connect(provider, &model.target, state).await? {
            Some(c) => c,
            None => return Ok(None),
        };
        let spec = &model.spec;
        // An add-on's objects are read for a workload that uses it, and on
        // import (its stub has no image yet) where the cluster serves it.
        let mut addons = addons_of(spec);
        if spec.image.is_empty() {
            for addon in Addon::ALL {
                if workload::serves(&client, addon, &provider.stop)
                    .await
                    .unwrap_or(false)
                {
                    addons.push(addon);
                }
            }
        }
        let observed = workload::observe(
            &client,
            &spec.namespace,
            &spec.name,
            &workload::kinds(&addons),
            &provider.stop,
        )
        .await
        .map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Failed to read the workload",
                e.to_string(),
            ))
        })?;
        let Some(controller) = observed.controller() else {
            return Ok(None);
        };
        let mut fresh = read_back(state, spec, &observed);
        // After an import, attributes the objects read the same as their
        // defaults (and what only the configuration says) take the
        // default, as the next plan would.
        for attribute in schema().block.attributes {
            if let Some(default) = attribute.default
                && fresh.get(&attribute.name).is_null()
            {
                fresh.set_attr(&attribute.name, default);
            }
        }
        if fresh.get("kubeconfig_path").is_null() && fresh.get("cluster").is_null() {
            fresh.set_attr("kubeconfig_path", kubeconfig_path(&model.target).into());
        }
        // Pods run on their last synced Secret while the operator cannot
        // sync it: the status says so, and the next plan waits again.
        let status = match observed.external_secrets_sync() {
            Some(workload::Sync::Failed(_)) => "Failed",
            Some(workload::Sync::Pending) => "Progressing",
            _ => status_name(&workload::rollout_of(controller)),
        };
        fresh.set_attr("status", status.into());
        fresh.set_attr("load_balancer_ip", observed.load_balancer_ip().into());
        let private = Recorded::observe(&client, spec, &provider.stop, private).await;
        Ok(Some((fresh, private)))
    }

    async fn update(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        planned: &Value,
        private: &[u8],
    ) -> Applied {
        let (was, model) = match (Model::decode(prior), Model::decode(planned)) {
            (Ok(was), Ok(model)) => (was, model),
            (Err(d), _) | (_, Err(d)) => return Applied::failed(prior.clone(), d),
        };
        let client = match connect(provider, &model.target, planned).await {
            Ok(Some(c)) => c,
            Ok(None) => return Applied::failed(prior.clone(), cluster_missing(&model.target)),
            Err(d) => return Applied::failed(prior.clone(), d.into()),
        };
        let mut applied = apply_workload(
            provider,
            &client,
            Some((prior, &was)),
            (planned, &model),
            "update",
        )
        .await;
        applied.private = Recorded::observe(&client, &model.spec, &provider.stop, private).await;
        applied
    }

    async fn delete(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        _private: &[u8],
    ) -> Diagnostics {
        let model = match Model::decode(prior) {
            Ok(model) => model,
            Err(d) => return d,
        };
        let client = match connect(provider, &model.target, prior).await {
            Ok(Some(c)) => c,
            Ok(None) => return Diagnostics::new(),
            Err(d) => return d.into(),
        };
        // Dependents first: the reverse of the order they were applied in.
        let mut objects = workload::deletable(&workload::render(&model.spec));
        objects.reverse();
        let wait = wait_for(provider, prior, "delete", 5);
        let namespace = &model.spec.namespace;
        match workload::delete(&client, namespace, &objects, wait.timeout, &wait.stop).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => Diagnostic::error("Failed to delete the workload", e.to_string()).into(),
        }
    }

    fn upgrade_state(&self, version: i64, mut state: Value) -> Result<Value, Diagnostics> {
        if version < 1 && state.get("autoscaling").is_set() {
            state.set_attr("replicas", Value::Null);
        }
        // A null kind planned as its default would replace every workload.
        if version < 2 && state.get("kind").is_null() {
            state.set_attr("kind", "Deployment".into());
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

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::new(vec![
            IdentityAttribute::optional("cluster", "The `id` of the workload's genesis_cluster."),
            IdentityAttribute::optional(
                "kubeconfig_context",
                "Else the kubeconfig context (KUBECONFIG's file, else ~/.kube/config); neither: its current context.",
            ),
            IdentityAttribute::required("namespace", "The workload's namespace."),
            IdentityAttribute::required("name", "The workload's name."),
        ]))
    }

    fn identity(&self, state: &Value) -> Option<Value> {
        let text = |name: &str| state.get(name).as_str().map(str::to_string);
        let cluster = match state.get("cluster") {
            Value::Null => None,
            v => Some(ClusterName::parse(v.as_str()?)?.id()),
        };
        self.identity_schema()?.value(&[
            ("cluster", cluster),
            ("kubeconfig_context", text("kubeconfig_context")),
            ("namespace", text("namespace")),
            ("name", text("name")),
        ])
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        let schema = self
            .identity_schema()
            .unwrap_or_else(|| IdentitySchema::new(Vec::new()));
        let namespace = schema.part(identity, "namespace")?.unwrap_or_default();
        let name = schema.part(identity, "name")?.unwrap_or_default();
        let prefix = match (
            schema.part(identity, "cluster")?,
            schema.part(identity, "kubeconfig_context")?,
        ) {
            (Some(cluster), None) => Some(cluster),
            (None, context) => context,
            (Some(_), Some(_)) => {
                return Err(Diagnostic::error(
                    "Incomplete identity",
                    "Give `cluster` or `kubeconfig_context`, not both.",
                )
                .into());
            }
        };
        Ok(match prefix {
            Some(prefix) => format!("{prefix}/{namespace}/{name}"),
            None => format!("{namespace}/{name}"),
        })
    }
}

/// Container names are unique in the pod, and extended resources (GPUs)
/// are never overcommitted: a request needs the same limit.
fn validate_containers(config: &Value, diags: &mut Diagnostics) {
    let mut names: Vec<&str> = config.get("name").as_str().into_iter().collect();
    for list in ["sidecars", "init_containers"] {
        for (i, c) in config.get(list).elements().iter().enumerate() {
            let Some(name) = c.get("name").as_str() else {
                continue;
            };
            if names.contains(&name) {
                diags.attribute_error(
                    AttributePath::attr(list).index(i).join("name"),
                    "Container name in use",
                    format!("{name:?} already names a container of this pod (the workload's own is named after the workload): choose another."),
                );
            }
            names.push(name);
        }
    }
    let mut check = |resources: &Value, at: AttributePath| {
        let limits = resources.get("limits").get("extended");
        for (name, amount) in resources
            .get("requests")
            .get("extended")
            .entries()
            .into_iter()
            .flatten()
        {
            let limit = limits.get(name);
            if !amount.is_unknown() && !limit.is_unknown() && limit != amount {
                diags.attribute_error(
                    at.clone().join("requests").join("extended").key(name),
                    "Extended resources are not overcommitted",
                    format!("Kubernetes needs the limit of {name:?} equal to its request: set limits.extended[{name:?}] to the same amount, or give only the limit."),
                );
            }
        }
    };
    check(config.get("resources"), AttributePath::attr("resources"));
    for list in ["sidecars", "init_containers"] {
        for (i, c) in config.get(list).elements().iter().enumerate() {
            check(
                c.get("resources"),
                AttributePath::attr(list).index(i).join("resources"),
            );
        }
    }
}

/// Settings that belong to one kind of workload only.
fn validate_kind(config: &Value, diags: &mut Diagnostics) {
    if config.get("kind").is_unknown() {
        return;
    }
    let kind = config.get("kind").as_str().unwrap_or("Deployment");
    let stateful = kind == "StatefulSet";
    let task = matches!(kind, "Job" | "CronJob");
    let strategy = config.get("strategy");
    if kind == "CronJob" && config.get("cron").is_null() {
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
    let strategy_type = strategy.get("type").as_str();
    only(
        AttributePath::attr("cron"),
        kind != "CronJob" && config.get("cron").is_set(),
        "`cron` applies to CronJobs",
    );
    only(
        AttributePath::attr("job"),
        !task && config.get("job").is_set(),
        "`job` applies to Jobs and CronJobs",
    );
    // A setting at its default is accepted on any kind: a configuration
    // generated from an import writes every defaulted attribute out.
    let changed = |v: &Value, default: Value| v.is_set() && *v != default;
    only(
        AttributePath::attr("volume_retention").join("when_scaled"),
        !stateful
            && changed(
                config.get("volume_retention").get("when_scaled"),
                "Retain".into(),
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
            let default = match name {
                "min_ready_seconds" => Value::Number(0.0),
                "progress_deadline_seconds" => Value::Number(600.0),
                _ => Value::Null,
            };
            only(
                AttributePath::attr(name),
                changed(config.get(name), default),
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
        for name in ["max_surge", "max_unavailable"] {
            only(
                AttributePath::attr("strategy").join(name),
                strategy.get(name).is_set(),
                &format!("`{name}` applies to Deployments (StatefulSets update one pod at a time)"),
            );
        }
        let service_type = config.get("service").get("type").as_str();
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
            config.get("pod_management_policy").is_set(),
            "`pod_management_policy` applies to StatefulSets",
        );
        only(
            AttributePath::attr("strategy").join("partition"),
            strategy.get("partition").is_set(),
            "`partition` applies to StatefulSets",
        );
    }
}

/// Each volume has one source and a mount path of its own.
fn validate_volumes(config: &Value, diags: &mut Diagnostics) {
    let mut paths: Vec<&str> = vec!["/tmp"];
    paths.extend(config.get("config_mount_path").as_str());
    for (name, v) in config.get("volumes").entries().into_iter().flatten() {
        let at = AttributePath::attr("volumes").key(name);
        if !validators::is_dns1123_label(name) || name == "tmp" || name == "config" {
            diags.attribute_error(
                at.clone(),
                "Invalid volume name",
                format!("{name:?} must be a DNS label (lowercase letters, digits and '-') other than \"tmp\" and \"config\", which Genesis uses."),
            );
        }
        let sources = ["size", "empty_dir", "config_map", "secret", "claim_name"];
        if Value::count_set(sources.iter().map(|s| v.get(s))).is_some_and(|n| n != 1) {
            diags.attribute_error(
                at.clone(),
                "A volume needs exactly one source",
                "Set exactly one of size (a claim Genesis makes), empty_dir, config_map, secret or claim_name (an existing claim).",
            );
        }
        for name in ["storage_class", "access_modes"] {
            if v.get(name).is_set() && v.get("size").is_null() {
                diags.attribute_error(
                    at.join(name),
                    "Setting of a claim",
                    format!("`{name}` describes the claim `size` makes: set size or remove it."),
                );
            }
        }
        if let Some(path) = v.get("mount_path").as_str() {
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
        shared_by_nodes(config, name, v, diags);
    }
}

/// A claim a Deployment's pods share in `ReadWriteOnce` mode mounts on one
/// node only: more than one pod (or a rolling update's surge) may never
/// start. A warning, since the pods may all fit one node.
fn shared_by_nodes(config: &Value, name: &str, v: &Value, diags: &mut Diagnostics) {
    let modes = v.get("access_modes");
    let once = modes.is_null()
        || modes
            .elements()
            .iter()
            .any(|m| matches!(m.as_str(), Some("ReadWriteOnce" | "ReadWriteOncePod")));
    let many = config.get("replicas").as_i64().is_some_and(|r| r > 1)
        || config.get("autoscaling").is_set();
    let deployment =
        config.get("kind").is_null() || config.get("kind").as_str() == Some("Deployment");
    if v.get("size").is_set() && deployment && many && once {
        diags.push(
            Diagnostic::warning(
                "Pods share a single-node claim",
                format!("The Deployment's pods share the claim of {name}, which mounts on one node at a time: pods scheduled on another node do not start. Use access_modes = [\"ReadWriteMany\"] with a class that supports it, or kind = \"StatefulSet\" for a claim per pod."),
            )
            .at(AttributePath::attr("volumes").key(name).join("access_modes")),
        );
    }
}

/// The state as the cluster has it: every rendered attribute read back from
/// Genesis's parts of the live objects. Where a reading renders the same
/// objects as the prior state (`1` for `1000m`, a node-pool shortcut
/// spelled out), the prior's spelling stays, so only real changes show.
fn read_back(prior: &Value, spec: &WorkloadSpec, observed: &workload::Observed) -> Value {
    let applied = workload::render(spec);
    let live = observed.ours(&spec.name, &applied);
    let read = Model {
        spec: workload::spec_of(&live, spec),
        ..Model::default()
    }
    .encode();
    // What runs the pods is whichever controller exists (an import knows
    // it only now); the other attributes are read against it.
    let mut base = prior.clone();
    base.set_attr("kind", read.get("kind").clone());
    let rendered = |v: &Value| Model::decode(v).map(|m| workload::render(&m.spec)).ok();
    let reference = rendered(&base).unwrap_or(applied);
    let mut fresh = base.clone();
    for (attribute, value) in read.entries().into_iter().flatten() {
        let mut candidate = base.clone();
        candidate.set_attr(attribute, value.clone());
        let renders_otherwise =
            rendered(&candidate).is_some_and(|c| !workload::same_objects(&c, &reference));
        if renders_otherwise {
            fresh.set_attr(attribute, value.clone());
        }
    }
    fresh
}

/// The add-ons a workload's settings use.
fn addons_of(spec: &WorkloadSpec) -> Vec<Addon> {
    let mut out = Vec::new();
    if spec.mesh.is_some() {
        out.push(Addon::Istio);
    }
    if !spec.external_secrets.is_empty() {
        out.push(Addon::ExternalSecrets);
    }
    out
}

/// The setting that uses an add-on.
fn addon_setting(addon: Addon) -> &'static str {
    match addon {
        Addon::Istio => "mesh",
        Addon::ExternalSecrets => "external_secrets",
    }
}

/// An add-on's APIs missing from the cluster, and what to do.
fn missing(addon: Addon) -> Diagnostic {
    match addon {
        Addon::Istio => Diagnostic::error(
            "Istio is not installed in the cluster",
            "The workload's mesh settings are Istio objects (PeerAuthentication, VirtualService, DestinationRule), and the cluster does not serve Istio's APIs (security.istio.io/v1, networking.istio.io/v1). Genesis does not install Istio: on GKE, enable Cloud Service Mesh for the cluster's fleet; on EKS, install Istio (istioctl install, or its base and istiod Helm charts). Then apply again, or remove `mesh`.",
        ),
        Addon::ExternalSecrets => Diagnostic::error(
            "The External Secrets Operator is not installed in the cluster",
            "The workload's external_secrets are an ExternalSecret (external-secrets.io/v1), and the cluster does not serve that API. Genesis does not install the operator: install the External Secrets Operator 0.16 or later (its Helm chart, external-secrets/external-secrets), with access to the stores in genesis_cluster.secret_stores (Workload Identity on GKE, EKS Pod Identity or IRSA on EKS). Then apply again, or remove `external_secrets`.",
        ),
    }
}

/// The mesh's routing settings apply to the workload's service.
fn validate_mesh(config: &Value, diags: &mut Diagnostics) {
    let mesh = config.get("mesh");
    if !config.get("service").is_null() || config.get("service").is_unknown() {
        return;
    }
    for setting in ["timeout", "retries", "outlier_detection"] {
        if mesh.get(setting).is_set() {
            diags.attribute_error(
                AttributePath::attr("mesh").join(setting),
                "The mesh routes the workload's service",
                format!("mesh.{setting} applies to requests to the workload's service, and it has none: add a `service`, or leave {setting} out."),
            );
        }
    }
}

fn status_name(rollout: &workload::Rollout) -> &'static str {
    match rollout {
        workload::Rollout::Available => "Available",
        workload::Rollout::Complete => "Complete",
        workload::Rollout::Progressing => "Progressing",
        workload::Rollout::Failed(_) => "Failed",
    }
}

/// The error for a create whose objects someone else already has.
fn taken(planned: &Value, spec: &WorkloadSpec, found: &[(String, String)]) -> Diagnostics {
    let namespace = &spec.namespace;
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

fn cluster_missing(target: &Target) -> Diagnostics {
    Diagnostic::error(
        "Cluster not found",
        format!("The cluster {:?} does not exist (yet). Create it first, or check the `cluster` attribute.", target.cluster.as_deref().unwrap_or_default()),
    )
    .at(AttributePath::attr("cluster"))
    .into()
}

/// The kubeconfig a workload uses: its `kubeconfig_path`, or, for a
/// workload just imported by `NAMESPACE/NAME` (neither `cluster` nor
/// `kubeconfig_path` known yet), kubectl's: the first file in KUBECONFIG,
/// else `~/.kube/config`.
fn kubeconfig_path(target: &Target) -> Option<String> {
    if let Some(path) = &target.kubeconfig_path {
        return Some(path.clone());
    }
    if target.cluster.is_some() {
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
/// `state` gives the timeouts.
async fn connect(
    provider: &ProviderContext,
    target: &Target,
    state: &Value,
) -> Result<Option<kube::Client>, Diagnostic> {
    if let Some(path) = kubeconfig_path(target) {
        let context = target.kubeconfig_context.as_deref();
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
    let id = target.cluster.as_deref().unwrap_or_default();
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
/// `prior` is `None` on create; each value comes with its model.
async fn apply_workload(
    provider: &ProviderContext,
    client: &kube::Client,
    prior: Option<(&Value, &Model)>,
    (planned, model): (&Value, &Model),
    op: &str,
) -> Applied {
    let objects = workload::render(&model.spec);
    let prior_objects = prior.map_or_else(Vec::new, |(_, was)| workload::render(&was.spec));
    // A plan made before the cluster existed could not check its add-ons.
    let had = prior.map_or_else(Vec::new, |(_, was)| addons_of(&was.spec));
    for addon in addons_of(&model.spec) {
        if had.contains(&addon) {
            continue;
        }
        let state = || prior.map_or(Value::Null, |(p, _)| p.clone());
        match workload::serves(client, addon, &provider.stop).await {
            Ok(true) => {}
            Ok(false) => return Applied::failed(state(), missing(addon).into()),
            Err(e) => {
                return Applied::failed(
                    state(),
                    Diagnostic::error("Failed to read the cluster", e.to_string()).into(),
                );
            }
        }
    }
    // The prior state is what the cluster holds (refreshed): when the plan
    // renders the same objects (only `timeouts` or `wait_for_rollout`
    // changed, say, or an import met its configuration), nothing is written.
    let unchanged = prior.is_some() && workload::same_objects(&prior_objects, &objects);
    if let Some((prior, was)) = prior
        && !unchanged
        && workload::rebuilds_stateful_set(&prior_objects, &objects)
        && let Err(e) = rebuild_stateful_set(provider, client, (planned, model), was).await
    {
        return Applied::failed(prior.clone(), e);
    }
    if let Some((prior, _)) = prior
        && !unchanged
        && workload::reruns_job(&prior_objects, &objects)
    {
        let spec = &model.spec;
        let wait = wait_for(provider, planned, "update", 10);
        let job = [("Job".to_string(), spec.name.clone())];
        if let Err(e) =
            workload::delete(client, &spec.namespace, &job, wait.timeout, &wait.stop).await
        {
            return Applied::failed(
                prior.clone(),
                Diagnostic::error(
                    "Failed to replace the Job's last run",
                    format!("A Job cannot change once made, so its last run is deleted to run it again: {e}"),
                )
                .into(),
            );
        }
    }
    let applied = if unchanged {
        Ok(())
    } else {
        let timeout = wait_for(provider, planned, op, 10).timeout;
        match workload::remake_pending_claims(
            client,
            (&prior_objects, &objects),
            timeout,
            &provider.stop,
        )
        .await
        {
            Ok(()) => workload::apply(client, &objects, &provider.stop).await,
            Err(e) => Err(e),
        }
    };
    if let Err(e) = applied {
        // A create that applied some objects before failing keeps them in
        // state (tainted), so the next apply replaces rather than meets them.
        let state = if let Some((prior, _)) = prior {
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
    let (namespace, name) = (&model.spec.namespace, &model.spec.name);
    let wait = wait_for(provider, planned, op, 10);
    let kept = workload::identities(&objects);
    let dropped: Vec<(String, String)> = workload::deletable(&prior_objects)
        .into_iter()
        .filter(|o| !kept.contains(o))
        .collect();
    if !dropped.is_empty()
        && let Err(e) =
            workload::delete(client, namespace, &dropped, wait.timeout, &wait.stop).await
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
    let kind = model.spec.kind.name();
    let waits = model.apply.wait_for_rollout;
    if waits && !model.spec.external_secrets.is_empty() {
        let synced =
            workload::wait_for_external_secrets(client, namespace, name, wait.timeout, &wait.stop)
                .await;
        let problem = match synced {
            Ok(workload::Sync::Synced) => None,
            Ok(workload::Sync::Failed(reason)) => Some(format!(
                "the External Secrets Operator could not sync ExternalSecret {namespace}/{name}: {reason}. Check the store (genesis_cluster.secret_stores) and the keys in external_secrets."
            )),
            Ok(workload::Sync::Pending) => Some(format!(
                "ExternalSecret {namespace}/{name} was not synced when the timeout ran out; check that the External Secrets Operator runs."
            )),
            Err(e) => Some(e.to_string()),
        };
        if let Some(problem) = problem {
            return Applied::failed(
                planned_state(planned, "Progressing", None),
                Diagnostic::error("Secrets not synced", problem).into(),
            );
        }
    }
    let rollout = if waits {
        let controller = (model.spec.kind.name(), name.as_str());
        workload::wait_for_rollout(client, namespace, controller, wait.timeout, &wait.stop).await
    } else {
        Ok(workload::Rollout::Progressing)
    };
    let observed = workload::observe(client, namespace, name, &["Service"], &wait.stop)
        .await
        .ok();
    let lb = observed.and_then(|o| o.load_balancer_ip());
    let pods = async {
        workload::pod_problems(client, namespace, name)
            .await
            .map(|p| format!(" Pods: {p}."))
            .unwrap_or_default()
    };
    match rollout {
        Ok(workload::Rollout::Failed(reason)) if model.spec.kind.runs_to_completion() => {
            Applied::failed(
                planned_state(planned, "Failed", lb),
                Diagnostic::error(
                    "Job failed",
                    format!("{kind} {namespace}/{name} failed: {reason}{}", pods.await),
                )
                .into(),
            )
        }
        Ok(workload::Rollout::Failed(reason)) => Applied::failed(
            planned_state(planned, "Failed", lb),
            Diagnostic::error(
                "Rollout failed",
                format!("{kind} {namespace}/{name} did not roll out: {reason}{}", pods.await),
            )
            .into(),
        ),
        Ok(workload::Rollout::Progressing) if wait.stop.is_cancelled() => Applied::failed(
            planned_state(planned, "Progressing", lb),
            Diagnostic::error(
                "Stopped during the rollout",
                format!("Terraform asked the provider to stop while {kind} {namespace}/{name} was rolling out. Its objects are applied and the rollout goes on in the cluster; the next plan shows how it ended (`status`)."),
            )
            .into(),
        ),
        Ok(workload::Rollout::Progressing) if waits => {
            Applied::failed(
                planned_state(planned, "Progressing", lb),
                Diagnostic::error(
                    "Rollout not finished",
                    format!("{kind} {namespace}/{name} was still rolling out when the timeout ran out; raise timeouts or check its pods.{}", pods.await),
                )
                .into(),
            )
        }
        // Not waited on, the status is what the plan said when it knew
        // (nothing changed), else where the rollout starts.
        Ok(rollout) if !waits => {
            let status = match (planned.get("status").as_str(), model.spec.kind) {
                (Some(planned), _) => planned,
                (None, Kind::CronJob) => "Available",
                (None, _) => status_name(&rollout),
            };
            Applied::ok(planned_state(planned, status, lb))
        }
        Ok(rollout) => Applied::ok(planned_state(planned, status_name(&rollout), lb)),
        Err(e) => Applied::failed(
            planned_state(planned, "Progressing", lb),
            Diagnostic::error("Failed to watch the rollout", e.to_string()).into(),
        ),
    }
}

/// Makes way for a StatefulSet with other claims or pod management: grows
/// the live claims whose size grew, then deletes the StatefulSet leaving
/// its pods and claims, for the apply to create it again over them.
async fn rebuild_stateful_set(
    provider: &ProviderContext,
    client: &kube::Client,
    (planned, model): (&Value, &Model),
    was: &Model,
) -> Result<(), Diagnostics> {
    let spec = &model.spec;
    let grown: Vec<(String, String)> = spec
        .volumes
        .iter()
        .filter_map(|(name, v)| {
            let new = v.size.as_deref()?;
            let old = was.spec.volumes.get(name)?.size.as_deref()?;
            (validators::parse_quantity(new)? > validators::parse_quantity(old)?)
                .then(|| (spec.pod_claim_prefix(name), new.to_string()))
        })
        .collect();
    let wait = wait_for(provider, planned, "update", 10);
    let failed = |e: crate::kube::KubeError| {
        Diagnostics::from(Diagnostic::error(
            "Failed to change the StatefulSet's claims",
            format!("{e}. Nothing else was changed."),
        ))
    };
    workload::expand_claims(client, &spec.namespace, &spec.name, &grown, &wait.stop)
        .await
        .map_err(failed)?;
    workload::orphan_stateful_set(
        client,
        &spec.namespace,
        &spec.name,
        wait.timeout,
        &wait.stop,
    )
    .await
    .map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Failed to change the StatefulSet",
            format!("{e}. Its pods and claims are untouched; the next apply tries again."),
        ))
    })
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
    let rendered = |v: &Value| Model::decode(v).map(|m| workload::render(&m.spec)).ok();
    let (before, after) = match (after.is_wholly_known(), rendered(prior), rendered(&after)) {
        (true, Some(before), Some(after)) => (before, after),
        _ => (Vec::new(), Vec::new()),
    };
    let unchanged = |kind: &str| {
        let find =
            |objects: &[serde_json::Value]| objects.iter().find(|o| o["kind"] == kind).cloned();
        !after.is_empty() && find(&before) == find(&after)
    };
    // Only a finished rollout stays as it was: one still going (or failed)
    // is waited on again by the apply, and may end otherwise. An apply
    // that does not wait has nothing to wait on again: no perpetual diff.
    let settled = matches!(prior.get("status").as_str(), Some("Available" | "Complete"))
        || planned.get("wait_for_rollout").as_bool() == Some(false);
    let controller = |v: &Value| v.get("kind").as_str().unwrap_or("Deployment").to_string();
    let status =
        if unchanged(&controller(planned)) && controller(prior) == controller(planned) && settled {
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
