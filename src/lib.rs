//! terraform-provider-genesis: one Terraform provider for a Kubernetes
//! platform on GKE and EKS.

pub mod cloud;
pub mod docs;
pub mod framework;
pub mod kube;
pub mod logging;
pub mod protocol;
pub mod provider;
pub mod resources;

/// The provider with every resource type registered.
pub fn provider_server() -> framework::server::ProviderServer {
    framework::server::ProviderServer::new(provider::schema(), resources::all())
}
