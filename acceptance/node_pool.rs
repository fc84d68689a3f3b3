//! genesis_node_pool on GKE, applied by the real Terraform against
//! genesis-sim with operations that take time: several pools in one apply
//! (GKE runs one operation per cluster at a time), no-op plans, in-place
//! changes, import, drift and destroy.

use std::time::Duration;

use crate::harness::{Sim, Workspace, each_terraform, first_terraform};

/// The provider requirement and the zonal cluster the pools go on.
const DEV_CLUSTER: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

resource "genesis_cluster" "dev" {
  project_id       = "genesis-project-dev"
  region           = "us-central1"
  zone             = "us-central1-a"
  regional_cluster = false
  name             = "genesis-dev"
}
"#;

fn config(max_nodes: u32, extra_taint: bool) -> String {
    let taint = if extra_taint {
        r#"{ key = "team", value = "ml", effect = "NoSchedule" },"#
    } else {
        ""
    };
    format!(
        r#"{DEV_CLUSTER}

resource "genesis_node_pool" "agents" {{
  cluster        = genesis_cluster.dev.id
  name           = "agent-runtime"
  machine_type   = "e2-standard-4"
  min_nodes      = 1
  max_nodes      = {max_nodes}
  node_pool_type = "agent-runtime"
  workload_type  = "compute-intensive"
  taints = [
    {taint}
    {{ key = "agent-runtime", value = "true", effect = "NO_SCHEDULE" }},
  ]
}}

resource "genesis_node_pool" "mcp" {{
  cluster        = genesis_cluster.dev.id
  name           = "mcp-server"
  node_pool_type = "mcp-server"
  labels         = {{ team = "platform" }}
}}

resource "genesis_node_pool" "spot" {{
  cluster            = genesis_cluster.dev.id
  name               = "spot"
  node_pool_type     = "spot"
  enable_autoscaling = false
  node_count         = 2
}}
"#
    )
}

const CLUSTER: &str = "projects/genesis-project-dev/locations/us-central1-a/clusters/genesis-dev";

#[test]
fn node_pools_lifecycle_against_the_simulator() {
    first_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            operation_time: Duration::from_millis(300),
            ..genesis_sim::Config::default()
        });
        let ws = Workspace::new(tf, &[("main.tf", &config(5, false))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve", "-parallelism=10"])
            .ok();
        let pools = |sim: &Sim| {
            sim.state()["gke"]["clusters"][CLUSTER]["nodePools"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let names: Vec<String> = pools(&sim)
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let agents = pools(&sim)
            .into_iter()
            .find(|p| p["name"] == "agent-runtime")
            .unwrap();
        assert_eq!(
            agents["config"]["labels"]["genesis.io/pool-type"],
            "agent-runtime"
        );
        assert_eq!(agents["config"]["taints"].as_array().unwrap().len(), 2);
        let spot = pools(&sim)
            .into_iter()
            .find(|p| p["name"] == "spot")
            .unwrap();
        assert_eq!(spot["config"]["spot"], true);
        assert!(!ws.plan_has_changes(), "a second plan shows no changes");

        // In place: autoscaling limit and one more taint (Kubernetes spelling).
        ws.write("main.tf", &config(8, true));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("1 to change, 0 to destroy"),
            "{}",
            plan.stdout
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let agents = pools(&sim)
            .into_iter()
            .find(|p| p["name"] == "agent-runtime")
            .unwrap();
        assert_eq!(agents["autoscaling"]["maxNodeCount"], 8);
        assert_eq!(agents["config"]["taints"].as_array().unwrap().len(), 3);
        assert!(!ws.plan_has_changes());

        // Import matches.
        ws.run(&["state", "rm", "genesis_node_pool.mcp"]).ok();
        ws.run(&[
            "import",
            "-input=false",
            "genesis_node_pool.mcp",
            "genesis-project-dev/us-central1-a/genesis-dev/mcp-server",
        ])
        .ok();
        assert!(!ws.plan_has_changes(), "an imported pool plans no change");

        // Drift: autoscaling changed, then the pool deleted, behind Terraform's back.
        let agents_name = format!("{CLUSTER}/nodePools/agent-runtime");
        sim.control(
            "PATCH",
            &format!("/_sim/objects?name={agents_name}"),
            Some(serde_json::json!({"autoscaling": {"maxNodeCount": 3}})),
        );
        assert!(ws.plan_has_changes());
        sim.control("DELETE", &format!("/_sim/objects?name={agents_name}"), None);
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());

        ws.run(&[
            "destroy",
            "-input=false",
            "-auto-approve",
            "-parallelism=10",
        ])
        .ok();
        assert_eq!(
            sim.state()["gke"]["clusters"],
            serde_json::json!({}),
            "destroy leaves nothing behind"
        );
    });
}

/// The pool `name` of the dev cluster as the simulator holds it (null
/// when it has none).
fn gke_pool(sim: &Sim, name: &str) -> serde_json::Value {
    sim.state()["gke"]["clusters"][CLUSTER]["nodePools"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name).cloned())
        .unwrap_or_default()
}

fn versioned(version: &str, team: &str) -> String {
    format!(
        r#"{DEV_CLUSTER}

resource "genesis_node_pool" "batch" {{
  cluster            = genesis_cluster.dev.id
  name               = "batch"
  auto_upgrade       = false
  kubernetes_version = "{version}"
  labels             = {{ team = "{team}" }}
}}
"#
    )
}

