//! The provider's middle layer: native types in and out, one method per
//! Terraform operation. It runs the schema-driven rules, calls the resource,
//! and checks the invariants Terraform relies on before anything goes back
//! on the wire.

use std::collections::BTreeMap;
use std::sync::RwLock;

use tokio_util::sync::CancellationToken;

use super::action::Action;
use super::data_source::DataSource;
use super::diagnostics::{Diagnostic, Diagnostics};
use super::ephemeral::EphemeralResource;
use super::function::{Function, Functions};
use super::identity::IdentitySchema;
use super::list::ListResource;
use super::path::AttributePath;
use super::plan::{keep_equivalent_block, plan_block, requires_replace};
use super::private::Private;
use super::registry::{Registry, locatable, validate};
use super::resource::{PlanContext, Resource};
use super::schema::Schema;
use super::turns::{Op, Turn, Turns};
use super::types::Type;
use super::value::Value;
use super::write_only;
use crate::provider::{ProviderConfig, ProviderContext};

pub(super) struct Registered {
    pub resource: Box<dyn Resource>,
    pub schema: Schema,
}

/// A planned change, ready to encode.
#[derive(Debug, Default)]
pub struct Planned {
    pub state: Value,
    pub requires_replace: Vec<AttributePath>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// The result of an apply or a refresh.
#[derive(Debug, Default)]
pub struct NewState {
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub struct ProviderServer {
    provider_schema: Schema,
    resources: BTreeMap<&'static str, Registered>,
    pub(super) data_sources: Registry<dyn DataSource>,
    pub(super) ephemerals: Registry<dyn EphemeralResource>,
    pub(super) lists: Registry<dyn ListResource>,
    pub(super) actions: Registry<dyn Action>,
    pub functions: Functions,
    context: RwLock<ProviderContext>,
    env: fn(&str) -> Option<String>,
    /// (type, id) of every object created in this run (one provider
    /// process serves one apply; a provider started with `--debug` serves
    /// every run Terraform reattaches, each of which configures it, which
    /// starts the record again). A create may adopt an object of the same
    /// name carrying its own origin (see `cloud::origin`); under
    /// `create_before_destroy` with a fixed name and an unchanged
    /// configuration, that object is also the one Terraform then destroys
    /// as "deposed", and the delete must not take the new object with it.
    created: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
    /// Creates and deletes of one name take turns (see `turns`).
    turns: Turns,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl ProviderServer {
    pub fn new(provider_schema: Schema, resources: Vec<Box<dyn Resource>>) -> Self {
        let resources = resources
            .into_iter()
            .map(|resource| {
                let schema = resource.schema();
                (resource.type_name(), Registered { resource, schema })
            })
            .collect();
        // Until ConfigureProvider arrives (as with `terraform import` of a
        // provider that has no block), settings come from the environment.
        let config = ProviderConfig::from_config(&Value::Null, process_env).unwrap_or_default();
        ProviderServer {
            provider_schema,
            resources,
            data_sources: Registry::new("data source", "data"),
            ephemerals: Registry::new("ephemeral resource", "ephemeral"),
            lists: Registry::new("list resource", "list"),
            actions: Registry::new("action", "action"),
            functions: Functions::default(),
            context: RwLock::new(ProviderContext::new(config, CancellationToken::new())),
            env: process_env,
            created: std::sync::Mutex::default(),
            turns: Turns::default(),
        }
    }

    /// Registers the data sources.
    pub fn with_data_sources(mut self, sources: Vec<Box<dyn DataSource>>) -> Self {
        for source in sources {
            let schema = source.schema();
            self.data_sources.insert(source.type_name(), source, schema);
        }
        self
    }

    /// Registers the ephemeral resources.
    pub fn with_ephemeral_resources(mut self, resources: Vec<Box<dyn EphemeralResource>>) -> Self {
        for resource in resources {
            let schema = resource.schema();
            self.ephemerals
                .insert(resource.type_name(), resource, schema);
        }
        self
    }

    /// Registers the list resources.
    pub fn with_list_resources(mut self, lists: Vec<Box<dyn ListResource>>) -> Self {
        for list in lists {
            let schema = list.schema();
            self.lists.insert(list.type_name(), list, schema);
        }
        self
    }

    /// Registers the actions.
    pub fn with_actions(mut self, actions: Vec<Box<dyn Action>>) -> Self {
        for action in actions {
            let schema = action.schema();
            self.actions.insert(action.type_name(), action, schema);
        }
        self
    }

    /// Registers the provider's functions.
    pub fn with_functions(mut self, functions: Vec<Box<dyn Function>>) -> Self {
        self.functions = Functions::new(functions);
        self
    }

    /// A turn for `op` on the object `value` names (see `turns`); none for
    /// a resource without a `name`.
    async fn turn(&self, type_name: &str, value: &Value, op: Op) -> Option<Turn<'_>> {
        let name = value.get("name").as_str()?;
        Some(self.turns.take((type_name.into(), name.into()), op).await)
    }

    pub fn provider_schema(&self) -> &Schema {
        &self.provider_schema
    }

    pub fn resource_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.resources.iter().map(|(name, r)| (*name, &r.schema))
    }

