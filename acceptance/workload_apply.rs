//! genesis_workload applied by the real Terraform against genesis-sim: the
//! cluster and its workloads in one apply, no-op plans, a new image rolling
//! out, a failing image failing the apply with the reason (the deployment's
//! and its pods'), the autoscaler causing no diff, drift, destroy.

use crate::harness::{Sim, Workspace, each_terraform};

fn config(image: &str) -> String {
    format!(
        r#"
{cluster}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "api"
  image     = "{image}"
  ports     = [{{ name = "http", container_port = 8080 }}]
  resources = {{ requests = {{ cpu = "500m", memory = "512Mi" }} }}

  autoscaling       = {{ min_replicas = 3, max_replicas = 10, cpu_target = 70 }}
  disruption_budget = {{ min_available = "50%" }}
  service           = {{ type = "LoadBalancer", ports = [{{ port = 80, target_port = 8080 }}] }}
  ingress           = {{ host = "api.example.com", tls_secret = "api-tls" }}
  network_policy    = {{ allow_from = [{{ cidr = "0.0.0.0/0", ports = [8080] }}] }}
  timeouts {{
    create = "20s"
    update = "20s"
  }}
}}
"#,
        cluster = crate::harness::apps_cluster(&["apps"])
    )
}

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

#[test]
fn workloads_lifecycle_against_the_simulator() {
    each_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            progress_deadline_cap: Some(std::time::Duration::from_secs(2)),
            ..genesis_sim::Config::default()
        });
        let ws = Workspace::new(tf, &[("main.tf", &config("nginx:1.27"))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let objects = || sim.state()["kube"][CLUSTER]["objects"]["objects"].clone();
        // The simulated autoscaler acts on its next tick.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let o = objects();
        for key in [
            "apps/deployments/apps/api",
            "/services/apps/api",
            "autoscaling/horizontalpodautoscalers/apps/api",
            "policy/poddisruptionbudgets/apps/api",
            "networking.k8s.io/networkpolicies/apps/api",
            "networking.k8s.io/ingresses/apps/api",
            "/serviceaccounts/apps/api",
        ] {
            assert!(o[key].is_object(), "{key} missing");
        }
        assert_eq!(
            o["apps/deployments/apps/api"]["spec"]["replicas"], 3,
            "the autoscaler set its minimum"
        );
        assert!(
            !ws.plan_has_changes(),
            "a second plan shows no changes, the autoscaler's replicas included"
        );

        // A new image rolls out.
        ws.write("main.tf", &config("nginx:1.28"));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            objects()["apps/deployments/apps/api"]["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.28"
        );
        assert!(!ws.plan_has_changes());

        // Drift: the image changed with kubectl shows in the plan.
        let path = "/apis/apps/v1/namespaces/apps/deployments/api";
        sim.control("PATCH", &format!("/_sim/kube?cluster={CLUSTER}&path={path}"), Some(serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "nginx:hacked"}]}}}})));
        assert!(ws.plan_has_changes(), "the edited image shows in the plan");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // A failing image fails the apply with the reason.
        ws.write("main.tf", &config("registry.example/api:broken"));
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(!run.status.success());
        let text = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains("Rollout failed")
                && text.contains("has timed out progressing")
                && text.contains(
                    "ImagePullBackOff: Back-off pulling image \"registry.example/api:broken\""
                ),
            "{}",
            run.stderr
        );

        ws.write("main.tf", &config("nginx:1.28"));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["gke"]["clusters"],
            serde_json::json!({}),
            "destroy leaves nothing behind"
        );
    });
}
