//! Schemas: what a resource's configuration and state look like, with the
//! descriptions that become its documentation, and the per-attribute rules
//! (validation, defaults, replacement, equivalence) the framework enforces.

use std::sync::Arc;

use super::types::Type;
use super::value::Value;

/// Checks one known, non-null value; the error text says what is allowed.
pub type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// Tells whether two spellings of a value mean the same (`90d` and
/// `7776000s`); the prior spelling is then kept so no diff appears.
pub type Equivalence = fn(&Value, &Value) -> bool;

/// The schema of a resource or of the provider block.
#[derive(Clone)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

/// How the configuration may set an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    /// Set by the provider only.
    Computed,
    /// Set by the user or, when left out, by the provider.
    OptionalComputed,
}

/// How nested attributes or blocks repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
}

#[derive(Clone)]
pub enum AttributeKind {
    Typed(Type),
    Nested(Nesting, Vec<Attribute>),
}

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub kind: AttributeKind,
    pub description: String,
    pub mode: Mode,
    pub sensitive: bool,
    /// Sent by Terraform in the configuration but never stored in plan or
    /// state (Terraform 1.11+): no change to it is ever a diff.
    pub write_only: bool,
    /// A change to this attribute replaces the resource.
    pub force_new: bool,
    /// The value planned when the configuration leaves the attribute out.
    pub default: Option<Value>,
    pub validators: Vec<Validator>,
    pub equivalence: Option<Equivalence>,
}

#[derive(Clone)]
pub struct NestedBlock {
    pub type_name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub max_items: i64,
    /// A single block whose value is never null: written or not, it is an
    /// object (Terraform's "group" nesting), so leaving it out and writing
    /// it empty are the same and never a diff.
    pub group: bool,
}

impl Attribute {
    fn new(name: &str, kind: AttributeKind) -> Self {
        Attribute {
            name: name.to_string(),
            kind,
            description: String::new(),
            mode: Mode::Optional,
            sensitive: false,
            write_only: false,
            force_new: false,
            default: None,
            validators: Vec::new(),
            equivalence: None,
        }
    }

    pub fn string(name: &str) -> Self {
        Attribute::new(name, AttributeKind::Typed(Type::String))
    }

    pub fn number(name: &str) -> Self {
        Attribute::new(name, AttributeKind::Typed(Type::Number))
    }

    pub fn bool(name: &str) -> Self {
        Attribute::new(name, AttributeKind::Typed(Type::Bool))
    }

    pub fn typed(name: &str, ty: Type) -> Self {
        Attribute::new(name, AttributeKind::Typed(ty))
    }

    pub fn string_list(name: &str) -> Self {
        Attribute::typed(name, Type::list(Type::String))
    }

    pub fn string_set(name: &str) -> Self {
        Attribute::typed(name, Type::set(Type::String))
    }

    pub fn string_map(name: &str) -> Self {
        Attribute::typed(name, Type::map(Type::String))
    }

    /// An object attribute: `name = { ... }`.
    pub fn object(name: &str, attributes: Vec<Attribute>) -> Self {
        Attribute::new(name, AttributeKind::Nested(Nesting::Single, attributes))
    }

    /// A list of objects: `name = [{ ... }, ...]`.
    pub fn object_list(name: &str, attributes: Vec<Attribute>) -> Self {
        Attribute::new(name, AttributeKind::Nested(Nesting::List, attributes))
    }

    /// A map of objects: `name = { key = { ... } }`.
    pub fn object_map(name: &str, attributes: Vec<Attribute>) -> Self {
        Attribute::new(name, AttributeKind::Nested(Nesting::Map, attributes))
    }

    #[must_use]
    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    #[must_use]
    pub fn required(mut self) -> Self {
        self.mode = Mode::Required;
        self
    }

    /// Set by the provider only.
    #[must_use]
    pub fn computed(mut self) -> Self {
        self.mode = Mode::Computed;
        self
    }

    /// Optional, and computed by the provider when left out.
    #[must_use]
    pub fn optional_computed(mut self) -> Self {
        self.mode = Mode::OptionalComputed;
        self
    }

    /// Optional and computed, planned as `value` when left out.
    #[must_use]
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.mode = Mode::OptionalComputed;
        self.default = Some(value.into());
        self
    }

    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// See `write_only` above; only for optional, non-computed values.
    #[must_use]
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    #[must_use]
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    #[must_use]
    pub fn validate(
        mut self,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.validators.push(Arc::new(check));
        self
    }

    #[must_use]
    pub fn equivalent_when(mut self, same: Equivalence) -> Self {
        self.equivalence = Some(same);
        self
    }

    pub fn is_computed(&self) -> bool {
        matches!(self.mode, Mode::Computed | Mode::OptionalComputed)
    }

    /// The nested attributes of an object-valued attribute.
    pub fn nested(&self) -> Option<(Nesting, &[Attribute])> {
        match &self.kind {
            AttributeKind::Nested(n, attrs) => Some((*n, attrs)),
            AttributeKind::Typed(_) => None,
        }
    }

    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeKind::Typed(t) => t.clone(),
            AttributeKind::Nested(nesting, attrs) => wrap(*nesting, object_type(attrs, &[])),
        }
    }
}

