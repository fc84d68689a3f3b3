//! The provider framework in native types: schemas, values, diagnostics
//! with attribute paths, the `Resource` trait, and the server in the middle
//! that applies the schema's rules and Terraform's invariants.

pub mod diagnostics;
pub mod field;
pub mod identity;
pub mod model;
pub mod path;
pub mod plan;
pub mod private;
pub mod resource;
pub mod schema;
pub mod server;
pub mod turns;
pub mod types;
pub mod validators;
pub mod value;
pub mod view;
pub mod write_only;
