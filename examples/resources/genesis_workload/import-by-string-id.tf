# Terraform 1.5+ and OpenTofu 1.5+; `terraform plan -generate-config-out=generated.tf`
# then writes the resource block for you.
import {
  to = genesis_workload.api
  id = "projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod/genesis-agents/agent-cage"
}

# on an EKS cluster: CLUSTER_ARN/NAMESPACE/NAME
import {
  to = genesis_workload.orders
  id = "arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod/apps/orders"
}