impl NestedBlock {
    /// A block written at most once.
    pub fn single(type_name: &str, block: Block) -> Self {
        NestedBlock {
            type_name: type_name.to_string(),
            nesting: Nesting::Single,
            block,
            max_items: 0,
            group: false,
        }
    }

    /// A block written at most once whose value is an object even when it
    /// is left out: `timeouts { ... }`.
    pub fn group(type_name: &str, block: Block) -> Self {
        NestedBlock {
            group: true,
            ..NestedBlock::single(type_name, block)
        }
    }

    /// A block that may repeat: `namespace { ... }`.
    pub fn list(type_name: &str, block: Block) -> Self {
        NestedBlock {
            type_name: type_name.to_string(),
            nesting: Nesting::List,
            block,
            max_items: 0,
            group: false,
        }
    }

    pub fn value_type(&self) -> Type {
        wrap(self.nesting, self.block.value_type())
    }
}

impl Block {
    pub fn new(description: &str, attributes: Vec<Attribute>) -> Self {
        Block {
            description: description.to_string(),
            attributes,
            blocks: Vec::new(),
        }
    }

    #[must_use]
    pub fn with_block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn value_type(&self) -> Type {
        object_type(&self.attributes, &self.blocks)
    }

    /// An object with every attribute and nested block of this block null.
    pub fn null_object(&self) -> Value {
        Value::Object(
            self.attributes
                .iter()
                .map(|a| a.name.clone())
                .chain(self.blocks.iter().map(|b| b.type_name.clone()))
                .map(|name| (name, Value::Null))
                .collect(),
        )
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn nested_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.type_name == name)
    }
}

fn object_type(attributes: &[Attribute], blocks: &[NestedBlock]) -> Type {
    Type::Object(
        attributes
            .iter()
            .map(|a| (a.name.clone(), a.value_type()))
            .chain(blocks.iter().map(|b| (b.type_name.clone(), b.value_type())))
            .collect(),
    )
}

fn wrap(nesting: Nesting, object: Type) -> Type {
    match nesting {
        Nesting::Single => object,
        Nesting::List => Type::list(object),
        Nesting::Set => Type::set(object),
        Nesting::Map => Type::map(object),
    }
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Self {
        Schema { version, block }
    }

    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

impl Block {
    /// The longest prefix of `path` that Terraform can show in the
    /// configuration: through blocks, to an attribute, and at most one
    /// element into it. Terraform cannot point inside an attribute's value
    /// any deeper, so a diagnostic about `taints[0].effect` points at
    /// `taints[0]` and names the rest in its summary.
    pub fn locatable(&self, path: &super::path::AttributePath) -> super::path::AttributePath {
        use super::path::Step;
        let steps = path.steps();
        let mut out = Vec::new();
        let mut block = self;
        let mut i = 0;
        while let Some(Step::Attribute(name)) = steps.get(i) {
            out.push(steps[i].clone());
            i += 1;
            let next_is_element = matches!(steps.get(i), Some(Step::Index(_) | Step::Key(_)));
            match block.nested_block(name) {
                Some(nested) if nested.nesting == Nesting::Single => block = &nested.block,
                Some(nested) if next_is_element => {
                    out.push(steps[i].clone());
                    i += 1;
                    block = &nested.block;
                }
                Some(_) => break,
                None => {
                    if next_is_element {
                        out.push(steps[i].clone());
                    }
                    break;
                }
            }
        }
        super::path::AttributePath::from_steps(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::path::AttributePath;

    #[test]
    fn paths_are_cut_where_terraform_stops_looking() {
        let block = Block::new(
            "",
            vec![
                Attribute::object_list("taints", vec![Attribute::string("effect")]),
                Attribute::string("name"),
            ],
        )
        .with_block(NestedBlock::list(
            "namespace",
            Block::new(
                "",
                vec![Attribute::object("quota", vec![Attribute::string("cpu")])],
            ),
        ));
        let taint = AttributePath::attr("taints").index(0).join("effect");
        assert_eq!(block.locatable(&taint).to_string(), "taints[0]");
        let quota = AttributePath::attr("namespace")
            .index(1)
            .join("quota")
            .join("cpu");
        assert_eq!(block.locatable(&quota).to_string(), "namespace[1].quota");
        assert_eq!(
            block.locatable(&AttributePath::attr("name")).to_string(),
            "name"
        );
    }
}
