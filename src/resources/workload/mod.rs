//! `genesis_workload`: an application inside a cluster. One resource
//! renders a Deployment with its Service, HorizontalPodAutoscaler,
//! PodDisruptionBudget, NetworkPolicy, ServiceAccount, ConfigMap and
//! Ingress, restricted by default, applied with server-side apply. It
//! reaches its cluster through the `genesis_cluster` it names, so it can be
//! planned before the cluster exists.

mod actions;
mod addons;
mod apply;
mod claims;
mod data_source;
mod identity;
mod ingress;
mod list;
mod model;
mod plan;
mod release;
use self::claims::{Recorded, plan_claims};
use self::plan::{has_load_balancer, plan_observed, plan_release};
mod schema;
mod validate;

use async_trait::async_trait;

use self::addons::{addons_of, validate_mesh};
use self::apply::apply_workload;
use self::validate::{
    validate_containers, validate_kind, validate_rollout, validate_settings, validate_volumes,
};
use super::cluster::ClusterName;
use super::common::{bad_import_id, state_with, wait_for};
use super::node_pool::is_label_key;
use crate::cloud::cluster::ObservedCluster;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::identity::{IdentityAttribute, IdentitySchema};
use crate::framework::path::AttributePath;
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::Schema;
use crate::framework::types::Type;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::kube::workload::colors::Color;
use crate::kube::workload::{self, Addon};
use crate::kube::{ClassKind, Classes};

pub use self::model::*;
pub use self::schema::schema;
use crate::provider::ProviderContext;

pub const TYPE_NAME: &str = "genesis_workload";

pub use self::actions::{WorkloadRestart, WorkloadRun};
pub use self::data_source::data_source;
pub use self::list::WorkloadList;

pub struct Workload;

