//! Data sources: read-only views of objects, read from the configuration
//! each plan (or at apply, when the configuration holds values known only
//! then). The trait a data source implements, and the server's side of
//! Terraform's two data source calls.

use async_trait::async_trait;

use super::diagnostics::Diagnostics;
use super::registry::{locatable, validate};
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
