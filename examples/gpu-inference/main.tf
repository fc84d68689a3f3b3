# Model serving on GPU nodes (seed 004's AI orchestrator): a Standard
# cluster, a pool of g2-standard-8 nodes with one NVIDIA L4 each, tainted so
# that only pods asking for a GPU land there, and an inference server that
# asks for one.
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {}

resource "genesis_cluster" "ml" {
  project_id  = "genesis-project-dev"
  region      = "us-central1"
  environment = "staging"
  name        = "genesis-ml"

  enable_autopilot      = false
  kubernetes_namespaces = ["inference"]
}

resource "genesis_node_pool" "gpu" {
  cluster      = genesis_cluster.ml.id
  name         = "gpu-l4"
  machine_type = "g2-standard-8"
  gpu          = { type = "nvidia-l4", count = 1, driver = "LATEST" }

  # Scale to zero when nothing asks for a GPU.
  min_nodes = 0
  max_nodes = 4
}

resource "genesis_workload" "inference" {
  cluster   = genesis_cluster.ml.id
  namespace = "inference"
  name      = "llm"
  image     = "vllm/vllm-openai:v0.9.2"
  args      = ["--model", "Qwen/Qwen2.5-7B-Instruct", "--port", "8000"]
  ports     = [{ name = "http", container_port = 8000 }]

  # On the GPU pool; the GPU request tolerates its nvidia.com/gpu taint.
  node_pool = genesis_node_pool.gpu.name
  resources = {
    requests = { cpu = "4", memory = "24Gi", extended = { "nvidia.com/gpu" = "1" } }
    limits   = { memory = "24Gi", extended = { "nvidia.com/gpu" = "1" } }
  }

  readiness_probe = { http_get = { path = "/health", port = 8000 }, initial_delay_seconds = 60 }
  service         = { ports = [{ port = 80, target_port = 8000 }] }

  timeouts {
    create = "30m"
  }
}
