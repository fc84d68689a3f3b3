# The container-orchestration module on the genesis provider: one cluster
# with its namespaces, its node pools and its image repositories.

locals {
  gcp = var.cloud == "gcp"
  # GKE stopped offering WORKLOADS as a monitoring component: passed on,
  # the cluster would be refused. The check below says it was left out.
  monitoring_components = var.monitoring_components == null ? null : [
    for c in var.monitoring_components : c if c != "WORKLOADS"
  ]
}

resource "genesis_cluster" "this" {
  cloud       = var.cloud
  project_id  = local.gcp ? var.project_id : null
  region      = var.region
  zone        = var.zone
  environment = var.environment

  name               = var.gke_cluster_config.name
  description        = var.gke_cluster_config.description
  release_channel    = var.gke_cluster_config.release_channel
  kubernetes_version = var.gke_cluster_config.kubernetes_version
  network            = var.gke_cluster_config.network
  subnetwork         = var.gke_cluster_config.subnetwork
  labels             = var.gke_cluster_config.labels

  enable_autopilot = var.enable_autopilot
  regional_cluster = var.regional_cluster

  enable_private_cluster  = var.enable_private_cluster
  enable_private_endpoint = var.enable_private_endpoint
  master_ipv4_cidr_block  = var.master_ipv4_cidr_block

  enable_workload_identity    = var.enable_workload_identity
  enable_binary_authorization = var.enable_binary_authorization
  enable_network_policy       = var.enable_network_policy
  enable_shielded_nodes       = var.enable_shielded_nodes

  enable_managed_prometheus = var.enable_managed_prometheus
  monitoring_components     = local.monitoring_components

  service_mesh = var.enable_service_mesh ? "istio" : null

  kubernetes_namespaces = var.kubernetes_namespaces

  eks = var.eks_config
}

resource "genesis_node_pool" "this" {
  for_each = { for pool in var.node_pools : pool.name => pool }

  cluster            = genesis_cluster.this.id
  name               = each.key
  machine_type       = each.value.machine_type
  initial_node_count = each.value.initial_node_count
  min_nodes          = each.value.min_nodes
  max_nodes          = each.value.max_nodes
  enable_autoscaling = each.value.enable_autoscaling
  node_pool_type     = each.value.node_pool_type
  workload_type      = each.value.workload_type
  preemptible        = each.value.preemptible
  spot               = each.value.spot
  disk_size_gb       = each.value.disk_size_gb
  disk_type          = each.value.disk_type
  auto_repair        = each.value.auto_repair
  auto_upgrade       = each.value.auto_upgrade
  labels             = each.value.labels
  taints             = each.value.taints
}

resource "genesis_registry" "this" {
  for_each = { for repository in var.container_repositories : repository.name => repository }

  cloud                  = var.cloud
  project_id             = local.gcp ? var.project_id : null
  region                 = var.region
  name                   = each.key
  description            = each.value.description
  format                 = each.value.format
  immutable_tags         = each.value.immutable_tags
  vulnerability_scanning = each.value.vulnerability_scanning
}

check "monitoring_components" {
  assert {
    condition     = !contains(coalesce(var.monitoring_components, []), "WORKLOADS")
    error_message = "GKE no longer accepts WORKLOADS as a monitoring component, so the module left it out of the cluster's monitoring_components. Workload metrics come from managed Prometheus (enable_managed_prometheus = true); add \"POD\" or \"DEPLOYMENT\" for their state, and remove WORKLOADS to silence this."
  }
}

check "istio_ingress" {
  assert {
    condition     = !var.enable_istio_ingress
    error_message = "Genesis does not install an Istio ingress gateway, so enable_istio_ingress made none. Install one with istioctl or Istio's gateway Helm chart (on GKE, Cloud Service Mesh's gateway), or expose workloads through genesis_workload's ingress; set enable_istio_ingress = false to silence this."
  }
}
