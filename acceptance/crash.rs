//! Crash- and storm-safe applies (issue 14): a create whose response is
//! lost, or whose provider is killed, never orphans what it made. The next
//! attempt adopts its own object by its origin fingerprint, and nothing is
//! created twice.

use serde_json::json;

use crate::harness::{Sim, Workspace, each_terraform, first_terraform};

const CLUSTER: &str = "projects/p1/locations/us-central1-a/clusters/c";

/// A GKE platform: a zonal cluster, a pool, a repository and a workload.
pub fn config() -> String {
    config_v(1)
}

/// The platform; version 2 changes the cluster's labels, the pool's
/// autoscaling bounds, the repository's labels and the workload's image, all
/// changes made in place.
fn config_v(version: u32) -> String {
    let (labels, max_nodes, image) = if version == 1 {
        ("{ tier = \"one\" }", 3, "nginx:1.27")
    } else {
        ("{ tier = \"two\" }", 5, "nginx:1.28")
    };
    let platform = r#"
resource "genesis_cluster" "c" {
  name                  = "c"
  regional_cluster      = false
  zone                  = "us-central1-a"
  kubernetes_namespaces = ["apps"]
  labels                = LABELS
}

resource "genesis_node_pool" "pool" {
  cluster   = genesis_cluster.c.id
  name      = "general"
  min_nodes = 1
  max_nodes = MAX_NODES
}

resource "genesis_registry" "images" {
  name   = "images"
  labels = LABELS
}

resource "genesis_workload" "api" {
  cluster   = genesis_cluster.c.id
  namespace = "apps"
  name      = "api"
  image     = "IMAGE"
  service   = { ports = [{ port = 80 }] }
}
"#;
    format!("{}{platform}", crate::harness::GKE_PREAMBLE)
        .replace("LABELS", labels)
        .replace("MAX_NODES", &max_nodes.to_string())
        .replace("IMAGE", image)
}

