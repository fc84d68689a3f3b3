//! Resource identity (Terraform 1.12 and later): the few attributes that
//! name a resource's object in its cloud, stored beside its state and given
//! to `import { identity = { ... } }` instead of an ID string. Every
//! identity attribute is a string and every one is fixed for the object's
//! life (changing any replaces the resource), so an identity never changes
//! under Terraform. Older clients never ask for it and nothing changes.

use std::collections::BTreeMap;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::types::Type;
use super::value::Value;

/// One identity attribute (always a string).
#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: &'static str,
    /// An import by identity must give it (else it may).
    pub required: bool,
    pub description: &'static str,
}

impl IdentityAttribute {
    pub fn required(name: &'static str, description: &'static str) -> Self {
        IdentityAttribute {
            name,
            required: true,
            description,
        }
    }

    pub fn optional(name: &'static str, description: &'static str) -> Self {
        IdentityAttribute {
            name,
            required: false,
            description,
        }
    }
}

#[derive(Clone, Debug)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    pub fn new(attributes: Vec<IdentityAttribute>) -> Self {
        IdentitySchema {
            version: 0,
            attributes,
        }
    }

    pub fn value_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.to_string(), Type::String))
                .collect(),
        )
    }

    /// The identity with these values (null for those left out); `None`
    /// when a required one is not known yet (a create's plan).
    pub fn value(&self, parts: &[(&str, Option<String>)]) -> Option<Value> {
        let mut out = BTreeMap::new();
        for attribute in &self.attributes {
            let part = parts
                .iter()
                .find(|(name, _)| *name == attribute.name)
                .and_then(|(_, v)| v.clone())
                .filter(|v| !v.is_empty());
            if attribute.required && part.is_none() {
                return None;
            }
            out.insert(
                attribute.name.to_string(),
                part.map_or(Value::Null, Value::from),
            );
        }
        Some(Value::Object(out))
    }

    /// The value of `name` in an identity, checked present when required.
    pub fn part<'a>(
        &self,
        identity: &'a Value,
        name: &str,
    ) -> Result<Option<&'a str>, Diagnostics> {
        let value = identity.get(name).as_str().filter(|v| !v.is_empty());
        let required = self.attributes.iter().any(|a| a.name == name && a.required);
        if required && value.is_none() {
            return Err(Diagnostic::error(
                "Incomplete identity",
                format!(
                    "The identity needs `{name}`. It takes: {}.",
                    self.describe()
                ),
            )
            .into());
        }
        Ok(value)
    }

    /// `name` (required), `other` (optional), ... for messages.
    pub fn describe(&self) -> String {
        self.attributes
            .iter()
            .map(|a| {
                let need = if a.required { "required" } else { "optional" };
                format!("`{}` ({need})", a.name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_needs_its_required_parts() {
        let schema = IdentitySchema::new(vec![
            IdentityAttribute::required("name", ""),
            IdentityAttribute::optional("project", ""),
        ]);
        assert_eq!(schema.value(&[("project", Some("p".into()))]), None);
        let identity = schema.value(&[("name", Some("n".into()))]).unwrap();
        assert_eq!(identity.get("project"), &Value::Null);
        assert_eq!(schema.part(&identity, "name").unwrap(), Some("n"));
        assert!(schema.part(&Value::Null, "name").is_err());
    }
}
