resource "genesis_node_pool" "agent_runtime" {
  cluster            = genesis_cluster.prod.id
  name               = "agent-runtime"
  machine_type       = "e2-standard-4"
  initial_node_count = 2
  min_nodes          = 2
  max_nodes          = 20
  node_pool_type     = "agent-runtime"
  workload_type      = "compute-intensive"

  taints = [
    { key = "agent-runtime", value = "true", effect = "NO_SCHEDULE" }
  ]
}
