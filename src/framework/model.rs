//! Typed models of a resource's attributes, as terraform-plugin-framework
//! has them: a resource decodes the `Value` Terraform sends once, at its
//! boundary, into plain Rust structs whose fields are named after the
//! attributes (serde derives), works in those, and encodes back to a
//! `Value` only to answer Terraform.
//!
//! Null attributes are left out before decoding, so a model field is
//! `Option` where "left out" means something and takes its default (the
//! schema's) where it does not. Models are for applies and refreshes, where
//! the configuration is known: an attribute still unknown then is a
//! computed one the apply is about to fill in, which no model holds, so it
//! is left out too. A plan must check `is_wholly_known` before decoding.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::schema::{Attribute, AttributeKind, Block, Mode, Nesting};
use super::types::Type;
use super::value::Value;

/// The model in `value`. The error names what did not fit; with values
/// Terraform checked against the schema it means the model and the schema
/// disagree, which the models' coverage tests are there to prevent.
pub fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    let json = to_json(value).ok_or("a value is not known yet")?;
    serde_json::from_value(json).map_err(|e| e.to_string())
}

/// `model` as a value of type `ty`: fields the type lacks are dropped,
/// attributes the model lacks are null.
pub fn encode<T: Serialize>(model: &T, ty: &Type) -> Value {
    serde_json::to_value(model)
        .map(|json| from_json(&json).conform(ty))
        .unwrap_or_default()
}

