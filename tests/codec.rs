//! Properties of the value codec: every value of every type the schemas use
//! survives a round trip, and no input crashes the decoder.

use genesis::framework::types::Type;
use genesis::framework::value::Value;
use genesis::protocol::codec::{decode_json, decode_msgpack, encode_msgpack};
use proptest::prelude::*;

fn leaf_type() -> impl Strategy<Value = Type> {
    prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)]
}

fn any_type() -> impl Strategy<Value = Type> {
    leaf_type().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 1..4).prop_map(Type::Object),
        ]
    })
}

/// A value of the given type, with nulls and unknowns anywhere.
fn value_of(ty: Type) -> BoxedStrategy<Value> {
    let special = prop_oneof![Just(Value::Null), Just(Value::Unknown)];
    let known: BoxedStrategy<Value> = match ty {
        Type::String => ".{0,12}".prop_map(Value::String).boxed(),
        Type::Number => prop_oneof![
            any::<i32>().prop_map(|n| Value::Number(f64::from(n))),
            (-1.0e12f64..1.0e12).prop_map(Value::Number),
        ]
        .boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Dynamic => Just(Value::Null).boxed(),
        Type::List(e) => prop::collection::vec(value_of(*e), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => prop::collection::vec(value_of(*e), 0..4)
            .prop_map(Value::set)
            .boxed(),
        Type::Map(e) => prop::collection::btree_map("[a-z]{1,6}", value_of(*e), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => {
            let parts: Vec<_> = attrs
                .into_iter()
                .map(|(k, t)| value_of(t).prop_map(move |v| (k.clone(), v)))
                .collect();
            parts
                .prop_map(|kv| Value::Object(kv.into_iter().collect()))
                .boxed()
        }
    };
    prop_oneof![1 => special, 6 => known].boxed()
}

fn typed_value() -> impl Strategy<Value = (Type, Value)> {
    any_type().prop_flat_map(|ty| (Just(ty.clone()), value_of(ty)))
}

proptest! {
    #[test]
    fn msgpack_round_trips((ty, value) in typed_value()) {
        let bytes = encode_msgpack(&value, &ty);
        prop_assert_eq!(decode_msgpack(&bytes, &ty), Ok(value));
    }

    #[test]
    fn arbitrary_bytes_never_panic(ty in any_type(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode_msgpack(&bytes, &ty);
        let _ = decode_json(&bytes, &ty);
    }

    #[test]
    fn truncated_encodings_are_errors((ty, value) in typed_value(), cut in 1usize..8) {
        let bytes = encode_msgpack(&value, &ty);
        if bytes.len() > cut {
            prop_assert!(decode_msgpack(&bytes[..bytes.len() - cut], &ty).is_err());
        }
    }
}

#[test]
fn every_resource_schema_round_trips_an_empty_object() {
    for resource in genesis::resources::all() {
        let ty = resource.schema().value_type();
        let Type::Object(attrs) = &ty else { panic!() };
        let v = Value::Object(attrs.keys().map(|k| (k.clone(), Value::Null)).collect());
        assert_eq!(
            decode_msgpack(&encode_msgpack(&v, &ty), &ty),
            Ok(v),
            "{}",
            resource.type_name()
        );
    }
}
