//! Registry documentation (`docs/`), generated from the schemas'
//! descriptions so the two cannot drift: `tests/docs.rs` fails when a file
//! in `docs/` differs from what this renders.

use std::fmt::Write as _;

use crate::framework::identity::IdentitySchema;
use crate::framework::schema::{Attribute, AttributeKind, Block, Mode, Nesting, Schema};
use crate::framework::types::Type;

/// `docs/resources/<name>.md` for one resource (the name without the
/// provider prefix, as the registry expects).
/// `import_block` is the `import` block form (`import-by-string-id.tf`),
/// `import` the CLI form (`import.sh`), as tfplugindocs names them.
pub fn resource_page(
    type_name: &str,
    schema: &Schema,
    example: &str,
    (import_block, import): (&str, &str),
    identity: Option<(&IdentitySchema, &str)>,
) -> String {
    let mut out = head("Resource", type_name, schema, example);
    if !import.is_empty() || !import_block.is_empty() {
        out.push_str("## Import\n\n");
    }
    if !import_block.is_empty() {
        let _ = writeln!(
            out,
            "In Terraform 1.5 and later, and OpenTofu, an `import` block takes the resource's ID:\n\n```terraform\n{}\n```\n",
            import_block.trim_end()
        );
    }
    if !import.is_empty() {
        let _ = writeln!(
            out,
            "The `terraform import` command takes the same IDs:\n\n```shell\n{}\n```\n",
            import.trim_end()
        );
    }
    if let Some((schema, example)) = identity {
        let _ = writeln!(
            out,
            "In Terraform 1.12 and later, and OpenTofu 1.12 and later, an `import` block can give the resource's identity instead:\n\n```terraform\n{}\n```\n",
            example.trim_end()
        );
        identity_section(&mut out, schema);
    }
    finish(out)
}

/// `docs/data-sources/<name>.md` for one data source.
pub fn data_source_page(type_name: &str, schema: &Schema, example: &str) -> String {
    finish(head("Data Source", type_name, schema, example))
}

/// `docs/ephemeral-resources/<name>.md` for one ephemeral resource.
pub fn ephemeral_page(type_name: &str, schema: &Schema, example: &str) -> String {
    finish(head("Ephemeral Resource", type_name, schema, example))
}

/// The front matter, description, example and schema of a page, as
/// tfplugindocs writes them for a `kind` ("Resource", "Data Source", ...).
fn head(kind: &str, type_name: &str, schema: &Schema, example: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "---\npage_title: \"{type_name} {kind} - genesis\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n",
        schema.block.description
    );
    let _ = writeln!(
        out,
        "# {type_name} ({kind})\n\n{}\n",
        schema.block.description
    );
    example_and_schema(&mut out, schema, example);
    out
}

/// The example and the schema's sections, as every page ends.
fn example_and_schema(out: &mut String, schema: &Schema, example: &str) {
    let _ = writeln!(
        out,
        "## Example Usage\n\n```terraform\n{}\n```\n",
        example.trim_end()
    );
    out.push_str("## Schema\n\n");
    block_sections(out, &schema.block, "");
}

fn finish(mut out: String) -> String {
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The identity's attributes, as tfplugindocs lists them.
fn identity_section(out: &mut String, schema: &IdentitySchema) {
    out.push_str("### Identity Schema\n\n");
    for (title, required) in [("Required", true), ("Optional", false)] {
        let attributes: Vec<_> = schema
            .attributes
            .iter()
            .filter(|a| a.required == required)
            .collect();
        if attributes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {title}\n");
        for a in attributes {
            let _ = writeln!(out, "- `{}` (String) {}", a.name, a.description);
        }
        out.push('\n');
    }
}

/// `docs/index.md`: the provider block.
pub fn provider_page(schema: &Schema, example: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "---\npage_title: \"genesis Provider\"\ndescription: |-\n  {}\n---\n",
        schema.block.description
    );
    let _ = writeln!(out, "# genesis Provider\n\n{}\n", schema.block.description);
    example_and_schema(&mut out, schema, example);
    out
}

/// A section of the schema page and the attributes it lists.
type Section = (&'static str, fn(&Attribute) -> bool);

fn block_sections(out: &mut String, block: &Block, anchor: &str) {
    let groups: [Section; 3] = [
        ("Required", |a| a.mode == Mode::Required),
        ("Optional", |a| {
            matches!(a.mode, Mode::Optional | Mode::OptionalComputed)
        }),
        ("Read-Only", |a| a.mode == Mode::Computed),
    ];
    let mut nested: Vec<(String, &[Attribute], Option<&Block>)> = Vec::new();
    for (title, pick) in groups {
        let mut attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pick(a)).collect();
        let blocks: Vec<_> = if title == "Optional" {
            block.blocks.iter().collect()
        } else {
            Vec::new()
        };
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        attrs.sort_by(|a, b| a.name.cmp(&b.name));
        let _ = writeln!(out, "### {title}\n");
        for a in attrs {
            let path = format!("{anchor}{}", a.name);
            let ty = match &a.kind {
                AttributeKind::Typed(t) => type_name(t),
                AttributeKind::Nested(n, attrs) => {
                    nested.push((path.clone(), attrs, None));
                    format!(
                        "{} (see [below for nested schema](#nestedatt--{}))",
                        nesting_name(*n),
                        path.replace('.', "--")
                    )
                }
            };
            let mut line = format!(
                "- `{}` ({ty}{}) {}",
                a.name,
                if a.sensitive { ", Sensitive" } else { "" },
                a.description
            );
            if let Some(default) = &a.default {
                let _ = write!(line, " Default: `{}`.", crate::docs::literal(default));
            }
            let _ = writeln!(out, "{line}");
        }
        for b in blocks {
            let path = format!("{anchor}{}", b.type_name);
            nested.push((path.clone(), &b.block.attributes, Some(&b.block)));
            let _ = writeln!(
                out,
                "- `{}` (Block {}, see [below for nested schema](#nestedblock--{})) {}",
                b.type_name,
                nesting_name(b.nesting),
                path.replace('.', "--"),
                b.block.description
            );
        }
        out.push('\n');
    }
    for (path, attrs, block) in nested {
        let kind = if block.is_some() {
            "nestedblock"
        } else {
            "nestedatt"
        };
        let _ = writeln!(
            out,
            "<a id=\"{kind}--{}\"></a>\n### Nested Schema for `{path}`\n",
            path.replace('.', "--")
        );
        let inner = match block {
            Some(b) => b.clone(),
            None => Block::new("", attrs.to_vec()),
        };
        block_sections(out, &inner, &format!("{path}."));
    }
}

fn nesting_name(n: Nesting) -> &'static str {
    match n {
        Nesting::Single => "Attributes",
        Nesting::List => "Attributes List",
        Nesting::Set => "Attributes Set",
        Nesting::Map => "Attributes Map",
    }
}

fn type_name(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
    }
}

/// A value as it would be written in HCL.
pub fn literal(v: &crate::framework::value::Value) -> String {
    use crate::framework::value::Value;
    match v {
        Value::Null => "null".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::List(items) | Value::Set(items) => {
            format!(
                "[{}]",
                items.iter().map(literal).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Map(m) | Value::Object(m) => format!(
            "{{ {} }}",
            m.iter()
                .map(|(k, v)| format!("{k} = {}", literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
