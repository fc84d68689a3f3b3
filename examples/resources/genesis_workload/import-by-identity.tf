# Terraform 1.12+ and OpenTofu 1.12+: the workload by its cluster's ID,
# namespace and name.
import {
  to = genesis_workload.api
  identity = {
    cluster   = "projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod"
    namespace = "genesis-agents"
    name      = "agent-cage"
  }
}

# on a cluster Genesis does not manage: a context of KUBECONFIG's file
import {
  to = genesis_workload.orders
  identity = {
    kubeconfig_context = "staging"
    namespace          = "apps"
    name               = "orders"
  }
}
