//! `genesis_cluster`: a GKE cluster (Autopilot or Standard, regional or
//! zonal) or an EKS cluster, with secure defaults that follow from its
//! `environment`, and the namespaces the platform needs inside it.
//!
//! Attribute names follow the Genesis container-orchestration module, so a
//! team moving from the module copies its values over unchanged. One HCL
//! shape serves both clouds: the shared settings at the top level, GKE's
//! own beside them (null on EKS), EKS's in the `eks` object.

mod config;
mod credentials;
mod data_source;
mod list;
mod mode;
mod model;
mod namespaces;
mod own_addons;
mod plan;
mod rules;
mod schema;
mod secret_stores;
mod storage_classes;

use crate::cloud::writes::Writing;
use async_trait::async_trait;

use self::config::ClusterConfig;
use self::model::{GKE_ONLY, address_of, plan_computed_location, spec_of, state_from};
use self::namespaces::{
    namespace_specs, namespaces_into_state, read_namespaces, sync_namespaces, validate_namespaces,
};
use self::schema::*;
use self::secret_stores::{
    no_operator, read_secret_stores, secret_store_specs, secret_stores_into_state, serves_stores,
    sync_secret_stores, validate_secret_stores,
};
use self::storage_classes::{
    plan_storage_classes, read_storage_classes, storage_class_specs, storage_classes_into_state,
    sync_storage_classes,
};
use super::common::{
    Owner, bad_import_id, cloud_identity, cloud_identity_parts, cloud_identity_schema,
    only_for_cloud, version_step, wait_for,
};
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::identity::IdentitySchema;
use crate::framework::path::AttributePath;
use crate::framework::resource::{Applied, PlanContext, Refreshed, Resource};
use crate::framework::schema::Schema;
use crate::framework::types::Type;
use crate::framework::value::Value;
use crate::provider::ProviderContext;

pub use self::credentials::ClusterCredentials;
pub use self::data_source::ClusterData;
pub use self::list::ClusterList;
pub use self::model::{ClusterName, ENVIRONMENT_LABEL, cluster_id};
pub use self::schema::TYPE_NAME;

pub struct Cluster;

