# Images of a repository another configuration manages, by its ID.
resource "genesis_workload" "api" {
  cluster   = genesis_cluster.prod.id
  namespace = "apps"
  name      = "api"
  image     = "${provider::genesis::repository_url("arn:aws:ecr:us-east-1:123456789012:repository/agents")}/api:1.4.2"
}
