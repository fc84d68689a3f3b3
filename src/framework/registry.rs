//! The types a provider serves of one sort (data sources, ephemeral
//! resources), by type name, each with its schema, and the validation all
//! sorts share: the schema's rules, then the type's own.

use std::collections::BTreeMap;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::path::AttributePath;
use super::plan::validate_block;
use super::schema::Schema;
use super::value::Value;

pub struct Registered<T: ?Sized> {
    pub item: Box<T>,
    pub schema: Schema,
}

pub struct Registry<T: ?Sized> {
    items: BTreeMap<&'static str, Registered<T>>,
    /// What the sort is called in messages (`data source`).
    what: &'static str,
    /// The configuration block that declares one (`data`).
    block: &'static str,
}

impl<T: ?Sized> Registry<T> {
    pub fn new(what: &'static str, block: &'static str) -> Self {
        Registry {
            items: BTreeMap::new(),
            what,
            block,
        }
    }

    pub fn insert(&mut self, name: &'static str, item: Box<T>, schema: Schema) {
        self.items.insert(name, Registered { item, schema });
    }

    pub fn schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.items.iter().map(|(name, r)| (*name, &r.schema))
    }

    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.items.get(name).map(|r| &r.schema)
    }

    /// The type `name`, or the diagnostic for a type the provider lacks.
    pub fn get(&self, name: &str) -> Result<&Registered<T>, Diagnostics> {
        self.items.get(name).ok_or_else(|| {
            Diagnostic::error(
                format!("Unknown {}", self.what),
                format!(
                    "This provider has no {} {name:?}. Check the {} block's type and the provider's version.",
                    self.what, self.block
                ),
            )
            .into()
        })
    }
}

/// `config` checked against the schema's rules, then `rules` (a type's
/// own), with every path one Terraform can point at.
pub fn validate(
    schema: &Schema,
    config: &Value,
    rules: impl FnOnce(&mut Diagnostics),
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    validate_block(&schema.block, config, &AttributePath::root(), &mut diags);
    rules(&mut diags);
    locatable(schema, diags)
}

/// Diagnostics whose paths are cut to the nearest one Terraform can show.
pub fn locatable(schema: &Schema, diags: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::new();
    for mut d in diags {
        d.path = d.path.map(|p| schema.block.locatable(&p));
        out.push(d);
    }
    out
}
