//! The wire encodings of values: msgpack (with cty's conventions for
//! unknown values and dynamically typed values) both ways, and the JSON of
//! stored state for `UpgradeResourceState`.
//!
//! Decoding is directed by the schema's type, as cty's own decoder is.
//! Malformed input from the wire is an error, never a panic.

use std::collections::BTreeMap;

use rmp::Marker;

use crate::framework::types::Type;
use crate::framework::value::Value;

/// The msgpack bytes cty writes for an unknown value: a fixext1 of
/// extension type 0 with one zero byte.
const UNKNOWN: [u8; 3] = [0xd4, 0, 0];

/// Nesting deeper than this is refused, so hostile input cannot exhaust the
/// stack through dynamically typed values.
const MAX_DEPTH: usize = 64;

/// Why a value could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    /// the input ended in the middle of a value
    #[error("unexpected end of msgpack input")]
    Truncated,
    /// a value of the wrong kind for the schema
    #[error("expected {expected} at {path}, found msgpack marker {found}")]
    Mismatch {
        expected: String,
        found: String,
        path: String,
    },
    /// an object attribute the schema does not have
    #[error("unsupported attribute {name:?} at {path}")]
    UnknownAttribute { name: String, path: String },
    /// bytes left over after the value
    #[error("{0} trailing bytes after msgpack value")]
    Trailing(usize),
    /// invalid UTF-8, bad numbers, over-deep nesting and the like
    #[error("{0}")]
    Invalid(String),
}

/// Decodes a msgpack `DynamicValue` of the given type.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut reader = Reader { buf: bytes, pos: 0 };
    let value = reader.value(ty, "value", 0)?;
    if reader.pos != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - reader.pos));
    }
    Ok(value)
}

/// Encodes a value of the given type as msgpack.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value, ty);
    out
}

