locals {
  image = provider::genesis::parse_image(var.image)
}

# Deploy only images from the company's registry.
variable "image" {
  type = string
  validation {
    condition     = endswith(provider::genesis::parse_image(var.image).registry, "-docker.pkg.dev")
    error_message = "Images come from Artifact Registry."
  }
}

output "version" {
  value = local.image.tag # "1.4.2" for us-central1-docker.pkg.dev/p/images/api:1.4.2
}
