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
