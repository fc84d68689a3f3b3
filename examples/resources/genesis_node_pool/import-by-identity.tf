# Terraform 1.12+ and OpenTofu 1.12+: the pool by its cluster's ID and name.
import {
  to = genesis_node_pool.agent_runtime
  identity = {
    cluster = "projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod"
    name    = "agent-runtime"
  }
}

# an EKS managed node group
import {
  to = genesis_node_pool.system
  identity = {
    cluster = "arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod"
    name    = "system"
  }
}
