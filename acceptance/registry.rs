//! genesis_registry on Artifact Registry, applied by the real Terraform
//! against genesis-sim: durations in the configuration's spelling never
//! show as a change, in-place updates, replacement, import, drift, destroy.

use crate::harness::{Sim, Workspace, each_terraform};

fn config(description: &str, older_than: &str, format: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_registry" "images" {{
  project_id     = "genesis-project-prod"
  region         = "us-central1"
  name           = "genesis-images"
  description    = "{description}"
  format         = "{format}"
  immutable_tags = {immutable}

  cleanup_policies = {{
    delete-old  = {{ action = "DELETE", older_than = "{older_than}" }}
    keep-recent = {{ action = "KEEP", keep_count = 20 }}
  }}
}}
"#,
        immutable = format == "DOCKER"
    )
}

const REPO: &str =
    "projects/genesis-project-prod/locations/us-central1/repositories/genesis-images";

#[test]
fn registry_lifecycle_against_the_simulator() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws =
            Workspace::new(tf, &[("main.tf", &config("Images", "90d", "DOCKER"))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let repo = &sim.state()["artifact_registry"]["repositories"][REPO];
        assert_eq!(
            repo["cleanupPolicies"]["delete-old"]["condition"]["olderThan"],
            "7776000s"
        );
        assert_eq!(
            repo["cleanupPolicies"]["keep-recent"]["mostRecentVersions"]["keepCount"],
            20
        );
        assert_eq!(repo["dockerConfig"]["immutableTags"], true);
        assert!(
            !ws.plan_has_changes(),
            "90d and the API's 7776000s are the same: no diff"
        );

        // The same duration spelled differently is still no change.
        ws.write("main.tf", &config("Images", "2160h", "DOCKER"));
        assert!(!ws.plan_has_changes(), "2160h is 90d");

        ws.write("main.tf", &config("Container images", "30d", "DOCKER"));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("1 to change, 0 to destroy"),
            "{}",
            plan.stdout
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let repo = &sim.state()["artifact_registry"]["repositories"][REPO];
        assert_eq!(repo["description"], "Container images");
        assert_eq!(
            repo["cleanupPolicies"]["delete-old"]["condition"]["olderThan"],
            "2592000s"
        );
        assert!(!ws.plan_has_changes());

        ws.run(&["state", "rm", "genesis_registry.images"]).ok();
        ws.run(&[
            "import",
            "-input=false",
            "genesis_registry.images",
            "genesis-project-prod/us-central1/genesis-images",
        ])
        .ok();
        assert!(
            !ws.plan_has_changes(),
            "an imported repository plans no change"
        );

        sim.control(
            "PATCH",
            &format!("/_sim/objects?name={REPO}"),
            Some(serde_json::json!({"description": "edited by hand"})),
        );
        assert!(ws.plan_has_changes(), "drift is detected");

        ws.write("main.tf", &config("Container images", "30d", "NPM"));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["artifact_registry"]["repositories"][REPO]["format"],
            "NPM"
        );

        sim.control("DELETE", &format!("/_sim/objects?name={REPO}"), None);
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["artifact_registry"]["repositories"],
            serde_json::json!({})
        );
    });
}
