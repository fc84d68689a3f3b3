//! An Ingress gets an address from the same workload block on GKE and on
//! EKS: the class left out is the cluster's own (none on GKE, whose
//! built-in controller takes it; `alb` on EKS, the class of Auto Mode's
//! ALB controller, which Genesis makes with the mode). On an EKS cluster
//! with node groups nothing would take it, so once the cluster exists the
//! workload's plan is refused at `ingress.class_name`, naming Auto Mode
//! and the AWS Load Balancer Controller; switching the cluster to Auto
//! Mode fixes it in one apply. genesis-sim gives an Ingress an address
//! only from a controller that takes it.

use serde_json::{Value as Json, json};

use crate::harness::{EKS_PREAMBLE, Moto, Sim, Workspace, apps_cluster, each_terraform};

const GKE: &str = "projects/p/locations/us-central1/clusters/apps";
const EKS: &str = "arn:aws:eks:us-east-1:123456789012:cluster/apps";

/// The one workload block both clouds get.
const SHOP: &str = r#"
resource "genesis_workload" "shop" {
  cluster          = genesis_cluster.main.id
  namespace        = "apps"
  name             = "shop"
  image            = "nginx:1.27"
  ports            = [{ name = "http", container_port = 8080 }]
  service          = {}
  ingress          = { host = "shop.example.com" }
  wait_for_rollout = false
}
"#;

fn eks(auto_mode: bool) -> String {
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "main" {{
  cloud            = "aws"
  name             = "apps"
  enable_autopilot = {auto_mode}
  eks              = {{ subnet_ids = ["subnet-0a", "subnet-0b"] }}
  kubernetes_namespaces = ["apps"]
}}
{SHOP}"#
    )
}

fn object(sim: &Sim, cluster: &str, key: &str) -> Json {
    sim.state()["kube"][cluster]["objects"]["objects"][key].clone()
}

/// The workload's Ingress once a controller gave it an address, or as it
/// is after 20 s.
fn ingress(sim: &Sim, cluster: &str) -> Json {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let ingress = object(sim, cluster, "networking.k8s.io/ingresses/apps/shop");
        let addressed = !ingress["status"]["loadBalancer"]["ingress"][0].is_null();
        if addressed || std::time::Instant::now() > deadline {
            return ingress;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The workload's `ingress_address` once a refresh has read it (the
/// controller may give the address after the apply ended).
fn address_in_state(ws: &Workspace) -> Json {
    ws.run(&["apply", "-refresh-only", "-input=false", "-auto-approve"])
        .ok();
    ws.values("genesis_workload.shop")["ingress_address"].clone()
}

#[test]
fn an_ingress_gets_an_address_from_the_same_block_on_gke_and_eks() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let gke = format!("{}{SHOP}", apps_cluster(&["apps"]));
        let ws = Workspace::new(tf, &[("main.tf", &gke)]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let on_gke = ingress(&sim, GKE);
        assert!(on_gke["spec"]["ingressClassName"].is_null(), "{on_gke:#}");
        let address = &on_gke["status"]["loadBalancer"]["ingress"][0];
        assert!(address["ip"].is_string(), "GKE's controller: {on_gke:#}");
        assert!(!ws.plan_has_changes(), "settled on GKE");
        assert_eq!(address_in_state(&ws), address["ip"]);

        // EKS with node groups: nothing takes the Ingress, and the plan
        // says so once the cluster exists; nothing of the workload is made.
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &eks(false))]).against_eks(&sim, &moto);
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        refused.refused_saying(&[
            "No ingress controller in the cluster",
            r#"ingress = { host = "shop.example.com" }"#,
            "Set enable_autopilot = true",
            "install the AWS Load Balancer Controller",
        ]);
        assert!(object(&sim, EKS, "apps/deployments/apps/shop").is_null());

        // Auto Mode, in place, in one apply: its class, then the Ingress.
        ws.write("main.tf", &eks(true));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let class = object(&sim, EKS, "networking.k8s.io/ingressclasses//alb");
        assert_eq!(
            class["spec"]["controller"], "eks.amazonaws.com/alb",
            "{class:#}"
        );
        let parameters = object(&sim, EKS, "eks.amazonaws.com/ingressclassparams//alb");
        assert_eq!(parameters["spec"]["scheme"], "internet-facing");
        let on_eks = ingress(&sim, EKS);
        assert_eq!(on_eks["spec"]["ingressClassName"], "alb");
        let host = on_eks["status"]["loadBalancer"]["ingress"][0]["hostname"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            host.starts_with("k8s-apps-shop-") && host.ends_with(".us-east-1.elb.amazonaws.com"),
            "an internet-facing ALB: {on_eks:#}"
        );
        let shop = ws.values("genesis_workload.shop");
        assert_eq!(shop["ingress"]["class_name"], "alb", "{shop:#}");
        assert_eq!(address_in_state(&ws), json!(host));
        assert!(!ws.plan_has_changes(), "settled on EKS");

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
