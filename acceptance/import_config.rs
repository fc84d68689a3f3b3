//! Adopting what exists the modern way: `import` blocks and `terraform plan
//! -generate-config-out`, for every resource on GKE, by each Terraform
//! against genesis-sim (EKS: in eks.rs). The generated configuration must
//! validate and plan nothing but the imports; once imported, the next plan
//! is empty.

use crate::harness::{Sim, Terraform, Workspace, each_terraform};

const PROVIDER: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {
  project = "p"
  region  = "us-central1"
}
"#;

/// What exists before the import: made by another configuration.
const EXISTING: &str = r#"
resource "genesis_cluster" "apps" {
  name                  = "apps"
  enable_autopilot      = true
  kubernetes_namespaces = ["apps"]
  namespace {
    name  = "jobs"
    quota = { pods = 20 }
  }
}

resource "genesis_cluster" "standard" {
  name             = "standard"
  environment      = "staging"
  enable_autopilot = false
}

resource "genesis_node_pool" "agents" {
  cluster        = genesis_cluster.standard.id
  name           = "agents"
  machine_type   = "e2-standard-4"
  min_nodes      = 1
  max_nodes      = 5
  node_pool_type = "agent-runtime"
}

resource "genesis_registry" "images" {
  name = "images"
  cleanup_policies = {
    keep-recent = { action = "KEEP", keep_count = 10 }
    delete-old  = { action = "DELETE", older_than = "30d" }
  }
}

resource "genesis_workload" "api" {
  cluster     = genesis_cluster.apps.id
  namespace   = "apps"
  name        = "api"
  image       = "nginx:1.27"
  ports       = [{ name = "http", container_port = 8080 }]
  resources   = { requests = { cpu = "250m", memory = "256Mi" } }
  autoscaling = { min_replicas = 2, max_replicas = 6, cpu_target = 70 }
  service     = { type = "LoadBalancer", ports = [{ port = 80, target_port = 8080 }] }
}

resource "genesis_workload" "worker" {
  cluster   = genesis_cluster.apps.id
  namespace = "jobs"
  name      = "worker"
  image     = "nginx:1.27"
  replicas  = 2
}
"#;

/// `EXISTING`, applied by a workspace of its own.
fn existing(tf: &Terraform, sim: &Sim) -> Workspace {
    let existing =
        Workspace::new(tf, &[("main.tf", &format!("{PROVIDER}{EXISTING}"))]).against(sim);
    existing
        .run(&["apply", "-input=false", "-auto-approve"])
        .ok();
    existing
}

#[test]
fn import_blocks_generate_configuration_that_plans_clean() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let existing = existing(tf, &sim);

        let generated = existing.adopt_with_generated_config(PROVIDER);
        assert!(
            generated.contains("resource \"genesis_workload\" \"api\""),
            "{generated}"
        );
    });
}

/// Where the client has resource identity (Terraform 1.12 and later), every
/// resource records one, named by its cloud's own terms, and `import {
/// identity = { ... } }` blocks adopt the objects as ID strings do. Clients
/// without it record none and work as before.
#[test]
fn import_blocks_by_identity() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let existing = existing(tf, &sim);
        let identities = existing.identities();
        if !tf.has_resource_identity() {
            assert!(
                identities.iter().all(|(_, i)| i.is_null()),
                "{}: {identities:?}",
                tf.label
            );
            return;
        }
        let identity = |address: &str| {
            identities
                .iter()
                .find(|(a, _)| a == address)
                .map(|(_, i)| i.clone())
                .unwrap()
        };
        assert_eq!(
            identity("genesis_cluster.apps"),
            serde_json::json!({"project": "p", "account_id": null, "location": "us-central1", "name": "apps"})
        );
        assert_eq!(
            identity("genesis_node_pool.agents"),
            serde_json::json!({"cluster": "projects/p/locations/us-central1/clusters/standard", "name": "agents"})
        );
        assert_eq!(identity("genesis_registry.images")["name"], "images");
        assert_eq!(
            identity("genesis_workload.api"),
            serde_json::json!({"cluster": "projects/p/locations/us-central1/clusters/apps", "kubeconfig_context": null, "namespace": "apps", "name": "api"})
        );

        let generated = existing.adopt_by_identity(PROVIDER);
        assert!(
            generated.contains("resource \"genesis_node_pool\" \"agents\""),
            "{generated}"
        );
    });
}

/// Workloads made with kubectl, not by Genesis, adopted the same way: the
/// generated configuration validates, plans the imports alone, then
/// nothing.
#[test]
fn workloads_made_with_kubectl_adopt_cleanly() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let cluster = Workspace::new(
            tf,
            &[(
                "main.tf",
                &format!(
                    r#"{PROVIDER}
resource "genesis_cluster" "apps" {{
  name                  = "apps"
  enable_autopilot      = true
  kubernetes_namespaces = ["apps"]
}}
output "endpoint" {{
  value = genesis_cluster.apps.endpoint
}}
output "ca_certificate" {{
  value = genesis_cluster.apps.ca_certificate
}}
"#
                ),
            )],
        )
        .against(&sim);
        cluster
            .run(&["apply", "-input=false", "-auto-approve"])
            .ok();
        let outputs = cluster.run(&["output", "-json"]).ok().json();
        let kubeconfig = crate::harness::kubeconfig(&outputs, &sim.running.urls.token);
        let file = cluster.dir.path().join("kubeconfig");
        std::fs::write(&file, kubeconfig).unwrap();
        let kubectl = crate::harness::kubectl(&file, "apps");
        // What `kubectl create deployment`, `expose` and `create cronjob`
        // make, sent as JSON (genesis-sim decodes protobuf for a few kinds
        // only).
        let manifests = cluster.dir.path().join("made-by-hand.json");
        std::fs::write(&manifests, MADE_WITH_KUBECTL).unwrap();
        kubectl(&[
            "create",
            "--validate=false",
            "-f",
            manifests.to_str().unwrap(),
        ]);
        let id = "projects/p/locations/us-central1/clusters/apps/apps";
        let imports = format!(
            "import {{\n  to = genesis_workload.web\n  id = \"{id}/web\"\n}}\nimport {{\n  to = genesis_workload.nightly\n  id = \"{id}/nightly\"\n}}\n"
        );
        let generated = cluster.adopt_with_imports(PROVIDER, &imports, 2);
        assert!(
            generated.contains("kind") && generated.contains("CronJob"),
            "{generated}"
        );
    });
}

const MADE_WITH_KUBECTL: &str = r#"{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "apps/v1", "kind": "Deployment",
   "metadata": {"name": "web", "labels": {"app": "web"}},
   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}]}}}},
  {"apiVersion": "v1", "kind": "Service",
   "metadata": {"name": "web", "labels": {"app": "web"}},
   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}},
  {"apiVersion": "batch/v1", "kind": "CronJob",
   "metadata": {"name": "nightly"},
   "spec": {"schedule": "0 2 * * *",
            "jobTemplate": {"metadata": {"name": "nightly"},
                            "spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                                           "containers": [{"name": "nightly", "image": "busybox:1.37", "command": ["/bin/true"]}]}}}}}}
]}"#;
