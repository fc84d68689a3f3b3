//! Acceptance tests: the real Terraform CLI driving this provider.
//! See `harness.rs` for how Terraform is found and configured.

mod apiserver;
mod auto_mode;
mod auto_mode_pools;
mod blue_green;
mod cluster;
mod cluster_access;
mod crash;
mod data_sources;
mod eks;
mod faults;
mod harness;
mod import_config;
mod ingress;
mod jobs;
mod kube_real;
mod logs;
mod mesh;
mod moves;
mod node_pool;
mod plan;
mod platform;
mod quickstart;
mod registry;
mod registry_aws;
mod release;
mod releases_real;
mod schema;
mod secrets;
mod stateful;
mod truth;
mod unknowns;
mod validate;
mod workload;
mod workload_apply;
mod workload_read;
