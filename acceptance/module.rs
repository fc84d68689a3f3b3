//! The seeds' `container-orchestration` module on the genesis provider
//! (`examples/modules/container-orchestration`): their three usage
//! examples, copied from the seed with only `source` changed, plan and
//! apply against genesis-sim and plan no change afterwards. What the seed
//! asks for and GKE or Genesis does not do (the WORKLOADS monitoring
//! component, an Istio ingress gateway) is said at plan time by the
//! module's checks, as warnings, and the rest applies.
//!
//! On every client: each evaluates the module's optional object
//! attributes, `for_each` maps and `check` blocks itself.

use std::path::Path;

use crate::harness::{Moto, Sim, Terraform, Workspace, each_terraform, first_terraform};

const BASIC_AUTOPILOT: &str = r#"
module "container_orchestration" {
  source = "./modules/container-orchestration"

  project_id  = "genesis-project-dev"
  region      = "us-central1"
  environment = "dev"

  gke_cluster_config = {
    name = "genesis-autopilot"
    description = "Genesis Autopilot cluster for agent workloads"
  }

  enable_autopilot = true
  regional_cluster = true

  container_repositories = [
    {
      name        = "agent-cage"
      description = "Agent-cage runtime images"
    },
    {
      name        = "claude-talk"
      description = "Claude-talk MCP server images"
    }
  ]

  kubernetes_namespaces = [
    "genesis-agents",
    "claude-talk",
    "monitoring"
  ]
}
"#;

const PRODUCTION_STANDARD: &str = r#"
module "container_orchestration_prod" {
  source = "./modules/container-orchestration"

  project_id  = "genesis-project-prod"
  region      = "us-central1"
  environment = "prod"

  gke_cluster_config = {
    name        = "genesis-prod"
    description = "Production Genesis cluster"
  }

  # Standard mode with custom node pools
  enable_autopilot = false
  regional_cluster = true

  node_pools = [
    {
      name               = "agent-runtime"
      machine_type       = "e2-standard-4"
      initial_node_count = 2
      min_nodes         = 2
      max_nodes         = 20
      enable_autoscaling = true

      node_pool_type = "agent-runtime"
      workload_type  = "compute-intensive"

      taints = [
        {
          key    = "agent-runtime"
          value  = "true"
          effect = "NO_SCHEDULE"
        }
      ]
    },
    {
      name               = "mcp-server"
      machine_type       = "e2-standard-2"
      initial_node_count = 1
      min_nodes         = 1
      max_nodes         = 10
      enable_autoscaling = true

      node_pool_type = "mcp-server"
      workload_type  = "io-intensive"
    },
    {
      name               = "general-purpose"
      machine_type       = "e2-medium"
      initial_node_count = 1
      min_nodes         = 0
      max_nodes         = 5
      enable_autoscaling = true
      preemptible       = true
    }
  ]

  # Private cluster configuration
  enable_private_cluster = true
  enable_private_endpoint = false
  master_ipv4_cidr_block = "172.16.0.0/28"

  # Service mesh
  enable_service_mesh = true
  enable_istio_ingress = true

  # Security features
  enable_workload_identity = true
  enable_binary_authorization = true
  enable_network_policy = true
  enable_shielded_nodes = true

  # Monitoring
  enable_managed_prometheus = true
  monitoring_components = [
    "SYSTEM_COMPONENTS",
    "WORKLOADS",
    "APISERVER"
  ]
}
"#;

const DEVELOPMENT_ZONAL: &str = r#"
module "container_orchestration_dev" {
  source = "./modules/container-orchestration"

  project_id  = "genesis-project-dev"
  region      = "us-central1"
  zone        = "us-central1-a"  # Zonal cluster for cost savings
  environment = "dev"

  gke_cluster_config = {
    name = "genesis-dev"
  }

  regional_cluster = false  # Zonal cluster
  enable_autopilot = false

  node_pools = [
    {
      name               = "dev-pool"
      machine_type       = "e2-micro"
      initial_node_count = 1
      min_nodes         = 0
      max_nodes         = 3
      enable_autoscaling = true
      preemptible       = true  # Cost optimization

      # Development-friendly settings
      auto_repair  = true
      auto_upgrade = false  # Manual upgrades in dev
    }
  ]

  # Minimal security for development
  enable_private_cluster = false
  enable_workload_identity = false
  enable_network_policy = false
}
"#;

