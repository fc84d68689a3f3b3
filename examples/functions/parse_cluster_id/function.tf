locals {
  where = provider::genesis::parse_cluster_id(genesis_cluster.prod.id)
}

# A cluster in the same region as the one Genesis made.
output "region" {
  value = local.where.location
}