/// Decodes the JSON form of stored state (which never holds unknowns).
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| CodecError::Invalid(format!("invalid JSON: {e}")))?;
    from_json(&json, ty, "value")
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or(CodecError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], CodecError> {
        let end = self.pos.checked_add(n).ok_or(CodecError::Truncated)?;
        let slice = self.buf.get(self.pos..end).ok_or(CodecError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn be(&mut self, n: usize) -> Result<u64, CodecError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn value(&mut self, ty: &Type, path: &str, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::Invalid(format!(
                "value nested too deeply at {path}"
            )));
        }
        let marker = Marker::from_u8(self.byte()?);
        // Null and unknown are valid for every type. Any extension type,
        // including refined unknowns (type 12), decodes as unknown.
        match marker {
            Marker::Null => return Ok(Value::Null),
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16 => {
                let len = match marker {
                    Marker::FixExt1 => 1,
                    Marker::FixExt2 => 2,
                    Marker::FixExt4 => 4,
                    Marker::FixExt8 => 8,
                    _ => 16,
                };
                self.take(1 + len)?;
                return Ok(Value::Unknown);
            }
            Marker::Ext8 | Marker::Ext16 | Marker::Ext32 => {
                let width = match marker {
                    Marker::Ext8 => 1,
                    Marker::Ext16 => 2,
                    _ => 4,
                };
                let len = self.be(width)? as usize;
                self.take(1)?;
                self.take(len)?;
                return Ok(Value::Unknown);
            }
            _ => {}
        }
        let mismatch = |expected: &str| CodecError::Mismatch {
            expected: expected.to_string(),
            found: format!("{marker:?}"),
            path: path.to_string(),
        };
        match ty {
            Type::Bool => match marker {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                _ => Err(mismatch("bool")),
            },
            Type::Number => self.number(marker).map(Value::Number).map_err(|e| match e {
                CodecError::Mismatch { .. } => mismatch("number"),
                other => other,
            }),
            Type::String => match self.string(marker)? {
                Some(s) => Ok(Value::String(s)),
                None => Err(mismatch("string")),
            },
            Type::List(elem) | Type::Set(elem) => {
                let len = self.array_len(marker).ok_or_else(|| mismatch("array"))??;
                let mut items = Vec::with_capacity(len.min(self.remaining()));
                for i in 0..len {
                    items.push(self.value(elem, &format!("{path}[{i}]"), depth + 1)?);
                }
                Ok(if matches!(ty, Type::Set(_)) {
                    Value::set(items)
                } else {
                    Value::List(items)
                })
            }
            Type::Map(elem) => {
                let len = self.map_len(marker).ok_or_else(|| mismatch("map"))??;
                let mut entries = BTreeMap::new();
                for _ in 0..len {
                    let key = self.key(path)?;
                    let v = self.value(elem, &format!("{path}[{key:?}]"), depth + 1)?;
                    entries.insert(key, v);
                }
                Ok(Value::Map(entries))
            }
            Type::Object(attrs) => {
                let len = self.map_len(marker).ok_or_else(|| mismatch("object"))??;
                let mut entries = BTreeMap::new();
                for _ in 0..len {
                    let key = self.key(path)?;
                    let Some(attr_ty) = attrs.get(&key) else {
                        return Err(CodecError::UnknownAttribute {
                            name: key,
                            path: path.to_string(),
                        });
                    };
                    let v = self.value(attr_ty, &format!("{path}.{key}"), depth + 1)?;
                    entries.insert(key, v);
                }
                for name in attrs.keys() {
                    entries.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(entries))
            }
            Type::Dynamic => {
                // A dynamically typed value travels as [type JSON, value].
                let len = self
                    .array_len(marker)
                    .ok_or_else(|| mismatch("[type, value] pair"))??;
                if len != 2 {
                    return Err(mismatch("[type, value] pair"));
                }
                let type_marker = Marker::from_u8(self.byte()?);
                let type_json = match type_marker {
                    Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                        let width = match type_marker {
                            Marker::Bin8 => 1,
                            Marker::Bin16 => 2,
                            _ => 4,
                        };
                        let n = self.be(width)? as usize;
                        self.take(n)?.to_vec()
                    }
                    m => self
                        .string(m)?
                        .ok_or_else(|| mismatch("type JSON"))?
                        .into_bytes(),
                };
                let json: serde_json::Value = serde_json::from_slice(&type_json).map_err(|e| {
                    CodecError::Invalid(format!("invalid type JSON at {path}: {e}"))
                })?;
                let inner = Type::from_json(&json).ok_or_else(|| {
                    CodecError::Invalid(format!("unsupported type {json} at {path}"))
                })?;
                self.value(&inner, path, depth + 1)
            }
        }
    }

    fn number(&mut self, marker: Marker) -> Result<f64, CodecError> {
        let n = match marker {
            Marker::FixPos(n) => f64::from(n),
            Marker::FixNeg(n) => f64::from(n),
            Marker::U8 => self.be(1)? as f64,
            Marker::U16 => self.be(2)? as f64,
            Marker::U32 => self.be(4)? as f64,
            Marker::U64 => self.be(8)? as f64,
            Marker::I8 => f64::from(self.be(1)? as u8 as i8),
            Marker::I16 => f64::from(self.be(2)? as u16 as i16),
            Marker::I32 => f64::from(self.be(4)? as u32 as i32),
            Marker::I64 => self.be(8)? as i64 as f64,
            Marker::F32 => f64::from(f32::from_bits(self.be(4)? as u32)),
            Marker::F64 => f64::from_bits(self.be(8)?),
            // cty writes numbers too large for float64 as decimal strings.
            m => match self.string(m)? {
                Some(s) => s
                    .parse::<f64>()
                    .map_err(|_| CodecError::Invalid(format!("invalid number {s:?}")))?,
                None => {
                    return Err(CodecError::Mismatch {
                        expected: "number".into(),
                        found: format!("{m:?}"),
                        path: String::new(),
                    });
                }
            },
        };
        if n.is_finite() {
            Ok(n)
        } else {
            Err(CodecError::Invalid("numbers must be finite".into()))
        }
    }

    /// A string, or `None` when the marker is not a string marker.
    fn string(&mut self, marker: Marker) -> Result<Option<String>, CodecError> {
        let len = match marker {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 => self.be(1)? as usize,
            Marker::Str16 => self.be(2)? as usize,
            Marker::Str32 => self.be(4)? as usize,
            _ => return Ok(None),
        };
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| CodecError::Invalid("string is not valid UTF-8".into()))
    }

    fn key(&mut self, path: &str) -> Result<String, CodecError> {
        let marker = Marker::from_u8(self.byte()?);
        self.string(marker)?.ok_or_else(|| CodecError::Mismatch {
            expected: "string key".into(),
            found: format!("{marker:?}"),
            path: path.to_string(),
        })
    }

    fn array_len(&mut self, marker: Marker) -> Option<Result<usize, CodecError>> {
        match marker {
            Marker::FixArray(n) => Some(Ok(usize::from(n))),
            Marker::Array16 => Some(self.be(2).map(|n| n as usize)),
            Marker::Array32 => Some(self.be(4).map(|n| n as usize)),
            _ => None,
        }
    }

    fn map_len(&mut self, marker: Marker) -> Option<Result<usize, CodecError>> {
        match marker {
            Marker::FixMap(n) => Some(Ok(usize::from(n))),
            Marker::Map16 => Some(self.be(2).map(|n| n as usize)),
            Marker::Map32 => Some(self.be(4).map(|n| n as usize)),
            _ => None,
        }
    }
}

