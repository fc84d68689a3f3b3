terraform import genesis_cluster.prod projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod
# or the short form PROJECT/LOCATION/NAME
terraform import genesis_cluster.prod genesis-project-prod/us-central1/genesis-prod
