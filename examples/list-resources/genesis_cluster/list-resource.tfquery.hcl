# Every GKE cluster of a project, in all its locations.
list "genesis_cluster" "acme_prod" {
  provider         = genesis
  include_resource = true

  config {
    cloud      = "gcp"
    project_id = "acme-prod"
    location   = "-"
  }
}

# The EKS clusters of the account in one region.
list "genesis_cluster" "eu" {
  provider = genesis

  config {
    cloud    = "aws"
    location = "eu-west-1"
  }
}
