//! The schema-driven parts of planning and validation that every resource
//! shares: attribute validators, defaults, unknown computed values,
//! replacement paths and equivalent spellings.

use super::diagnostics::Diagnostics;
use super::path::AttributePath;
use super::schema::{Attribute, Block, Mode, Nesting};
use super::value::Value;

/// Runs every attribute's validators over a configuration. Unknown and null
/// values are skipped: they are checked again at plan and apply.
pub fn validate_block(
    block: &Block,
    config: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    for attr in &block.attributes {
        validate_attribute(attr, config.get(&attr.name), &path.join(&attr.name), diags);
    }
    for nested in &block.blocks {
        let value = config.get(&nested.type_name);
        let path = path.join(&nested.type_name);
        match nested.nesting {
            Nesting::Single => validate_block(&nested.block, value, &path, diags),
            Nesting::List | Nesting::Set => {
                for (i, item) in value.elements().iter().enumerate() {
                    validate_block(&nested.block, item, &path.index(i), diags);
                }
            }
            Nesting::Map => {
                for (k, item) in value.entries().into_iter().flatten() {
                    validate_block(&nested.block, item, &path.key(k), diags);
                }
            }
        }
    }
}

fn validate_attribute(
    attr: &Attribute,
    value: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    if value.is_null() || value.is_unknown() {
        return;
    }
    for check in &attr.validators {
        if let Err(message) = check(value) {
            diags.attribute_error(path.clone(), format!("Invalid value for {path}"), message);
        }
    }
    if let Some((nesting, attrs)) = attr.nested() {
        for_each_nested(nesting, value, path, |item, item_path| {
            for inner in attrs {
                validate_attribute(
                    inner,
                    item.get(&inner.name),
                    &item_path.join(&inner.name),
                    diags,
                );
            }
        });
    }
}

fn for_each_nested(
    nesting: Nesting,
    value: &Value,
    path: &AttributePath,
    mut visit: impl FnMut(&Value, AttributePath),
) {
    match nesting {
        Nesting::Single => visit(value, path.clone()),
        Nesting::List | Nesting::Set => {
            for (i, item) in value.elements().iter().enumerate() {
                visit(item, path.index(i));
            }
        }
        Nesting::Map => {
            for (k, item) in value.entries().into_iter().flatten() {
                visit(item, path.key(k));
            }
        }
    }
}

/// The configuration as it will be planned: every attribute the
/// configuration leaves null takes its schema default, nested ones
/// included; nothing else changes (unknowns stay unknown, computed values
/// stay null). A rule across attributes that depends on a value, not on
/// whether the user wrote it, reads it here, so a defaulted value (a
/// Service's `type`) is checked as if written out and the default is
/// stated once, in the schema. (Rules about what was written, such as a
/// setting that does not apply to a cloud, read the configuration.)
pub fn with_defaults(block: &Block, config: &Value) -> Value {
    // One copy, filled in place: validation and planning call this for
    // every resource, and copying each attribute again would double the
    // allocations.
    let mut out = config.clone();
    fill_defaults(block, &mut out);
    out
}

fn fill_defaults(block: &Block, value: &mut Value) {
    let Value::Object(attributes) = value else {
        return;
    };
    fill_attributes(&block.attributes, attributes);
    for nested in &block.blocks {
        match attributes.get_mut(&nested.type_name) {
            Some(v @ Value::Object(_)) => fill_defaults(&nested.block, v),
            Some(Value::List(items)) => {
                for item in items {
                    fill_defaults(&nested.block, item);
                }
            }
            Some(_) => {}
            None => {
                attributes.insert(nested.type_name.clone(), Value::Null);
            }
        }
    }
}

/// Every attribute of `attrs` in `object`: its default where null (or
/// absent), nested defaults inside what is set.
fn fill_attributes(attrs: &[Attribute], object: &mut std::collections::BTreeMap<String, Value>) {
    for attr in attrs {
        match object.get_mut(&attr.name) {
            Some(slot) => fill_attribute(attr, slot),
            None => {
                let mut slot = Value::Null;
                fill_attribute(attr, &mut slot);
                object.insert(attr.name.clone(), slot);
            }
        }
    }
}

