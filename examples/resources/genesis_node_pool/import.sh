terraform import genesis_node_pool.agent_runtime projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod/nodePools/agent-runtime
# or the short form PROJECT/LOCATION/CLUSTER/NAME
terraform import genesis_node_pool.agent_runtime genesis-project-prod/us-central1/genesis-prod/agent-runtime
