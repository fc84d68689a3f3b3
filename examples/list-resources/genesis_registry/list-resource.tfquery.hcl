# The Artifact Registry repositories of the provider's project and region.
list "genesis_registry" "images" {
  provider         = genesis
  include_resource = true

  config {}
}

# The ECR repositories of the account in a region.
list "genesis_registry" "ecr" {
  provider = genesis

  config {
    cloud  = "aws"
    region = "us-east-1"
  }
}
