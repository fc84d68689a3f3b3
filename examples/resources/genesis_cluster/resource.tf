resource "genesis_cluster" "prod" {
  project_id  = "genesis-project-prod"
  region      = "us-central1"
  environment = "prod"
  name        = "genesis-prod"

  enable_private_cluster = true
  master_ipv4_cidr_block = "172.16.0.0/28"

  kubernetes_namespaces = ["genesis-agents", "claude-talk"]

  namespace {
    name               = "monitoring"
    pod_security_level = "baseline"
    quota              = { requests_cpu = "8", requests_memory = "32Gi" }
  }
}
