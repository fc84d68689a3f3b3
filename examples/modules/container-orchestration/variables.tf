# The interface of the container-orchestration module the platform was
# designed around (its seed documents): the same variable names and shapes,
# so a configuration that calls that module changes only its `source`.
# Settings left null take the genesis provider's defaults, most of them
# chosen by `environment`.

variable "cloud" {
  description = "gcp (GKE, Artifact Registry) or aws (EKS, ECR): the same variables make the same platform on either."
  type        = string
  default     = "gcp"

  validation {
    condition     = contains(["gcp", "aws"], var.cloud)
    error_message = "cloud is \"gcp\" or \"aws\"."
  }
}

variable "project_id" {
  description = "The GCP project (cloud = \"gcp\"). Left null, the provider's project."
  type        = string
  default     = null
}

variable "region" {
  description = "The GCP or AWS region. Left null, the provider's."
  type        = string
  default     = null
}

variable "zone" {
  description = "The zone of a zonal GKE cluster (regional_cluster = false)."
  type        = string
  default     = null
}

variable "environment" {
  description = "dev, staging or prod: chooses the cluster's secure defaults (release channel, private cluster, binary authorization, managed Prometheus, deletion protection)."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment is \"dev\", \"staging\" or \"prod\"."
  }
}

variable "gke_cluster_config" {
  description = "The cluster's name and description, and optionally its release channel, Kubernetes version, network, subnetwork and labels. On EKS too (the name is the EKS cluster's)."
  type = object({
    name               = string
    description        = optional(string)
    release_channel    = optional(string)
    kubernetes_version = optional(string)
    network            = optional(string)
    subnetwork         = optional(string)
    labels             = optional(map(string))
  })
}

variable "eks_config" {
  description = "The EKS cluster's own settings (cloud = \"aws\"): its subnets, and optionally security groups, IAM roles, authentication mode and add-ons (Genesis makes the roles when none are given and installs the core add-ons, metrics-server and the Cluster Autoscaler by default)."
  type = object({
    subnet_ids          = list(string)
    security_group_ids  = optional(list(string))
    role_arn            = optional(string)
    node_role_arn       = optional(string)
    authentication_mode = optional(string)
    addons              = optional(set(string))
  })
  default = null
}

variable "enable_autopilot" {
  description = "Let the cloud run the nodes: GKE Autopilot, or EKS Auto Mode."
  type        = bool
  default     = true
}

variable "regional_cluster" {
  description = "A regional GKE cluster (control plane and nodes in three zones); false for a zonal one in `zone`."
  type        = bool
  default     = true
}

variable "node_pools" {
  description = "Node pools (GKE node pools, EKS managed node groups; on Autopilot and Auto Mode, custom ComputeClasses and Karpenter NodePools). node_pool_type (agent-runtime, mcp-server, general-purpose, spot) and workload_type set the pool's labels and taints."
  type = list(object({
    name               = string
    machine_type       = optional(string)
    initial_node_count = optional(number)
    min_nodes          = optional(number)
    max_nodes          = optional(number)
    enable_autoscaling = optional(bool)
    node_pool_type     = optional(string)
    workload_type      = optional(string)
    preemptible        = optional(bool)
    spot               = optional(bool)
    disk_size_gb       = optional(number)
    disk_type          = optional(string)
    auto_repair        = optional(bool)
    auto_upgrade       = optional(bool)
    labels             = optional(map(string))
    taints = optional(list(object({
      key    = string
      value  = string
      effect = string
    })))
  }))
  default = []
}

variable "container_repositories" {
  description = "Container image repositories (Artifact Registry on GCP, ECR on AWS)."
  type = list(object({
    name                   = string
    description            = optional(string)
    format                 = optional(string)
    immutable_tags         = optional(bool)
    vulnerability_scanning = optional(bool)
  }))
  default = []
}

variable "kubernetes_namespaces" {
  description = "Namespaces made in the cluster."
  type        = list(string)
  default     = []
}

variable "enable_private_cluster" {
  description = "GKE nodes without public addresses. Null: on except in dev."
  type        = bool
  default     = null
}

variable "enable_private_endpoint" {
  description = "The control plane reachable only from inside the network."
  type        = bool
  default     = null
}

variable "master_ipv4_cidr_block" {
  description = "The /28 range of a private GKE cluster's control plane."
  type        = string
  default     = null
}

variable "enable_service_mesh" {
  description = "Label the namespaces for Istio sidecar injection (Cloud Service Mesh on GKE; Istio installed by you on EKS): Genesis does not install the mesh."
  type        = bool
  default     = false
}

variable "enable_istio_ingress" {
  description = "An Istio ingress gateway. Genesis does not install one: the module says so at plan time (a check) and makes none."
  type        = bool
  default     = false
}

variable "enable_workload_identity" {
  description = "GKE Workload Identity (on by default)."
  type        = bool
  default     = null
}

variable "enable_binary_authorization" {
  description = "GKE Binary Authorization. Null: on in prod."
  type        = bool
  default     = null
}

variable "enable_network_policy" {
  description = "Network policy enforcement (on by default)."
  type        = bool
  default     = null
}

variable "enable_shielded_nodes" {
  description = "GKE Shielded nodes (on by default)."
  type        = bool
  default     = null
}

variable "enable_managed_prometheus" {
  description = "Google Cloud Managed Service for Prometheus. Null: on except in dev."
  type        = bool
  default     = null
}

variable "monitoring_components" {
  description = "GKE monitoring components. WORKLOADS, which GKE no longer accepts, is left out with a warning (a check): workload metrics come from managed Prometheus."
  type        = list(string)
  default     = null
}
