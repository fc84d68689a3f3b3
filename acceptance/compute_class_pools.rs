//! `genesis_node_pool` on a GKE Autopilot cluster is a custom ComputeClass
//! (GKE refuses node pools there), applied by the real Terraform against
//! genesis-sim (whose GKE clusters serve the ComputeClass definition and
//! report classes healthy): the class carries the pool's machine, Spot
//! VMs, disk, zones, labels and taints, and never falls back to other
//! machines; changes are made in place; settings a class cannot honour are
//! refused at plan time; import reads it back with no change; destroy
//! removes it.
//!
//! On the first client only: the provider decides what a pool is, and the
//! plan-time refusals are the provider's diagnostics (see the README).

use serde_json::{Value as Json, json};

use crate::harness::{GKE_PREAMBLE, Sim, Workspace, actions, first_terraform, planned};

const CLUSTER: &str = "projects/p1/locations/us-central1/clusters/autopilot";

fn config(pool_settings: &str) -> String {
    format!(
        r#"{GKE_PREAMBLE}
resource "genesis_cluster" "main" {{
  name             = "autopilot"
  enable_autopilot = true
}}

resource "genesis_node_pool" "batch" {{
  cluster        = genesis_cluster.main.id
  name           = "batch"
  machine_type   = "n2-standard-8"
  node_pool_type = "spot"
  disk_size_gb   = 200
  node_locations = ["us-central1-a"]
  labels         = {{ team = "ml" }}
{pool_settings}
}}
"#
    )
}

fn class(sim: &Sim) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"]["cloud.google.com/computeclasses//batch"]
        .clone()
}

#[test]
fn a_pool_on_gke_autopilot_is_a_compute_class() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(""))]).against(&sim);
        ws.apply_settles();

        let made = class(&sim);
        assert_eq!(
            made["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "genesis"
        );
        let spec = &made["spec"];
        assert_eq!(
            spec["priorities"],
            json!([{
                "machineType": "n2-standard-8",
                "spot": true,
                "storage": {"bootDiskSize": 200, "bootDiskType": "pd-balanced"},
            }])
        );
        assert_eq!(spec["whenUnsatisfiable"], "DoNotScaleUp");
        assert_eq!(
            spec["priorityDefaults"]["location"]["zones"],
            json!(["us-central1-a"])
        );
        let nodes = &spec["nodePoolConfig"];
        assert_eq!(nodes["imageType"], "cos_containerd");
        assert_eq!(nodes["nodeLabels"]["team"], "ml");
        assert_eq!(nodes["nodeLabels"]["genesis.io/node-pool"], "batch");
        assert_eq!(
            nodes["taints"],
            json!([{"key": "genesis.io/pool-type", "value": "spot", "effect": "NoSchedule"}])
        );

        let state = ws.values("genesis_node_pool.batch");
        assert_eq!(state["kind"], "gke-compute-class");
        assert_eq!(state["status"], "READY");
        assert!(
            !ws.plan_has_changes(),
            "the class plans no change once made"
        );

        // Another machine and a label, in place: GKE makes the class's
        // nodes as it now says.
        let current = config("")
            .replace("n2-standard-8", "n2-standard-16")
            .replace("{ team = \"ml\" }", "{ team = \"ml\", tier = \"batch\" }");
        ws.write("main.tf", &current);
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "genesis_node_pool.batch"), json!(["update"]));
        assert_eq!(
            planned(&plan, "genesis_node_pool.batch")["kind"],
            "gke-compute-class"
        );
        ws.apply_settles();
        let changed = class(&sim);
        assert_eq!(
            changed["spec"]["priorities"][0]["machineType"],
            "n2-standard-16"
        );
        assert_eq!(
            changed["spec"]["nodePoolConfig"]["nodeLabels"]["tier"],
            "batch"
        );

        // What a class cannot hold is refused at plan time, at the setting.
        ws.write(
            "main.tf",
            &current.replace(
                "  labels ",
                "  max_nodes    = 10\n  auto_upgrade = false\n  labels ",
            ),
        );
        ws.run(&["plan", "-input=false", "-no-color"])
            .refused_saying(&[
                "Not available on GKE Autopilot",
                "max_nodes",
                "no node limit",
                "auto_upgrade",
            ]);
        ws.write("main.tf", &current);

        // Import reads the class back as the configuration has it.
        ws.run(&["state", "rm", "genesis_node_pool.batch"]).ok();
        ws.run(&[
            "import",
            "-input=false",
            "genesis_node_pool.batch",
            &format!("{CLUSTER}/nodePools/batch"),
        ])
        .ok();
        assert_eq!(
            ws.values("genesis_node_pool.batch")["kind"],
            "gke-compute-class"
        );
        assert!(
            !ws.plan_has_changes(),
            "the imported pool plans no change:\n{}",
            ws.run(&["plan", "-input=false", "-no-color"]).stdout
        );

        ws.run(&[
            "destroy",
            "-input=false",
            "-auto-approve",
            "-target=genesis_node_pool.batch",
        ])
        .ok();
        assert_eq!(class(&sim), Json::Null);
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