fn fill_attribute(attr: &Attribute, slot: &mut Value) {
    if slot.is_null() {
        if let (Mode::OptionalComputed, Some(default)) = (attr.mode, &attr.default) {
            *slot = default.clone();
        }
        return;
    }
    let Some((nesting, attrs)) = attr.nested() else {
        return;
    };
    let object = |item: &mut Value| {
        if let Value::Object(inner) = item {
            fill_attributes(attrs, inner);
        }
    };
    match (nesting, slot) {
        (Nesting::Single, v) => object(v),
        (Nesting::List, Value::List(items)) => items.iter_mut().for_each(object),
        (Nesting::Set, slot) => {
            if let Value::Set(items) = slot {
                items.iter_mut().for_each(object);
                // Filled members may now sort (or compare) differently.
                let items = std::mem::take(items);
                *slot = Value::set(items);
            }
        }
        (Nesting::Map, Value::Map(entries)) => entries.values_mut().for_each(object),
        _ => {}
    }
}

/// Builds the planned state from Terraform's proposed new state: defaults
/// for attributes the configuration leaves out, unknown for computed values
/// of a new resource, the prior spelling where the configuration's is
/// equivalent.
pub fn plan_block(block: &Block, proposed: &Value, config: &Value, prior: &Value) -> Value {
    let mut planned = proposed.clone();
    if !matches!(planned, Value::Object(_)) {
        return planned;
    }
    for attr in &block.attributes {
        let value = plan_attribute(
            attr,
            proposed.get(&attr.name),
            config.get(&attr.name),
            prior.get(&attr.name),
            prior.is_null(),
        );
        planned.set_attr(&attr.name, value);
    }
    for nested in &block.blocks {
        let proposed_v = proposed.get(&nested.type_name);
        let config_v = config.get(&nested.type_name);
        let value = match (nested.nesting, proposed_v) {
            (Nesting::Single, Value::Object(_)) => plan_block(
                &nested.block,
                proposed_v,
                config_v,
                prior.get(&nested.type_name),
            ),
            (Nesting::List, Value::List(items)) => Value::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let cfg = config_v.elements().get(i).unwrap_or(&Value::Null);
                        let old = prior
                            .get(&nested.type_name)
                            .elements()
                            .get(i)
                            .unwrap_or(&Value::Null);
                        plan_block(&nested.block, item, cfg, old)
                    })
                    .collect(),
            ),
            _ => proposed_v.clone(),
        };
        planned.set_attr(&nested.type_name, value);
    }
    planned
}

fn plan_attribute(
    attr: &Attribute,
    proposed: &Value,
    config: &Value,
    prior: &Value,
    creating: bool,
) -> Value {
    if config.is_null() {
        return match (attr.mode, &attr.default) {
            (Mode::OptionalComputed, Some(default)) => default.clone(),
            (Mode::Computed | Mode::OptionalComputed, None) if creating => Value::Unknown,
            _ => proposed.clone(),
        };
    }
    if config.is_unknown() {
        return Value::Unknown;
    }
    if let Some(same) = attr.equivalence
        && !prior.is_null()
        && !prior.is_unknown()
        && same(prior, config)
    {
        return prior.clone();
    }
    let Some((nesting, attrs)) = attr.nested() else {
        return proposed.clone();
    };
    let plan_object = |proposed: &Value, config: &Value, prior: &Value| -> Value {
        if !matches!(proposed, Value::Object(_)) {
            return proposed.clone();
        }
        let mut out = proposed.clone();
        for inner in attrs {
            let v = plan_attribute(
                inner,
                proposed.get(&inner.name),
                config.get(&inner.name),
                prior.get(&inner.name),
                creating || prior.is_null(),
            );
            out.set_attr(&inner.name, v);
        }
        out
    };
    match (nesting, proposed) {
        (Nesting::Single, _) => plan_object(proposed, config, prior),
        (Nesting::List, Value::List(items)) => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    plan_object(
                        item,
                        config.elements().get(i).unwrap_or(&Value::Null),
                        prior.elements().get(i).unwrap_or(&Value::Null),
                    )
                })
                .collect(),
        ),
        (Nesting::Set, Value::Set(items)) => Value::set(
            items
                .iter()
                .map(|item| plan_object(item, item, &Value::Null))
                .collect(),
        ),
        (Nesting::Map, Value::Map(entries)) => Value::Map(
            entries
                .iter()
                .map(|(k, item)| (k.clone(), plan_object(item, config.get(k), prior.get(k))))
                .collect(),
        ),
        _ => proposed.clone(),
    }
}

