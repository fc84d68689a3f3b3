# Terraform 1.5+ and OpenTofu 1.5+; `terraform plan -generate-config-out=generated.tf`
# then writes the resource block for you.
import {
  to = genesis_cluster.prod
  id = "projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod"
}

# an EKS cluster, by its ARN
import {
  to = genesis_cluster.eks
  id = "arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod"
}
