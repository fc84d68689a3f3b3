//! Typed views of a configuration or a plan, for validation and planning:
//! the `Value` Terraform sends, decoded once into a resource's model whose
//! attributes are `Field`s (known, null or unknown), as
//! terraform-plugin-framework's `req.Config.Get(ctx, &model)` does.
//!
//! - `as_written`: the configuration as the user wrote it, nulls left null
//!   (rules about what was written: a setting another cloud has no use
//!   for).
//! - `effective`: with the schema's defaults where the configuration leaves
//!   an attribute out (rules about values: a Service's `type` left out is
//!   ClusterIP), so a default is stated once, in the schema.
//!
//! An unknown value that lands in a plain (non-`Field`) attribute of the
//! model is refused with its path instead of being read as a default.
//! Nested objects are `Field<Struct>` too, and so are the members of lists
//! and maps of objects (`Field<Vec<Field<Struct>>>`): an unknown object met
//! by a plain struct would read as the struct's defaults.

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::field::UNKNOWN;
use super::path::{AttributePath, Step};
use super::plan::with_defaults;
use super::schema::Block;
use super::value::Value;

/// The configuration as written, in the model `T`.
pub fn as_written<T: DeserializeOwned>(value: &Value) -> Result<T, Diagnostics> {
    decode(value)
}

/// The configuration with the schema's defaults, in the model `T`.
pub fn effective<T: DeserializeOwned>(block: &Block, value: &Value) -> Result<T, Diagnostics> {
    decode(&with_defaults(block, value))
}

fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, Diagnostics> {
    let json = to_json(value);
    serde_path_to_error::deserialize(&json).map_err(|e| {
        let (path, at) = locate(value, &json, e.path());
        let diagnostic = if at.is_some_and(super::field::is_unknown) {
            Diagnostic::error(
                "Value not known until apply",
                format!("{path} must be known when Terraform plans (it decides what the plan shows), but it comes from something known only after apply: give it a value known at plan time."),
            )
            .at(path)
        } else {
            Diagnostic::error(
                "Provider error: the configuration does not fit its model",
                format!("{path}: {}. This is a bug in the provider; please report it.", e.inner()),
            )
        };
        Diagnostics::from(diagnostic)
    })
}

/// `value` as JSON for serde: null attributes left out (the model's
/// default, `Field::Null`, stands for them), unknowns as the stand-in
/// `Field` reads as unknown.
fn to_json(value: &Value) -> Json {
    match value {
        Value::Unknown => serde_json::json!({ UNKNOWN: true }),
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Json::from(*n as i64),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) | Value::Set(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Object(attributes) => Json::Object(
            attributes
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// The attribute path of serde's `path` (objects' members are attributes,
/// maps' are keys), and the JSON found there.
fn locate<'a>(
    value: &Value,
    json: &'a Json,
    path: &serde_path_to_error::Path,
) -> (AttributePath, Option<&'a Json>) {
    use serde_path_to_error::Segment;
    let mut steps = Vec::new();
    let (mut value, mut json) = (value, Some(json));
    for segment in path.iter() {
        match segment {
            Segment::Map { key } => {
                steps.push(match value {
                    Value::Map(_) => Step::Key(key.clone()),
                    _ => Step::Attribute(key.clone()),
                });
                value = value
                    .entries()
                    .and_then(|e| e.get(key))
                    .unwrap_or(&Value::Null);
                json = json.and_then(|j| j.get(key));
            }
            Segment::Seq { index } => {
                steps.push(Step::Index(*index as i64));
                value = value.elements().get(*index).unwrap_or(&Value::Null);
                json = json.and_then(|j| j.get(*index));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    (AttributePath::from_steps(steps), json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::field::Field;
    use crate::framework::schema::Attribute;

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(default)]
    struct Port {
        port: Field<i64>,
        node_port: Field<i64>,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(default)]
    struct Service {
        #[serde(rename = "type")]
        kind: Field<String>,
        ports: Field<Vec<Field<Port>>>,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(default)]
    struct Model {
        name: String,
        replicas: Field<i64>,
        service: Field<Service>,
        labels: Field<std::collections::BTreeMap<String, String>>,
    }

    fn block() -> Block {
        Block::new(
            "test",
            vec![
                Attribute::string("name").required(),
                Attribute::number("replicas"),
                Attribute::object(
                    "service",
                    vec![
                        Attribute::string("type").default("ClusterIP"),
                        Attribute::object_list(
                            "ports",
                            vec![Attribute::number("port"), Attribute::number("node_port")],
                        ),
                    ],
                ),
                Attribute::string_map("labels"),
            ],
        )
    }

    fn config(replicas: Value, kind: Value, node_port: Value) -> Value {
        Value::object([
            ("name", "api".into()),
            ("replicas", replicas),
            (
                "service",
                Value::object([
                    ("type", kind),
                    (
                        "ports",
                        Value::List(vec![Value::object([
                            ("port", Value::Number(80.0)),
                            ("node_port", node_port),
                        ])]),
                    ),
                ]),
            ),
            ("labels", Value::Null),
        ])
    }

    #[test]
    fn the_view_keeps_unknowns_and_applies_defaults_only_when_asked() {
        let cfg = config(Value::Unknown, Value::Null, Value::Number(30080.0));
        let written: Model = as_written(&cfg).unwrap();
        assert_eq!(written.name, "api");
        assert!(written.replicas.is_unknown());
        let service = written.service.known().unwrap();
        assert!(service.kind.is_null(), "as written");
        let port = |s: &Service| s.ports.known().unwrap()[0].known().unwrap().node_port;
        assert_eq!(port(service), Field::Known(30080));
        assert!(written.labels.is_null());
        let planned: Model = effective(&block(), &cfg).unwrap();
        assert_eq!(
            planned.service.known().unwrap().kind.as_str(),
            Some("ClusterIP"),
            "the schema's default"
        );
        let cfg = config(Value::Number(2.0), Value::Unknown, Value::Unknown);
        let planned: Model = effective(&block(), &cfg).unwrap();
        let service = planned.service.known().unwrap();
        assert!(service.kind.is_unknown() && port(service).is_unknown());
    }

    #[test]
    fn an_unknown_in_a_plain_field_is_refused_with_its_path() {
        let mut cfg = config(Value::Null, Value::Null, Value::Null);
        cfg.set_attr("name", Value::Unknown);
        let refused = as_written::<Model>(&cfg).unwrap_err();
        let d = refused.iter().next().unwrap();
        assert_eq!(d.summary, "Value not known until apply");
        assert_eq!(
            d.path.as_ref().map(ToString::to_string).as_deref(),
            Some("name")
        );
    }
}
