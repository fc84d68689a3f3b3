//! Integration tests of the provider crate: the plugin process as Terraform
//! starts it, its gRPC services, and the value codec's properties.

mod codec;
mod docs;
mod plugin;
mod rpc;
mod support;
