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

/// The provider with every resource type, data source, ephemeral
/// resource, list resource, action and function registered.
pub fn provider_server() -> framework::server::ProviderServer {
    framework::server::ProviderServer::new(provider::schema(), resources::all())
        .with_data_sources(resources::data_sources())
        .with_ephemeral_resources(resources::ephemeral_resources())
        .with_list_resources(resources::list_resources())
        .with_actions(resources::actions())
        .with_functions(resources::functions::all())
}
