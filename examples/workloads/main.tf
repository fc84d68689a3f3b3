# Two workloads on one cluster: an API with an autoscaler (3-10 pods at 70%
# CPU / 80% memory), a disruption budget, a LoadBalancer service and a TLS
# ingress; and a background worker scaled 2-10.
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {}

resource "genesis_cluster" "main" {
  project_id  = "genesis-project-dev"
  region      = "us-central1"
  environment = "staging"
  name        = "genesis-apps"

  enable_autopilot      = true
  kubernetes_namespaces = ["genesis-agents"]
}

resource "genesis_workload" "api" {
  cluster   = genesis_cluster.main.id
  namespace = "genesis-agents"
  name      = "agent-cage"
  image     = "us-central1-docker.pkg.dev/genesis-project-dev/agent-cage/agent-cage:1.2.3"

  ports = [{ name = "http", container_port = 8080 }]

  env = {
    LOG_LEVEL = "info"
  }

  resources = {
    requests = { cpu = "500m", memory = "512Mi" }
    limits   = { cpu = "1", memory = "1Gi" }
  }

  autoscaling = {
    min_replicas  = 3
    max_replicas  = 10
    cpu_target    = 70
    memory_target = 80
    scale_down    = { stabilization_window_seconds = 300, max_percent = 50 }
  }

  readiness_probe = { http_get = { path = "/ready", port = 8080 } }
  liveness_probe  = { http_get = { path = "/healthz", port = 8080 }, initial_delay_seconds = 10 }

  strategy = { max_surge = "25%", max_unavailable = "0" }

  disruption_budget = { min_available = "50%" }

  service = {
    type  = "LoadBalancer"
    ports = [{ name = "http", port = 80, target_port = 8080 }]
  }

  ingress = {
    host       = "api.genesis.example.com"
    tls_secret = "api-tls"
  }

  network_policy = {
    allow_from = [{ cidr = "0.0.0.0/0", ports = [8080] }]
  }

  service_account = {
    gcp_service_account = "agent-cage@genesis-project-dev.iam.gserviceaccount.com"
  }
}

resource "genesis_workload" "worker" {
  cluster   = genesis_cluster.main.id
  namespace = "genesis-agents"
  name      = "agent-worker"
  image     = "us-central1-docker.pkg.dev/genesis-project-dev/agent-cage/worker:1.2.3"
  args      = ["--queue", "tasks"]

  resources = {
    requests = { cpu = "250m", memory = "256Mi" }
  }

  autoscaling = {
    min_replicas = 2
    max_replicas = 10
    cpu_target   = 75
  }

  network_policy = {
    allow_to = [{ cidr = "10.0.0.0/8" }]
  }
}