    pub fn resource_schema(&self, type_name: &str) -> Option<&Schema> {
        self.resources.get(type_name).map(|r| &r.schema)
    }

    pub(super) fn registered(&self, type_name: &str) -> Result<&Registered, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown resource type",
                format!("This provider has no resource type {type_name:?}. Check the resource block's type and the provider's version."),
            )
            .into()
        })
    }

    pub(super) fn context(&self) -> ProviderContext {
        self.context
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Cancels every operation in flight (Terraform's StopProvider).
    pub fn stop(&self) {
        self.context().stop.cancel();
    }

    pub fn validate_provider(&self, config: &Value) -> Diagnostics {
        validate(&self.provider_schema, config, |_| {})
    }

    pub fn configure(&self, config: &Value, terraform_version: &str) -> Diagnostics {
        match ProviderConfig::from_config(config, self.env) {
            Ok(mut config) => {
                config.terraform_version = Some(terraform_version.to_string());
                let mut ctx = self.context.write().unwrap_or_else(|e| e.into_inner());
                // Each run its own stop: a provider reattached with
                // `--debug` serves run after run, and one run's Ctrl-C
                // must not stop the next.
                *ctx = ProviderContext::new(config, CancellationToken::new());
                // A new run: what an earlier run created is not this one's
                // (a destroy after an apply through a provider reattached
                // with `--debug` would otherwise keep every object).
                self.created
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
                Diagnostics::new()
            }
            Err(diags) => diags,
        }
    }

    pub fn validate_resource(&self, type_name: &str, config: &Value) -> Diagnostics {
        let registered = match self.registered(type_name) {
            Ok(r) => r,
            Err(d) => return d,
        };
        validate(&registered.schema, config, |diags| {
            registered.resource.validate(config, diags)
        })
    }

    /// Plans a change. `write_only_allowed` is Terraform's client
    /// capability: a client that predates write-only attributes treats them
    /// as ordinary ones, so the plan then keeps their configured values.
    pub async fn plan(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
        config: &Value,
        prior_private: &[u8],
        write_only_allowed: bool,
    ) -> Planned {
        let registered = match self.registered(type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return Planned {
                    diagnostics,
                    ..Planned::default()
                };
            }
        };
        let mut diags = Diagnostics::new();
        let mut private = Private::decode(prior_private);
        if proposed.is_null() {
            registered.resource.plan_destroy(prior, &mut diags);
            private.refusals.clear();
            return Planned {
                state: Value::Null,
                requires_replace: Vec::new(),
                private: private.encode(),
                diagnostics: diags,
            };
        }
        // A second call for a replacement: the first one found the old object
        // protected, and a replacement deletes it.
        let refused = private.refusals();
        if prior.is_null() && refused.has_errors() {
            for d in refused {
                diags.push(Diagnostic::error(
                    d.summary,
                    format!("{} Replacing it (a change that cannot be made in place, -replace, or a tainted object) would delete it first, so the replacement is refused too.", d.detail),
                ));
            }
            return Planned {
                diagnostics: diags,
                ..Planned::default()
            };
        }
        private.refusals.clear();
        let block = &registered.schema.block;
        let mut planned = plan_block(block, proposed, config, prior);
        let provider = self.context();
        let ctx = PlanContext {
            provider: &provider,
            prior,
            config,
            prior_private: &private.resource,
        };
        registered
            .resource
            .modify_plan(&ctx, &mut planned, &mut diags);
        if !diags.has_errors() {
            registered
                .resource
                .check_plan(&ctx, &planned, &mut diags)
                .await;
        }
        if write_only_allowed {
            write_only::copy_write_only(block, &mut planned, None);
        }
        write_only::fill_groups(block, &mut planned);
        let mut requires_replace = requires_replace(block, prior, &planned);
        if !prior.is_null() && !planned.is_null() {
            for path in registered.resource.replaced_by(prior, &planned) {
                if !requires_replace.contains(&path) {
                    requires_replace.push(path);
                }
            }
        }
        if !prior.is_null() {
            let mut refused = Diagnostics::new();
            registered.resource.plan_destroy(prior, &mut refused);
            if refused.has_errors() && !requires_replace.is_empty() {
                let cause = requires_replace
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                for d in refused {
                    diags.push(Diagnostic {
                        detail: format!("{} The planned change replaces it ({cause} cannot change in place), which would delete it first, so it is refused too.", d.detail),
                        ..d
                    });
                }
            } else if refused.has_errors() {
                // Terraform may still decide to replace (`-replace`): the
                // second planning call finds this note and refuses.
                private.refuse(&refused);
            } else if !requires_replace.is_empty() {
                // What a destroy warns of, a replacement does too.
                for d in refused {
                    diags.push(d);
                }
            }
        }
        Planned {
            state: planned,
            requires_replace,
            private: private.encode(),
            diagnostics: locatable(&registered.schema, diags),
        }
    }

    /// Applies a planned change. `config` carries the write-only values
    /// (such as `timeouts`) that the plan leaves out.
    pub async fn apply(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
        config: &Value,
        planned_private: &[u8],
    ) -> NewState {
        let registered = match self.registered(type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return NewState {
                    state: prior.clone(),
                    diagnostics,
                    ..NewState::default()
                };
            }
        };
        let provider = self.context();
        let resource = &registered.resource;
        let block = &registered.schema.block;
        let mut private = Private::decode(planned_private);
        private.refusals.clear();
        if planned.is_null() {
            let _turn = self.turn(type_name, prior, Op::Delete).await;
            // The last line of deletion protection, for deletes no plan
            // refused (a tainted object's replacement).
            let mut refused = Diagnostics::new();
            resource.plan_destroy(prior, &mut refused);
            let id = prior.get("id").as_str().unwrap_or_default().to_string();
            let created_now = self
                .created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&(type_name.to_string(), id.clone()));
            let diagnostics = if refused.has_errors() {
                refused
            } else if created_now {
                Diagnostic::warning(
                    "Kept: the replacement is the same object",
                    format!("{type_name} {id} was created again in this apply under the same name, by another address (a for_each key renamed without a `moved` block) or by a replacement (create_before_destroy with a fixed name), so the object Terraform destroys as the old one is the new one. It was not deleted and stays in state once, under the new address. A `moved` block makes a rename a move; another name gives a replacement a new object."),
                )
                .into()
            } else {
                let mut prior = prior.clone();
                write_only::restore(block, &mut prior, &private.write_only);
                resource.delete(&provider, &prior, &private.resource).await
            };
            // A failed delete keeps the object in state, so it is not lost.
            let state = if diagnostics.has_errors() {
                prior.clone()
            } else {
                Value::Null
            };
            return NewState {
                state,
                private: private.encode(),
                diagnostics,
            };
        }
        let creating = prior.is_null();
        // The resource works with the configured write-only values.
        let mut full = planned.clone();
        write_only::copy_write_only(block, &mut full, Some(config));
        // Held until the object is recorded as created in this apply.
        let _turn = if creating {
            self.turn(type_name, planned, Op::Create).await
        } else {
            None
        };
        let mut applied = if creating {
            resource.create(&provider, &full).await
        } else {
            resource
                .update(&provider, prior, &full, &private.resource)
                .await
        };
        if creating && applied.state.is_null() && !applied.diagnostics.has_errors() {
            applied.diagnostics.push(Diagnostic::error(
                "Missing resource state after create",
                format!("The provider created {type_name} without returning its state. This is a bug in the provider; please report it."),
            ));
        }
        if !creating && applied.state.is_null() && !applied.diagnostics.has_errors() {
            applied.diagnostics.push(Diagnostic::error(
                "Missing resource state after update",
                format!("The provider updated {type_name} without returning its state. This is a bug in the provider; please report it."),
            ));
            applied.state = prior.clone();
        }
        keep_equivalent_block(block, &mut applied.state, planned);
        // The state holds what the plan held: null for a client that knows
        // write-only attributes, the configured value for one that does not.
        write_only::copy_write_only(block, &mut applied.state, Some(planned));
        write_only::fill_groups(block, &mut applied.state);
        if !applied.state.is_wholly_known() {
            applied.diagnostics.push(Diagnostic::error(
                "Unknown value after apply",
                format!("The provider returned a state for {type_name} with values still unknown. This is a bug in the provider; please report it."),
            ));
            applied.state = replace_unknowns(applied.state);
        }
        if creating && let Some(id) = applied.state.get("id").as_str() {
            self.created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((type_name.to_string(), id.to_string()));
        }
        let private = Private {
            write_only: write_only::collect(block, config),
            resource: applied.private,
            ..Private::default()
        };
        NewState {
            state: applied.state,
            private: private.encode(),
            diagnostics: applied.diagnostics,
        }
    }

    pub async fn read(&self, type_name: &str, state: &Value, private: &[u8]) -> NewState {
        let registered = match self.registered(type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return NewState {
                    state: state.clone(),
                    diagnostics,
                    ..NewState::default()
                };
            }
        };
        let provider = self.context();
        let started = std::time::Instant::now();
        let block = &registered.schema.block;
        let mut kept = Private::decode(private);
        kept.refusals.clear();
        let read = registered
            .resource
            .read(&provider, state, &kept.resource)
            .await;
        tracing::debug!(
            resource = type_name,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "read"
        );
        match read {
            Ok(Some((mut fresh, resource))) => {
                keep_equivalent_block(block, &mut fresh, state);
                write_only::copy_write_only(block, &mut fresh, Some(state));
                write_only::fill_groups(block, &mut fresh);
                kept.resource = resource;
                NewState {
                    state: fresh,
                    private: kept.encode(),
                    diagnostics: Diagnostics::new(),
                }
            }
            Ok(None) => NewState::default(),
            Err(diagnostics) => NewState {
                state: state.clone(),
                private: private.to_vec(),
                diagnostics,
            },
        }
    }

    /// Each resource type's identity schema, where it has one.
    pub fn identity_schemas(&self) -> impl Iterator<Item = (&'static str, IdentitySchema)> + '_ {
        self.resources
            .iter()
            .filter_map(|(name, r)| Some((*name, r.resource.identity_schema()?)))
    }

    /// The identity of the object `state` describes, with its type; `None`
    /// for a type without identity, a null state, or a part not known yet.
    pub fn identity(&self, type_name: &str, state: &Value) -> Option<(Value, Type)> {
        let resource = &self.resources.get(type_name)?.resource;
        let ty = resource.identity_schema()?.value_type();
        if state.is_null() {
            return None;
        }
        Some((resource.identity(state)?, ty))
    }

    /// Imports the object an identity names.
    pub fn import_identity(&self, type_name: &str, identity: &Value) -> Result<Value, Diagnostics> {
        let id = self.registered(type_name)?.resource.import_id(identity)?;
        self.import(type_name, &id)
    }

    pub fn import(&self, type_name: &str, id: &str) -> Result<Value, Diagnostics> {
        let registered = self.registered(type_name)?;
        let provider = self.context();
        let mut state = registered.resource.import(&provider, id)?;
        write_only::fill_groups(&registered.schema.block, &mut state);
        Ok(state)
    }

    /// Upgrades stored state; `state` has been decoded with the current
    /// schema's type.
    pub fn upgrade(
        &self,
        type_name: &str,
        version: i64,
        state: Value,
    ) -> Result<Value, Diagnostics> {
        let registered = self.registered(type_name)?;
        if version > registered.schema.version {
            return Err(Diagnostic::error(
                "State written by a newer provider",
                format!(
                    "This {type_name} was stored by a provider with schema version {version}, newer than this provider's {}. Upgrade the provider (check the version constraint in required_providers).",
                    registered.schema.version
                ),
            )
            .into());
        }
        // Write-only values stay as stored: a client that knows write-only
        // attributes never stores one (the provider hands it nulls), and
        // one that predates them (OpenTofu 1.9, Terraform 1.10) keeps the
        // configured values as ordinary attributes; nulling them here made
        // its every plan put them back.
        let block = &registered.schema.block;
        let mut state = registered.resource.upgrade_state(version, state)?;
        write_only::fill_groups(block, &mut state);
        Ok(state)
    }
}

/// Points each diagnostic where Terraform can show it in the configuration.
fn replace_unknowns(value: Value) -> Value {
    match value {
        Value::Unknown => Value::Null,
        Value::List(items) => Value::List(items.into_iter().map(replace_unknowns).collect()),
        Value::Set(items) => Value::set(items.into_iter().map(replace_unknowns).collect()),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (k, replace_unknowns(v)))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, replace_unknowns(v)))
                .collect(),
        ),
        other => other,
    }
}
