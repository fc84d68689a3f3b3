terraform {
  # Optional object attributes (1.3), check blocks (1.5); OpenTofu 1.6+.
  required_version = ">= 1.5"

  required_providers {
    genesis = {
      source = "genesis-platform/genesis"
    }
  }
}
