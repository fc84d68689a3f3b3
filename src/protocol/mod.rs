//! Terraform's side of the wire: the go-plugin handshake, TLS, the gRPC
//! services, and the conversions between protocol messages and the
//! framework's native types.

pub mod codec;
mod convert;
pub mod generated;
pub mod plugin;
pub mod service;
mod streams;
pub mod tls;
