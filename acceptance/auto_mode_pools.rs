//! `genesis_node_pool` on an EKS Auto Mode cluster is a Karpenter NodePool
//! with its EKS NodeClass, applied by the real Terraform against
//! genesis-sim's EKS face (whose Auto Mode installs Karpenter's and EKS's
//! definitions and built-in pools, and reports NodePools Ready): the
//! objects carry the pool's labels, taints, instance type, capacity type,
//! node limit and disk; a workload that selects the pool selects what the
//! NodePool's nodes carry; changes are made in place; settings Auto Mode
//! cannot honour are refused at plan time; import reads it back with no
//! change; destroy removes both objects and leaves EKS's own.
//!
//! On the first client only: the provider decides what a pool is, and the
//! plan-time refusals are the provider's diagnostics (see the README).

use serde_json::{Value as Json, json};

use crate::harness::{EKS_PREAMBLE, Moto, Sim, Workspace, actions, first_terraform, planned};

const ARN: &str = "arn:aws:eks:us-east-1:123456789012:cluster/auto";

fn config(pool_settings: &str) -> String {
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "auto" {{
  cloud            = "aws"
  name             = "auto"
  enable_autopilot = true
  eks = {{
    subnet_ids = ["subnet-0a", "subnet-0b"]
  }}
  kubernetes_namespaces = ["apps"]
}}

resource "genesis_node_pool" "agents" {{
  cluster        = genesis_cluster.auto.id
  name           = "agents"
  machine_type   = "m6i.large"
  node_pool_type = "agent-runtime"
  disk_size_gb   = 120
  labels         = {{ team = "ai" }}
{pool_settings}
}}

resource "genesis_workload" "agent" {{
  cluster          = genesis_cluster.auto.id
  namespace        = "apps"
  name             = "agent"
  image            = "nginx:1.27"
  node_pool        = genesis_node_pool.agents.name
  wait_for_rollout = false
}}
"#
    )
}

fn object(sim: &Sim, key: &str) -> Json {
    sim.state()["kube"][ARN]["objects"]["objects"][key].clone()
}

