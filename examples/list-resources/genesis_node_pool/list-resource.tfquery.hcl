# The pools of a cluster: GKE node pools, EKS node groups, and on EKS Auto
# Mode the Karpenter NodePools Genesis made.
list "genesis_node_pool" "platform" {
  provider         = genesis
  include_resource = true

  config {
    cluster = "projects/acme-prod/locations/us-central1/clusters/platform"
  }
}