/// Node versions move in place and forwards only, never out of their
/// control plane's reach; other changes leave the nodes on their version
/// (GKE's `-` would have moved them to the control plane's); nodes moved
/// behind Terraform's back show as drift.
#[test]
fn gke_node_versions_move_in_place_and_forwards_only() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &versioned("1.32", "a"))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let version = |sim: &Sim| {
            let pool = gke_pool(sim, "batch");
            pool["version"].as_str().unwrap_or_default().to_string()
        };
        assert!(version(&sim).starts_with("1.32."), "{}", version(&sim));
        assert!(!ws.plan_has_changes(), "1.32 covers {}", version(&sim));

        ws.write("main.tf", &versioned("1.32", "b"));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(
            version(&sim).starts_with("1.32."),
            "a label change keeps the nodes' version: {}",
            version(&sim)
        );

        ws.write("main.tf", &versioned("1.33", "b"));
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(version(&sim).starts_with("1.33."), "{}", version(&sim));
        assert!(!ws.plan_has_changes());

        // The control plane runs 1.33: 1.35 cannot be reached in one apply.
        ws.write("main.tf", &versioned("1.35", "b"));
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success());
        assert!(
            refused
                .stderr
                .contains("Nodes cannot pass their control plane")
                && refused.stderr.contains("runs 1.33"),
            "{}",
            refused.stderr
        );

        ws.write("main.tf", &versioned("1.32", "b"));
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success());
        assert!(
            refused.stderr.contains("cannot be downgraded"),
            "{}",
            refused.stderr
        );

        // Rolled back behind Terraform's back: drift, upgraded again.
        ws.write("main.tf", &versioned("1.33", "b"));
        let pool = format!("{CLUSTER}/nodePools/batch");
        sim.control(
            "PATCH",
            &format!("/_sim/objects?name={pool}"),
            Some(serde_json::json!({"version": "1.32.9-gke.1108000"})),
        );
        assert!(ws.plan_has_changes(), "drift shows");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(version(&sim).starts_with("1.33."), "{}", version(&sim));
        assert!(!ws.plan_has_changes());
    });
}

fn gpu_pool(machine: &str, gpu: &str) -> String {
    format!(
        r#"{DEV_CLUSTER}

resource "genesis_node_pool" "gpu" {{
  cluster      = genesis_cluster.dev.id
  name         = "gpu"
  machine_type = "{machine}"
  {gpu}
}}
"#
    )
}

/// GPUs attach to a GKE pool in one shape with EKS's: checked against the
/// machine type at plan time, the nodes tainted for pods that ask for a
/// GPU, the driver changed in place, read back and imported as written,
/// and taken away only by a new pool.
#[test]
fn gpu_pools_on_gke() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let l4 = r#"gpu = { type = "nvidia-l4", driver = "LATEST" }"#;
        let ws = Workspace::new(tf, &[("main.tf", &gpu_pool("g2-standard-8", l4))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let pool = |sim: &Sim| gke_pool(sim, "gpu");
        let config = pool(&sim)["config"].clone();
        let accelerator = &config["accelerators"][0];
        assert_eq!(accelerator["acceleratorType"], "nvidia-l4");
        assert_eq!(
            accelerator["gpuDriverInstallationConfig"]["gpuDriverVersion"],
            "LATEST"
        );
        assert!(
            config["taints"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["key"] == "nvidia.com/gpu" && t["effect"] == "NO_SCHEDULE"),
            "{config:#}"
        );
        assert!(!ws.plan_has_changes(), "nothing to change after the apply");

        // The driver changes in place; left out, it is GKE's default.
        ws.write(
            "main.tf",
            &gpu_pool("g2-standard-8", r#"gpu = { type = "nvidia-l4" }"#),
        );
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            pool(&sim)["config"]["accelerators"][0]["gpuDriverInstallationConfig"]["gpuDriverVersion"],
            "DEFAULT"
        );
        assert!(!ws.plan_has_changes());
        ws.reimport_all();
        assert!(!ws.plan_has_changes(), "an import plans no change");

        // GPUs the machine cannot have are refused before anything happens.
        for (machine, gpu, why) in [
            (
                "e2-standard-8",
                r#"gpu = { type = "nvidia-l4" }"#,
                "g2-standard-*",
            ),
            (
                "g2-standard-8",
                r#"gpu = { type = "nvidia-l4", count = 2 }"#,
                "count = 1",
            ),
            (
                "n1-standard-8",
                r#"gpu = { type = "nvidia-tesla-t4", count = 3 }"#,
                "1, 2, 4",
            ),
        ] {
            ws.write("main.tf", &gpu_pool(machine, gpu));
            let refused = ws.run(&["plan", "-input=false", "-no-color"]);
            assert!(!refused.status.success(), "{machine} {gpu}");
            let said = refused.stderr.replace("\n│ ", " ").replace('\n', " ");
            assert!(
                said.contains("GPUs that the nodes cannot have") && said.contains(why),
                "{}",
                refused.stderr
            );
        }

        // GKE cannot take the GPUs off the nodes: a new pool does.
        ws.write("main.tf", &gpu_pool("g2-standard-8", ""));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("1 to add, 0 to change, 1 to destroy")
                && plan.stdout.contains("forces replacement"),
            "{}",
            plan.stdout
        );
    });
}
