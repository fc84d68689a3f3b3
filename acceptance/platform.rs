//! What the HCL promises needs something in the cluster: on EKS Genesis
//! installs it with the cluster, or the plan is refused naming the setting
//! that fixes it. Here resource metrics for a workload's `autoscaling`: on
//! an EKS cluster without the metrics-server add-on an autoscaler never
//! scales, so once the cluster exists the workload's plan is refused at
//! `autoscaling` (the apply that makes the cluster plans it again); adding
//! metrics-server to `eks.addons` plans and applies in one run, and the
//! autoscaler then reports current metrics (genesis-sim's controller words
//! both as the real one does: kube_real.rs).

use serde_json::{Value as Json, json};

use crate::harness::{EKS_PREAMBLE, Moto, Sim, Workspace, each_terraform};

const ARN: &str = "arn:aws:eks:us-east-1:123456789012:cluster/metrics";

fn config(addons: &str) -> String {
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "main" {{
  cloud = "aws"
  name  = "metrics"
  eks = {{
    subnet_ids = ["subnet-0a", "subnet-0b"]
    addons     = [{addons}]
  }}
  kubernetes_namespaces = ["apps"]
}}

resource "genesis_node_pool" "general" {{
  cluster      = genesis_cluster.main.id
  name         = "general"
  machine_type = "t3.large"
}}

resource "genesis_workload" "api" {{
  cluster          = genesis_cluster.main.id
  namespace        = "apps"
  name             = "api"
  image            = "nginx:1.27"
  ports            = [{{ name = "http", container_port = 8080 }}]
  resources        = {{ requests = {{ cpu = "250m", memory = "128Mi" }} }}
  autoscaling      = {{ min_replicas = 2, max_replicas = 6, cpu_target = 70 }}
  wait_for_rollout = false
}}
"#
    )
}

const CORE: &str = r#""vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent""#;

/// The autoscaler's status in the simulated cluster once its controller
/// says whether it scales (`ScalingActive` is `want`), or after 20 s.
fn autoscaler_status(sim: &Sim, want: &str) -> Json {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let objects = sim.state()["kube"][ARN]["objects"]["objects"].clone();
        let status = objects
            .as_object()
            .into_iter()
            .flatten()
            .find(|(k, _)| k.starts_with("autoscaling/horizontalpodautoscalers/apps/api"))
            .map(|(_, hpa)| hpa["status"].clone())
            .unwrap_or_default();
        if scaling_active(&status) == want || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn scaling_active(status: &Json) -> Json {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "ScalingActive")
        .map(|c| c["status"].clone())
        .unwrap_or_default()
}

#[test]
fn autoscaling_needs_metrics_on_eks_and_gets_them_from_the_addon() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(CORE))]).against_eks(&sim, &moto);
        // Planned before the cluster exists; once the apply has made it,
        // the workload's final plan is refused: nothing of it is made.
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!refused.status.success(), "autoscaling without metrics");
        let said = |stderr: &str| {
            stderr.contains("The cluster serves no resource metrics")
                && stderr.contains("metrics-server")
                && stderr.contains("autoscaling")
        };
        assert!(said(&refused.stderr), "{}", refused.stderr);
        assert_eq!(sim.state()["eks"]["clusters"][ARN]["status"], "ACTIVE");
        let objects = sim.state()["kube"][ARN]["objects"].to_string();
        assert!(
            !objects.contains("horizontalpodautoscalers/apps/api"),
            "no autoscaler made"
        );
        // The next plan, the cluster there, says the same.
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success());
        assert!(said(&refused.stderr), "{}", refused.stderr);

        // The fix in the same run: the cluster's plan adds the add-on.
        ws.write("main.tf", &config(&format!(r#"{CORE}, "metrics-server""#)));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let addon = &sim.state()["eks"]["addons"][ARN]["metrics-server"];
        assert_eq!(addon["status"], "ACTIVE", "{addon:#}");
        let status = autoscaler_status(&sim, "True");
        assert_eq!(scaling_active(&status), "True", "{status:#}");
        assert_eq!(
            status["currentMetrics"][0]["resource"]["name"],
            json!("cpu"),
            "{status:#}"
        );
        assert!(!ws.plan_has_changes(), "settled");
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
