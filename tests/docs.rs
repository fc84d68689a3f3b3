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
        let page = genesis::docs::resource_page(
            name,
            &resource.schema(),
            &read(&format!("examples/resources/{name}/resource.tf")),
            &read(&format!("examples/resources/{name}/import.sh")),
        );
        let short = name.strip_prefix("genesis_").unwrap();
        check(&root.join(format!("docs/resources/{short}.md")), &page);
    }
    let index = genesis::docs::provider_page(
        &genesis::provider::schema(),
        &read("examples/provider/provider.tf"),
    );
    check(&root.join("docs/index.md"), &index);
}
