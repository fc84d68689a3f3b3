# `terraform test` (or `tofu test`) of the quickstart, offline: the genesis
# provider is mocked, so nothing is created and no credentials are needed;
# the real provider still validates the configuration.
#
# A mocked computed attribute is a random string, and Genesis refuses a
# `cluster` that is not a cluster ID: give the cluster's `id` (and any
# other value a test reads) a default of the right shape.

mock_provider "genesis" {
  mock_resource "genesis_cluster" {
    defaults = {
      id = "projects/genesis-quickstart/locations/us-central1/clusters/quickstart"
    }
  }
  mock_resource "genesis_registry" {
    defaults = {
      repository_url = "us-central1-docker.pkg.dev/genesis-quickstart/quickstart"
    }
  }
}

run "gke_plans_an_autopilot_platform" {
  command = plan

  assert {
    condition     = genesis_cluster.apps.enable_autopilot && genesis_cluster.apps.cloud == "gcp"
    error_message = "the quickstart's cluster is GKE Autopilot by default"
  }
  assert {
    condition     = length(genesis_cluster.standard) == 0
    error_message = "the Standard cluster is opt-in"
  }
}

run "gke_applies" {
  assert {
    condition = alltrue([
      for w in [genesis_workload.api, genesis_workload.worker] :
      w.cluster == genesis_cluster.apps.id && contains(genesis_cluster.apps.kubernetes_namespaces, w.namespace)
    ])
    error_message = "every workload runs in a namespace of the quickstart cluster"
  }
  assert {
    condition     = genesis_workload.api.image == "us-central1-docker.pkg.dev/genesis-quickstart/quickstart/api:1.0.0"
    error_message = "images come from the quickstart's registry"
  }
  assert {
    condition     = output.cluster_id == genesis_cluster.apps.id
    error_message = "the cluster_id output names the cluster"
  }
}

run "a_standard_cluster_with_typed_pools" {
  command = plan

  variables {
    with_standard_cluster = true
  }

  assert {
    condition     = [for p in [genesis_node_pool.agents[0], genesis_node_pool.spot[0]] : p.node_pool_type] == ["agent-runtime", "spot"]
    error_message = "the Standard cluster gets an agent-runtime and a spot pool"
  }
}
