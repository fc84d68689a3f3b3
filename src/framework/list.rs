//! List resources (protocol 6.10, Terraform 1.14+): the objects of a
//! resource type that a `list` block's configuration matches, for
//! `terraform query`, which prints them and, with
//! `-generate-config-out`, writes an `import` block (by identity) and a
//! `resource` block for each. A list resource only finds the objects'
//! import IDs; each is then imported and, when Terraform asks for the
//! objects, read as its resource type does, so what a query shows is what
//! an import would.
//!
//! `generated_config` answers GenerateResourceConfig: the shortest
//! configuration that plans no change from a state.

use async_trait::async_trait;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::registry::validate;
use super::schema::{Attribute, Block, Mode, Schema};
use super::server::ProviderServer;
use super::types::Type;
use super::value::Value;
use crate::provider::ProviderContext;

/// An object a list found: its import ID and a name for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub import_id: String,
    pub display_name: String,
}

/// The list resource of one resource type.
#[async_trait]
pub trait ListResource: Send + Sync {
    /// The resource type listed.
    fn type_name(&self) -> &'static str;

    /// The schema of the `list` block's `config`.
    fn schema(&self) -> Schema;

    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// The objects the configuration matches, at most `limit`.
    async fn find(
        &self,
        provider: &ProviderContext,
        config: &Value,
        limit: usize,
    ) -> Result<Vec<Found>, Diagnostics>;
}

/// One result for Terraform: the object's identity (with its type), its
/// display name, and the whole object when asked for.
pub struct Listed {
    pub identity: Value,
    pub identity_type: Type,
    pub display_name: String,
    pub object: Option<Value>,
    pub diagnostics: Diagnostics,
}

impl ProviderServer {
    pub fn list_resource_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.lists.schemas()
    }

    pub fn list_resource_schema(&self, type_name: &str) -> Option<&Schema> {
        self.lists.schema(type_name)
    }

    pub fn validate_list(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.lists.get(type_name) {
            Ok(r) => validate(&r.schema, config, |diags| r.item.validate(config, diags)),
            Err(d) => d,
        }
    }

    /// Lists the objects `config` matches: each imported, and read when
    /// `include_objects`. An object that cannot be read is one result
    /// with its diagnostic, and the rest still come.
    pub async fn list(
        &self,
        type_name: &str,
        config: &Value,
        include_objects: bool,
        limit: usize,
    ) -> Result<Vec<Listed>, Diagnostics> {
        let list = self.lists.get(type_name)?;
        let diags = self.validate_list(type_name, config);
        if diags.has_errors() {
            return Err(diags);
        }
        let resource = &self.registered(type_name)?.resource;
        let identity_type = resource
            .identity_schema()
            .map(|s| s.value_type())
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Provider error: a listed type has no identity",
                    format!("{type_name} has no identity schema. This is a bug in the provider; please report it."),
                ))
            })?;
        let provider = self.context();
        let found = list.item.find(&provider, config, limit).await?;
        let mut listed = Vec::with_capacity(found.len());
        for Found {
            import_id,
            display_name,
        } in found.into_iter().take(limit)
        {
            let stub = self.import(type_name, &import_id)?;
            let (object, diagnostics) = if include_objects {
                match self.read(type_name, &stub, &[]).await {
                    read if read.diagnostics.has_errors() => (None, read.diagnostics),
                    read if read.state.is_null() => continue,
                    read => (Some(read.state), read.diagnostics),
                }
            } else {
                (None, Diagnostics::new())
            };
            let Some(identity) = resource.identity(object.as_ref().unwrap_or(&stub)) else {
                continue;
            };
            listed.push(Listed {
                identity,
                identity_type: identity_type.clone(),
                display_name,
                object,
                diagnostics,
            });
        }
        Ok(listed)
    }

    /// The shortest configuration of `type_name` that plans no change from
    /// `state`: what only the provider sets, write-only values, and values
    /// equal to their defaults left out.
    pub fn generated_config(&self, type_name: &str, state: &Value) -> Result<Value, Diagnostics> {
        let schema = &self.registered(type_name)?.schema;
        Ok(config_of_block(&schema.block, state))
    }
}

fn config_of_block(block: &Block, state: &Value) -> Value {
    if state.is_null() {
        return Value::Null;
    }
    let mut config = block.null_object();
    for attribute in &block.attributes {
        config.set_attr(
            &attribute.name,
            config_of(attribute, state.get(&attribute.name)),
        );
    }
    // Blocks as written (a `timeouts` block, whose values are all
    // write-only, comes out empty).
    for nested in &block.blocks {
        let each = |v: &Value| config_of_block(&nested.block, v);
        let generated = match state.get(&nested.type_name) {
            Value::Object(_) => each(state.get(&nested.type_name)),
            Value::List(items) => Value::List(items.iter().map(each).collect()),
            Value::Set(items) => Value::set(items.iter().map(each).collect()),
            Value::Map(items) => {
                Value::Map(items.iter().map(|(k, v)| (k.clone(), each(v))).collect())
            }
            other => other.clone(),
        };
        config.set_attr(&nested.type_name, generated);
    }
    config
}

fn config_of(attribute: &Attribute, value: &Value) -> Value {
    if attribute.mode == Mode::Computed || attribute.write_only || value.is_null() {
        return Value::Null;
    }
    if attribute.default.as_ref() == Some(value) && attribute.mode != Mode::Required {
        return Value::Null;
    }
    let Some((_, nested)) = attribute.nested() else {
        return value.clone();
    };
    let object = |v: &Value| {
        let mut out = v.clone();
        for a in nested {
            out.set_attr(&a.name, config_of(a, v.get(&a.name)));
        }
        out
    };
    match value {
        Value::Object(_) => object(value),
        Value::List(items) => Value::List(items.iter().map(object).collect()),
        Value::Set(items) => Value::set(items.iter().map(object).collect()),
        Value::Map(items) => {
            Value::Map(items.iter().map(|(k, v)| (k.clone(), object(v))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_configuration_leaves_out_what_the_provider_sets_and_defaults() {
        let block = Block::new(
            "",
            vec![
                Attribute::string("id").computed(),
                Attribute::string("name").required(),
                Attribute::number("replicas").default(1),
                Attribute::string("image").optional_computed(),
                Attribute::string("password").write_only(),
            ],
        );
        let state = Value::object([
            ("id", "x".into()),
            ("name", "api".into()),
            ("replicas", 1.into()),
            ("image", "nginx".into()),
            ("password", Value::Null),
        ]);
        let config = config_of_block(&block, &state);
        assert_eq!(config.get("id"), &Value::Null);
        let with_blocks = block
            .clone()
            .with_block(super::super::schema::NestedBlock::list(
                "namespace",
                Block::new("", vec![Attribute::string("name").required()]),
            ));
        let mut state = state.clone();
        state.set_attr(
            "namespace",
            Value::List(vec![Value::object([("name", "jobs".into())])]),
        );
        assert_eq!(
            config_of_block(&with_blocks, &state).get("namespace"),
            &Value::List(vec![Value::object([("name", "jobs".into())])]),
            "blocks are configuration"
        );
        assert_eq!(config.get("name"), &Value::from("api"));
        assert_eq!(config.get("replicas"), &Value::Null, "the default");
        assert_eq!(config.get("image"), &Value::from("nginx"));
    }
}
