# A repository another configuration made, by name (the provider's project
# and region), for image references.
data "genesis_registry" "images" {
  name = "genesis-images"
}

# An ECR repository.
data "genesis_registry" "ecr" {
  cloud  = "aws"
  name   = "agents"
  region = "us-east-1"
}

resource "genesis_workload" "api" {
  cluster   = genesis_cluster.prod.id
  namespace = "apps"
  name      = "api"
  image     = "${data.genesis_registry.images.repository_url}/api:1.4.2"
}
