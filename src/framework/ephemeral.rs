//! Ephemeral resources (Terraform 1.10+, OpenTofu 1.11+): values opened
//! for one run, such as short-lived credentials, that Terraform never
//! writes to a plan or a state. Terraform opens one when a provider block,
//! another ephemeral resource, an ephemeral output or variable, a local or
//! a write-only attribute uses it; renews it at `renew_at` while the run
//! still needs it; closes it at the end of the run.

use std::time::SystemTime;

use async_trait::async_trait;

use super::diagnostics::Diagnostics;
use super::registry::{locatable, validate};
use super::schema::Schema;
use super::server::ProviderServer;
use super::value::Value;
use crate::provider::ProviderContext;

/// What an open returns.
#[derive(Debug, Default)]
pub struct Opened {
    /// Every attribute: the configured ones as configured.
    pub result: Value,
    /// Handed back to `renew` and `close`. Terraform keeps it in memory
    /// only, but it is still no place for a secret.
    pub private: Vec<u8>,
    /// When Terraform should call `renew`, if the value needs it.
    pub renew_at: Option<SystemTime>,
}

/// One ephemeral resource type.
#[async_trait]
pub trait EphemeralResource: Send + Sync {
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    async fn open(&self, provider: &ProviderContext, config: &Value)
    -> Result<Opened, Diagnostics>;

    /// Extends what `open` made (a lease); the result cannot change. The
    /// default needs no renewal.
    async fn renew(
        &self,
        _provider: &ProviderContext,
        private: &[u8],
    ) -> Result<(Vec<u8>, Option<SystemTime>), Diagnostics> {
        Ok((private.to_vec(), None))
    }

    /// Releases what `open` made. The default holds nothing.
    async fn close(&self, _provider: &ProviderContext, _private: &[u8]) -> Diagnostics {
        Diagnostics::new()
    }
}

impl ProviderServer {
    pub fn ephemeral_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.ephemerals.schemas()
    }

    pub fn ephemeral_schema(&self, type_name: &str) -> Option<&Schema> {
        self.ephemerals.schema(type_name)
    }

    pub fn validate_ephemeral(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.ephemerals.get(type_name) {
            Ok(r) => validate(&r.schema, config, |diags| r.item.validate(config, diags)),
            Err(d) => d,
        }
    }

    pub async fn open_ephemeral(&self, type_name: &str, config: &Value) -> (Opened, Diagnostics) {
        let registered = match self.ephemerals.get(type_name) {
            Ok(r) => r,
            Err(d) => return (Opened::default(), d),
        };
        let diags = self.validate_ephemeral(type_name, config);
        if diags.has_errors() {
            return (Opened::default(), diags);
        }
        let provider = self.context();
        match registered.item.open(&provider, config).await {
            Ok(opened) => (opened, diags),
            Err(d) => (Opened::default(), locatable(&registered.schema, d)),
        }
    }

    pub async fn renew_ephemeral(
        &self,
        type_name: &str,
        private: &[u8],
    ) -> Result<(Vec<u8>, Option<SystemTime>), Diagnostics> {
        let registered = self.ephemerals.get(type_name)?;
        let provider = self.context();
        registered.item.renew(&provider, private).await
    }

    pub async fn close_ephemeral(&self, type_name: &str, private: &[u8]) -> Diagnostics {
        match self.ephemerals.get(type_name) {
            Ok(registered) => {
                let provider = self.context();
                registered.item.close(&provider, private).await
            }
            Err(d) => d,
        }
    }
}
