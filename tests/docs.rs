//! `docs/` is generated from the schemas and `examples/`; this test fails
//! when they drift. Regenerate with `GENESIS_UPDATE_DOCS=1 cargo test --test tests docs`.

use std::path::Path;

fn check(path: &Path, expected: &str) {
    if std::env::var_os("GENESIS_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date: run `GENESIS_UPDATE_DOCS=1 cargo test --test tests docs`",
        path.display()
    );
}

#[test]
fn docs_match_the_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
    for resource in genesis::resources::all() {
        let name = resource.type_name();
        let identity = resource.identity_schema();
        let by_identity = read(&format!("examples/resources/{name}/import-by-identity.tf"));
        let page = genesis::docs::resource_page(
            name,
            &resource.schema(),
            &read(&format!("examples/resources/{name}/resource.tf")),
            (
                &read(&format!("examples/resources/{name}/import-by-string-id.tf")),
                &read(&format!("examples/resources/{name}/import.sh")),
            ),
            identity
                .as_ref()
                .map(|schema| (schema, by_identity.as_str())),
        );
        let short = name.strip_prefix("genesis_").unwrap();
        check(&root.join(format!("docs/resources/{short}.md")), &page);
    }
    for source in genesis::resources::data_sources() {
        let name = source.type_name();
        let page = genesis::docs::data_source_page(
            name,
            &source.schema(),
            &read(&format!("examples/data-sources/{name}/data-source.tf")),
        );
        let short = name.strip_prefix("genesis_").unwrap();
        check(&root.join(format!("docs/data-sources/{short}.md")), &page);
    }
    for resource in genesis::resources::ephemeral_resources() {
        let name = resource.type_name();
        let page = genesis::docs::ephemeral_page(
            name,
            &resource.schema(),
            &read(&format!(
                "examples/ephemeral-resources/{name}/ephemeral-resource.tf"
            )),
        );
        let short = name.strip_prefix("genesis_").unwrap();
        check(
            &root.join(format!("docs/ephemeral-resources/{short}.md")),
            &page,
        );
    }
    for list in genesis::resources::list_resources() {
        let name = list.type_name();
        let page = genesis::docs::list_resource_page(
            name,
            &list.schema(),
            &read(&format!(
                "examples/list-resources/{name}/list-resource.tfquery.hcl"
            )),
        );
        let short = name.strip_prefix("genesis_").unwrap();
        check(&root.join(format!("docs/list-resources/{short}.md")), &page);
    }
    for action in genesis::resources::actions() {
        let name = action.type_name();
        let page = genesis::docs::action_page(
            name,
            &action.schema(),
            &read(&format!("examples/actions/{name}/action.tf")),
        );
        let short = name.strip_prefix("genesis_").unwrap();
        check(&root.join(format!("docs/actions/{short}.md")), &page);
    }
    for function in genesis::resources::functions::all() {
        let name = function.name();
        let page = genesis::docs::function_page(
            function.as_ref(),
            &read(&format!("examples/functions/{name}/function.tf")),
        );
        check(&root.join(format!("docs/functions/{name}.md")), &page);
    }
    let index = genesis::docs::provider_page(
        &genesis::provider::schema(),
        &read("examples/provider/provider.tf"),
    );
    check(&root.join("docs/index.md"), &index);
}

/// Every ID the Import sections show is one the resource's import accepts.
#[test]
fn the_documented_import_ids_are_accepted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let provider = genesis::provider::ProviderContext::default();
    for resource in genesis::resources::all() {
        let name = resource.type_name();
        let dir = root.join(format!("examples/resources/{name}"));
        let block = std::fs::read_to_string(dir.join("import-by-string-id.tf")).unwrap();
        let cli = std::fs::read_to_string(dir.join("import.sh")).unwrap();
        let mut ids: Vec<&str> = block
            .lines()
            .filter_map(|l| l.trim().strip_prefix("id = \""))
            .map(|l| l.trim_end_matches('"'))
            .collect();
        ids.extend(
            cli.lines()
                .filter_map(|l| l.strip_prefix("terraform import "))
                .filter_map(|l| l.split_whitespace().nth(1)),
        );
        assert!(ids.len() >= 3, "{name}: {ids:?}");
        for id in ids {
            if let Err(diags) = resource.import(&provider, id) {
                panic!("{name}: the documented ID {id:?} is refused: {diags:?}");
            }
        }
    }
}

/// Every identity the Import sections show names an object the resource's
/// import accepts, with the same ID as the identity read back from it.
#[test]
fn the_documented_identities_are_accepted() {
    use genesis::framework::value::Value;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let provider = genesis::provider::ProviderContext::default();
    for resource in genesis::resources::all() {
        let name = resource.type_name();
        let file = root.join(format!("examples/resources/{name}/import-by-identity.tf"));
        let text = std::fs::read_to_string(file).unwrap();
        let mut blocks = 0;
        for block in text.split("identity = {").skip(1) {
            let body = &block[..block.find('}').unwrap()];
            let parts: Vec<(String, Value)> = body
                .lines()
                .filter_map(|l| l.split_once(" = "))
                .map(|(k, v)| {
                    (
                        k.trim().to_string(),
                        Value::from(v.trim().trim_matches('"')),
                    )
                })
                .collect();
            let schema = resource.identity_schema().unwrap();
            let mut identity = std::collections::BTreeMap::new();
            for a in &schema.attributes {
                let v = parts
                    .iter()
                    .find(|(k, _)| k == a.name)
                    .map(|(_, v)| v.clone());
                identity.insert(a.name.to_string(), v.unwrap_or(Value::Null));
            }
            let identity = Value::Object(identity);
            let id = resource
                .import_id(&identity)
                .unwrap_or_else(|d| panic!("{name}: {identity:?} is refused: {d:?}"));
            let state = resource
                .import(&provider, &id)
                .unwrap_or_else(|d| panic!("{name}: {id:?} is refused: {d:?}"));
            assert_eq!(
                resource.identity(&state),
                Some(identity.clone()),
                "{name}: {id}"
            );
            blocks += 1;
        }
        assert!(blocks >= 2, "{name}: {blocks} identity blocks");
    }
}
