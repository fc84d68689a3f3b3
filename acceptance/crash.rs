//! Crash- and storm-safe applies (issue 14): a create whose response is
//! lost, or whose provider is killed, never orphans what it made. The next
//! attempt adopts its own object by its origin fingerprint, and nothing is
//! created twice.

use serde_json::json;

use crate::harness::{Sim, Workspace, each_terraform};

const CLUSTER: &str = "projects/p1/locations/us-central1-a/clusters/c";

fn config() -> String {
    r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {
  project = "p1"
  region  = "us-central1"
}

resource "genesis_cluster" "c" {
  name                  = "c"
  regional_cluster      = false
  zone                  = "us-central1-a"
  kubernetes_namespaces = ["apps"]
}

resource "genesis_node_pool" "pool" {
  cluster = genesis_cluster.c.id
  name    = "general"
}

resource "genesis_registry" "images" {
  name = "images"
}

resource "genesis_workload" "api" {
  cluster   = genesis_cluster.c.id
  namespace = "apps"
  name      = "api"
  image     = "nginx:1.27"
  service   = { ports = [{ port = 80 }] }
}
"#
    .to_string()
}

/// A moment of the apply at which the provider is killed, told by what the
/// simulator already holds.
type KillPoint = (&'static str, Box<dyn Fn(&Sim) -> bool>);

fn state_list(ws: &Workspace) -> String {
    ws.run(&["state", "list"]).assert_no_crash().stdout
}

/// Every create's response is cut after the create took effect: each is
/// retried, meets its own object, and adopts it.
#[test]
fn creates_whose_response_is_lost_adopt_their_own_object() {
    each_terraform(|tf| {
        let sim = Sim::start();
        for (api, method) in [
            ("gke", "container.projects.locations.clusters.create"),
            (
                "gke",
                "container.projects.locations.clusters.nodePools.create",
            ),
            (
                "artifactregistry",
                "artifactregistry.projects.locations.repositories.create",
            ),
        ] {
            assert_eq!(
                sim.control(
                    "POST",
                    "/_sim/faults",
                    Some(
                        json!({"api": api, "method": method, "drop_connection": true, "count": 1})
                    )
                ),
                204
            );
        }
        let ws = Workspace::new(tf, &[("main.tf", &config())]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let listed = state_list(&ws);
        for address in [
            "genesis_cluster.c",
            "genesis_node_pool.pool",
            "genesis_registry.images",
            "genesis_workload.api",
        ] {
            assert!(listed.contains(address), "{address} in state: {listed}");
        }
        assert_eq!(
            sim.running.sim.fault_rules()["rules"],
            json!([]),
            "every dropped response was met"
        );
        let state = sim.state();
        assert_eq!(
            state["gke"]["clusters"][CLUSTER]["nodePools"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "one pool, not two"
        );
        assert!(!ws.plan_has_changes());
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert!(state_list(&ws).trim().is_empty());
    });
}

/// The provider is killed while it waits on each create in turn; the next
/// plain apply adopts what the killed one made and converges, and destroy
/// leaves nothing behind.
#[test]
fn an_apply_killed_mid_create_converges_on_the_next() {
    each_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            operation_time: std::time::Duration::from_secs(2),
            rollout_time: std::time::Duration::from_secs(2),
            ..genesis_sim::Config::default()
        });
        let ws = Workspace::new(tf, &[("main.tf", &config())]).against(&sim);
        let objects = |sim: &Sim| sim.state()["kube"][CLUSTER]["objects"]["objects"].clone();
        // Kill points: the cluster being created, the pool being created,
        // the workload rolling out.
        let kill_points: [KillPoint; 3] = [
            (
                "cluster create",
                Box::new(|s: &Sim| s.state()["gke"]["clusters"][CLUSTER].is_object()),
            ),
            (
                "pool create",
                Box::new(|s: &Sim| {
                    s.state()["gke"]["clusters"][CLUSTER]["nodePools"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|p| p["name"] == "general"))
                }),
            ),
            (
                "workload rollout",
                Box::new(move |s: &Sim| objects(s)["apps/deployments/apps/api"].is_object()),
            ),
        ];
        for (point, reached) in &kill_points {
            let mut apply = ws.spawn(&["apply", "-input=false", "-auto-approve"]);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while !reached(&sim) {
                if apply.try_wait().ok().flatten().is_some() {
                    break; // already past this point: nothing to kill
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{point}: never reached"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            crate::faults::kill_with_children(apply.id());
            let _ = apply.kill();
            let _ = apply.wait();
        }
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes(), "the platform converged");
        let state = sim.state();
        assert_eq!(
            state["gke"]["clusters"][CLUSTER]["nodePools"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        let state = sim.state();
        assert!(
            state["gke"]["clusters"]
                .as_object()
                .is_none_or(|c| c.is_empty()),
            "no cluster is left: {:#}",
            state["gke"]["clusters"]
        );
        assert!(
            state["artifact_registry"]["repositories"]
                .as_object()
                .is_none_or(|r| r.is_empty()),
            "no repository is left: {:#}",
            state["artifact_registry"]
        );
    });
}

/// With no credentials anywhere (no settings, no key file, no gcloud
/// login, a metadata server that does not answer), an apply fails at once
/// and says what to set, instead of retrying until the timeout.
#[test]
fn missing_credentials_fail_fast_and_say_what_to_set() {
    each_terraform(|tf| {
        let closed = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port()
        };
        let ws = Workspace::new(tf, &[("main.tf", &config())]);
        let home = ws.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let ws = ws
            .with_env("HOME", home.to_str().unwrap())
            .with_env("GCE_METADATA_HOST", &format!("127.0.0.1:{}", closed()))
            .with_env(
                "GENESIS_GKE_ENDPOINT",
                &format!("http://127.0.0.1:{}", closed()),
            )
            .with_env(
                "GENESIS_ARTIFACT_REGISTRY_ENDPOINT",
                &format!("http://127.0.0.1:{}", closed()),
            );
        let started = std::time::Instant::now();
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        let took = started.elapsed();
        assert!(!run.status.success());
        assert!(
            run.stderr.contains("no usable Google credentials")
                && run.stderr.contains("GOOGLE_APPLICATION_CREDENTIALS")
                && run.stderr.contains("gcloud auth application-default login"),
            "{}",
            run.stderr
        );
        assert!(
            took < std::time::Duration::from_secs(30),
            "failed after {took:?}"
        );
    });
}

