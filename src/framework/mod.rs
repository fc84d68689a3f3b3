//! The provider framework in native types: schemas, values, diagnostics
//! with attribute paths, the `Resource`, `DataSource` and
//! `EphemeralResource` traits, and the server in the middle
//! that applies the schema's rules and Terraform's invariants.

pub mod action;
pub mod data_source;
pub mod diagnostics;
pub mod ephemeral;
pub mod field;
pub mod function;
pub mod identity;
pub mod list;
pub mod model;
pub mod path;
pub mod plan;
pub mod private;
pub mod registry;
pub mod resource;
pub mod schema;
pub mod server;
pub mod turns;
pub mod types;
pub mod validators;
pub mod value;
pub mod view;
pub mod write_only;
