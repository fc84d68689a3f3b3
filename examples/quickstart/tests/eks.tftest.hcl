# The quickstart on EKS, offline with the genesis provider mocked (a file
# of its own: each test file starts from an empty state, and a cluster
# does not move between clouds). As in quickstart.tftest.hcl, the values a
# test reads get defaults of the right shape: an EKS cluster's ID is its
# ARN, an ECR repository's URL its registry's host and name.

mock_provider "genesis" {
  mock_resource "genesis_cluster" {
    defaults = {
      id     = "arn:aws:eks:us-east-1:123456789012:cluster/quickstart"
      region = "us-east-1"
    }
  }
  mock_resource "genesis_registry" {
    defaults = {
      repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/quickstart"
    }
  }
}

variables {
  cloud = "aws"
}

run "eks_plans_an_auto_mode_platform" {
  command = plan

  assert {
    condition     = genesis_cluster.apps.enable_autopilot && genesis_cluster.apps.cloud == "aws"
    error_message = "on EKS the quickstart's cluster is an Auto Mode cluster"
  }
}

run "eks_applies_the_same_resources" {
  assert {
    condition     = genesis_cluster.apps.eks.subnet_ids == tolist(["subnet-0a", "subnet-0b", "subnet-0c"])
    error_message = "the EKS cluster gets the subnets"
  }
  assert {
    condition     = genesis_workload.api.cluster == "arn:aws:eks:us-east-1:123456789012:cluster/quickstart"
    error_message = "the workloads follow the cluster to EKS"
  }
}
