//! `terraform providers schema -json` shows every resource, with the
//! attributes users rely on and a description for each.

use crate::harness::{Workspace, each_terraform};

const MAIN_TF: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}
"#;

#[test]
fn every_resource_and_key_attribute_is_in_the_schema() {
    each_terraform(|tf| {
        let ws = Workspace::new(tf, &[("main.tf", MAIN_TF)]);
        let schema = ws.run(&["providers", "schema", "-json"]).ok().json();
        let provider =
            &schema["provider_schemas"][format!("{}/genesis-platform/genesis", tf.registry_host())];
        let expected: &[(&str, &[&str])] = &[
            (
                "genesis_cluster",
                &[
                    "name",
                    "cloud",
                    "project_id",
                    "region",
                    "zone",
                    "regional_cluster",
                    "environment",
                    "enable_autopilot",
                    "release_channel",
                    "kubernetes_version",
                    "network",
                    "subnetwork",
                    "enable_private_cluster",
                    "enable_private_endpoint",
                    "master_ipv4_cidr_block",
                    "master_authorized_networks",
                    "enable_workload_identity",
                    "enable_binary_authorization",
                    "enable_network_policy",
                    "enable_shielded_nodes",
                    "enable_managed_prometheus",
                    "monitoring_components",
                    "logging_components",
                    "labels",
                    "deletion_protection",
                    "kubernetes_namespaces",
                    "endpoint",
                    "ca_certificate",
                    "status",
                    "location",
                    "self_link",
                ],
            ),
            (
                "genesis_node_pool",
                &[
                    "cluster",
                    "name",
                    "machine_type",
                    "disk_size_gb",
                    "disk_type",
                    "image_type",
                    "initial_node_count",
                    "enable_autoscaling",
                    "min_nodes",
                    "max_nodes",
                    "node_pool_type",
                    "workload_type",
                    "preemptible",
                    "spot",
                    "taints",
                    "labels",
                    "node_locations",
                    "auto_repair",
                    "auto_upgrade",
                    "max_surge",
                    "max_unavailable",
                ],
            ),
            (
                "genesis_registry",
                &[
                    "cloud",
                    "project_id",
                    "region",
                    "name",
                    "description",
                    "format",
                    "immutable_tags",
                    "vulnerability_scanning",
                    "cleanup_policies",
                    "cleanup_policy_dry_run",
                    "labels",
                    "repository_url",
                ],
            ),
            (
                "genesis_workload",
                &[
                    "cluster",
                    "kubeconfig_path",
                    "kubeconfig_context",
                    "namespace",
                    "name",
                    "image",
                    "command",
                    "args",
                    "env",
                    "secret_env",
                    "config_data",
                    "ports",
                    "replicas",
                    "autoscaling",
                    "resources",
                    "liveness_probe",
                    "readiness_probe",
                    "startup_probe",
                    "strategy",
                    "service",
                    "ingress",
                    "disruption_budget",
                    "network_policy",
                    "security_context",
                    "service_account",
                    "node_selector",
                    "tolerations",
                    "node_pool",
                    "labels",
                    "annotations",
                    "wait_for_rollout",
                    "status",
                ],
            ),
        ];
        for (resource, attributes) in expected {
            let block = &provider["resource_schemas"][resource]["block"];
            assert!(block.is_object(), "{resource} missing from the schema");
            for attr in *attributes {
                let a = &block["attributes"][attr];
                assert!(a.is_object(), "{resource}.{attr} missing from the schema");
                let description = a["description"].as_str().unwrap_or_default();
                assert!(
                    description.len() > 10,
                    "{resource}.{attr} has no description"
                );
            }
            assert!(
                block["block_types"]["timeouts"].is_object(),
                "{resource} has no timeouts block"
            );
        }
        let cluster = &provider["resource_schemas"]["genesis_cluster"]["block"];
        assert_eq!(cluster["attributes"]["name"]["required"], true);
        assert_eq!(cluster["attributes"]["endpoint"]["computed"], true);
        assert!(cluster["block_types"]["namespace"].is_object());
        let pool = &provider["resource_schemas"]["genesis_node_pool"]["block"];
        // taints are a list attribute, as in the module, not a block.
        assert_eq!(
            pool["attributes"]["taints"]["nested_type"]["nesting_mode"],
            "list"
        );
        let settings = &provider["provider"]["block"]["attributes"];
        for setting in [
            "project",
            "region",
            "credentials",
            "access_token",
            "gke_endpoint",
            "artifact_registry_endpoint",
            "aws_region",
        ] {
            assert!(
                settings[setting].is_object(),
                "provider setting {setting} missing"
            );
        }
        assert_eq!(settings["access_token"]["sensitive"], true);
        assert_eq!(settings["credentials"]["sensitive"], true);
    });
}

/// Runs HashiCorp's tfplugindocs (`scripts/peers tfplugindocs`) `validate`
/// on a copy of `docs/` against the schema Terraform reports; returns its
/// success and its output.
fn tfplugindocs_validate(schema: &serde_json::Value, extra_doc: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = std::process::Command::new("cp")
        .args(["-r", repo.join("docs").to_str().unwrap()])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(copy.success());
    if let Some(name) = extra_doc {
        std::fs::write(dir.path().join("docs/resources").join(name), "# stray\n").unwrap();
    }
    // tfplugindocs finds a provider by its short name (or under
    // registry.terraform.io/hashicorp/), not under another namespace.
    let mut schema = schema.clone();
    let ours = schema["provider_schemas"]["registry.terraform.io/genesis-platform/genesis"].take();
    assert!(ours.is_object(), "the schema has the provider");
    schema["provider_schemas"] = serde_json::json!({ "genesis": ours });
    let schema_file = dir.path().join("schema.json");
    std::fs::write(&schema_file, schema.to_string()).unwrap();
    let out = std::process::Command::new(crate::harness::peer("tfplugindocs"))
        .args([
            "validate",
            "--provider-name",
            "genesis",
            "--providers-schema",
        ])
        .arg(&schema_file)
        .current_dir(dir.path())
        .output()
        .expect("tfplugindocs runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// The registry's documentation checks, by HashiCorp's own tool: every
/// resource has a page, every page a resource, frontmatter and layout as
/// the registry expects.
#[test]
fn documentation_passes_tfplugindocs_validate() {
    let tf = &crate::harness::terraforms()[0];
    let ws = Workspace::new(tf, &[("main.tf", MAIN_TF)]);
    let schema = ws.run(&["providers", "schema", "-json"]).ok().json();
    let (ok, report) = tfplugindocs_validate(&schema, None);
    assert!(ok, "tfplugindocs validate fails on docs/:\n{report}");
    // And it does check: a page for no resource fails it.
    let (ok, report) = tfplugindocs_validate(&schema, Some("stray.md"));
    assert!(!ok && report.contains("stray.md"), "{report}");
}
