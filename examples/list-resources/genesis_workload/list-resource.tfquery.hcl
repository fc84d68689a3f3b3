# terraform query -generate-config-out=adopted.tf writes an import block
# and a resource block for each application found.
list "genesis_workload" "shop" {
  provider         = genesis
  include_resource = true

  config {
    cluster   = "projects/acme-prod/locations/us-central1/clusters/platform"
    namespace = "shop"
  }
}