#[test]
fn a_pool_on_eks_auto_mode_is_a_karpenter_node_pool() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws =
            Workspace::new(tf, &[("main.tf", &config("  max_nodes = 4"))]).against_eks(&sim, &moto);
        ws.apply_settles();

        let pool = object(&sim, "karpenter.sh/nodepools//agents");
        let template = &pool["spec"]["template"];
        assert_eq!(
            pool["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "genesis"
        );
        assert_eq!(
            template["spec"]["nodeClassRef"],
            json!({"group": "eks.amazonaws.com", "kind": "NodeClass", "name": "agents"})
        );
        assert_eq!(
            template["spec"]["requirements"],
            json!([
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m6i.large"]},
            ])
        );
        assert_eq!(
            template["spec"]["taints"],
            json!([{"key": "genesis.io/pool-type", "value": "agent-runtime", "effect": "NoSchedule"}])
        );
        assert_eq!(pool["spec"]["limits"]["nodes"], 4);
        assert_eq!(template["metadata"]["labels"]["team"], "ai");
        let class = object(&sim, "eks.amazonaws.com/nodeclasses//agents");
        assert_eq!(class["spec"]["ephemeralStorage"]["size"], "120Gi");
        assert_eq!(
            sim.state()["eks"]["nodegroups"][ARN],
            Json::Null,
            "no managed node group"
        );

        let state = ws.values("genesis_node_pool.agents");
        assert_eq!(state["kind"], "karpenter-node-pool");
        assert_eq!(state["status"], "READY");
        assert_eq!(state["image_type"], Json::Null, "Auto Mode picks the image");

        // The workload's pods select and tolerate exactly what the
        // NodePool's nodes carry, so Karpenter makes nodes for them there.
        let deployment = object(&sim, "apps/deployments/apps/agent");
        let pod = &deployment["spec"]["template"]["spec"];
        let node_labels = template["metadata"]["labels"].as_object().unwrap();
        for (key, value) in pod["nodeSelector"].as_object().unwrap() {
            assert_eq!(node_labels.get(key), Some(value), "{key} on the nodes");
        }
        for taint in template["spec"]["taints"].as_array().unwrap() {
            let tolerated = pod["tolerations"].as_array().unwrap().iter().any(|t| {
                t["key"] == taint["key"]
                    && (t["operator"] == "Exists" || t["value"] == taint["value"])
            });
            assert!(tolerated, "the pods tolerate {taint}");
        }

        // A bigger pool on Spot capacity, in place: Karpenter replaces
        // the nodes itself.
        ws.write(
            "main.tf",
            &config("  max_nodes = 8\n  spot = true").replace("m6i.large", "m6i.xlarge"),
        );
        let plan = ws.plan_json();
        assert_eq!(
            actions(&plan, "genesis_node_pool.agents"),
            json!(["update"])
        );
        assert_eq!(
            planned(&plan, "genesis_node_pool.agents")["kind"],
            "karpenter-node-pool"
        );
        ws.apply_settles();
        let pool = object(&sim, "karpenter.sh/nodepools//agents");
        assert_eq!(pool["spec"]["limits"]["nodes"], 8);
        assert_eq!(
            pool["spec"]["template"]["spec"]["requirements"],
            json!([
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
                {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m6i.xlarge"]},
            ])
        );

        // What Auto Mode cannot do is refused at plan time, at the setting.
        ws.write(
            "main.tf",
            &config("  max_nodes = 8\n  spot = true\n  min_nodes = 2\n  image_type = \"AL2023_x86_64_STANDARD\"")
                .replace("m6i.large", "m6i.xlarge"),
        );
        ws.run(&["plan", "-input=false", "-no-color"])
            .refused_saying(&[
                "Not available on EKS Auto Mode",
                "min_nodes",
                "makes them for pending pods",
                "image_type",
            ]);
        ws.write(
            "main.tf",
            &config("  max_nodes = 8\n  spot = true").replace("m6i.large", "m6i.xlarge"),
        );

        // Import reads the NodePool back as the configuration has it.
        ws.run(&["state", "rm", "genesis_node_pool.agents"]).ok();
        ws.run(&[
            "import",
            "-input=false",
            "genesis_node_pool.agents",
            &format!("{ARN}/nodePools/agents"),
        ])
        .ok();
        assert_eq!(
            ws.values("genesis_node_pool.agents")["kind"],
            "karpenter-node-pool"
        );
        assert!(
            !ws.plan_has_changes(),
            "the imported pool plans no change:\n{}",
            ws.run(&["plan", "-input=false", "-no-color"]).stdout
        );

        // Destroying the pool (and the workload on it) removes both
        // objects and leaves EKS's own pools.
        ws.run(&[
            "destroy",
            "-input=false",
            "-auto-approve",
            "-target=genesis_node_pool.agents",
        ])
        .ok();
        assert_eq!(object(&sim, "karpenter.sh/nodepools//agents"), Json::Null);
        assert_eq!(
            object(&sim, "eks.amazonaws.com/nodeclasses//agents"),
            Json::Null
        );
        assert_eq!(
            object(&sim, "karpenter.sh/nodepools//general-purpose")["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "eks"
        );
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}

/// EKS's built-in pools are EKS's: a pool of the same name is refused at
/// plan time, and Genesis never takes one over.
#[test]
fn eks_auto_modes_built_in_pools_are_not_taken_over() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let cluster_only = config("")
            .split("resource \"genesis_node_pool\"")
            .next()
            .unwrap()
            .to_string();
        let ws = Workspace::new(tf, &[("main.tf", &cluster_only)]).against_eks(&sim, &moto);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let built_in = object(&sim, "karpenter.sh/nodepools//system");
        assert_eq!(
            built_in["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "eks"
        );

        ws.write(
            "main.tf",
            &config("").replace("name           = \"agents\"", "name           = \"system\""),
        );
        ws.run(&["plan", "-input=false", "-no-color"])
            .refused_saying(&[
                "Not available on EKS Auto Mode",
                "general-purpose",
                "system",
            ]);
        assert_eq!(object(&sim, "karpenter.sh/nodepools//system"), built_in);
        ws.write("main.tf", &cluster_only);
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