#[async_trait]
impl Resource for Workload {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema().clone()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_mesh(config, diags);
        ingress::validate(config, diags);
        validate_settings(config, diags);
        validate_kind(config, diags);
        validate_rollout(config, diags);
        validate_volumes(config, diags);
        validate_containers(config, diags);
        for (mount, data) in [
            ("config_mount_path", "config_data"),
            ("external_secrets_mount_path", "external_secrets"),
        ] {
            if config.get(mount).is_set() && config.get(data).is_null() {
                diags.attribute_error(
                    AttributePath::attr(mount),
                    "Nothing to mount",
                    format!("{mount} mounts {data}: set {data} or remove {mount}."),
                );
            }
            if let Some(path) = config.get(mount).as_str()
                && !path.starts_with('/')
            {
                diags.attribute_error(
                    AttributePath::attr(mount),
                    "Relative mount path",
                    format!("{path:?} must be an absolute path, e.g. \"/etc/app\"."),
                );
            }
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
        ingress::plan_class(config, ctx.prior, planned);
        if ctx.is_create() {
            planned.set_attr("id", workload_id(planned));
            plan_release(&Value::Null, planned, false);
            if !has_load_balancer(planned).unwrap_or(true) {
                planned.set_attr("load_balancer_ip", Value::Null);
            }
            if planned.at(&AttributePath::attr("ingress")).is_null() {
                planned.set_attr("ingress_address", Value::Null);
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
        addons::check_plan(ctx, planned, diags).await;
        ingress::check_plan(ctx, planned, diags).await;
        claims::check_classes(ctx, planned, diags).await;
        identity::check_plan(ctx, planned, diags);
    }

    /// Data outlives its workload unless the configuration says otherwise:
    /// the plan says which claims stay.
    fn plan_destroy(&self, prior: &Value, diags: &mut Diagnostics) {
        if let Ok(model) = Model::decode(prior) {
            claims::plan_destroy(&model.spec, diags);
        }
    }

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied {
        let mut model = match Model::decode(planned) {
            Ok(model) => model,
            Err(d) => return Applied::failed(Value::Null, d),
        };
        // A new instance's claim: objects it adopts become its own.
        model.spec.owner_claim = Some(crate::cloud::origin::new_claim());
        identity::mark(&mut model);
        let client = match connect_to_write(provider, &mut [&mut model], planned).await {
            Ok(Some(c)) => c,
            Ok(None) => return Applied::failed(Value::Null, cluster_missing(&model.target)),
            Err(d) => return Applied::failed(Value::Null, d.into()),
        };
        let mut objects = workload::render(&model.spec);
        if model.spec.releases_by_color() {
            // Neither color may be someone else's.
            let release = model.spec.rollout.clone().unwrap_or_default();
            let green = workload::colors::colored(&objects, Color::Green, &release);
            objects = workload::colors::colored(&objects, Color::Blue, &release);
            objects.extend(green.into_iter().filter(|o| o["kind"] == "Deployment"));
        }
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
        let mut applied =
            apply_workload(provider, &client, None, (planned, &model), "create").await;
        made_identity(provider, None, &model, planned, &mut applied).await;
        applied.private = Recorded::observe(&client, &model.spec, &provider.stop, &[]).await;
        applied
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        let mut model = Model::decode(state)?;
        model.spec.owner_claim = Recorded::decode(private).claim;
        identity::mark(&mut model);
        // A workload whose cluster is gone is gone too.
        let client = match connect(provider, (&model.target, ClusterRead::Shared), state).await? {
            Some(c) => c,
            None => return Ok(None),
        };
        let spec = &model.spec;
        // An add-on's objects are read for a workload that uses it, and on
        // import (its stub has no image yet) where the cluster serves it.
        let mut addons = addons_of(spec);
        if spec.image.is_empty() {
            for addon in Addon::WITH_OBJECTS {
                if workload::serves(&client, addon, &provider.stop)
                    .await
                    .unwrap_or(false)
                {
                    addons.push(addon);
                }
            }
        }
        // An import reads every kind; a refresh, those the workload has.
        let mut kinds = workload::kinds(&addons);
        if !spec.image.is_empty() {
            kinds = workload::kinds_rendered(&workload::render(spec), &kinds);
        }
        let shared = Some(provider.kube.shared(&model.target.key()));
        let at = (spec.namespace.as_str(), spec.name.as_str());
        let observed = workload::observe(&client, shared, at, &kinds, &provider.stop)
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
        if spec.image.is_empty() && spec.owner_claim.is_none() {
            // An import holds the objects as whoever made them did.
            model.spec.owner_claim = workload::claim_of(controller).map(str::to_string);
        }
        let spec = &model.spec;
        let mut fresh = read_back(state, spec, &observed);
        let wait = wait_for(provider, state, "read", 5);
        identity::read_into(provider, &model, &mut fresh, &wait).await?;
        // After an import, attributes the objects read the same as their
        // defaults (and what only the configuration says) take the
        // default, as the next plan would.
        for attribute in &schema().block.attributes {
            if let Some(default) = &attribute.default
                && fresh.get(&attribute.name).is_null()
            {
                fresh.set_attr(&attribute.name, default.clone());
            }
        }
        if fresh.get("kubeconfig_path").is_null() && fresh.get("cluster").is_null() {
            fresh.set_attr("kubeconfig_path", kubeconfig_path(&model.target).into());
        }
        // Pods run on their last synced Secret while the operator cannot
        // sync it: the status says so, and the next plan waits again.
        // A release left unfinished (a canary's steps, a version never
        // switched to) is still going: the next plan finishes or undoes it.
        let unfinished = observed.release.as_ref().is_some_and(|r| r.unfinished);
        let status = match observed.external_secrets_sync() {
            Some(workload::Sync::Failed(_)) => "Failed",
            Some(workload::Sync::Pending) => "Progressing",
            _ if unfinished => "Progressing",
            _ => status_name(&workload::rollout_of(controller)),
        };
        fresh.set_attr("status", status.into());
        fresh.set_attr("load_balancer_ip", observed.load_balancer_ip().into());
        fresh.set_attr("ingress_address", observed.ingress_address().into());
        let release = observed.release.as_ref();
        fresh.set_attr("live_color", release.map(|r| r.live.name()).into());
        let kept = release.and_then(|r| r.previous_kept_until.clone());
        fresh.set_attr("previous_kept_until", kept.into());
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
        let (mut was, mut model) = match (Model::decode(prior), Model::decode(planned)) {
            (Ok(was), Ok(model)) => (was, model),
            (Err(d), _) | (_, Err(d)) => return Applied::failed(prior.clone(), d),
        };
        // Objects applied before claims existed carry none: they are
        // claimed now.
        was.spec.owner_claim = Recorded::decode(private).claim;
        model.spec.owner_claim = was
            .spec
            .owner_claim
            .clone()
            .or_else(|| Some(crate::cloud::origin::new_claim()));
        identity::mark(&mut was);
        identity::mark(&mut model);
        let client = match connect_to_write(provider, &mut [&mut was, &mut model], planned).await {
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
        made_identity(provider, Some(&was.spec), &model, planned, &mut applied).await;
        applied.private = Recorded::observe(&client, &model.spec, &provider.stop, private).await;
        applied
    }

    async fn delete(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        private: &[u8],
    ) -> Diagnostics {
        let mut model = match Model::decode(prior) {
            Ok(model) => model,
            Err(d) => return d,
        };
        model.spec.owner_claim = Recorded::decode(private).claim;
        let client = match connect(provider, (&model.target, ClusterRead::Fresh), prior).await {
            Ok(Some(c)) => c,
            Ok(None) => return Diagnostics::new(),
            Err(d) => return d.into(),
        };
        // Dependents first: the reverse of the order they were applied in.
        let mut objects = workload::deletable(&workload::render(&model.spec));
        if model.spec.releases_by_color() {
            // Both colors stand for the one Deployment.
            let name = &model.spec.name;
            objects.retain(|(kind, n)| !(kind == "Deployment" && n == name));
            objects.extend(workload::colors::objects(name));
        }
        objects.reverse();
        let wait = wait_for(provider, prior, "delete", 5);
        let namespace = &model.spec.namespace;
        let claim = Recorded::decode(private).claim;
        let held = workload::delete_held(
            &client,
            namespace,
            &objects,
            claim.as_deref(),
            wait.timeout,
            &wait.stop,
        )
        .await;
        if let Err(d) = identity::remove(provider, &model, &wait).await {
            return d.into();
        }
        match held {
            Ok(left) if left.is_empty() => Diagnostics::new(),
            Ok(left) => {
                let named: Vec<String> = left
                    .iter()
                    .map(|(k, n)| format!("{k} {namespace}/{n}"))
                    .collect();
                Diagnostic::warning(
                    "The workload's objects moved to another resource",
                    format!(
                        "Not deleted, because another genesis_workload now holds them (it was created with the same namespace, name and configuration in this apply, for example under a renamed for_each key, and adopted them): {}. A `moved` block makes such a rename a move in the plan too.",
                        named.join(", ")
                    ),
                )
                .into()
            }
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

/// The state as the cluster has it: every rendered attribute read back from
/// Genesis's parts of the live objects. Where a reading renders the same
/// objects as the prior state (`1` for `1000m`, a node-pool shortcut
/// spelled out), the prior's spelling stays, so only real changes show.
/// After the objects are applied, the workload's cloud identity
/// (`identity.rs`); a failure is the apply's, and the next plan tries again
/// (the refresh reads what exists).
async fn made_identity(
    provider: &ProviderContext,
    was: Option<&WorkloadSpec>,
    model: &Model,
    planned: &Value,
    applied: &mut Applied,
) {
    if applied.diagnostics.has_errors() {
        return;
    }
    let wait = wait_for(provider, planned, "update", 5);
    if let Err(d) = identity::apply(provider, was, model, &wait).await {
        applied.diagnostics.push(d);
    }
}

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
    let rendered = |v: &Value| {
        Model::decode(v)
            .map(|m| workload::colors::comparable(&m.spec))
            .ok()
    };
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

/// How a workload's cluster is read: once for all the refreshes and plans
/// of a process, or afresh before a change is made.
#[derive(Clone, Copy)]
enum ClusterRead {
    Shared,
    Fresh,
}

/// A client for the workload's cluster: through the genesis_cluster's
/// endpoint and CA (read as `read` says) with a token from the cloud's
/// credentials, or through a kubeconfig. `Ok(None)` when the cluster does
/// not exist. `state` gives the timeouts.
async fn connect(
    provider: &ProviderContext,
    target: (&Target, ClusterRead),
    state: &Value,
) -> Result<Option<kube::Client>, Diagnostic> {
    Ok(connect_to_cluster(provider, target, state)
        .await?
        .map(|(client, _)| client))
}

/// `connect`, and the cluster as read (`None` through a kubeconfig).
async fn connect_to_cluster(
    provider: &ProviderContext,
    (target, read): (&Target, ClusterRead),
    state: &Value,
) -> Result<Option<(kube::Client, Option<ObservedCluster>)>, Diagnostic> {
    if let Some(path) = kubeconfig_path(target) {
        let context = target.kubeconfig_context.as_deref();
        return provider
            .kube
            .get_or_make(&[&path, context.unwrap_or_default()], || {
                crate::kube::connect_kubeconfig(&path, context)
            })
            .await
            .map(|client| Some((client, None)))
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
    let cluster = match read {
        ClusterRead::Shared => provider.shared_cluster(&at, &wait).await,
        ClusterRead::Fresh => provider.clusters(&at).get(&at, &wait).await,
    }
    .map_err(|e| e.diagnostic("read the workload's cluster"))?;
    let Some(cluster) = cluster else {
        return Ok(None);
    };
    let client = super::common::cluster_client(provider, &cluster).await?;
    Ok(Some((client, Some(cluster))))
}

/// Connects to write the workload: `models` learn what the cluster makes
/// of their pools (GKE Autopilot's are ComputeClasses, which the pods
/// select).
async fn connect_to_write(
    provider: &ProviderContext,
    models: &mut [&mut Model],
    state: &Value,
) -> Result<Option<kube::Client>, Diagnostic> {
    let Some(target) = models.first().map(|m| m.target.clone()) else {
        return Ok(None);
    };
    let Some((client, cluster)) =
        connect_to_cluster(provider, (&target, ClusterRead::Fresh), state).await?
    else {
        return Ok(None);
    };
    let classes = cluster.is_some_and(|c| c.spec.autopilot && c.spec.eks().is_none());
    for model in models {
        model.spec.pools_are_compute_classes = classes;
    }
    Ok(Some(client))
}

/// The classes of `kind` the target cluster has, for a plan's checks:
/// `None` while it cannot be reached (not made yet: the apply plans again
/// and checks then) or cannot be listed.
async fn cluster_classes(
    ctx: &PlanContext<'_>,
    target: &Target,
    planned: &Value,
    kind: ClassKind,
) -> Option<Classes> {
    let Ok(Some(client)) = connect(ctx.provider, (target, ClusterRead::Shared), planned).await
    else {
        return None;
    };
    let key = target.key();
    let kube = &ctx.provider.kube;
    kube.classes(&key, kind, &client, &ctx.provider.stop)
        .await
        .ok()
}

/// What an apply observed of the workload's addresses.
#[derive(Default)]
pub(super) struct Addresses {
    pub load_balancer_ip: Option<String>,
    pub ingress: Option<String>,
}

fn planned_state(planned: &Value, status: &str, addresses: Addresses) -> Value {
    let mut state = planned.clone();
    state.set_attr("status", status.into());
    state.set_attr("load_balancer_ip", addresses.load_balancer_ip.into());
    state.set_attr("ingress_address", addresses.ingress.into());
    // Known only once a blue-green release has switched.
    for release in ["live_color", "previous_kept_until"] {
        if !state.get(release).is_wholly_known() {
            state.set_attr(release, Value::Null);
        }
    }
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
