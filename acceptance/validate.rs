//! `terraform validate` accepts the examples and refuses each kind of bad
//! input with a diagnostic that points at the offending attribute.

use crate::harness::{Workspace, each_terraform};

const EXAMPLES: &[&str] = &[
    "basic-autopilot",
    "production-standard",
    "dev-zonal",
    "workloads",
    "data-tier",
    "gpu-inference",
];

#[test]
fn the_examples_are_valid() {
    each_terraform(|tf| {
        for example in EXAMPLES {
            let ws = Workspace::example(tf, example);
            let out = ws.run(&["validate", "-json"]).assert_no_crash().json();
            assert_eq!(out["valid"], true, "{example}: {out:#}");
        }
    });
}

const PREAMBLE: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}
"#;

/// A bad configuration, the text of the line the diagnostic must point at,
/// and words its message must contain.
struct Case {
    name: &'static str,
    hcl: &'static str,
    line: &'static str,
    message: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "cluster name with capitals",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "Genesis-Prod"
}"#,
        line: r#"name = "Genesis-Prod""#,
        message: "lowercase",
    },
    Case {
        name: "cluster name too long",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "a-very-long-cluster-name-that-goes-past-forty"
}"#,
        line: "a-very-long",
        message: "40 characters",
    },
    Case {
        name: "master range not a /28",
        hcl: r#"resource "genesis_cluster" "c" {
  name                   = "c"
  enable_private_cluster = true
  master_ipv4_cidr_block = "172.16.0.0/24"
}"#,
        line: "master_ipv4_cidr_block",
        message: "/28",
    },
    Case {
        name: "master range not a CIDR",
        hcl: r#"resource "genesis_cluster" "c" {
  name                   = "c"
  master_ipv4_cidr_block = "172.16.0.0"
}"#,
        line: "master_ipv4_cidr_block",
        message: "CIDR",
    },
    Case {
        name: "zone on a regional cluster",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "c"
  zone = "us-central1-a"
}"#,
        line: "zone",
        message: "regional_cluster",
    },
    Case {
        name: "autopilot without workload identity",
        hcl: r#"resource "genesis_cluster" "c" {
  name                     = "c"
  enable_autopilot         = true
  enable_workload_identity = false
}"#,
        line: "enable_workload_identity",
        message: "Autopilot",
    },
    Case {
        name: "Auto Mode without access entries",
        hcl: r#"resource "genesis_cluster" "c" {
  name             = "c"
  cloud            = "aws"
  enable_autopilot = true
  eks = {
    subnet_ids          = ["subnet-a", "subnet-b"]
    authentication_mode = "CONFIG_MAP"
  }
}"#,
        line: "authentication_mode",
        message: "access entries",
    },
    Case {
        name: "unknown EKS support policy",
        hcl: r#"resource "genesis_cluster" "c" {
  name  = "c"
  cloud = "aws"
  eks = {
    subnet_ids   = ["subnet-a", "subnet-b"]
    support_type = "FOREVER"
  }
}"#,
        line: "support_type",
        message: "EXTENDED",
    },
    Case {
        name: "retired monitoring component",
        hcl: r#"resource "genesis_cluster" "c" {
  name                  = "c"
  monitoring_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
}"#,
        line: "monitoring_components",
        message: "WORKLOADS",
    },
    Case {
        name: "system namespace",
        hcl: r#"resource "genesis_cluster" "c" {
  name                  = "c"
  kubernetes_namespaces = ["kube-system"]
}"#,
        line: "kubernetes_namespaces",
        message: "managed by Kubernetes",
    },
    Case {
        name: "bad quota quantity",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "c"
  namespace {
    name  = "apps"
    quota = { requests_memory = "64 gigs" }
  }
}"#,
        line: "quota = { requests_memory",
        message: "namespace[0].quota.requests_memory",
    },
    Case {
        name: "sidecar label set by hand",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "c"
  namespace {
    name   = "apps"
    labels = { "istio-injection" = "enabled" }
  }
}"#,
        line: "labels = {",
        message: "set those rather than the label",
    },
    Case {
        name: "revision label set by hand",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "c"
  namespace {
    name   = "apps"
    labels = { "istio.io/rev" = "canary" }
  }
}"#,
        line: "labels = {",
        message: "set those rather than the label",
    },
    Case {
        name: "mesh revision without a mesh",
        hcl: r#"resource "genesis_cluster" "c" {
  name                  = "c"
  service_mesh_revision = "canary"
}"#,
        line: "service_mesh_revision",
        message: "with it, or remove it",
    },
    Case {
        name: "mesh revision not a label",
        hcl: r#"resource "genesis_cluster" "c" {
  name                  = "c"
  service_mesh          = "istio"
  service_mesh_revision = "Canary_1"
}"#,
        line: "service_mesh_revision",
        message: "not a valid DNS-1123 label",
    },
    Case {
        name: "secret store with two providers",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "c"
  secret_stores = {
    main = {
      google_secret_manager = { project_id = "p" }
      aws_secrets_manager   = { region = "us-east-1" }
    }
  }
}"#,
        line: "main = {",
        message: "Set exactly one of google_secret_manager, aws_secrets_manager, vault",
    },
    Case {
        name: "secret store with no provider",
        hcl: r#"resource "genesis_cluster" "c" {
  name          = "c"
  secret_stores = { main = {} }
}"#,
        line: "secret_stores",
        message: "in secret store",
    },
    Case {
        name: "external secret variable set twice",
        hcl: r#"resource "genesis_workload" "w" {
  name             = "w"
  image            = "nginx:1.27"
  kubeconfig_path  = "./kubeconfig"
  env              = { DB_PASSWORD = "plain" }
  external_secrets = { DB_PASSWORD = { store = "gcp", key = "db-password" } }
}"#,
        line: "external_secrets",
        message: "DB_PASSWORD is already set in env",
    },
    Case {
        // `cloud` left out is gcp (the schema's default).
        name: "eks settings on a cluster of the default cloud",
        hcl: r#"resource "genesis_cluster" "c" {
  name = "c"
  eks  = { subnet_ids = ["subnet-0a", "subnet-0b"] }
}"#,
        line: "eks",
        message: "applies only when cloud",
    },
    Case {
        // `type` left out is ClusterIP (the schema's default), which takes
        // no node port: refused here, not at apply by the API server.
        name: "node port on a Service of the default type",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "np"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  service         = { ports = [{ port = 80, target_port = 8080, node_port = 30080 }] }
}"#,
        line: "service",
        message: "node_port applies to NodePort and LoadBalancer services",
    },
    Case {
        name: "blue-green without a service",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "w"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  rollout         = { strategy = "blue-green" }
}"#,
        line: "rollout",
        message: "switching the workload's Service",
    },
    Case {
        name: "blue-green that does not wait",
        hcl: r#"resource "genesis_workload" "w" {
  name             = "w"
  image            = "nginx:1.27"
  kubeconfig_path  = "./kubeconfig"
  service          = { ports = [{ port = 80 }] }
  rollout          = { strategy = "blue-green" }
  wait_for_rollout = false
}"#,
        line: "wait_for_rollout",
        message: "its apply always waits",
    },
    Case {
        name: "release strategy of a StatefulSet",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "w"
  kind            = "StatefulSet"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  rollout         = { strategy = "blue-green" }
}"#,
        line: "rollout",
        message: "applies to Deployments",
    },
    Case {
        name: "keep_previous that is no duration",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "w"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  service         = { ports = [{ port = 80 }] }
  rollout         = { strategy = "blue-green", keep_previous = "soon" }
}"#,
        line: "rollout",
        message: "is not a valid duration",
    },
    Case {
        name: "canary without steps",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "w"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  service         = { ports = [{ port = 80 }] }
  rollout         = { strategy = "canary" }
}"#,
        line: "rollout",
        message: "Give the traffic the new version gets",
    },
    Case {
        name: "canary weights that fall",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "w"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  service         = { ports = [{ port = 80 }] }
  rollout         = { strategy = "canary", steps = [{ weight = 50 }, { weight = 20 }] }
}"#,
        line: "rollout",
        message: "each step gives it more of the traffic",
    },
    Case {
        name: "an analysis path that is no path",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "w"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  ports           = [{ container_port = 8080 }]
  service         = { ports = [{ port = 80, target_port = 8080 }] }
  rollout         = { strategy = "blue-green", analysis = { path = "healthz" } }
}"#,
        line: "rollout",
        message: "is not an HTTP path",
    },
    Case {
        name: "an analysis with no port to ask",
        hcl: r#"resource "genesis_workload" "w" {
  name            = "w"
  image           = "nginx:1.27"
  kubeconfig_path = "./kubeconfig"
  service         = { ports = [{ port = 80 }] }
  rollout         = { strategy = "blue-green", analysis = { path = "/healthz" } }
}"#,
        line: "rollout",
        message: "set analysis.port",
    },
    Case {
        name: "external secret files without external secrets",
        hcl: r#"resource "genesis_workload" "w" {
  name                        = "w"
  image                       = "nginx:1.27"
  kubeconfig_path             = "./kubeconfig"
  external_secrets_mount_path = "/var/run/secrets/app"
}"#,
        line: "external_secrets_mount_path",
        message: "set external_secrets or remove",
    },
    Case {
        name: "refresh interval in days",
        hcl: r#"resource "genesis_workload" "w" {
  name                              = "w"
  image                             = "nginx:1.27"
  kubeconfig_path                   = "./kubeconfig"
  external_secrets_refresh_interval = "1d"
}"#,
        line: "external_secrets_refresh_interval",
        message: "write it as Go does",
    },
    Case {
        name: "unknown service mesh",
        hcl: r#"resource "genesis_cluster" "c" {
  name         = "c"
  service_mesh = "linkerd"
}"#,
        line: "service_mesh",
        message: "istio",
    },
    Case {
        name: "mesh routes without a service",
        hcl: r#"resource "genesis_workload" "w" {
  cluster   = "projects/p/locations/us-central1/clusters/c"
  namespace = "apps"
  name      = "w"
  image     = "nginx:1.27"
  mesh      = { mtls = "STRICT", timeout = "5s" }
}"#,
        line: "mesh",
        message: "mesh.timeout applies to requests to the workload's service",
    },
    Case {
        name: "pool min above max",
        hcl: r#"resource "genesis_node_pool" "p" {
  cluster   = "projects/p/locations/us-central1/clusters/c"
  name      = "p"
  min_nodes = 5
  max_nodes = 2
}"#,
        line: "min_nodes",
        message: "max_nodes",
    },
    Case {
        name: "taint effect",
        hcl: r#"resource "genesis_node_pool" "p" {
  cluster = "projects/p/locations/us-central1/clusters/c"
  name    = "p"
  taints  = [{ key = "dedicated", value = "x", effect = "NO_SCHEDULING" }]
}"#,
        line: "NO_SCHEDULING",
        message: "NO_SCHEDULE",
    },
    Case {
        name: "pool cluster is not an ID",
        hcl: r#"resource "genesis_node_pool" "p" {
  cluster = "my-cluster"
  name    = "p"
}"#,
        line: "my-cluster",
        message: "cluster ID",
    },
    Case {
        name: "spot and preemptible",
        hcl: r#"resource "genesis_node_pool" "p" {
  cluster     = "projects/p/locations/us-central1/clusters/c"
  name        = "p"
  preemptible = true
  spot        = true
}"#,
        line: "spot",
        message: "exclusive",
    },
    Case {
        name: "registry duration",
        hcl: r#"resource "genesis_registry" "r" {
  name             = "images"
  cleanup_policies = { old = { action = "DELETE", older_than = "90 days" } }
}"#,
        line: "cleanup_policies",
        message: "duration",
    },
    Case {
        name: "registry delete-everything policy",
        hcl: r#"resource "genesis_registry" "r" {
  name             = "images"
  cleanup_policies = { all = { action = "DELETE" } }
}"#,
        line: "cleanup_policies",
        message: "every version",
    },
    Case {
        name: "workload name",
        hcl: r#"resource "genesis_workload" "w" {
  cluster = "projects/p/locations/us-central1/clusters/c"
  name    = "Agent_Cage"
  image   = "nginx:1.27"
}"#,
        line: "Agent_Cage",
        message: "DNS-1123",
    },
    Case {
        name: "workload quantity",
        hcl: r#"resource "genesis_workload" "w" {
  cluster   = "projects/p/locations/us-central1/clusters/c"
  name      = "api"
  image     = "nginx:1.27"
  resources = { requests = { cpu = "500mm" } }
}"#,
        line: "500mm",
        message: "quantity",
    },
    Case {
        name: "replicas with autoscaling",
        hcl: r#"resource "genesis_workload" "w" {
  cluster     = "projects/p/locations/us-central1/clusters/c"
  name        = "api"
  image       = "nginx:1.27"
  replicas    = 3
  resources   = { requests = { cpu = "500m" } }
  autoscaling = { min_replicas = 2, max_replicas = 5, cpu_target = 70 }
}"#,
        line: "replicas    = 3",
        message: "HorizontalPodAutoscaler",
    },
    Case {
        name: "replica range",
        hcl: r#"resource "genesis_workload" "w" {
  cluster     = "projects/p/locations/us-central1/clusters/c"
  name        = "api"
  image       = "nginx:1.27"
  resources   = { requests = { cpu = "500m" } }
  autoscaling = { min_replicas = 8, max_replicas = 5, cpu_target = 70 }
}"#,
        line: "autoscaling",
        message: "max_replicas",
    },
    Case {
        name: "workload without a cluster",
        hcl: r#"resource "genesis_workload" "w" {
  name  = "api"
  image = "nginx:1.27"
}"#,
        line: "resource \"genesis_workload\"",
        message: "kubeconfig_path",
    },
    Case {
        name: "provider endpoint without scheme",
        hcl: r#"provider "genesis" {
  gke_endpoint = "127.0.0.1:8080"
}
resource "genesis_registry" "r" {
  name = "images"
}"#,
        line: "gke_endpoint",
        message: "scheme",
    },
];

