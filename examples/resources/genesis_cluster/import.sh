# a GKE cluster: projects/PROJECT/locations/LOCATION/clusters/NAME
terraform import genesis_cluster.prod projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod
# or the short form PROJECT/LOCATION/NAME
terraform import genesis_cluster.prod genesis-project-prod/us-central1/genesis-prod
# an EKS cluster (cloud = "aws"): its ARN
terraform import genesis_cluster.prod arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod
