resource "genesis_workload" "api" {
  cluster   = genesis_cluster.prod.id
  namespace = "genesis-agents"
  name      = "agent-cage"
  image     = "us-central1-docker.pkg.dev/genesis-project-prod/genesis-images/agent-cage:1.2.3"

  ports     = [{ name = "http", container_port = 8080 }]
  resources = { requests = { cpu = "500m", memory = "512Mi" } }

  autoscaling = { min_replicas = 3, max_replicas = 10, cpu_target = 70 }

  readiness_probe   = { http_get = { path = "/ready", port = 8080 } }
  disruption_budget = { min_available = "50%" }
  service           = { type = "LoadBalancer", ports = [{ port = 80, target_port = 8080 }] }
  node_pool_type    = "agent-runtime"
}