#[test]
fn bad_configurations_fail_with_the_attribute_named() {
    each_terraform(|tf| {
        for case in CASES {
            let main = format!("{PREAMBLE}\n{}\n", case.hcl);
            let ws = Workspace::new(tf, &[("main.tf", &main)]);
            let run = ws.run(&["validate", "-json"]).assert_no_crash();
            let out = run.json();
            assert_eq!(
                out["valid"], false,
                "{}: expected an error, got {out:#}",
                case.name
            );
            let errors: Vec<_> = out["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["severity"] == "error")
                .collect();
            // Terraform before 1.12 cannot point inside a nested attribute
            // and shows the enclosing block instead; the summary still
            // names the full path.
            let old_terraform = tf.label.contains("v1.11.") || tf.label.contains("v1.10.");
            let hit = errors.iter().find(|d| {
                let text = format!("{} {}", d["summary"], d["detail"]);
                let code = d["snippet"]["code"].as_str().unwrap_or_default();
                let enclosing = code.trim_end().ends_with('{');
                text.contains(case.message)
                    && (code.contains(case.line) || old_terraform && enclosing)
            });
            assert!(
                hit.is_some(),
                "{}: no error mentioning {:?} pointing at {:?}; got {errors:#?}",
                case.name,
                case.message,
                case.line
            );
        }
    });
}

#[test]
fn values_unknown_until_apply_are_accepted_at_validate() {
    each_terraform(|tf| {
        let main = format!(
            r#"{PREAMBLE}
variable "name" {{ type = string }}
variable "cidr" {{ type = string }}
resource "genesis_cluster" "c" {{
  name                   = var.name
  enable_private_cluster = true
  master_ipv4_cidr_block = var.cidr
}}
resource "genesis_node_pool" "p" {{
  cluster   = genesis_cluster.c.id
  name      = "pool"
  min_nodes = 1
  max_nodes = 3
}}
"#
        );
        let ws = Workspace::new(tf, &[("main.tf", &main)]);
        let out = ws.run(&["validate", "-json"]).assert_no_crash().json();
        assert_eq!(out["valid"], true, "{out:#}");
    });
}

/// `terraform init` as users run it: the provider installed from a local
/// filesystem mirror laid out as a registry would serve it, then validate
/// and plan from the installed copy.
#[test]
fn init_installs_the_provider_from_a_filesystem_mirror() {
    each_terraform(|tf| {
        let main = r#"
terraform {
  required_providers {
    genesis = {
      source  = "genesis-platform/genesis"
      version = "~> 0.1"
    }
  }
}
provider "genesis" {
  project = "p"
  region  = "us-central1"
}
resource "genesis_registry" "r" {
  name = "images"
}
"#;
        let ws = Workspace::new(tf, &[("main.tf", main)]).with_filesystem_mirror();
        let init = ws.run(&["init", "-input=false"]).ok();
        assert!(
            init.stdout.contains("Installed genesis-platform/genesis"),
            "{}",
            init.stdout
        );
        ws.run(&["validate"]).ok();
        ws.run(&["plan", "-input=false"]).ok();
    });
}
