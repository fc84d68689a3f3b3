# Quickstart: a cluster with its namespaces, a registry, and two workloads
# on the cluster (an API with an autoscaler, a disruption budget, a
# LoadBalancer service and an ingress; a background worker), all in one
# apply. On GKE (cloud = "gcp") an Autopilot cluster and Artifact Registry;
# on EKS (cloud = "aws") an EKS Auto Mode cluster and ECR: the same
# resources either way. Set with_standard_cluster = true to
# add a GKE Standard cluster with two typed node pools.
#
# `scripts/quickstart` applies it against genesis-sim, the local simulator
# (`TF_VAR_cloud=aws scripts/quickstart` for EKS); against Google Cloud,
# set project_id and drop kubeconfig_token; against AWS, set subnet_ids.
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

variable "cloud" {
  description = "gcp (GKE, Artifact Registry) or aws (EKS, ECR)."
  type        = string
  default     = "gcp"
}

variable "subnet_ids" {
  description = "The EKS cluster's subnets, in at least two zones (cloud = \"aws\")."
  type        = list(string)
  default     = ["subnet-0a", "subnet-0b", "subnet-0c"]
}

variable "aws_region" {
  type    = string
  default = "us-east-1"
}

variable "project_id" {
  type    = string
  default = "genesis-quickstart"
}

variable "region" {
  type    = string
  default = "us-central1"
}

variable "with_standard_cluster" {
  type    = bool
  default = false
}

variable "kubeconfig_token" {
  description = "A bearer token for the kubeconfig output (genesis-sim's); left out, the kubeconfig authenticates with gke-gcloud-auth-plugin, as gcloud's does."
  type        = string
  default     = null
  sensitive   = true
}

provider "genesis" {
  project    = var.project_id
  region     = var.region
  aws_region = var.aws_region
}

resource "genesis_cluster" "apps" {
  cloud       = var.cloud
  name        = "quickstart"
  environment = "dev"

  # The cloud runs the nodes: GKE Autopilot, EKS Auto Mode (whose load
  # balancer controller also gives the API's ingress its address, as GKE's
  # does).
  enable_autopilot      = true
  eks                   = var.cloud == "aws" ? { subnet_ids = var.subnet_ids } : null
  kubernetes_namespaces = ["apps", "jobs"]
}

resource "genesis_registry" "images" {
  cloud = var.cloud
  name  = "quickstart"
  cleanup_policies = {
    # Valid on both clouds: ECR takes one rule for any tag state.
    keep-recent     = { action = "KEEP", keep_count = 10 }
    delete-untagged = { action = "DELETE", tag_state = "UNTAGGED", older_than = "30d" }
  }
}

resource "genesis_workload" "api" {
  cluster   = genesis_cluster.apps.id
  namespace = "apps"
  name      = "api"
  image     = "${genesis_registry.images.repository_url}/api:1.0.0"
  ports     = [{ name = "http", container_port = 8080 }]
  env       = { LOG_LEVEL = "info" }

  resources = {
    requests = { cpu = "250m", memory = "256Mi" }
    limits   = { memory = "512Mi" }
  }
  autoscaling       = { min_replicas = 2, max_replicas = 6, cpu_target = 70 }
  disruption_budget = { min_available = "50%" }
  readiness_probe   = { http_get = { path = "/ready", port = 8080 } }

  service = {
    type  = "LoadBalancer"
    ports = [{ name = "http", port = 80, target_port = 8080 }]
  }
  ingress = {
    host       = "api.quickstart.example.com"
    tls_secret = "api-tls"
  }
  network_policy = {
    allow_from = [{ cidr = "0.0.0.0/0", ports = [8080] }]
  }
}

resource "genesis_workload" "worker" {
  cluster   = genesis_cluster.apps.id
  namespace = "jobs"
  name      = "worker"
  image     = "${genesis_registry.images.repository_url}/worker:1.0.0"
  args      = ["--queue", "tasks"]
  replicas  = 2
  resources = { requests = { cpu = "100m", memory = "128Mi" } }

  network_policy = {
    allow_to = [{ namespace_labels = { "kubernetes.io/metadata.name" = "apps" }, ports = [8080] }]
  }
}

resource "genesis_cluster" "standard" {
  count = var.with_standard_cluster && var.cloud == "gcp" ? 1 : 0

  name             = "quickstart-standard"
  environment      = "dev"
  enable_autopilot = false
}

resource "genesis_node_pool" "agents" {
  count = var.with_standard_cluster && var.cloud == "gcp" ? 1 : 0

  cluster        = genesis_cluster.standard[0].id
  name           = "agent-runtime"
  machine_type   = "e2-standard-4"
  min_nodes      = 1
  max_nodes      = 5
  node_pool_type = "agent-runtime"
}

resource "genesis_node_pool" "spot" {
  count = var.with_standard_cluster && var.cloud == "gcp" ? 1 : 0

  cluster        = genesis_cluster.standard[0].id
  name           = "spot"
  machine_type   = "e2-standard-2"
  min_nodes      = 0
  max_nodes      = 10
  node_pool_type = "spot"
}

locals {
  # A static token for genesis-sim's GKE; gcloud's credential plugin for
  # GKE; the AWS CLI's token for EKS (genesis-sim's EKS checks it as EKS
  # does).
  kubeconfig_user = jsondecode(
    var.cloud == "aws" ? jsonencode({
      exec = {
        apiVersion      = "client.authentication.k8s.io/v1beta1"
        command         = "aws"
        args            = ["eks", "get-token", "--cluster-name", genesis_cluster.apps.name, "--region", genesis_cluster.apps.region, "--output", "json"]
        interactiveMode = "Never"
      }
      }) : var.kubeconfig_token != null ? jsonencode({ token = var.kubeconfig_token }) : jsonencode({
      exec = {
        apiVersion         = "client.authentication.k8s.io/v1beta1"
        command            = "gke-gcloud-auth-plugin"
        provideClusterInfo = true
        interactiveMode    = "Never"
      }
  }))
}

output "cluster_id" {
  value = genesis_cluster.apps.id
}

output "registry_url" {
  value = genesis_registry.images.repository_url
}

output "api_address" {
  description = "The API's load-balancer address."
  value       = genesis_workload.api.load_balancer_ip
}

output "kubeconfig" {
  description = "A kubeconfig for the cluster: terraform output -raw kubeconfig > kubeconfig"
  sensitive   = true
  value = yamlencode({
    apiVersion = "v1"
    kind       = "Config"
    clusters = [{
      name    = genesis_cluster.apps.name
      cluster = { server = "https://${genesis_cluster.apps.endpoint}", certificate-authority-data = genesis_cluster.apps.ca_certificate }
    }]
    users           = [{ name = "genesis", user = local.kubeconfig_user }]
    contexts        = [{ name = genesis_cluster.apps.name, context = { cluster = genesis_cluster.apps.name, user = "genesis" } }]
    current-context = genesis_cluster.apps.name
  })
}
