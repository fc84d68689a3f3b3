# The module's "Basic Autopilot Cluster", as genesis resources.
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {}

resource "genesis_cluster" "autopilot" {
  project_id  = "genesis-project-dev"
  region      = "us-central1"
  environment = "dev"

  name        = "genesis-autopilot"
  description = "Genesis Autopilot cluster for agent workloads"

  enable_autopilot = true
  regional_cluster = true

  kubernetes_namespaces = [
    "genesis-agents",
    "claude-talk",
    "monitoring",
  ]
}

resource "genesis_registry" "agent_cage" {
  project_id  = "genesis-project-dev"
  region      = "us-central1"
  name        = "agent-cage"
  description = "Agent-cage runtime images"

  cleanup_policies = {
    delete-untagged = { action = "DELETE", tag_state = "UNTAGGED", older_than = "7d" }
    keep-recent     = { action = "KEEP", keep_count = 10 }
  }
}

resource "genesis_registry" "claude_talk" {
  project_id  = "genesis-project-dev"
  region      = "us-central1"
  name        = "claude-talk"
  description = "Claude-talk MCP server images"
}

output "cluster_id" {
  value = genesis_cluster.autopilot.id
}

output "agent_cage_repository" {
  value = genesis_registry.agent_cage.repository_url
}
