# Another team's application: its load balancer address for a DNS record.
data "genesis_workload" "storefront" {
  cluster   = data.genesis_cluster.shared.id
  namespace = "shop"
  name      = "storefront"
}

output "storefront_address" {
  value = data.genesis_workload.storefront.load_balancer_ip
}
