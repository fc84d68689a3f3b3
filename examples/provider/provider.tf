terraform {
  required_providers {
    genesis = {
      source = "genesis-platform/genesis"
    }
  }
}

# Every setting can also come from the environment: GOOGLE_PROJECT,
# GOOGLE_REGION, GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN, AWS_REGION...
# GENESIS_GKE_ENDPOINT, GENESIS_ARTIFACT_REGISTRY_ENDPOINT and
# GENESIS_IAM_ENDPOINT point the provider at genesis-sim.
provider "genesis" {
  project = "genesis-project-dev"
  region  = "us-central1"
}