/// The seed of the storm, printed with every failure: rerun with
/// `GENESIS_CHAOS_SEED=N` to replay it.
fn chaos_seed() -> u64 {
    std::env::var("GENESIS_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// A storm on every face (30% 503, 10% 429 asking to wait a second, 10%
/// connections dropped after the request took effect): the platform is
/// applied and destroyed all the same, and nothing is left behind.
#[test]
fn the_platform_is_applied_and_destroyed_through_a_storm() {
    each_terraform(|tf| {
        let seed = chaos_seed();
        let sim = Sim::start_with(genesis_sim::Config {
            seed,
            ..genesis_sim::Config::default()
        });
        let storm = || {
            for fault in [
                json!({"api": "*", "method": "*", "status": 503, "rate": 0.3}),
                json!({"api": "*", "method": "*", "status": 429, "retry_after": 1, "rate": 0.1}),
                json!({"api": "*", "method": "*", "drop_connection": true, "rate": 0.1}),
            ] {
                assert_eq!(sim.control("POST", "/_sim/faults", Some(fault)), 204);
            }
        };
        let calm = || assert_eq!(sim.control("DELETE", "/_sim/faults", None), 204);
        let ws = Workspace::new(tf, &[("main.tf", &config())]).against(&sim);
        storm();
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(
            run.status.success(),
            "seed {seed}: the apply failed in the storm:\n{}",
            run.stderr
        );
        calm();
        assert!(!ws.plan_has_changes(), "seed {seed}: converged");
        storm();
        let run = ws
            .run(&["destroy", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(
            run.status.success(),
            "seed {seed}: the destroy failed in the storm:\n{}",
            run.stderr
        );
        calm();
        let state = sim.state();
        assert!(
            state["gke"]["clusters"]
                .as_object()
                .is_none_or(|c| c.is_empty())
                && state["artifact_registry"]["repositories"]
                    .as_object()
                    .is_none_or(|r| r.is_empty()),
            "seed {seed}: nothing is left: {:#}",
            state["gke"]["clusters"]
        );
    });
}