fn write_value(out: &mut Vec<u8>, value: &Value, ty: &Type) {
    // Writing into a Vec cannot fail, so rmp's io results are ignored.
    match (value, ty) {
        (Value::Null, _) => out.push(0xc0),
        (Value::Unknown, _) => out.extend_from_slice(&UNKNOWN),
        (_, Type::Dynamic) => {
            let inner = infer_type(value);
            let _ = rmp::encode::write_array_len(out, 2);
            let _ = rmp::encode::write_str(out, &inner.to_json().to_string());
            write_value(out, value, &inner);
        }
        (Value::Bool(b), _) => {
            let _ = rmp::encode::write_bool(out, *b);
        }
        (Value::Number(n), _) => {
            if n.fract() == 0.0 && n.abs() < 9.2e18 {
                let _ = rmp::encode::write_sint(out, *n as i64);
            } else {
                let _ = rmp::encode::write_f64(out, *n);
            }
        }
        (Value::String(s), _) => {
            let _ = rmp::encode::write_str(out, s);
        }
        (Value::List(items) | Value::Set(items), Type::List(elem) | Type::Set(elem)) => {
            let _ = rmp::encode::write_array_len(out, items.len() as u32);
            for item in items {
                write_value(out, item, elem);
            }
        }
        (Value::Map(entries) | Value::Object(entries), Type::Map(elem)) => {
            let _ = rmp::encode::write_map_len(out, entries.len() as u32);
            for (k, v) in entries {
                let _ = rmp::encode::write_str(out, k);
                write_value(out, v, elem);
            }
        }
        (Value::Object(entries) | Value::Map(entries), Type::Object(attrs)) => {
            let _ = rmp::encode::write_map_len(out, attrs.len() as u32);
            for (name, attr_ty) in attrs {
                let _ = rmp::encode::write_str(out, name);
                write_value(out, entries.get(name).unwrap_or(&Value::Null), attr_ty);
            }
        }
        // A value that does not fit its type is a provider bug; null keeps
        // the wire well-formed and Terraform reports the inconsistency.
        _ => out.push(0xc0),
    }
}

/// The type of a value whose schema type is `dynamic`.
fn infer_type(value: &Value) -> Type {
    match value {
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) | Value::Null | Value::Unknown => Type::String,
        Value::List(items) => Type::list(items.first().map_or(Type::String, infer_type)),
        Value::Set(items) => Type::set(items.first().map_or(Type::String, infer_type)),
        Value::Map(entries) => Type::map(entries.values().next().map_or(Type::String, infer_type)),
        Value::Object(entries) => Type::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), infer_type(v)))
                .collect(),
        ),
    }
}

