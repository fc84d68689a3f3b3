resource "genesis_workload" "api" {
  cluster   = genesis_cluster.prod.id
  namespace = "apps"
  name      = "api"
  image     = "ghcr.io/example/api:1.4.2"
  replicas  = 3
}

# Rolls the pods (to pick up a rotated secret, say), as
# `kubectl rollout restart` does:
# terraform apply -invoke=action.genesis_workload_restart.api
action "genesis_workload_restart" "api" {
  config {
    cluster   = genesis_cluster.prod.id
    namespace = "apps"
    name      = genesis_workload.api.name
  }
}
