resource "genesis_registry" "images" {
  project_id     = "genesis-project-prod"
  region         = "us-central1"
  name           = "genesis-images"
  immutable_tags = true

  cleanup_policies = {
    delete-old  = { action = "DELETE", older_than = "90d" }
    keep-recent = { action = "KEEP", keep_count = 20 }
  }
}

# The same on ECR: cleanup policies become the lifecycle policy.
resource "genesis_registry" "ecr" {
  cloud          = "aws"
  region         = "us-east-1"
  name           = "genesis/agents"
  immutable_tags = true

  cleanup_policies = {
    keep-recent     = { action = "KEEP", keep_count = 20 }
    delete-untagged = { action = "DELETE", tag_state = "UNTAGGED", older_than = "14d" }
  }
}
