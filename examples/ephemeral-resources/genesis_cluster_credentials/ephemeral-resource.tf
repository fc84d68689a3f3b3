resource "genesis_cluster" "main" {
  name   = "platform"
  region = "us-central1"
}

# Opened for each run, never stored: the kubernetes and helm providers get
# the cluster without another cloud provider.
ephemeral "genesis_cluster_credentials" "main" {
  cluster = genesis_cluster.main.id
}

provider "kubernetes" {
  host                   = ephemeral.genesis_cluster_credentials.main.host
  cluster_ca_certificate = ephemeral.genesis_cluster_credentials.main.cluster_ca_certificate
  token                  = ephemeral.genesis_cluster_credentials.main.token
}

provider "helm" {
  kubernetes = {
    host                   = ephemeral.genesis_cluster_credentials.main.host
    cluster_ca_certificate = ephemeral.genesis_cluster_credentials.main.cluster_ca_certificate
    token                  = ephemeral.genesis_cluster_credentials.main.token
  }
}

# Istio from its chart, with the cluster Genesis made.
resource "helm_release" "istio_base" {
  name             = "istio-base"
  repository       = "https://istio-release.storage.googleapis.com/charts"
  chart            = "base"
  namespace        = "istio-system"
  create_namespace = true
}
