//! An Ingress gets an address from the same workload block on GKE and on
//! EKS: the class left out is the cluster's own (none on GKE, whose
//! built-in controller takes it; `alb` on EKS, the class of Auto Mode's
//! ALB controller, which Genesis makes with the mode, or of the AWS Load
//! Balancer Controller Genesis runs on a cluster with node groups, one of
//! its default add-ons). On an EKS cluster with node groups whose
//! `eks.addons` leave the controller out nothing would take it, so once
//! the cluster exists the workload's plan is refused at
//! `ingress.class_name`, naming the add-on and Auto Mode; switching the
//! cluster to Auto Mode fixes it in one apply. genesis-sim gives an
//! Ingress an address only from a controller that takes it (the Load
//! Balancer Controller's only while its Deployment runs where its pods get
//! AWS credentials: nodes, the pod identity agent, its association).

use serde_json::{Value as Json, json};

use crate::harness::{
    EKS_PREAMBLE, Moto, Sim, Workspace, apps_cluster, each_terraform, first_terraform,
};

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

/// An EKS cluster with `eks` settings, and the workload.
fn eks(auto_mode: bool, eks: &str) -> String {
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "main" {{
  cloud            = "aws"
  name             = "apps"
  enable_autopilot = {auto_mode}
  eks              = {{ subnet_ids = ["subnet-0a", "subnet-0b"]{eks} }}
  kubernetes_namespaces = ["apps"]
}}
{SHOP}"#
    )
}

/// The add-ons of a cluster with node groups, without the Load Balancer
/// Controller.
const WITHOUT_CONTROLLER: &str =
    r#", addons = ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"]"#;

/// A node group, so that pods (the controller's) have nodes.
const NODES: &str = r#"
resource "genesis_node_pool" "general" {
  cluster            = genesis_cluster.main.id
  name               = "general"
  machine_type       = "t3.large"
  enable_autoscaling = false
  node_count         = 2
}
"#;

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

/// The DNS name of the internet-facing ALB the EKS cluster's controller
/// gave the workload's Ingress (of the `alb` class).
fn alb(sim: &Sim) -> String {
    let on_eks = ingress(sim, EKS);
    assert_eq!(on_eks["spec"]["ingressClassName"], "alb", "{on_eks:#}");
    let host = on_eks["status"]["loadBalancer"]["ingress"][0]["hostname"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        host.starts_with("k8s-apps-shop-") && host.ends_with(".us-east-1.elb.amazonaws.com"),
        "an internet-facing ALB: {on_eks:#}"
    );
    host
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

        // EKS with node groups, the controller left out of its add-ons:
        // nothing takes the Ingress, and the plan says so once the cluster
        // exists; nothing of the workload is made.
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &eks(false, WITHOUT_CONTROLLER))])
            .against_eks(&sim, &moto);
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        refused.refused_saying(&[
            "No ingress controller in the cluster",
            r#"ingress = { host = "shop.example.com" }"#,
            r#"Add "aws-load-balancer-controller" to eks.addons"#,
            "set enable_autopilot = true",
        ]);
        assert!(object(&sim, EKS, "apps/deployments/apps/shop").is_null());

        // Auto Mode, in place, in one apply: its class, then the Ingress.
        ws.write("main.tf", &eks(true, ""));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let class = object(&sim, EKS, "networking.k8s.io/ingressclasses//alb");
        assert_eq!(
            class["spec"]["controller"], "eks.amazonaws.com/alb",
            "{class:#}"
        );
        let parameters = object(&sim, EKS, "eks.amazonaws.com/ingressclassparams//alb");
        assert_eq!(parameters["spec"]["scheme"], "internet-facing");
        let host = alb(&sim);
        let shop = ws.values("genesis_workload.shop");
        assert_eq!(shop["ingress"]["class_name"], "alb", "{shop:#}");
        assert_eq!(address_in_state(&ws), json!(host));
        assert!(!ws.plan_has_changes(), "settled on EKS");

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}

/// The Load Balancer Controller's Deployment in the cluster.
fn controller(sim: &Sim) -> Json {
    object(
        sim,
        EKS,
        "apps/deployments/kube-system/aws-load-balancer-controller",
    )
}

#[test]
fn the_load_balancer_controller_gives_an_ingress_an_alb_on_node_groups() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        // The default add-ons: the controller is one of them.
        let ws = Workspace::new(tf, &[("main.tf", &format!("{}{NODES}", eks(false, "")))])
            .against_eks(&sim, &moto);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let deployment = controller(&sim);
        let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
        assert!(
            args.contains("--cluster-name=apps") && args.contains("--aws-vpc-id=vpc-"),
            "{deployment:#}"
        );
        let class = object(&sim, EKS, "networking.k8s.io/ingressclasses//alb");
        assert_eq!(
            class["spec"]["controller"], "ingress.k8s.aws/alb",
            "{class:#}"
        );
        let parameters = object(&sim, EKS, "elbv2.k8s.aws/ingressclassparams//alb");
        assert_eq!(
            parameters["spec"]["scheme"], "internet-facing",
            "{parameters:#}"
        );
        let host = alb(&sim);
        // Its IAM role, through Pod Identity.
        let roles = moto.python("print(sorted(r['RoleName'] for r in iam.list_roles()['Roles']))");
        assert!(roles.contains("apps-lb-controller"), "{roles}");
        let associations = sim.state()["eks"]["pod_identity_associations"][EKS].to_string();
        assert!(
            associations.contains("aws-load-balancer-controller")
                && associations.contains("apps-lb-controller"),
            "{associations}"
        );
        assert_eq!(address_in_state(&ws), json!(host));
        assert!(!ws.plan_has_changes(), "settled");

        // Deleted by hand: the next plan puts it back.
        let deployment =
            "/apis/apps/v1/namespaces/kube-system/deployments/aws-load-balancer-controller";
        let status = sim.control(
            "DELETE",
            &format!("/_sim/kube?cluster={EKS}&path={deployment}"),
            None,
        );
        assert_eq!(status, 204);
        assert!(ws.plan_has_changes(), "the controller missing shows");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!controller(&sim).is_null(), "put back");
        assert!(!ws.plan_has_changes(), "settled again");

        // Its removal while its Ingress is left would strand the ALB:
        // refused before anything changes.
        let without = format!("{}{NODES}", eks(false, WITHOUT_CONTROLLER));
        ws.write("main.tf", &without);
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        refused.refused_saying(&[
            "Ingresses still use the AWS Load Balancer Controller",
            "apps/shop",
        ]);
        assert!(!controller(&sim).is_null(), "still there");
        let roles = moto.python("print(sorted(r['RoleName'] for r in iam.list_roles()['Roles']))");
        assert!(roles.contains("apps-lb-controller"), "{roles}");

        // The Ingress removed first (Terraform updates the cluster before
        // its workloads), the controller goes with its role and
        // association.
        let no_ingress = |config: String| {
            config.replace("  ingress          = { host = \"shop.example.com\" }\n", "")
        };
        ws.write("main.tf", &no_ingress(format!("{}{NODES}", eks(false, ""))));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        ws.write("main.tf", &no_ingress(without));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(controller(&sim).is_null(), "its Deployment is gone");
        assert!(
            object(&sim, EKS, "networking.k8s.io/ingressclasses//alb").is_null(),
            "its class is gone"
        );
        let roles = moto.python("print(sorted(r['RoleName'] for r in iam.list_roles()['Roles']))");
        assert!(!roles.contains("apps-lb-controller"), "{roles}");
        assert!(!ws.plan_has_changes(), "settled without it");
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
