//! Values as Terraform sends and expects them: possibly null, possibly
//! unknown (not yet known at plan time), with collections and objects.

use std::collections::BTreeMap;

use super::path::AttributePath;
use super::types::Type;

/// A Terraform value. Sets keep their elements in a canonical order so that
/// two sets with the same members compare equal.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Unknown,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A set value with duplicates removed and members in canonical order.
    pub fn set(mut members: Vec<Value>) -> Value {
        members.sort_by(canonical_order);
        members.dedup();
        Value::Set(members)
    }

    pub fn object<'a>(attributes: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Object(
            attributes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// This value shaped to `ty`: attributes the object type has and the
    /// value lacks become null, others are dropped, and objects become maps
    /// where the type says map.
    pub fn conform(self, ty: &Type) -> Value {
        match (self, ty) {
            (Value::Object(mut m) | Value::Map(mut m), Type::Object(attrs)) => Value::Object(
                attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), m.remove(k).unwrap_or_default().conform(t)))
                    .collect(),
            ),
            (Value::Object(m) | Value::Map(m), Type::Map(t)) => {
                Value::Map(m.into_iter().map(|(k, v)| (k, v.conform(t))).collect())
            }
            (Value::List(v), Type::List(t)) => {
                Value::List(v.into_iter().map(|x| x.conform(t)).collect())
            }
            (Value::List(v) | Value::Set(v), Type::Set(t)) => {
                Value::set(v.into_iter().map(|x| x.conform(t)).collect())
            }
            (v, _) => v,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// Known and not null. Rules across attributes ask this (and
    /// `is_null`): an unknown value (a variable at `terraform validate`,
    /// another resource's attribute at plan) is neither set nor null, so a
    /// rule that involves it waits until Terraform validates again with the
    /// value known.
    pub fn is_set(&self) -> bool {
        !matches!(self, Value::Null | Value::Unknown)
    }

    /// A bool, `default` when null; `None` while unknown.
    pub fn bool_or(&self, default: bool) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Unknown => None,
            _ => Some(default),
        }
    }

    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) => v.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The number as an integer, when it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Some(*n as i64),
            _ => None,
        }
    }

    /// Elements of a list or set; empty for null and unknown.
    pub fn elements(&self) -> &[Value] {
        match self {
            Value::List(v) | Value::Set(v) => v,
            _ => &[],
        }
    }

    /// Entries of a map or object; `None` for anything else.
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// An attribute of an object; null when absent or when self is null.
    pub fn get(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name).unwrap_or(&NULL),
            Value::Unknown => {
                static UNKNOWN: Value = Value::Unknown;
                &UNKNOWN
            }
            _ => &NULL,
        }
    }

    /// Mutable access to an attribute of an object.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute of an object; no effect on other values.
    pub fn set_attr(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = self {
            // Most calls replace an attribute Terraform sent: no new key.
            match m.get_mut(name) {
                Some(slot) => *slot = value,
                None => {
                    m.insert(name.to_string(), value);
                }
            }
        }
    }

    /// Follows a path of attribute names and element keys.
    pub fn at(&self, path: &AttributePath) -> &Value {
        use super::path::Step;
        static NULL: Value = Value::Null;
        let mut current = self;
        for step in path.steps() {
            current = match (step, current) {
                (Step::Attribute(name), v) => v.get(name),
                (Step::Key(key), Value::Map(m)) => m.get(key).unwrap_or(&NULL),
                (Step::Index(i), Value::List(v) | Value::Set(v)) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| v.get(i))
                    .unwrap_or(&NULL),
                (_, Value::Unknown) => current,
                _ => &NULL,
            };
        }
        current
    }

    /// A list of strings from a list or set value; unknown and null members
    /// are skipped.
    pub fn string_elements(&self) -> Vec<&str> {
        self.elements().iter().filter_map(Value::as_str).collect()
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n as f64)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A total order on values, used to keep set members canonical.
pub fn canonical_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Unknown => 1,
            Value::Bool(_) => 2,
            Value::Number(_) => 3,
            Value::String(_) => 4,
            Value::List(_) => 5,
            Value::Set(_) => 6,
            Value::Map(_) => 7,
            Value::Object(_) => 8,
        }
    }
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.total_cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = canonical_order(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Map(x), Value::Map(y)) | (Value::Object(x), Value::Object(y)) => {
            for ((k1, v1), (k2, v2)) in x.iter().zip(y) {
                let o = k1.cmp(k2).then_with(|| canonical_order(v1, v2));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_with_the_same_members_are_equal() {
        let a = Value::set(vec!["b".into(), "a".into(), "a".into()]);
        let b = Value::set(vec!["a".into(), "b".into()]);
        assert_eq!(a, b);
    }

    #[test]
    fn nested_unknowns_are_found() {
        let v = Value::object([("a", Value::List(vec![Value::Unknown]))]);
        assert!(!v.is_wholly_known());
        assert!(Value::object([("a", Value::Null)]).is_wholly_known());
    }

    #[test]
    fn integers_are_recognised() {
        assert_eq!(Value::Number(3.0).as_i64(), Some(3));
        assert_eq!(Value::Number(3.5).as_i64(), None);
    }
}