fn from_json(json: &serde_json::Value, ty: &Type, path: &str) -> Result<Value, CodecError> {
    use serde_json::Value as J;
    let mismatch = |expected: &str| CodecError::Mismatch {
        expected: expected.to_string(),
        found: format!("JSON {json}"),
        path: path.to_string(),
    };
    Ok(match (json, ty) {
        (J::Null, _) => Value::Null,
        (J::Bool(b), Type::Bool) => Value::Bool(*b),
        (J::String(s), Type::Bool) => Value::Bool(s == "true"),
        (J::Number(n), Type::Number) => {
            Value::Number(n.as_f64().ok_or_else(|| mismatch("number"))?)
        }
        (J::String(s), Type::Number) => Value::Number(s.parse().map_err(|_| mismatch("number"))?),
        (J::String(s), Type::String) => Value::String(s.clone()),
        (J::Number(n), Type::String) => Value::String(n.to_string()),
        (J::Bool(b), Type::String) => Value::String(b.to_string()),
        (J::Array(items), Type::List(elem) | Type::Set(elem)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(from_json(item, elem, &format!("{path}[{i}]"))?);
            }
            if matches!(ty, Type::Set(_)) {
                Value::set(out)
            } else {
                Value::List(out)
            }
        }
        (J::Object(entries), Type::Map(elem)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                out.insert(k.clone(), from_json(v, elem, &format!("{path}[{k:?}]"))?);
            }
            Value::Map(out)
        }
        // Attributes no longer in the schema are dropped: that is what an
        // upgrade to the current schema means.
        (J::Object(entries), Type::Object(attrs)) => {
            let mut out = BTreeMap::new();
            for (name, attr_ty) in attrs {
                let v = match entries.get(name) {
                    Some(v) => from_json(v, attr_ty, &format!("{path}.{name}"))?,
                    None => Value::Null,
                };
                out.insert(name.clone(), v);
            }
            Value::Object(out)
        }
        (_, Type::Dynamic) => crate::framework::model::from_json(json),
        _ => return Err(mismatch(&ty.to_json().to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("on", Type::Bool),
            ("tags", Type::set(Type::String)),
            ("labels", Type::map(Type::String)),
            ("pools", Type::list(Type::object([("min", Type::Number)]))),
        ])
    }

    #[test]
    fn unknown_is_cty_fixext() {
        assert_eq!(encode_msgpack(&Value::Unknown, &Type::String), UNKNOWN);
        assert_eq!(decode_msgpack(&UNKNOWN, &Type::Number), Ok(Value::Unknown));
    }

    #[test]
    fn refined_unknowns_decode_as_unknown() {
        // ext8 of type 12 (cty's refinements) with a 3-byte payload.
        let bytes = [0xc7, 3, 12, 0x81, 0x01, 0xc3];
        assert_eq!(decode_msgpack(&bytes, &Type::String), Ok(Value::Unknown));
    }

    #[test]
    fn objects_fill_missing_attributes_with_null() {
        let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
        let bytes = [0x81, 0xa1, b'a', 0xa1, b'x'];
        let v = decode_msgpack(&bytes, &ty).unwrap();
        assert_eq!(v.get("a"), &Value::from("x"));
        assert_eq!(v.get("b"), &Value::Null);
    }

    #[test]
    fn unsupported_attributes_are_errors() {
        let ty = Type::object([("a", Type::String)]);
        let bytes = [0x81, 0xa1, b'z', 0xc0];
        assert!(matches!(
            decode_msgpack(&bytes, &ty),
            Err(CodecError::UnknownAttribute { .. })
        ));
    }

    #[test]
    fn truncated_and_trailing_input_is_refused() {
        let full = encode_msgpack(&Value::from("hello"), &Type::String);
        assert_eq!(
            decode_msgpack(&full[..3], &Type::String),
            Err(CodecError::Truncated)
        );
        let mut extra = full.clone();
        extra.push(0);
        assert_eq!(
            decode_msgpack(&extra, &Type::String),
            Err(CodecError::Trailing(1))
        );
    }

    #[test]
    fn huge_length_claims_do_not_allocate() {
        let bytes = [0xdd, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            decode_msgpack(&bytes, &Type::list(Type::String)),
            Err(CodecError::Truncated)
        );
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let v = Value::object([("x", Value::Number(1.0))]);
        let bytes = encode_msgpack(&v, &Type::Dynamic);
        assert_eq!(decode_msgpack(&bytes, &Type::Dynamic), Ok(v));
    }

    #[test]
    fn json_state_upgrades_drop_removed_attributes() {
        let ty = Type::object([("name", Type::String), ("size", Type::Number)]);
        let v = decode_json(br#"{"name":"a","size":3,"gone":true}"#, &ty).unwrap();
        assert_eq!(
            v,
            Value::object([("name", "a".into()), ("size", Value::Number(3.0))])
        );
    }

    #[test]
    fn large_and_fractional_numbers_survive() {
        for n in [0.0, -1.0, 1.5, 2e15, -123456789.0, 1e300] {
            let bytes = encode_msgpack(&Value::Number(n), &Type::Number);
            assert_eq!(decode_msgpack(&bytes, &Type::Number), Ok(Value::Number(n)));
        }
        let v = Value::object([
            ("name", "n".into()),
            ("count", Value::Number(3.0)),
            ("on", Value::Bool(true)),
            ("tags", Value::set(vec!["b".into(), "a".into()])),
            ("labels", Value::Map([("k".to_string(), "v".into())].into())),
            (
                "pools",
                Value::List(vec![Value::object([("min", Value::Unknown)])]),
            ),
        ]);
        let bytes = encode_msgpack(&v, &object_type());
        assert_eq!(decode_msgpack(&bytes, &object_type()), Ok(v));
    }
}
