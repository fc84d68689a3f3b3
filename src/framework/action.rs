//! Actions (protocol 6.10, Terraform 1.14+): day-2 operations a
//! configuration declares (`action "TYPE" "NAME" { config { ... } }`) and
//! Terraform invokes (`terraform apply -invoke=action.TYPE.NAME`, or from a
//! resource's `action_trigger`). An action is checked when planned, and
//! reports progress while it runs; it changes no resource's state, so the
//! next plan stays empty.

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

use super::diagnostics::Diagnostics;
use super::registry::{locatable, validate};
use super::schema::Schema;
use super::server::ProviderServer;
use super::value::Value;
use crate::provider::ProviderContext;

/// Where an invocation reports what it is doing.
pub struct Progress(UnboundedSender<String>);

impl Progress {
    pub fn new(sender: UnboundedSender<String>) -> Self {
        Progress(sender)
    }

    pub fn say(&self, message: impl Into<String>) {
        // Terraform may have gone; the action still finishes.
        let _ = self.0.send(message.into());
    }
}

#[async_trait]
pub trait Action: Send + Sync {
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Checks the action can run (what it acts on exists), before anything
    /// is applied; values may be unknown.
    async fn plan(&self, provider: &ProviderContext, config: &Value) -> Diagnostics;

    /// Runs the action, reporting progress.
    async fn invoke(
        &self,
        provider: &ProviderContext,
        config: &Value,
        progress: &Progress,
    ) -> Diagnostics;
}

impl ProviderServer {
    pub fn action_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.actions.schemas()
    }

    pub fn action_schema(&self, type_name: &str) -> Option<&Schema> {
        self.actions.schema(type_name)
    }

    pub fn validate_action(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.actions.get(type_name) {
            Ok(r) => validate(&r.schema, config, |diags| r.item.validate(config, diags)),
            Err(d) => d,
        }
    }

    pub async fn plan_action(&self, type_name: &str, config: &Value) -> Diagnostics {
        let registered = match self.actions.get(type_name) {
            Ok(r) => r,
            Err(d) => return d,
        };
        let mut diags = self.validate_action(type_name, config);
        if !diags.has_errors() {
            diags.extend(registered.item.plan(&self.context(), config).await);
        }
        locatable(&registered.schema, diags)
    }

    pub async fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        progress: &Progress,
    ) -> Diagnostics {
        let registered = match self.actions.get(type_name) {
            Ok(r) => r,
            Err(d) => return d,
        };
        let diags = self.validate_action(type_name, config);
        if diags.has_errors() {
            return diags;
        }
        let done = registered
            .item
            .invoke(&self.context(), config, progress)
            .await;
        locatable(&registered.schema, done)
    }
}
