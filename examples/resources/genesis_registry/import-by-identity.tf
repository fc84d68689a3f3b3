# Terraform 1.12+ and OpenTofu 1.12+: the repository by its identity.
import {
  to = genesis_registry.images
  identity = {
    project  = "genesis-project-prod"
    location = "us-central1"
    name     = "genesis-images"
  }
}

# an ECR repository: its account, region and name
import {
  to = genesis_registry.ecr
  identity = {
    account_id = "123456789012"
    location   = "us-east-1"
    name       = "genesis-images"
  }
}
