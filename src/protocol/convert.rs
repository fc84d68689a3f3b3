//! Conversions between generated protocol messages and framework types.
//! Generated types go no further than the protocol layer.

use super::codec::{self, CodecError};
use super::generated::tfplugin6 as pb;
use crate::framework::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::framework::identity::IdentitySchema;
use crate::framework::path::{AttributePath, Step};
use crate::framework::schema::{
    Attribute, AttributeKind, Block, Mode, NestedBlock, Nesting, Schema,
};
use crate::framework::types::Type;
use crate::framework::value::Value;

pub fn diagnostics(diags: Diagnostics) -> Vec<pb::Diagnostic> {
    diags.into_iter().map(diagnostic).collect()
}

fn diagnostic(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        } as i32,
        summary: d.summary,
        detail: d.detail,
        attribute: d.path.filter(|p| !p.is_root()).map(|p| attribute_path(&p)),
    }
}

pub fn attribute_path(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: path
            .steps()
            .iter()
            .map(|step| pb::attribute_path::Step {
                selector: Some(match step {
                    Step::Attribute(name) => Selector::AttributeName(name.clone()),
                    Step::Key(key) => Selector::ElementKeyString(key.clone()),
                    Step::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// Decodes a `DynamicValue` of the given type; a missing value is null.
pub fn decode(value: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    let Some(value) = value else {
        return Ok(Value::Null);
    };
    let result = if !value.msgpack.is_empty() {
        codec::decode_msgpack(&value.msgpack, ty)
    } else if !value.json.is_empty() {
        codec::decode_json(&value.json, ty)
    } else {
        Ok(Value::Null)
    };
    result.map_err(invalid_value)
}

pub fn invalid_value(e: CodecError) -> Diagnostics {
    Diagnostic::error(
        "Invalid value received from Terraform",
        format!("The provider could not decode a value sent by Terraform: {e}. This usually means Terraform and the provider disagree about the schema: run `terraform init -upgrade`, and report it if it persists."),
    )
    .into()
}

pub fn encode(value: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: codec::encode_msgpack(value, ty),
        json: Vec::new(),
    }
}

pub fn schema(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(block(&schema.block, schema.version)),
    }
}

fn block(b: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b.blocks.iter().map(nested_block).collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    let (ty, nested_type) = match &a.kind {
        AttributeKind::Typed(t) => (t.to_json().to_string().into_bytes(), None),
        AttributeKind::Nested(nesting, attrs) => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: attrs.iter().map(attribute).collect(),
                nesting: match nesting {
                    Nesting::Single => pb::schema::object::NestingMode::Single,
                    Nesting::List => pb::schema::object::NestingMode::List,
                    Nesting::Set => pb::schema::object::NestingMode::Set,
                    Nesting::Map => pb::schema::object::NestingMode::Map,
                } as i32,
                ..Default::default()
            }),
        ),
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.mode == Mode::Required,
        optional: matches!(a.mode, Mode::Optional | Mode::OptionalComputed),
        computed: a.is_computed(),
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: a.write_only,
    }
}

fn nested_block(b: &NestedBlock) -> pb::schema::NestedBlock {
    pb::schema::NestedBlock {
        type_name: b.type_name.clone(),
        block: Some(block(&b.block, 0)),
        nesting: match b.nesting {
            Nesting::Single if b.group => pb::schema::nested_block::NestingMode::Group,
            Nesting::Single => pb::schema::nested_block::NestingMode::Single,
            Nesting::List => pb::schema::nested_block::NestingMode::List,
            Nesting::Set => pb::schema::nested_block::NestingMode::Set,
            Nesting::Map => pb::schema::nested_block::NestingMode::Map,
        } as i32,
        min_items: 0,
        max_items: b.max_items,
    }
}

pub fn identity_schema(schema: &IdentitySchema) -> pb::ResourceIdentitySchema {
    pb::ResourceIdentitySchema {
        version: schema.version,
        identity_attributes: schema
            .attributes
            .iter()
            .map(|a| pb::resource_identity_schema::IdentityAttribute {
                name: a.name.to_string(),
                r#type: Type::String.to_json().to_string().into_bytes(),
                required_for_import: a.required,
                optional_for_import: !a.required,
                description: a.description.to_string(),
            })
            .collect(),
    }
}

/// The functions' signatures, by name.
pub fn functions(
    functions: &crate::framework::function::Functions,
) -> std::collections::HashMap<String, pb::Function> {
    let markdown = pb::StringKind::Markdown as i32;
    functions
        .all()
        .map(|f| {
            let parameters = f
                .parameters()
                .into_iter()
                .map(|p| pb::function::Parameter {
                    name: p.name.to_string(),
                    r#type: p.ty.to_json().to_string().into_bytes(),
                    allow_null_value: false,
                    allow_unknown_values: false,
                    description: p.description.to_string(),
                    description_kind: markdown,
                })
                .collect();
            let function = pb::Function {
                parameters,
                variadic_parameter: None,
                r#return: Some(pb::function::Return {
                    r#type: f.returns().to_json().to_string().into_bytes(),
                }),
                summary: f.summary().to_string(),
                description: f.description().to_string(),
                description_kind: markdown,
                deprecation_message: String::new(),
            };
            (f.name().to_string(), function)
        })
        .collect()
}
