# A cluster Genesis does not manage, by cloud, location and name.
data "genesis_cluster" "shared" {
  cloud    = "aws"
  name     = "shared-services"
  location = "eu-west-1"
}

# Or by ID.
data "genesis_cluster" "analytics" {
  id = "projects/acme-data/locations/europe-west1/clusters/analytics"
}

output "shared_endpoint" {
  value = data.genesis_cluster.shared.endpoint
}
