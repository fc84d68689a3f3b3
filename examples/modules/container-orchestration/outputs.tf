output "cluster_id" {
  description = "The cluster's ID (GKE: projects/P/locations/L/clusters/N; EKS: its ARN), for genesis_workload's cluster."
  value       = genesis_cluster.this.id
}

output "cluster_name" {
  value = genesis_cluster.this.name
}

output "cluster_endpoint" {
  description = "The Kubernetes API's address."
  value       = genesis_cluster.this.endpoint
}

output "cluster_ca_certificate" {
  description = "The cluster's CA certificate, base64-encoded PEM."
  value       = genesis_cluster.this.ca_certificate
}

output "node_pool_ids" {
  description = "The node pools' IDs, by name."
  value       = { for name, pool in genesis_node_pool.this : name => pool.id }
}

output "repository_urls" {
  description = "The repositories' URLs to push images to, by name."
  value       = { for name, repository in genesis_registry.this : name => repository.repository_url }
}

output "kubernetes_namespaces" {
  value = genesis_cluster.this.kubernetes_namespaces
}
