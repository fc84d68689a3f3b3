# The module's "Production Standard Cluster": typed node pools, a private
# cluster, workload identity, binary authorization, network policy,
# shielded nodes and managed Prometheus.
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {}

resource "genesis_cluster" "prod" {
  project_id  = "genesis-project-prod"
  region      = "us-central1"
  environment = "prod"

  name        = "genesis-prod"
  description = "Production Genesis cluster"

  enable_autopilot = false
  regional_cluster = true

  enable_private_cluster  = true
  enable_private_endpoint = false
  master_ipv4_cidr_block  = "172.16.0.0/28"

  enable_workload_identity    = true
  enable_binary_authorization = true
  enable_network_policy       = true
  enable_shielded_nodes       = true

  enable_managed_prometheus = true
  monitoring_components     = ["SYSTEM_COMPONENTS", "APISERVER", "POD", "DEPLOYMENT"]

  # Cloud Service Mesh (managed Istio) runs on the fleet; Genesis labels its
  # namespaces for sidecar injection.
  service_mesh = "istio"

  namespace {
    name               = "genesis-agents"
    pod_security_level = "restricted"
    quota = {
      requests_cpu    = "40"
      requests_memory = "160Gi"
      pods            = 200
    }
  }

  namespace {
    name               = "claude-talk"
    pod_security_level = "restricted"
    limit_range = {
      default_request_cpu    = "250m"
      default_request_memory = "256Mi"
      default_limit_cpu      = "1"
      default_limit_memory   = "1Gi"
    }
  }

  labels = {
    team        = "platform"
    environment = "prod"
  }
}

resource "genesis_node_pool" "agent_runtime" {
  cluster            = genesis_cluster.prod.id
  name               = "agent-runtime"
  machine_type       = "e2-standard-4"
  initial_node_count = 2
  min_nodes          = 2
  max_nodes          = 20
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
}

resource "genesis_node_pool" "mcp_server" {
  cluster            = genesis_cluster.prod.id
  name               = "mcp-server"
  machine_type       = "e2-standard-2"
  initial_node_count = 1
  min_nodes          = 1
  max_nodes          = 10
  enable_autoscaling = true

  node_pool_type = "mcp-server"
  workload_type  = "io-intensive"
}

resource "genesis_node_pool" "general_purpose" {
  cluster            = genesis_cluster.prod.id
  name               = "general-purpose"
  machine_type       = "e2-medium"
  initial_node_count = 1
  min_nodes          = 0
  max_nodes          = 5
  enable_autoscaling = true

  node_pool_type = "spot"
}

resource "genesis_registry" "images" {
  project_id             = "genesis-project-prod"
  region                 = "us-central1"
  name                   = "genesis-images"
  immutable_tags         = true
  vulnerability_scanning = true

  cleanup_policies = {
    delete-old  = { action = "DELETE", tag_state = "ANY", older_than = "90d" }
    keep-recent = { action = "KEEP", keep_count = 20 }
  }
}
