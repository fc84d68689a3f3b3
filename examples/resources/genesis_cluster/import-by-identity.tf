# Terraform 1.12+ and OpenTofu 1.12+: the cluster by its identity.
import {
  to = genesis_cluster.prod
  identity = {
    project  = "genesis-project-prod"
    location = "us-central1"
    name     = "genesis-prod"
  }
}

# an EKS cluster: its account, region and name
import {
  to = genesis_cluster.eks
  identity = {
    account_id = "123456789012"
    location   = "us-east-1"
    name       = "lead-gen-prod"
  }
}