/// A moment of the apply at which the provider is killed, told by what the
/// simulator already holds.
pub type KillPoint = (&'static str, Box<dyn Fn(&Sim) -> bool>);

fn state_list(ws: &Workspace) -> String {
    ws.run(&["state", "list"]).assert_no_crash().stdout
}

/// Every create's response is cut after the create took effect: each is
/// retried, meets its own object, and adopts it.
#[test]
fn creates_whose_response_is_lost_adopt_their_own_object() {
    first_terraform(|tf| {
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

/// Runs `args` again and again, killing the provider with SIGKILL as soon
/// as each point is reached; Terraform then fails the run with "plugin
/// crashed" and saves its state, as after a real crash. (Killing Terraform
/// too could cut its local state file mid-write, a loss no provider can
/// make up for.) A run that gets past a point before it is seen is left to
/// finish; the count is of the providers killed.
pub fn kill_at(ws: &Workspace, sim: &Sim, args: &[&str], points: &[KillPoint]) -> usize {
    let mut killed = 0;
    for (point, reached) in points {
        let mut run = ws.spawn(args);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            if reached(sim) && crate::faults::kill_provider(run.id()) {
                killed += 1;
                break;
            }
            if run.try_wait().ok().flatten().is_some() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{point}: never reached"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = run.wait();
    }
    killed
}

/// The provider is killed with SIGKILL at twelve points of the platform's
/// life: during each create, each in-place update and each delete. After
/// each phase a plain apply (or destroy) converges: no change left, nothing
/// created twice, and nothing left behind at the end.
#[test]
fn applies_killed_at_twelve_points_converge() {
    each_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            operation_time: std::time::Duration::from_secs(2),
            rollout_time: std::time::Duration::from_secs(2),
            ..genesis_sim::Config::default()
        });
        let ws = Workspace::new(tf, &[("main.tf", &config_v(1))]).against(&sim);
        fn cluster(s: &Sim) -> serde_json::Value {
            s.state()["gke"]["clusters"][CLUSTER].clone()
        }
        fn object(s: &Sim, key: &str) -> serde_json::Value {
            s.state()["kube"][CLUSTER]["objects"]["objects"][key].clone()
        }
        fn pool(s: &Sim) -> serde_json::Value {
            cluster(s)["nodePools"]
                .as_array()
                .and_then(|p| p.iter().find(|p| p["name"] == "general").cloned())
                .unwrap_or_default()
        }
        fn repository(s: &Sim) -> serde_json::Value {
            s.state()["artifact_registry"]["repositories"]
                ["projects/p1/locations/us-central1/repositories/images"]
                .clone()
        }
        let apply = ["apply", "-input=false", "-auto-approve"];
        // Artifact Registry refuses a second create of the name while the
        // first one's operation runs, before it serves the repository.
        fn repository_being_made(s: &Sim) -> bool {
            s.state()["artifact_registry"]["operations"]
                .as_object()
                .is_some_and(|ops| {
                    ops.values()
                        .any(|op| op["creates"].is_object() && op["body"]["done"] == false)
                })
        }
        let creates: [KillPoint; 6] = [
            ("cluster create", Box::new(|s: &Sim| cluster(s).is_object())),
            (
                "repository create, its operation running",
                Box::new(repository_being_made),
            ),
            (
                "repository create",
                Box::new(|s: &Sim| repository(s).is_object()),
            ),
            ("pool create", Box::new(|s: &Sim| pool(s).is_object())),
            (
                "namespace create",
                Box::new(|s: &Sim| object(s, "/namespaces//apps").is_object()),
            ),
            (
                "workload create",
                Box::new(|s: &Sim| object(s, "apps/deployments/apps/api").is_object()),
            ),
        ];
        let mut killed = kill_at(&ws, &sim, &apply, &creates);
        ws.run(&apply).ok();
        assert!(!ws.plan_has_changes(), "converged after the creates");

        ws.write("main.tf", &config_v(2));
        let updates: [KillPoint; 3] = [
            (
                "cluster update",
                Box::new(|s: &Sim| cluster(s)["resourceLabels"]["tier"] == "two"),
            ),
            (
                "pool update",
                Box::new(|s: &Sim| pool(s)["autoscaling"]["maxNodeCount"] == 5),
            ),
            (
                "workload update",
                Box::new(|s: &Sim| {
                    object(s, "apps/deployments/apps/api")["spec"]["template"]["spec"]["containers"]
                        [0]["image"]
                        == "nginx:1.28"
                }),
            ),
        ];
        killed += kill_at(&ws, &sim, &apply, &updates);
        ws.run(&apply).ok();
        assert!(!ws.plan_has_changes(), "converged after the updates");

        let destroy = ["destroy", "-input=false", "-auto-approve"];
        let deletes: [KillPoint; 3] = [
            (
                "workload delete",
                Box::new(|s: &Sim| !object(s, "apps/deployments/apps/api").is_object()),
            ),
            (
                "pool delete",
                Box::new(|s: &Sim| !pool(s).is_object() || pool(s)["status"] == "STOPPING"),
            ),
            (
                "cluster delete",
                Box::new(|s: &Sim| cluster(s)["status"] == "STOPPING" || !cluster(s).is_object()),
            ),
        ];
        killed += kill_at(&ws, &sim, &destroy, &deletes);
        ws.run(&destroy).ok();
        assert!(state_list(&ws).trim().is_empty(), "nothing left in state");
        // A delete the killed destroy started may still be finishing.
        let settled = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while cluster(&sim).is_object() && std::time::Instant::now() < settled {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let state = sim.state();
        assert!(
            state["gke"]["clusters"]
                .as_object()
                .is_none_or(|c| c.is_empty())
                && state["artifact_registry"]["repositories"]
                    .as_object()
                    .is_none_or(|r| r.is_empty()),
            "nothing left in the cloud: {:#}",
            state["gke"]
        );
        eprintln!("killed at {killed} of 12 points");
        assert!(
            killed >= 6,
            "most points were reached and killed at: {killed}"
        );
    });
}

/// Artifact Registry creates a repository through a long-running operation
/// and refuses a second create of the name while it runs, before it serves
/// the repository. A provider killed then, and an apply run again at once,
/// meets "already exists" for a repository it cannot read yet: it waits
/// until it can, finds its own fingerprint and adopts it (before, the apply
/// failed with ALREADY_EXISTS and destroy left the repository behind).
#[test]
fn a_repository_create_killed_while_its_operation_runs_is_adopted() {
    first_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            operation_time: std::time::Duration::from_secs(6),
            ..genesis_sim::Config::default()
        });
        let config = format!(
            r#"{}
resource "genesis_registry" "images" {{
  name             = "images"
  cleanup_policies = {{ keep = {{ action = "KEEP", keep_count = 5 }} }}
}}
"#,
            crate::harness::GKE_PREAMBLE
        );
        let ws = Workspace::new(tf, &[("main.tf", &config)]).against(&sim);
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let running = |s: &Sim| {
            s.state()["artifact_registry"]["operations"]
                .as_object()
                .is_some_and(|ops| {
                    ops.values()
                        .any(|op| op["creates"].is_object() && op["body"]["done"] == false)
                })
        };
        let points: [KillPoint; 1] = [("repository create", Box::new(running))];
        assert_eq!(kill_at(&ws, &sim, &apply, &points), 1, "killed mid-create");
        assert!(running(&sim), "the create operation still runs");
        let run = ws.run(&apply).assert_no_crash();
        assert!(run.status.success(), "the apply adopts: {}", run.stderr);
        assert!(state_list(&ws).contains("genesis_registry.images"));
        assert!(!ws.plan_has_changes(), "converged");
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert!(
            sim.state()["artifact_registry"]["repositories"]
                .as_object()
                .is_none_or(|r| r.is_empty()),
            "nothing left behind"
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
pub fn chaos_seed() -> u64 {
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
    first_terraform(|tf| {
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
