# The EKS platform of the seed documents: a production EKS cluster across
# three availability zones (private endpoint on, secrets encrypted with a
# KMS key Genesis makes, audit logs), the add-ons a cluster needs
# (vpc-cni, kube-proxy, coredns, the pod identity agent and the EBS CSI
# driver, each installed in the order EKS needs), four managed node groups
# (system, application, database and GPU for the AI orchestrator, each
# with the labels and taints its workloads select on), an ECR repository,
# and the workloads on the cluster: all in one apply, with one provider.
#
# The IAM roles of the cluster and its nodes are made by Genesis (and
# deleted with the cluster) unless eks.role_arn / eks.node_role_arn name
# existing ones.
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "subnet_ids" {
  description = "Private subnets, one in each of three availability zones."
  type        = list(string)
  default     = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
}

variable "office_cidr" {
  description = "The range allowed to reach the public Kubernetes API endpoint."
  type        = string
  default     = "203.0.113.0/24"
}

variable "deletion_protection" {
  type    = bool
  default = true
}

provider "genesis" {
  aws_region = var.region
}

resource "genesis_cluster" "prod" {
  cloud              = "aws"
  name               = "lead-gen-prod"
  environment        = "prod"
  kubernetes_version = "1.33"

  master_authorized_networks = [{ cidr_block = var.office_cidr, display_name = "office" }]
  deletion_protection        = var.deletion_protection

  eks = {
    subnet_ids          = var.subnet_ids
    authentication_mode = "API"
  }

  namespace {
    name               = "apps"
    pod_security_level = "restricted"
    quota              = { requests_cpu = "40", requests_memory = "160Gi", pods = 300 }
  }

  namespace {
    name               = "data"
    pod_security_level = "baseline"
  }

  namespace {
    name               = "ai"
    pod_security_level = "baseline"
  }

  labels = {
    team    = "platform"
    project = "lead-gen-insurance"
  }
}

# Cluster-wide services: coredns, the EBS CSI controller, the autoscaler.
resource "genesis_node_pool" "system" {
  cluster            = genesis_cluster.prod.id
  name               = "system"
  machine_type       = "m6i.large"
  initial_node_count = 3
  min_nodes          = 3
  max_nodes          = 6
  node_pool_type     = "general-purpose"
  workload_type      = "general"
  labels             = { "node-role" = "system" }
}

resource "genesis_node_pool" "application" {
  cluster            = genesis_cluster.prod.id
  name               = "application"
  machine_type       = "m6i.xlarge"
  initial_node_count = 3
  min_nodes          = 3
  max_nodes          = 20
  node_pool_type     = "general-purpose"
  workload_type      = "compute-intensive"
}

resource "genesis_node_pool" "database" {
  cluster            = genesis_cluster.prod.id
  name               = "database"
  machine_type       = "r6i.xlarge"
  disk_size_gb       = 200
  initial_node_count = 3
  min_nodes          = 3
  max_nodes          = 6
  workload_type      = "memory-intensive"
  taints             = [{ key = "dedicated", value = "database", effect = "NO_SCHEDULE" }]
}

resource "genesis_node_pool" "ai" {
  cluster            = genesis_cluster.prod.id
  name               = "ai-gpu"
  machine_type       = "g5.xlarge"
  gpu                = { type = "nvidia-a10g" }
  initial_node_count = 1
  min_nodes          = 0
  max_nodes          = 4
  node_pool_type     = "agent-runtime"
  workload_type      = "compute-intensive"
}

resource "genesis_registry" "images" {
  cloud                  = "aws"
  name                   = "lead-gen/services"
  immutable_tags         = true
  vulnerability_scanning = true

  cleanup_policies = {
    keep-recent = { action = "KEEP", keep_count = 30 }
  }
}

resource "genesis_workload" "api" {
  cluster   = genesis_cluster.prod.id
  namespace = "apps"
  name      = "api"
  image     = "${genesis_registry.images.repository_url}:api-1.4.0"
  ports     = [{ name = "http", container_port = 3000 }]

  resources = {
    requests = { cpu = "500m", memory = "512Mi" }
    limits   = { memory = "1Gi" }
  }
  autoscaling       = { min_replicas = 2, max_replicas = 10, cpu_target = 70 }
  disruption_budget = { min_available = "50%" }
  readiness_probe   = { http_get = { path = "/health", port = 3000 } }
  node_pool         = genesis_node_pool.application.name

  service = {
    type  = "LoadBalancer"
    ports = [{ name = "http", port = 80, target_port = 3000 }]
  }
}

resource "genesis_workload" "orchestrator" {
  cluster   = genesis_cluster.prod.id
  namespace = "ai"
  name      = "orchestrator"
  image     = "${genesis_registry.images.repository_url}:orchestrator-2.1.0"
  ports     = [{ name = "http", container_port = 8000 }]

  # On the GPU pool; asking for a GPU tolerates its nvidia.com/gpu taint.
  resources = {
    requests = { cpu = "2", memory = "8Gi", extended = { "nvidia.com/gpu" = "1" } }
    limits   = { memory = "16Gi", extended = { "nvidia.com/gpu" = "1" } }
  }
  node_pool = genesis_node_pool.ai.name
}

output "cluster_arn" {
  value = genesis_cluster.prod.id
}

output "endpoint" {
  value = genesis_cluster.prod.endpoint
}
