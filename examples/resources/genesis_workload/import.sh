# CLUSTER_ID/NAMESPACE/NAME
terraform import genesis_workload.api projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod/genesis-agents/agent-cage
# for a cluster reached through kubeconfig_path: NAMESPACE/NAME, or
# CONTEXT/NAMESPACE/NAME for a context other than the current one; the
# kubeconfig is read from KUBECONFIG (else ~/.kube/config), as kubectl does
KUBECONFIG=./kubeconfig terraform import genesis_workload.api genesis-agents/agent-cage