#[async_trait]
impl Resource for Cluster {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema().clone()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        only_for_cloud(config, "gcp", GKE_ONLY, diags);
        only_for_cloud(config, "aws", &["eks"], diags);
        rules::validate_storage_classes(config, diags);
        validate_secret_stores(config, diags);
        mode::validate(config, diags);
        rules::validate_cloud_settings(config, diags);
        rules::validate_control_plane(config, diags);
        validate_namespaces(config, diags);
    }

    fn modify_plan(&self, ctx: &PlanContext<'_>, planned: &mut Value, diags: &mut Diagnostics) {
        super::common::plan_location(planned, ctx.config, &ctx.provider.config, diags);
        plan::plan_environment_defaults(ctx, planned, diags);
        plan_version(ctx.prior, planned, diags);
        plan_storage_classes(ctx.prior, planned, diags);
        if !ctx.is_create() && plan::changes_version(ctx.prior, planned) {
            // The upgrade changes the version the control plane reports.
            planned.set_attr("master_version", Value::Unknown);
        }
        if ctx.is_create() {
            plan_computed_location(planned);
        }
        tell_workloads(ctx.provider, planned);
    }

    fn replaced_by(&self, prior: &Value, planned: &Value) -> Vec<AttributePath> {
        mode::replaced_by(prior, planned)
            .into_iter()
            .chain(plan::eks_replaced_by(prior, planned))
            .collect()
    }

    /// Secret stores for a cluster that exists are checked against it:
    /// without the External Secrets Operator's APIs the plan fails with
    /// what to install. A cluster made in this apply is checked by it.
    async fn check_plan(&self, ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
        let stores = planned.get(secret_stores::ATTRIBUTE);
        if ctx.prior.is_null() || !stores.is_set() || stores.entries().is_some_and(|e| e.is_empty())
        {
            return;
        }
        let at = address_of(ctx.prior);
        let wait = wait_for(ctx.provider, ctx.prior, "read", 5);
        let Ok(Some(observed)) = ctx.provider.clusters(&at).get(&at, &wait).await else {
            return;
        };
        if observed.serving() && serves_stores(ctx.provider, &observed).await == Some(false) {
            diags.push(no_operator());
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
        // Reads of the cluster shared before it are not trusted after it.
        let _writing = Writing;
        let config = match ClusterConfig::decode(planned) {
            Ok(config) => config,
            Err(d) => return Applied::failed(Value::Null, d),
        };
        let spec = spec_of(&config);
        let at = spec.address();
        let what = format!("create the {}", at.kind());
        let wait = wait_for(provider, planned, "create", 45);
        match provider.clusters(&at).create(&spec, &wait).await {
            Ok(observed) => {
                let state = state_from(planned, &observed);
                tell_workloads(provider, &state);
                let inside = async {
                    sync_namespaces(provider, &observed, &namespace_specs(&config)).await?;
                    sync_storage_classes(provider, &observed, &storage_class_specs(&config))
                        .await?;
                    // A new cluster has no class of Genesis's to remove.
                    if config.enable_autopilot {
                        mode::sync_ingress_class(provider, &observed, &config).await?;
                    }
                    own_addons::sync(provider, &observed, &[], false).await?;
                    sync_secret_stores(provider, &observed, &secret_store_specs(&config)).await
                }
                .await;
                match inside {
                    Ok(()) => Applied::ok(state),
                    Err(d) => Applied::failed(state, d.into()),
                }
            }
            // The cluster exists although creating it failed: record it, so
            // Terraform marks it tainted instead of forgetting it.
            Err((e, Some(observed))) => {
                Applied::failed(state_from(planned, &observed), e.diagnostic(&what).into())
            }
            Err((e, None)) => Applied::failed(Value::Null, e.diagnostic(&what).into()),
        }
    }

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed {
        let at = address_of(state);
        if at.name().is_empty() {
            return Err(Diagnostic::error(
                "Incomplete state",
                "The cluster's state has no name or location: import it again.",
            )
            .into());
        }
        let wait = wait_for(provider, state, "read", 5);
        match provider.clusters(&at).get(&at, &wait).await {
            Ok(Some(mut observed)) => {
                own_addons::forget_missing(provider, &mut observed)
                    .await
                    .map_err(Diagnostics::from)?;
                let mut fresh = state_from(state, &observed);
                if observed.serving() {
                    let actual = read_namespaces(provider, &observed)
                        .await
                        .map_err(Diagnostics::from)?;
                    namespaces_into_state(&mut fresh, state, &actual);
                    let classes = read_storage_classes(provider, &observed)
                        .await
                        .map_err(Diagnostics::from)?;
                    storage_classes_into_state(&mut fresh, state, &classes);
                    let stores = read_secret_stores(provider, &observed)
                        .await
                        .map_err(Diagnostics::from)?;
                    secret_stores_into_state(&mut fresh, state, &stores);
                }
                Ok(Some((fresh, private.to_vec())))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e.diagnostic(&format!("read the {}", at.kind())).into()),
        }
    }

    async fn update(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        planned: &Value,
        private: &[u8],
    ) -> Applied {
        let _writing = Writing;
        let at = address_of(planned);
        let clusters = provider.clusters(&at);
        let wait = wait_for(provider, planned, "update", 60);
        let (was, config) = match (ClusterConfig::decode(prior), ClusterConfig::decode(planned)) {
            (Ok(was), Ok(config)) => (was, config),
            (Err(d), _) | (_, Err(d)) => return Applied::failed(prior.clone(), d),
        };
        if let Err(d) =
            own_addons::check_removal(provider, clusters, &spec_of(&was), &spec_of(&config), &wait)
                .await
        {
            return Applied::failed(prior.clone(), d.into());
        }
        let result = clusters
            .update(&spec_of(&was), &spec_of(&config), &wait)
            .await;
        let observed = clusters.get(&at, &wait).await;
        // The namespaces live inside the cluster: the prior state holds
        // what the cluster has (refreshed), so any difference is applied.
        let wanted = namespace_specs(&config);
        let namespaces = match &observed {
            Ok(Some(o)) if wanted != namespace_specs(&was) => {
                sync_namespaces(provider, o, &wanted).await
            }
            _ => Ok(()),
        };
        let classes = storage_class_specs(&config);
        let storage = match &observed {
            Ok(Some(o)) if classes != storage_class_specs(&was) => {
                sync_storage_classes(provider, o, &classes).await
            }
            _ => Ok(()),
        };
        let wanted_stores = secret_store_specs(&config);
        let stores = match &observed {
            Ok(Some(o)) if wanted_stores != secret_store_specs(&was) => {
                sync_secret_stores(provider, o, &wanted_stores).await
            }
            _ => Ok(()),
        };
        // Auto Mode's class follows the mode; ensured on every update, so
        // one deleted by hand comes back.
        let ingress = match &observed {
            Ok(Some(o)) if config.enable_autopilot || was.enable_autopilot => {
                mode::sync_ingress_class(provider, o, &config).await
            }
            _ => Ok(()),
        };
        // Applied when they come or go (one deleted by hand reads as
        // gone), and when the version changes (the autoscaler's release
        // follows it).
        let own = match &observed {
            Ok(Some(o)) => {
                let version_changed = was.kubernetes_version != config.kubernetes_version;
                own_addons::sync(
                    provider,
                    o,
                    &own_addons::in_spec(&spec_of(&was)),
                    version_changed,
                )
                .await
            }
            _ => Ok(()),
        };
        let inside: [(&[&str], &Result<(), Diagnostic>); 5] = [
            (&["kubernetes_namespaces", "namespace"], &namespaces),
            (&["storage_classes"], &storage),
            (&["secret_stores"], &stores),
            // Not attributes: a read finds an own add-on missing, and the
            // next update (any change) puts the class back.
            (&[], &ingress),
            (&[], &own),
        ];
        let mut applied = match observed {
            Ok(Some(o)) if inside.iter().any(|(_, r)| r.is_err()) => {
                // The next plan shows what is still to change inside.
                let mut state = state_from(planned, &o);
                for (names, _) in inside.iter().filter(|(_, r)| r.is_err()) {
                    for name in *names {
                        state.set_attr(name, prior.get(name).clone());
                    }
                }
                Applied::failed(state, Diagnostics::new())
            }
            Ok(Some(o)) => Applied::ok(state_from(planned, &o)),
            Ok(None) => Applied::failed(
                Value::Null,
                Diagnostic::error(
                    "Cluster disappeared",
                    format!(
                        "The {} {} no longer exists; the next plan will create it again.",
                        at.kind(),
                        at.name()
                    ),
                )
                .into(),
            ),
            Err(e) => Applied::failed(
                prior.clone(),
                e.diagnostic(&format!("read the {} after updating it", at.kind()))
                    .into(),
            ),
        };
        applied.private = private.to_vec();
        tell_workloads(provider, &applied.state);
        for d in [
            namespaces.err(),
            storage.err(),
            stores.err(),
            ingress.err(),
            own.err(),
        ]
        .into_iter()
        .flatten()
        {
            applied.diagnostics.push(d);
        }
        if let Err(e) = result {
            // Keep what the cloud now reports, so the next plan shows what
            // is left to change.
            applied
                .diagnostics
                .push(e.diagnostic(&format!("update the {}", at.kind())));
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
        let _writing = Writing;
        let at = address_of(prior);
        if at.name().is_empty() {
            return Diagnostics::new();
        }
        let wait = wait_for(provider, prior, "delete", 45);
        match provider.clusters(&at).delete(&at, &wait).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => e.diagnostic(&format!("delete the {}", at.kind())).into(),
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

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(cloud_identity_schema())
    }

    fn identity(&self, state: &Value) -> Option<Value> {
        match ClusterName::parse(state.get("id").as_str()?)? {
            ClusterName::Gcp {
                project,
                location,
                name,
            } => cloud_identity(Owner::Project(&project), &location, &name),
            ClusterName::Aws {
                region,
                account,
                name,
            } => cloud_identity(Owner::Account(&account), &region, &name),
        }
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        Ok(match cloud_identity_parts(identity)? {
            (Owner::Project(project), location, name) => {
                format!("projects/{project}/locations/{location}/clusters/{name}")
            }
            (Owner::Account(account), region, name) => {
                format!("arn:aws:eks:{region}:{account}:cluster/{name}")
            }
        })
    }
}

/// Tells the plans of the cluster's workloads later in this run (an
/// apply plans them again once the cluster is made) what the cluster will
/// run.
fn tell_workloads(provider: &ProviderContext, cluster: &Value) {
    if let Some((id, runs)) = mode::runs(cluster) {
        provider.planned.set(&id, runs);
    }
}

/// Control planes upgrade one minor version at a time and never go back,
/// on both clouds: a plan that asks for more is refused before any call.
fn plan_version(prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    let Some((current, wanted)) =
        version_step(prior, planned, "master_version", "kubernetes_version")
    else {
        return;
    };
    let path = AttributePath::attr("kubernetes_version");
    if wanted.0 != current.0 || wanted.1 > current.1 + 1 {
        diags.attribute_error(
            path,
            "Upgrade too large",
            format!(
                "The control plane runs {}.{}; Kubernetes upgrades one minor version at a time, so the next step is {}.{}. Apply that first, then the next.",
                current.0,
                current.1,
                current.0,
                current.1 + 1
            ),
        );
    } else if wanted.1 < current.1 {
        diags.attribute_error(
            path,
            "Downgrade refused",
            format!(
                "The control plane runs {}.{}; Kubernetes control planes cannot be downgraded to {}.{}.",
                current.0, current.1, wanted.0, wanted.1
            ),
        );
    }
}

/// The schema's value type, for tests that build configurations.
pub fn value_type() -> Type {
    schema().value_type()
}

/// A planned flag that is on by default or by a setting (`None` while that
/// setting is unknown): unknown only when the default leaves it to the
/// setting and the setting is not known yet.
#[cfg(test)]
mod tests {
    use super::super::common::minor_version;
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
    fn versions_are_read_to_the_minor() {
        assert_eq!(minor_version("1.33"), Some((1, 33)));
        assert_eq!(minor_version("1.31.2-gke.1200"), Some((1, 31)));
        assert_eq!(minor_version("v1.30.4-eks-a737599"), Some((1, 30)));
        assert_eq!(minor_version("latest"), None);
    }
}