/// A workspace with `example` as its main.tf and the module under
/// `modules/container-orchestration`, its modules installed.
fn with_module(tf: &Terraform, sim: &Sim, example: &str) -> Workspace {
    let module =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/modules/container-orchestration");
    let mut files = vec![("main.tf".to_string(), example.to_string())];
    for entry in std::fs::read_dir(&module).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        files.push((
            format!("modules/container-orchestration/{name}"),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_str()))
        .collect();
    let ws = Workspace::new(tf, &refs).against(sim);
    ws.run(&["get"]).ok();
    ws
}

#[test]
fn the_seeds_module_examples_apply_through_the_module_unchanged() {
    each_terraform(|tf| {
        for (name, example) in [
            ("basic Autopilot", BASIC_AUTOPILOT),
            ("production Standard", PRODUCTION_STANDARD),
            ("development zonal", DEVELOPMENT_ZONAL),
        ] {
            let sim = Sim::start();
            let ws = with_module(tf, &sim, example);
            let applied = ws
                .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
                .ok();
            assert!(!ws.plan_has_changes(), "{name}: settled");
            let clusters = sim.state()["gke"]["clusters"].clone();
            let cluster = clusters
                .as_object()
                .and_then(|c| c.values().next())
                .cloned()
                .unwrap_or_default();
            let said = format!("{}{}", applied.stdout, applied.stderr);
            match name {
                "basic Autopilot" => {
                    assert_eq!(cluster["autopilot"]["enabled"], true, "{cluster:#}");
                    let repositories = sim.state()["artifact_registry"]["repositories"].to_string();
                    assert!(repositories.contains("claude-talk"), "{repositories}");
                }
                "production Standard" => {
                    // Warned at plan time, and the rest applied.
                    assert!(
                        said.contains("WORKLOADS") && said.contains("Istio ingress gateway"),
                        "{said}"
                    );
                    let components =
                        cluster["monitoringConfig"]["componentConfig"]["enableComponents"]
                            .to_string();
                    assert!(
                        components.contains("APISERVER") && !components.contains("WORKLOADS"),
                        "{components}"
                    );
                    assert_eq!(
                        cluster["privateClusterConfig"]["masterIpv4CidrBlock"],
                        "172.16.0.0/28"
                    );
                    let pools = cluster["nodePools"].to_string();
                    for pool in ["agent-runtime", "mcp-server", "general-purpose"] {
                        assert!(pools.contains(pool), "{pool}: {pools}");
                    }
                }
                _ => {
                    assert_eq!(cluster["location"], "us-central1-a", "{cluster:#}");
                    assert!(!said.contains("assertion failed"), "no check warns: {said}");
                }
            }
            let destroyed = ws.run(&["destroy", "-input=false", "-auto-approve", "-no-color"]);
            if name == "production Standard" {
                // environment = "prod" protects the cluster from deletion.
                assert!(!destroyed.status.success());
                assert!(
                    destroyed
                        .stderr
                        .contains("Cluster is protected from deletion"),
                    "{}",
                    destroyed.stderr
                );
            } else {
                destroyed.ok();
            }
        }
    });
}

/// The module on EKS: the same variables, with `cloud` and `eks_config`.
const ON_EKS: &str = r#"
module "container_orchestration" {
  source = "./modules/container-orchestration"

  cloud       = "aws"
  region      = "us-east-1"
  environment = "staging"

  gke_cluster_config = {
    name = "genesis-eks"
  }
  eks_config = {
    subnet_ids = ["subnet-0a", "subnet-0b", "subnet-0c"]
  }

  enable_autopilot = false
  node_pools = [
    {
      name           = "agent-runtime"
      machine_type   = "m6i.xlarge"
      min_nodes      = 1
      max_nodes      = 10
      node_pool_type = "agent-runtime"
    }
  ]
  container_repositories = [{ name = "agent-cage" }]
  kubernetes_namespaces  = ["genesis-agents"]
}

output "cluster_id" {
  value = module.container_orchestration.cluster_id
}
"#;

#[test]
fn the_module_makes_the_same_platform_on_eks() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = with_module(tf, &sim, ON_EKS).against_eks(&sim, &moto);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes(), "settled");
        let arn = "arn:aws:eks:us-east-1:123456789012:cluster/genesis-eks";
        let outputs = ws.run(&["output", "-json"]).ok().json();
        assert_eq!(outputs["cluster_id"]["value"], arn);
        let group = &sim.state()["eks"]["nodegroups"][arn]["agent-runtime"];
        assert_eq!(group["instanceTypes"][0], "m6i.xlarge", "{group:#}");
        let repositories = moto.python(
            "print([r['repositoryName'] for r in ecr.describe_repositories()['repositories']])",
        );
        assert_eq!(repositories, "['agent-cage']");
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
