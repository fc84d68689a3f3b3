# a GKE node pool: projects/PROJECT/locations/LOCATION/clusters/CLUSTER/nodePools/NAME
terraform import genesis_node_pool.agent_runtime projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod/nodePools/agent-runtime
# or the short form PROJECT/LOCATION/CLUSTER/NAME
terraform import genesis_node_pool.agent_runtime genesis-project-prod/us-central1/genesis-prod/agent-runtime
# an EKS managed node group: CLUSTER_ARN/nodePools/NAME
terraform import genesis_node_pool.system arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod/nodePools/system
