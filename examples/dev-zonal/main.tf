# The module's "Development Cluster with Cost Optimization": zonal,
# preemptible nodes, manual upgrades, minimal security.
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {}

resource "genesis_cluster" "dev" {
  project_id  = "genesis-project-dev"
  region      = "us-central1"
  zone        = "us-central1-a"
  environment = "dev"

  name = "genesis-dev"

  regional_cluster = false
  enable_autopilot = false

  enable_private_cluster   = false
  enable_workload_identity = false
  enable_network_policy    = false
}

resource "genesis_node_pool" "dev" {
  cluster            = genesis_cluster.dev.id
  name               = "dev-pool"
  machine_type       = "e2-micro"
  initial_node_count = 1
  min_nodes          = 0
  max_nodes          = 3
  enable_autoscaling = true
  preemptible        = true

  auto_repair  = true
  auto_upgrade = false
}
