//! Data sources: read-only views of objects, read from the configuration
//! each plan (or at apply, when the configuration holds values known only
//! then). The trait a data source implements, the server's side of
//! Terraform's two data source calls, and `ResourceData`, a data source
//! that reads as its resource type does.

use async_trait::async_trait;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::registry::{locatable, validate};
use super::resource::Resource;
use super::schema::Schema;
use super::server::ProviderServer;
use super::value::Value;
use crate::provider::ProviderContext;

/// One data source type.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The type name, e.g. `genesis_cluster`.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Rules across attributes that the schema cannot express (values may
    /// be unknown at `terraform validate`).
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// The object the configuration names, with every attribute set: the
    /// configured ones as configured, the computed ones as read.
    async fn read(&self, provider: &ProviderContext, config: &Value) -> Result<Value, Diagnostics>;
}

impl ProviderServer {
    pub fn data_source_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.data_sources.schemas()
    }

    pub fn data_source_schema(&self, type_name: &str) -> Option<&Schema> {
        self.data_sources.schema(type_name)
    }

    pub fn validate_data_source(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.data_sources.get(type_name) {
            Ok(r) => validate(&r.schema, config, |diags| r.item.validate(config, diags)),
            Err(d) => d,
        }
    }

    /// Reads a data source. Terraform sends a configuration with every
    /// value known; the result keeps what it configured.
    pub async fn read_data_source(&self, type_name: &str, config: &Value) -> (Value, Diagnostics) {
        let registered = match self.data_sources.get(type_name) {
            Ok(r) => r,
            Err(d) => return (Value::Null, d),
        };
        let mut diags = self.validate_data_source(type_name, config);
        if diags.has_errors() {
            return (Value::Null, diags);
        }
        let provider = self.context();
        match registered.item.read(&provider, config).await {
            Ok(state) => (state, diags),
            Err(d) => {
                diags.extend(d);
                (Value::Null, locatable(&registered.schema, diags))
            }
        }
    }
}

/// Where a [`ResourceData`] finds its object: the resource's import ID,
/// from the data source's configuration and the provider's settings.
pub type IdOf = fn(&ProviderContext, &Value) -> Result<String, Diagnostics>;

/// A data source that reads one object as its resource type does (the
/// import of its ID, then a refresh) and shows the attributes its own
/// schema names, which are the resource's: what the configuration sets
/// stays as set, the rest is what the refresh read.
pub struct ResourceData {
    pub resource: Box<dyn Resource>,
    pub schema: Schema,
    pub id_of: IdOf,
    /// Rules across the data source's attributes.
    pub rules: fn(&Value, &mut Diagnostics),
    /// What the object is called in "not found" (`repository`).
    pub noun: &'static str,
}

#[async_trait]
impl DataSource for ResourceData {
    fn type_name(&self) -> &'static str {
        self.resource.type_name()
    }

    fn schema(&self) -> Schema {
        self.schema.clone()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        (self.rules)(config, diags);
    }

    async fn read(&self, provider: &ProviderContext, config: &Value) -> Result<Value, Diagnostics> {
        let id = (self.id_of)(provider, config)?;
        let stub = self.resource.import(provider, &id)?;
        let Some((state, _)) = self.resource.read(provider, &stub, &[]).await? else {
            return Err(Diagnostic::error(
                format!("{} not found", capitalized(self.noun)),
                format!(
                    "No {} {id:?} exists, or the provider's credentials cannot see it.",
                    self.noun
                ),
            )
            .into());
        };
        let mut shown = self.schema.block.null_object();
        for attribute in &self.schema.block.attributes {
            let name = attribute.name.as_str();
            let value = match config.get(name) {
                Value::Null => state.get(name).clone(),
                set => set.clone(),
            };
            shown.set_attr(name, value);
        }
        Ok(shown)
    }
}

fn capitalized(noun: &str) -> String {
    let mut chars = noun.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
