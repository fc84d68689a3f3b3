# Terraform 1.5+ and OpenTofu 1.5+; `terraform plan -generate-config-out=generated.tf`
# then writes the resource block for you.
import {
  to = genesis_node_pool.agent_runtime
  id = "projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod/nodePools/agent-runtime"
}

# an EKS managed node group
import {
  to = genesis_node_pool.system
  id = "arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod/nodePools/system"
}
