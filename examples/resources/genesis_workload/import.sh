# CLUSTER_ID/NAMESPACE/NAME, the cluster's ID as genesis_cluster's `id`
terraform import genesis_workload.api projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod/genesis-agents/agent-cage
terraform import genesis_workload.orders arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod/apps/orders
# for a cluster reached through kubeconfig_path: NAMESPACE/NAME, or
# CONTEXT/NAMESPACE/NAME for a context other than the current one; the
# kubeconfig is read from KUBECONFIG (else ~/.kube/config), as kubectl does
KUBECONFIG=./kubeconfig terraform import genesis_workload.api genesis-agents/agent-cage
