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

# A canary release: 10%, then 50% of the traffic before all of it; at each
# step the new pods must stay ready and answer the application's own check.
resource "genesis_workload" "checkout" {
  cluster   = genesis_cluster.prod.id
  namespace = "shop"
  name      = "checkout"
  image     = "us-central1-docker.pkg.dev/genesis-project-prod/genesis-images/checkout:2.4.0"
  replicas  = 10

  ports   = [{ name = "http", container_port = 8080 }]
  service = { ports = [{ port = 80, target_port = 8080 }] }

  rollout = {
    strategy = "canary"
    steps    = [{ weight = 10, pause = "5m" }, { weight = 50, pause = "10m" }]
    analysis = { path = "/healthz/deep" }
  }

  timeouts {
    update = "30m"
  }
}
