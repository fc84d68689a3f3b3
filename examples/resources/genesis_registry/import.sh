terraform import genesis_registry.images projects/genesis-project-prod/locations/us-central1/repositories/genesis-images
# or the short form PROJECT/REGION/NAME
terraform import genesis_registry.images genesis-project-prod/us-central1/genesis-images
# an ECR repository (cloud = "aws") by its ARN
terraform import genesis_registry.images arn:aws:ecr:us-east-1:123456789012:repository/genesis-images
