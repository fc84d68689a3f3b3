//! The `genesis_registry` and `genesis_workload` data sources read what
//! another configuration made (a second workspace with a state of its own,
//! as another team would), by name, as the resources read on import: the
//! repository's URL and settings, the workload's image, status and
//! load balancer address. A missing one is a clear error at plan time.
//!
//! On the first client: how data sources are read is covered on every
//! client by `cluster_access.rs`; here the provider reads.

use crate::harness::{GKE_PREAMBLE, Sim, Workspace, first_terraform};

const MADE: &str = r#"
resource "genesis_cluster" "main" {
  name                  = "apps"
  enable_autopilot      = true
  kubernetes_namespaces = ["shop"]
}

resource "genesis_registry" "images" {
  name           = "shop-images"
  description    = "the shop's images"
  immutable_tags = true
}

resource "genesis_workload" "api" {
  cluster          = genesis_cluster.main.id
  namespace        = "shop"
  name             = "api"
  image            = "${genesis_registry.images.repository_url}/api:1.4.2"
  replicas         = 2
  ports            = [{ name = "http", container_port = 8080 }]
  service          = { type = "LoadBalancer", ports = [{ port = 80, target_port = 8080 }] }
}
"#;

const READ: &str = r#"
data "genesis_cluster" "apps" {
  cloud = "gcp"
  name  = "apps"
}

data "genesis_registry" "images" {
  name = "shop-images"
}

data "genesis_workload" "api" {
  cluster   = data.genesis_cluster.apps.id
  namespace = "shop"
  name      = "api"
}

output "registry" {
  value = data.genesis_registry.images
}

output "workload" {
  value = data.genesis_workload.api
}
"#;

#[test]
fn another_configuration_reads_a_registry_and_a_workload() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let made =
            Workspace::new(tf, &[("main.tf", &format!("{GKE_PREAMBLE}{MADE}"))]).against(&sim);
        made.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let (registry, api) = (
            made.values("genesis_registry.images"),
            made.values("genesis_workload.api"),
        );

        let reader =
            Workspace::new(tf, &[("main.tf", &format!("{GKE_PREAMBLE}{READ}"))]).against(&sim);
        reader.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let outputs = reader.run(&["output", "-json"]).ok().json();
        let found = &outputs["registry"]["value"];
        assert_eq!(found["id"], registry["id"], "{found:#}");
        assert_eq!(found["repository_url"], registry["repository_url"]);
        assert_eq!(found["format"], "DOCKER");
        assert_eq!(found["description"], "the shop's images");
        assert_eq!(found["immutable_tags"], true);
        assert_eq!(found["project_id"], "p1");
        assert_eq!(found["region"], "us-central1");

        let found = &outputs["workload"]["value"];
        assert_eq!(found["id"], api["id"], "{found:#}");
        assert_eq!(found["kind"], "Deployment");
        assert_eq!(found["image"], api["image"]);
        assert_eq!(found["replicas"], 2);
        assert_eq!(found["status"], "Available");
        assert_eq!(
            api["status"], "Available",
            "the apply waited for the rollout"
        );
        // The address comes when the load balancer does: the maker's
        // refresh, after the reader's, sees the one the reader saw.
        assert!(found["load_balancer_ip"].is_string(), "{found:#}");
        made.run(&["apply", "-refresh-only", "-input=false", "-auto-approve"])
            .ok();
        assert_eq!(
            found["load_balancer_ip"],
            made.values("genesis_workload.api")["load_balancer_ip"]
        );
        assert!(
            reader.managed_resources().is_empty(),
            "the reader manages nothing"
        );

        // Gone: the reader's plan says what is missing, at plan time.
        made.run(&[
            "destroy",
            "-input=false",
            "-auto-approve",
            "-target=genesis_workload.api",
        ])
        .ok();
        reader
            .run(&["plan", "-input=false", "-no-color"])
            .refused_saying(&["Workload not found", "shop/api"]);
        made.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
