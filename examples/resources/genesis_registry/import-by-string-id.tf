# Terraform 1.5+ and OpenTofu 1.5+; `terraform plan -generate-config-out=generated.tf`
# then writes the resource block for you.
import {
  to = genesis_registry.images
  id = "projects/genesis-project-prod/locations/us-central1/repositories/genesis-images"
}

# an ECR repository, by its ARN
import {
  to = genesis_registry.ecr
  id = "arn:aws:ecr:us-east-1:123456789012:repository/genesis-images"
}
