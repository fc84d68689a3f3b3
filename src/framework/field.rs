//! A typed attribute that knows what Terraform knows: a value, null (left
//! out, with no default), or unknown (known only after apply, such as
//! another resource's computed attribute), as terraform-plugin-framework's
//! `types.String` with `IsNull` and `IsUnknown`.
//!
//! Models for validation and planning (see `view`) type their attributes
//! `Field<T>`, so a rule cannot read an unknown as a value: it must say
//! what it does while the value is unknown (usually: wait; Terraform
//! validates and plans again once it is known). A plain field (`T`) in such
//! a model promises the value is always known; the decoder refuses an
//! unknown that lands in one, naming its path, rather than inventing a
//! value.

use super::value::Value;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value as Json;

/// The key of the JSON object that stands for an unknown value while a
/// `Value` is decoded through serde (no HCL attribute can be named so).
pub(super) const UNKNOWN: &str = "\u{1}unknown";

/// Whether `json` is the stand-in for an unknown value.
pub(super) fn is_unknown(json: &Json) -> bool {
    json.as_object()
        .is_some_and(|o| o.len() == 1 && o.contains_key(UNKNOWN))
}

fn holds_unknown(json: &Json) -> bool {
    match json {
        Json::Array(items) => items.iter().any(holds_unknown),
        Json::Object(entries) => is_unknown(json) || entries.values().any(holds_unknown),
        _ => false,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Left out, and the schema has no default.
    #[default]
    Null,
    /// Known only after apply.
    Unknown,
    Known(T),
}

impl<T> Field<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }

    /// Known and not null.
    pub fn is_set(&self) -> bool {
        matches!(self, Field::Known(_))
    }

    /// Whether it is set; `None` while unknown (a rule that asks waits).
    pub fn set(&self) -> Option<bool> {
        match self {
            Field::Unknown => None,
            other => Some(other.is_set()),
        }
    }

    /// The value, or `default` when null; `None` while unknown.
    pub fn or(&self, default: T) -> Option<T>
    where
        T: Clone,
    {
        match self {
            Field::Known(v) => Some(v.clone()),
            Field::Null => Some(default),
            Field::Unknown => None,
        }
    }

    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Known(v) => Field::Known(v),
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
        }
    }

    /// How many of `fields` are set (for "exactly one of" rules); `None`
    /// while any is unknown.
    pub fn count_set<'a>(fields: impl IntoIterator<Item = &'a Field<T>>) -> Option<usize>
    where
        T: 'a,
    {
        fields.into_iter().try_fold(0, |n, f| match f {
            Field::Unknown => None,
            Field::Null => Some(n),
            Field::Known(_) => Some(n + 1),
        })
    }

    /// A field inside this one (`f` of the known value): null or unknown
    /// as this one is.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Field<U>) -> Field<U> {
        match self {
            Field::Known(v) => f(v),
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Known(v) => Field::Known(f(v)),
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
        }
    }
}

/// A field as the value it was decoded from: a planned value computed from
/// a field keeps its null and its unknown.
impl<T: Into<Value>> From<Field<T>> for Value {
    fn from(field: Field<T>) -> Self {
        match field {
            Field::Known(v) => v.into(),
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
        }
    }
}

impl Field<String> {
    pub fn as_str(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

/// Any value, for a `Field` that only tells whether an attribute is set:
/// `Field<Whole>` is unknown while any part of the value is (a list with
/// one unknown member), where `Field<IgnoredAny>` would be known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Whole;

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        if holds_unknown(&json) {
            return Err(de::Error::custom("not wholly known"));
        }
        Ok(Whole)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        if json.is_null() {
            return Ok(Field::Null);
        }
        if is_unknown(&json) {
            return Ok(Field::Unknown);
        }
        match T::deserialize(&json) {
            Ok(v) => Ok(Field::Known(v)),
            // A collection with unknown members is unknown as a whole,
            // unless its type takes them (fields of its own).
            Err(_) if holds_unknown(&json) => Ok(Field::Unknown),
            Err(e) => Err(de::Error::custom(e)),
        }
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Known(v) => v.serialize(serializer),
            Field::Null => serializer.serialize_none(),
            Field::Unknown => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(UNKNOWN, &true)?;
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nested_field_is_null_or_unknown_as_its_parent_is() {
        let inner = |parent: Field<Field<u8>>| parent.and_then(|p| p);
        assert_eq!(inner(Field::Known(Field::Known(1))), Field::Known(1));
        assert_eq!(inner(Field::Known(Field::Null)), Field::Null);
        assert_eq!(inner(Field::Null), Field::Null);
        assert_eq!(inner(Field::Unknown), Field::Unknown);
        let (one, none, unknown) = (Field::Known(1), Field::Null, Field::Unknown);
        assert_eq!(Field::count_set([&one, &none, &one]), Some(2));
        assert_eq!(Field::count_set([&one, &unknown]), None, "waits");
    }

    #[test]
    fn fields_tell_known_null_and_unknown_apart() {
        let known: Field<i64> = serde_json::from_value(json!(5)).unwrap();
        assert_eq!(known, Field::Known(5));
        let null: Field<i64> = serde_json::from_value(json!(null)).unwrap();
        assert_eq!((null.or(3), null.set()), (Some(3), Some(false)));
        let unknown: Field<i64> = serde_json::from_value(json!({ UNKNOWN: true })).unwrap();
        assert_eq!((unknown.or(3), unknown.set()), (None, None));
        let partly: Field<Vec<String>> =
            serde_json::from_value(json!(["a", { UNKNOWN: true }])).unwrap();
        assert!(partly.is_unknown(), "a list with an unknown member");
        assert!(serde_json::from_value::<Field<i64>>(json!("x")).is_err());
        assert_eq!(
            serde_json::to_value(Field::<i64>::Unknown).unwrap(),
            json!({ UNKNOWN: true })
        );
    }
}
