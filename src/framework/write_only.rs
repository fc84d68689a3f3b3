//! Write-only attributes and group blocks: the shape that keeps settings
//! such as `timeouts` out of plans and state.
//!
//! A write-only attribute reaches the provider in the configuration only;
//! Terraform requires it to be null in every plan and state the provider
//! returns (and, for a client that predates write-only attributes, it is an
//! ordinary attribute: the plan then keeps the configured value). A group
//! block is never null, so a configuration that leaves it out and an import
//! that cannot know it agree. Write-only attributes are supported at the top
//! level and inside single (and group) blocks, with primitive values.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::schema::{Block, Nesting};
use super::value::Value;

/// Sets every write-only attribute of `value` to its value in `source`, or
/// to null without a source.
pub fn copy_write_only(block: &Block, value: &mut Value, source: Option<&Value>) {
    if !matches!(value, Value::Object(_)) {
        return;
    }
    for attr in block.attributes.iter().filter(|a| a.write_only) {
        let v = source.map_or(Value::Null, |s| s.get(&attr.name).clone());
        value.set_attr(&attr.name, v);
    }
    for nested in single_blocks(block) {
        if let Some(inner) = value.get_mut(&nested.type_name) {
            let source = source.map(|s| s.get(&nested.type_name));
            copy_write_only(&nested.block, inner, source);
        }
    }
}

/// Every group block that is null becomes an object of nulls.
pub fn fill_groups(block: &Block, value: &mut Value) {
    if !matches!(value, Value::Object(_)) {
        return;
    }
    for nested in &block.blocks {
        let Some(inner) = value.get_mut(&nested.type_name) else {
            continue;
        };
        if nested.group && inner.is_null() {
            *inner = empty(&nested.block);
        }
        if nested.nesting == Nesting::Single {
            fill_groups(&nested.block, inner);
        }
    }
}

fn empty(block: &Block) -> Value {
    let mut value = block.null_object();
    fill_groups(block, &mut value);
    value
}

/// The write-only values set in `value`, by dotted path, for keeping in
/// private data.
pub fn collect(block: &Block, value: &Value) -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    collect_into(block, value, "", &mut out);
    out
}

fn collect_into(block: &Block, value: &Value, prefix: &str, out: &mut BTreeMap<String, Json>) {
    for attr in block.attributes.iter().filter(|a| a.write_only) {
        let json = match value.get(&attr.name) {
            Value::String(s) => Json::from(s.as_str()),
            Value::Bool(b) => Json::from(*b),
            Value::Number(n) => Json::from(*n),
            _ => continue,
        };
        out.insert(format!("{prefix}{}", attr.name), json);
    }
    for nested in single_blocks(block) {
        let prefix = format!("{prefix}{}.", nested.type_name);
        collect_into(&nested.block, value.get(&nested.type_name), &prefix, out);
    }
}

/// Puts values kept by `collect` back into `value`'s write-only attributes.
pub fn restore(block: &Block, value: &mut Value, kept: &BTreeMap<String, Json>) {
    restore_from(block, value, "", kept);
}

fn restore_from(block: &Block, value: &mut Value, prefix: &str, kept: &BTreeMap<String, Json>) {
    if !matches!(value, Value::Object(_)) {
        return;
    }
    for attr in block.attributes.iter().filter(|a| a.write_only) {
        let restored = match kept.get(&format!("{prefix}{}", attr.name)) {
            Some(Json::String(s)) => Value::from(s.as_str()),
            Some(Json::Bool(b)) => Value::Bool(*b),
            Some(Json::Number(n)) => n.as_f64().map_or(Value::Null, Value::Number),
            _ => continue,
        };
        value.set_attr(&attr.name, restored);
    }
    for nested in single_blocks(block) {
        let prefix = format!("{prefix}{}.", nested.type_name);
        if let Some(inner) = value.get_mut(&nested.type_name) {
            restore_from(&nested.block, inner, &prefix, kept);
        }
    }
}

fn single_blocks(block: &Block) -> impl Iterator<Item = &super::schema::NestedBlock> {
    block.blocks.iter().filter(|b| b.nesting == Nesting::Single)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock};

    fn block() -> Block {
        Block::new("", vec![Attribute::string("name")]).with_block(NestedBlock::group(
            "timeouts",
            Block::new(
                "",
                vec![
                    Attribute::string("create").write_only(),
                    Attribute::string("delete").write_only(),
                ],
            ),
        ))
    }

    #[test]
    fn groups_are_never_null() {
        let mut v = Value::object([("name", "x".into()), ("timeouts", Value::Null)]);
        fill_groups(&block(), &mut v);
        assert_eq!(
            v.get("timeouts"),
            &Value::object([("create", Value::Null), ("delete", Value::Null)])
        );
    }

    #[test]
    fn write_only_values_are_hidden_kept_and_restored() {
        let config = Value::object([
            ("name", "x".into()),
            (
                "timeouts",
                Value::object([("create", Value::Null), ("delete", "1h".into())]),
            ),
        ]);
        let mut planned = config.clone();
        copy_write_only(&block(), &mut planned, None);
        assert_eq!(planned.get("timeouts").get("delete"), &Value::Null);
        assert_eq!(planned.get("name"), &Value::from("x"));
        let kept = collect(&block(), &config);
        assert_eq!(kept.len(), 1);
        restore(&block(), &mut planned, &kept);
        assert_eq!(planned, config);
    }
}
