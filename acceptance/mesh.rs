//! genesis_workload's `mesh` against genesis-sim with Istio's own
//! CustomResourceDefinitions (istio.io/api's, from `scripts/peers
//! istio-crds`): refused at plan time with what to install while the
//! cluster has no Istio, then a PeerAuthentication, VirtualService and
//! DestinationRule that the CRDs' schemas accept, read back (no change,
//! drift, import) and removed with the settings.

use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, first_terraform};

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

const MESH: &str = r#"
  mesh = {
    mtls    = "STRICT"
    timeout = "5s"
    retries = { attempts = 3, per_try_timeout = "2s", retry_on = "5xx,reset" }
    outlier_detection = {
      consecutive_5xx_errors = 5
      interval               = "10s"
      base_ejection_time     = "30s"
      max_ejection_percent   = 50
    }
  }
"#;

fn config(mesh: &str) -> String {
    format!(
        r#"{cluster}
{outputs}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "api"
  image     = "nginx:1.27"
  ports     = [{{ name = "http", container_port = 8080 }}]
  service   = {{ ports = [{{ port = 80, target_port = 8080 }}] }}
  {mesh}
}}
"#,
        outputs = crate::harness::CLUSTER_OUTPUTS,
        cluster = crate::harness::apps_cluster(&["apps"]).replace(
            "kubernetes_namespaces",
            "service_mesh          = \"istio\"\n  kubernetes_namespaces"
        )
    )
}

fn object(sim: &Sim, path: &str) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"][path].clone()
}

#[test]
fn meshed_workloads_get_istio_objects() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(""))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // No Istio in the cluster: the plan says what to install.
        ws.write("main.tf", &config(MESH));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(
            !plan.status.success()
                && plan
                    .stderr
                    .contains("Istio is not installed in the cluster")
                && plan.stderr.contains("Cloud Service Mesh"),
            "{}",
            plan.stderr
        );

        // Istio's CustomResourceDefinitions, installed with kubectl.
        let kubectl = ws.cluster_kubectl(&sim, "apps");
        crate::harness::install_istio(&kubectl);

        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let peer = object(&sim, "security.istio.io/peerauthentications/apps/api");
        assert_eq!(peer["spec"]["mtls"]["mode"], "STRICT", "{peer}");
        assert_eq!(
            peer["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
            "api"
        );
        let routes = object(&sim, "networking.istio.io/virtualservices/apps/api");
        let http = &routes["spec"]["http"][0];
        assert_eq!(http["timeout"], "5s", "{routes}");
        assert_eq!(http["retries"]["attempts"], 3);
        assert_eq!(http["retries"]["retryOn"], "5xx,reset");
        assert_eq!(
            http["route"][0]["destination"]["host"],
            "api.apps.svc.cluster.local"
        );
        let rule = object(&sim, "networking.istio.io/destinationrules/apps/api");
        let outliers = &rule["spec"]["trafficPolicy"]["outlierDetection"];
        assert_eq!(outliers["consecutive5xxErrors"], 5, "{rule}");
        assert_eq!(outliers["baseEjectionTime"], "30s");
        assert!(!ws.plan_has_changes(), "the objects read back as applied");

        // A timeout changed behind Terraform's back shows, and goes back.
        let path = "/apis/networking.istio.io/v1/namespaces/apps/virtualservices/api";
        let mut http = routes["spec"]["http"].clone();
        http[0]["timeout"] = "30s".into();
        let patch = serde_json::json!({"spec": {"http": http}});
        sim.patch_kube(CLUSTER, path, patch);
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let routes = object(&sim, "networking.istio.io/virtualservices/apps/api");
        assert_eq!(routes["spec"]["http"][0]["timeout"], "5s");

        // Imported, the workload reads its mesh settings back.
        ws.reimport_all();
        ws.assert_plan_counts((0, 0, 0));

        // Without mtls and outlier detection, their objects go.
        ws.write("main.tf", &config(r#"mesh = { timeout = "5s" }"#));
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(object(&sim, "security.istio.io/peerauthentications/apps/api").is_null());
        assert!(object(&sim, "networking.istio.io/destinationrules/apps/api").is_null());
        let routes = object(&sim, "networking.istio.io/virtualservices/apps/api");
        assert!(routes["spec"]["http"][0]["retries"].is_null(), "{routes}");
        assert!(!ws.plan_has_changes());
    });
}
