//! `genesis_node_pool` on a GKE Autopilot cluster is a custom ComputeClass
//! (GKE refuses node pools there), applied by the real Terraform against
//! genesis-sim (whose GKE clusters serve the ComputeClass definition and
//! report classes healthy): the class carries the pool's machine, Spot
//! VMs, disk, zones, labels and taints, and never falls back to other
//! machines; a workload that names the pool selects the class (so that
//! Autopilot makes its nodes) and what its nodes carry; changes are made
//! in place; settings a class cannot honour are
//! refused at plan time; import reads it back with no change; destroy
//! removes it.
//!
//! On the first client only: the provider decides what a pool is, and the
//! plan-time refusals are the provider's diagnostics (see the README).

use serde_json::{Value as Json, json};

use crate::harness::{
    GKE_PREAMBLE, Sim, Workspace, actions, each_terraform_1_14, first_terraform, planned,
};

const CLUSTER: &str = "projects/p1/locations/us-central1/clusters/autopilot";

fn config(pool_settings: &str) -> String {
    format!(
        r#"{GKE_PREAMBLE}
resource "genesis_cluster" "main" {{
  name                  = "autopilot"
  enable_autopilot      = true
  kubernetes_namespaces = ["apps"]
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

resource "genesis_workload" "train" {{
  cluster          = genesis_cluster.main.id
  namespace        = "apps"
  name             = "train"
  image            = "nginx:1.27"
  node_pool        = genesis_node_pool.batch.name
  wait_for_rollout = false
}}
"#
    )
}

fn object(sim: &Sim, key: &str) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"][key].clone()
}

fn class(sim: &Sim) -> Json {
    object(sim, "cloud.google.com/computeclasses//batch")
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

        // The workload's pods select the class, so that Autopilot makes
        // its nodes for them, and select and tolerate what those nodes
        // carry.
        let deployment = object(&sim, "apps/deployments/apps/train");
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            pod["nodeSelector"]["cloud.google.com/compute-class"],
            "batch"
        );
        for (key, value) in pod["nodeSelector"].as_object().unwrap() {
            if key != "cloud.google.com/compute-class" {
                assert_eq!(&nodes["nodeLabels"][key], value, "{key} on the nodes");
            }
        }
        for taint in nodes["taints"].as_array().unwrap() {
            let tolerated = pod["tolerations"].as_array().unwrap().iter().any(|t| {
                t["key"] == taint["key"]
                    && (t["operator"] == "Exists" || t["value"] == taint["value"])
            });
            assert!(tolerated, "the pods tolerate {taint}");
        }
        assert_eq!(
            ws.values("genesis_workload.train")["node_selector"],
            Json::Null,
            "the class's selector is the pool's, not the configuration's"
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
            "-target=genesis_workload.train",
            "-target=genesis_node_pool.batch",
        ])
        .ok();
        assert_eq!(class(&sim), Json::Null);
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}

/// `terraform query` lists the classes Genesis made on an Autopilot
/// cluster as the cluster's pools (and not GKE's own node pools there).
#[test]
fn compute_class_pools_are_listed_by_terraform_query() {
    each_terraform_1_14(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(""))]).against(&sim);
        ws.apply_settles();
        let query = format!(
            r#"
list "genesis_node_pool" "autopilot" {{
  provider = genesis
  config {{
    cluster = "{CLUSTER}"
  }}
}}
"#
        );
        let other = Workspace::new(
            tf,
            &[("main.tf", GKE_PREAMBLE), ("pools.tfquery.hcl", &query)],
        )
        .against(&sim);
        let listed = other.run(&["query", "-no-color"]).ok().stdout;
        assert!(listed.contains("batch"), "the class in:\n{listed}");
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
