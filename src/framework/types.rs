//! Terraform's type system (cty) as far as this provider uses it, and its
//! JSON spelling in schemas (`"string"`, `["list","string"]`, ...).

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    /// `any`: the value carries its own type on the wire.
    Dynamic,
}

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    pub fn object<'a>(attributes: impl IntoIterator<Item = (&'a str, Type)>) -> Type {
        Type::Object(
            attributes
                .into_iter()
                .map(|(name, ty)| (name.to_string(), ty))
                .collect(),
        )
    }

    /// The type in Terraform's JSON type notation.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::Dynamic => json!("dynamic"),
            Type::List(e) => json!(["list", e.to_json()]),
            Type::Set(e) => json!(["set", e.to_json()]),
            Type::Map(e) => json!(["map", e.to_json()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<String, Json> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", attrs])
            }
        }
    }

    /// Parses Terraform's JSON type notation.
    pub fn from_json(json: &Json) -> Option<Type> {
        match json {
            Json::String(s) => match s.as_str() {
                "string" => Some(Type::String),
                "number" => Some(Type::Number),
                "bool" => Some(Type::Bool),
                "dynamic" => Some(Type::Dynamic),
                _ => None,
            },
            Json::Array(parts) if parts.len() == 2 => {
                let kind = parts[0].as_str()?;
                match kind {
                    "list" => Some(Type::list(Type::from_json(&parts[1])?)),
                    "set" => Some(Type::set(Type::from_json(&parts[1])?)),
                    "map" => Some(Type::map(Type::from_json(&parts[1])?)),
                    "object" => {
                        let attrs = parts[1].as_object()?;
                        let mut out = BTreeMap::new();
                        for (k, v) in attrs {
                            out.insert(k.clone(), Type::from_json(v)?);
                        }
                        Some(Type::Object(out))
                    }
                    _ => None,
                }
            }
            // Object types with optional attributes carry a third element.
            Json::Array(parts) if parts.len() == 3 && parts[0] == "object" => {
                Type::from_json(&json!(["object", parts[1]]))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_notation_round_trips() {
        let ty = Type::object([
            ("name", Type::String),
            ("sizes", Type::list(Type::Number)),
            ("labels", Type::map(Type::String)),
            ("tags", Type::set(Type::Bool)),
            ("any", Type::Dynamic),
        ]);
        assert_eq!(Type::from_json(&ty.to_json()), Some(ty.clone()));
        assert_eq!(ty.to_json()[0], "object");
    }

    #[test]
    fn unknown_type_names_are_rejected() {
        assert_eq!(Type::from_json(&json!("tuple")), None);
        assert_eq!(Type::from_json(&json!(["list"])), None);
    }
}
