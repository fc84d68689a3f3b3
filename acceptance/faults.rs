//! Applies under injected faults: every apply either succeeds or fails with
//! a clear diagnostic, and afterwards Terraform's state and the simulator's
//! agree (nothing orphaned, nothing lost).

use serde_json::json;

use crate::harness::{Sim, Workspace, each_terraform};

fn config(name: &str, create_timeout: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_cluster" "c" {{
  project_id = "p"
  region     = "us-central1"
  name       = "{name}"
  timeouts {{
    create = "{create_timeout}"
  }}
}}
"#
    )
}

fn cluster(name: &str) -> String {
    format!("projects/p/locations/us-central1/clusters/{name}")
}

fn state_list(ws: &Workspace) -> String {
    ws.run(&["state", "list"]).stdout
}

#[test]
fn transient_errors_are_retried() {
    each_terraform(|tf| {
        let sim = Sim::start();
        // A storm of 503s and 429s on every GKE method.
        sim.control(
            "POST",
            "/_sim/faults",
            Some(json!({"api": "gke", "method": "*", "status": 503, "count": 3})),
        );
        sim.control("POST", "/_sim/faults", Some(json!({"api": "gke", "method": "container.projects.locations.clusters.create", "status": 429, "retry_after": 1, "count": 2})));
        let ws = Workspace::new(tf, &[("main.tf", &config("stormy", "10m"))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["gke"]["clusters"][cluster("stormy")]["status"],
            "RUNNING"
        );
        assert!(state_list(&ws).contains("genesis_cluster.c"));
        assert!(!ws.plan_has_changes());
    });
}

#[test]
fn a_failed_creation_is_kept_and_tainted_then_replaced() {
    each_terraform(|tf| {
        let sim = Sim::start();
        sim.control("POST", "/_sim/faults", Some(json!({"fail_operations": 1})));
        let ws = Workspace::new(tf, &[("main.tf", &config("broken", "10m"))]).against(&sim);
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(!run.status.success());
        assert!(
            run.stderr.contains("Failed to create the GKE cluster")
                && run.stderr.contains("failed"),
            "{}",
            run.stderr
        );
        // The cluster exists (in ERROR) and Terraform knows it, tainted.
        assert_eq!(
            sim.state()["gke"]["clusters"][cluster("broken")]["status"],
            "ERROR"
        );
        let show = ws.run(&["show", "-json"]).ok().json();
        let resource = &show["values"]["root_module"]["resources"][0];
        assert_eq!(resource["address"], "genesis_cluster.c");
        assert_eq!(resource["tainted"], true, "{show:#}");
        // The next apply replaces it.
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .ok();
        assert!(
            run.stdout.contains("1 added, 0 changed, 1 destroyed"),
            "{}",
            run.stdout
        );
        assert_eq!(
            sim.state()["gke"]["clusters"][cluster("broken")]["status"],
            "RUNNING"
        );
        assert!(!ws.plan_has_changes());
    });
}

#[test]
fn a_stuck_operation_times_out_without_losing_the_cluster() {
    each_terraform(|tf| {
        let sim = Sim::start();
        sim.control("POST", "/_sim/faults", Some(json!({"stuck_operations": 1})));
        let ws = Workspace::new(tf, &[("main.tf", &config("stuck", "3s"))]).against(&sim);
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(!run.status.success());
        assert!(run.stderr.contains("still not done"), "{}", run.stderr);
        assert!(sim.state()["gke"]["clusters"][cluster("stuck")].is_object());
        assert!(
            state_list(&ws).contains("genesis_cluster.c"),
            "the cluster is in Terraform's state"
        );
    });
}
