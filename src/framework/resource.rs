//! The API a resource implements. Everything here is in native types; the
//! protocol layer decodes requests into these and encodes the results.

use async_trait::async_trait;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::identity::IdentitySchema;
use super::schema::Schema;
use super::value::Value;
use crate::provider::ProviderContext;

/// What Terraform asked to plan, with the provider's configuration.
pub struct PlanContext<'a> {
    pub provider: &'a ProviderContext,
    /// Null when the resource is being created.
    pub prior: &'a Value,
    pub config: &'a Value,
    pub prior_private: &'a [u8],
}

impl PlanContext<'_> {
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }
}

/// The outcome of a create or update: the state to record, even when the
/// operation failed part-way (Terraform then marks the resource tainted, so
/// nothing that exists in the cloud is forgotten).
#[derive(Debug, Default)]
pub struct Applied {
    /// Null means "nothing was created".
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl Applied {
    pub fn ok(state: Value) -> Self {
        Applied {
            state,
            ..Applied::default()
        }
    }

    pub fn failed(state: Value, diagnostics: Diagnostics) -> Self {
        Applied {
            state,
            private: Vec::new(),
            diagnostics,
        }
    }
}

/// The result of a refresh: `Ok(None)` means the object is gone and the
/// resource leaves the state, so the next plan creates it again.
pub type Refreshed = Result<Option<(Value, Vec<u8>)>, Diagnostics>;

/// One managed resource type. Methods with defaults are optional features.
#[async_trait]
pub trait Resource: Send + Sync {
    /// The resource type name, e.g. `genesis_cluster`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Rules across attributes that the schema cannot express. Runs at
    /// `terraform validate` with possibly unknown values: skip what is unknown.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Adjusts the framework's plan: defaults that follow from other
    /// attributes or from the provider, computed values that will change.
    fn modify_plan(&self, _ctx: &PlanContext<'_>, _planned: &mut Value, _diags: &mut Diagnostics) {}

    /// Checks of the plan against what already exists (a cluster's APIs),
    /// where it can be reached: runs after `modify_plan` when that found
    /// nothing wrong. Most resources plan without calling anything.
    async fn check_plan(&self, _ctx: &PlanContext<'_>, _planned: &Value, _diags: &mut Diagnostics) {
    }

    /// Changes that replace the resource although the schema does not say
    /// so: one-way changes a cloud can make in one direction only.
    fn replaced_by(&self, _prior: &Value, _planned: &Value) -> Vec<super::path::AttributePath> {
        Vec::new()
    }

    /// Runs when Terraform plans to destroy the resource, before any API
    /// call; deletion protection refuses here.
    fn plan_destroy(&self, _prior: &Value, _diags: &mut Diagnostics) {}

    async fn create(&self, provider: &ProviderContext, planned: &Value) -> Applied;

    async fn read(&self, provider: &ProviderContext, state: &Value, private: &[u8]) -> Refreshed;

    async fn update(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        planned: &Value,
        private: &[u8],
    ) -> Applied;

    async fn delete(
        &self,
        provider: &ProviderContext,
        prior: &Value,
        private: &[u8],
    ) -> Diagnostics;

    /// Turns an import ID into a state holding the identifying attributes;
    /// Terraform then reads the object to fill in the rest.
    fn import(&self, provider: &ProviderContext, id: &str) -> Result<Value, Diagnostics>;

    /// The attributes naming the resource's object in its cloud (see
    /// `identity`), when it has them.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The identity of the object `state` describes; `None` while a part
    /// of it is unknown.
    fn identity(&self, _state: &Value) -> Option<Value> {
        None
    }

    /// The import ID an identity (`import { identity = { ... } }`) names.
    fn import_id(&self, _identity: &Value) -> Result<String, Diagnostics> {
        Err(Diagnostic::error(
            "Import by identity not supported",
            format!(
                "{} is imported by ID: `import {{ id = \"...\" }}`.",
                self.type_name()
            ),
        )
        .into())
    }

    /// Upgrades state written by an older schema version. `state` has been
    /// decoded with the current schema (attributes that no longer exist are
    /// dropped, new ones are null).
    fn upgrade_state(&self, _version: i64, state: Value) -> Result<Value, Diagnostics> {
        Ok(state)
    }
}