/// `value` as JSON without its null and unknown attributes; `None` when
/// another part of it is unknown. Whole numbers become JSON integers, so
/// they decode as `i64`.
pub fn to_json(value: &Value) -> Option<Json> {
    Some(match value {
        Value::Unknown => return None,
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Json::from(*n as i64),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) | Value::Set(items) => {
            Json::Array(items.iter().map(to_json).collect::<Option<_>>()?)
        }
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| Some((k.clone(), to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        Value::Object(attributes) => Json::Object(
            attributes
                .iter()
                .filter(|(_, v)| !v.is_null() && !v.is_unknown())
                .map(|(k, v)| Some((k.clone(), to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

/// JSON as a value, objects as objects (`conform` turns them into maps
/// where the type says so).
pub fn from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or_default()),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(from_json).collect()),
        Json::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect(),
        ),
    }
}

/// What a model misses of `block`, for its coverage test: `round_trip`
/// decodes a value into the resource's models and encodes them back.
/// Every attribute (nested ones too, `excluded` top-level ones aside) must
/// come back as it went in, and one left out must come back as the
/// schema's default (null without one), so an attribute the model lacks,
/// misnames or defaults differently is named here. Nested blocks (but
/// `timeouts`) count as attributes written once, their own attributes left
/// out in turn.
pub fn coverage_problems(
    block: &Block,
    excluded: &[&str],
    round_trip: impl Fn(&Value) -> Value,
) -> Vec<String> {
    let mut problems = Vec::new();
    let blocks = block
        .blocks
        .iter()
        // Timeouts are the framework's, in no model.
        .filter(|b| b.type_name != "timeouts" && !excluded.contains(&b.type_name.as_str()))
        .map(|b| {
            let attributes = b.block.attributes.clone();
            let written = match b.nesting {
                // No resource has a set of blocks.
                Nesting::List | Nesting::Set => Attribute::object_list(&b.type_name, attributes),
                Nesting::Map => Attribute::object_map(&b.type_name, attributes),
                Nesting::Single => Attribute::object(&b.type_name, attributes),
            };
            written.required()
        });
    let attributes: Vec<Attribute> = block.attributes.iter().cloned().chain(blocks).collect();
    let full = sample_block(&attributes);
    let mut check = |value: &Value, expected: &Value, path: &str| {
        let back = round_trip(value);
        for name in attributes.iter().map(|a| a.name.as_str()) {
            if !excluded.contains(&name) && back.get(name) != expected.get(name) {
                problems.push(format!(
                    "{path}: {name} should come back as {:?}, came back as {:?}",
                    expected.get(name),
                    back.get(name)
                ));
            }
        }
    };
    check(&full, &full, "every attribute set");
    for (path, value, expected) in left_out_variants(&attributes, &full) {
        check(&value, &expected, &format!("{path} left out"));
    }
    problems
}

/// What the serde model `T` misses of `schema` (see `coverage_problems`),
/// round-tripping each value through `T` alone.
#[cfg(test)]
pub fn model_coverage_problems<T: Serialize + DeserializeOwned>(
    schema: &super::schema::Schema,
) -> Vec<String> {
    let ty = schema.value_type();
    coverage_problems(&schema.block, &[], |v| {
        encode(&decode::<T>(v).expect("decodes"), &ty)
    })
}

/// `model_coverage_problems` for one attribute decoded on its own as `T`
/// (a map of objects kept in a module of its own).
pub fn attribute_coverage_problems<T: Serialize + DeserializeOwned>(
    attribute: super::schema::Attribute,
) -> Vec<String> {
    let name = attribute.name.clone();
    let ty = attribute.value_type();
    let block = super::schema::Block::new("", vec![attribute]);
    coverage_problems(&block, &[], |v| {
        let model: Option<T> = decode(v.get(&name)).expect("decodes");
        let mut out = block.null_object();
        out.set_attr(&name, encode(&model, &ty));
        out
    })
}

/// Values of `block` for tests: every attribute set, then each optional
/// attribute (at every depth) left out in turn.
pub fn samples(block: &Block) -> Vec<Value> {
    let full = sample_block(&block.attributes);
    let mut out = vec![full.clone()];
    out.extend(
        left_out_variants(&block.attributes, &full)
            .into_iter()
            .map(|(_, value, _)| value),
    );
    out
}

/// A non-null value for every attribute: a default where there is one
/// (a valid enumeration member), otherwise something of the type.
fn sample_block(attributes: &[Attribute]) -> Value {
    Value::Object(
        attributes
            .iter()
            .filter(|a| a.mode != Mode::Computed)
            .map(|a| (a.name.clone(), sample(a)))
            .collect(),
    )
}

fn sample(a: &Attribute) -> Value {
    match (&a.kind, &a.default) {
        (AttributeKind::Typed(Type::Bool), Some(Value::Bool(b))) => Value::Bool(!b),
        (AttributeKind::Typed(Type::Number), Some(Value::Number(n))) => Value::Number(n + 1.0),
        (AttributeKind::Typed(_), Some(default)) => default.clone(),
        (AttributeKind::Typed(ty), None) => sample_of(ty),
        (AttributeKind::Nested(nesting, attributes), _) => {
            let one = sample_block(attributes);
            match nesting {
                Nesting::Single => one,
                Nesting::List => Value::List(vec![one]),
                Nesting::Set => Value::set(vec![one]),
                Nesting::Map => Value::Map([("k".to_string(), one)].into()),
            }
        }
    }
}

fn sample_of(ty: &Type) -> Value {
    match ty {
        Type::String | Type::Dynamic => Value::from("s1"),
        Type::Number => Value::Number(7.0),
        Type::Bool => Value::Bool(true),
        Type::List(t) => Value::List(vec![sample_of(t)]),
        Type::Set(t) => Value::set(vec![sample_of(t)]),
        Type::Map(t) => Value::Map([("k".to_string(), sample_of(t))].into()),
        Type::Object(attributes) => Value::Object(
            attributes
                .iter()
                .map(|(k, t)| (k.clone(), sample_of(t)))
                .collect(),
        ),
    }
}

/// `full` with one optional attribute left out (null), for every such
/// attribute at every depth, with the value expected back: `full` with the
/// schema's default there, or null.
fn left_out_variants(attributes: &[Attribute], full: &Value) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    for a in attributes.iter().filter(|a| a.mode != Mode::Computed) {
        if a.mode != Mode::Required {
            let (mut value, mut expected) = (full.clone(), full.clone());
            value.set_attr(&a.name, Value::Null);
            expected.set_attr(&a.name, a.default.clone().unwrap_or_default());
            out.push((a.name.clone(), value, expected));
        }
        if let AttributeKind::Nested(nesting, nested) = &a.kind {
            let one = sample_block(nested);
            let wrap = |inner: Value| match nesting {
                Nesting::Single => inner,
                Nesting::List => Value::List(vec![inner]),
                Nesting::Set => Value::set(vec![inner]),
                Nesting::Map => Value::Map([("k".to_string(), inner)].into()),
            };
            for (path, inner, inner_expected) in left_out_variants(nested, &one) {
                let (mut value, mut expected) = (full.clone(), full.clone());
                value.set_attr(&a.name, wrap(inner));
                expected.set_attr(&a.name, wrap(inner_expected));
                out.push((format!("{}.{path}", a.name), value, expected));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Pool {
        name: String,
        size: i64,
        zones: Vec<String>,
        labels: Option<BTreeMap<String, String>>,
    }

    fn pool_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("size", Type::Number),
            ("zones", Type::set(Type::String)),
            ("labels", Type::map(Type::String)),
            ("id", Type::String),
        ])
    }

    #[test]
    fn models_round_trip_through_values() {
        let value = Value::object([
            ("name", "a".into()),
            ("size", Value::Number(3.0)),
            ("zones", Value::set(vec!["b".into(), "a".into()])),
            ("labels", Value::Null),
            ("id", "x".into()),
        ]);
        let pool: Pool = decode(&value).unwrap();
        assert_eq!(pool.size, 3);
        assert_eq!(pool.labels, None);
        let back = encode(&pool, &pool_type());
        assert_eq!(back.get("zones"), value.get("zones"));
        assert_eq!(back.get("id"), &Value::Null, "not the model's");
        assert!(matches!(back.get("size"), Value::Number(n) if *n == 3.0));
    }

    #[test]
    fn unknown_values_and_misfits_do_not_decode() {
        let unknown = Value::object([("zones", Value::List(vec![Value::Unknown]))]);
        assert!(decode::<Pool>(&unknown).is_err());
        // A computed attribute an apply is about to fill in.
        let computing = Value::object([("name", "a".into()), ("id", Value::Unknown)]);
        assert_eq!(decode::<Pool>(&computing).unwrap().name, "a");
        let misfit = Value::object([("size", "three".into())]);
        assert!(decode::<Pool>(&misfit).is_err());
    }
}