/// The attributes whose planned change replaces the resource.
pub fn requires_replace(block: &Block, prior: &Value, planned: &Value) -> Vec<AttributePath> {
    let mut paths = Vec::new();
    if prior.is_null() || planned.is_null() {
        return paths;
    }
    collect_replacements(
        &block.attributes,
        prior,
        planned,
        &AttributePath::root(),
        &mut paths,
    );
    paths
}

fn collect_replacements(
    attrs: &[Attribute],
    prior: &Value,
    planned: &Value,
    path: &AttributePath,
    paths: &mut Vec<AttributePath>,
) {
    for attr in attrs {
        let old = prior.get(&attr.name);
        let new = planned.get(&attr.name);
        let attr_path = path.join(&attr.name);
        if attr.force_new {
            if old != new && !attr.equivalence.is_some_and(|same| same(old, new)) {
                paths.push(attr_path);
            }
        } else if let Some((Nesting::Single, inner)) = attr.nested()
            && !old.is_null()
            && !new.is_null()
        {
            collect_replacements(inner, old, new, &attr_path, paths);
        }
    }
}

/// `keep_equivalent` for a whole block, nested blocks included.
pub fn keep_equivalent_block(block: &Block, value: &mut Value, reference: &Value) {
    keep_equivalent(&block.attributes, value, reference);
    for nested in &block.blocks {
        let old = reference.get(&nested.type_name);
        let Some(new) = value.get_mut(&nested.type_name) else {
            continue;
        };
        match (nested.nesting, &mut *new) {
            (Nesting::Single, _) => keep_equivalent_block(&nested.block, new, old),
            (Nesting::List, Value::List(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Some(r) = old.elements().get(i) {
                        keep_equivalent_block(&nested.block, item, r);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Where `value` spells an attribute differently from `reference` but with
/// the same meaning, takes the reference's spelling. Used on refresh (the
/// API's `7776000s` against the configuration's `90d`) and after apply.
pub fn keep_equivalent(attrs: &[Attribute], value: &mut Value, reference: &Value) {
    if reference.is_null() || reference.is_unknown() {
        return;
    }
    for attr in attrs {
        let old = reference.get(&attr.name);
        let Some(new) = value.get_mut(&attr.name) else {
            continue;
        };
        if let Some(same) = attr.equivalence {
            if !old.is_null() && !old.is_unknown() && new != old && same(old, new) {
                *new = old.clone();
            }
            continue;
        }
        let Some((nesting, inner)) = attr.nested() else {
            continue;
        };
        match (nesting, &mut *new) {
            (Nesting::Single, _) => keep_equivalent(inner, new, old),
            (Nesting::List, Value::List(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Some(reference) = old.elements().get(i) {
                        keep_equivalent(inner, item, reference);
                    }
                }
            }
            (Nesting::Map, Value::Map(entries)) => {
                for (k, item) in entries.iter_mut() {
                    keep_equivalent(inner, item, old.get(k));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attribute;

    fn block() -> Block {
        Block::new(
            "test",
            vec![
                Attribute::string("name").required().force_new(),
                Attribute::string("id").computed(),
                Attribute::bool("flag").default(true),
                Attribute::string("size").equivalent_when(|a, b| {
                    a.as_str().map(str::to_lowercase) == b.as_str().map(str::to_lowercase)
                }),
                Attribute::object_list(
                    "items",
                    vec![
                        Attribute::string("key").required(),
                        Attribute::string("effect").default("NoSchedule"),
                    ],
                ),
            ],
        )
    }

    fn config(name: &str, size: &str) -> Value {
        Value::object([
            ("name", name.into()),
            ("id", Value::Null),
            ("flag", Value::Null),
            ("size", size.into()),
            (
                "items",
                Value::List(vec![Value::object([
                    ("key", "a".into()),
                    ("effect", Value::Null),
                ])]),
            ),
        ])
    }

    #[test]
    fn create_plans_defaults_and_unknown_computed_values() {
        let cfg = config("x", "big");
        let planned = plan_block(&block(), &cfg, &cfg, &Value::Null);
        assert_eq!(planned.get("id"), &Value::Unknown);
        assert_eq!(planned.get("flag"), &Value::Bool(true));
        assert_eq!(
            planned.get("items").elements()[0].get("effect"),
            &Value::from("NoSchedule")
        );
    }

    #[test]
    fn defaults_fill_what_the_configuration_leaves_out_and_nothing_else() {
        let mut cfg = config("x", "big");
        cfg.set_attr("size", Value::Unknown);
        let effective = with_defaults(&block(), &cfg);
        assert_eq!(effective.get("flag"), &Value::Bool(true));
        assert_eq!(
            effective.get("items").elements()[0].get("effect"),
            &Value::from("NoSchedule")
        );
        assert_eq!(effective.get("id"), &Value::Null, "computed stays null");
        assert_eq!(
            effective.get("size"),
            &Value::Unknown,
            "unknown stays unknown"
        );
        cfg.set_attr("flag", false.into());
        assert_eq!(
            with_defaults(&block(), &cfg).get("flag"),
            &Value::Bool(false)
        );
    }

    #[test]
    fn update_keeps_computed_values_and_equivalent_spellings() {
        let cfg = config("x", "big");
        let prior = plan_block(&block(), &cfg, &cfg, &Value::Null);
        let mut prior = prior;
        prior.set_attr("id", "abc".into());
        prior.set_attr("size", "BIG".into());
        let mut proposed = config("x", "big");
        proposed.set_attr("id", "abc".into());
        let planned = plan_block(&block(), &proposed, &config("x", "big"), &prior);
        assert_eq!(planned.get("id"), &Value::from("abc"));
        assert_eq!(planned.get("size"), &Value::from("BIG"));
        assert!(requires_replace(&block(), &prior, &planned).is_empty());
    }

    #[test]
    fn changing_a_force_new_attribute_requires_replacement() {
        let cfg = config("x", "big");
        let prior = plan_block(&block(), &cfg, &cfg, &Value::Null);
        let planned = plan_block(&block(), &config("y", "big"), &config("y", "big"), &prior);
        assert_eq!(
            requires_replace(&block(), &prior, &planned),
            vec![AttributePath::attr("name")]
        );
    }

    #[test]
    fn refresh_keeps_the_configured_spelling() {
        let attrs = block().attributes;
        let reference = config("x", "big");
        let mut remote = config("x", "BIG");
        keep_equivalent(&attrs, &mut remote, &reference);
        assert_eq!(remote.get("size"), &Value::from("big"));
    }

    #[test]
    fn validators_report_the_attribute_path() {
        let attrs = vec![Attribute::object_list(
            "items",
            vec![Attribute::string("key").validate(|v| {
                if v.as_str() == Some("bad") {
                    Err("not bad".into())
                } else {
                    Ok(())
                }
            })],
        )];
        let block = Block::new("", attrs);
        let cfg = Value::object([(
            "items",
            Value::List(vec![
                Value::object([("key", "ok".into())]),
                Value::object([("key", "bad".into())]),
            ]),
        )]);
        let mut diags = Diagnostics::new();
        validate_block(&block, &cfg, &AttributePath::root(), &mut diags);
        let d: Vec<_> = diags.into_iter().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path.as_ref().unwrap().to_string(), "items[1].key");
    }
}
