# CLUSTER_ID/NAMESPACE/NAME
terraform import genesis_workload.api projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod/genesis-agents/agent-cage
# for a cluster reached through kubeconfig_path: NAMESPACE/NAME
terraform import genesis_workload.api genesis-agents/agent-cage
