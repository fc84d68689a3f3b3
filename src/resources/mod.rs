//! The resource types, one file each, all reading in the same order:
//! schema, validation and planning, create/read/update/delete, import, then
//! the mapping to and from the cloud API.

pub mod cluster;
mod common;
pub mod functions;
pub mod node_pool;
pub mod registry;
pub mod workload;

use crate::framework::action::Action;
use crate::framework::data_source::DataSource;
use crate::framework::ephemeral::EphemeralResource;
use crate::framework::list::ListResource;
use crate::framework::resource::Resource;

pub fn all() -> Vec<Box<dyn Resource>> {
    vec![
        Box::new(cluster::Cluster),
        Box::new(node_pool::NodePool),
        Box::new(registry::Registry),
        Box::new(workload::Workload),
    ]
}

pub fn data_sources() -> Vec<Box<dyn DataSource>> {
    vec![
        Box::new(cluster::ClusterData),
        Box::new(registry::data_source()),
        Box::new(workload::data_source()),
    ]
}

pub fn ephemeral_resources() -> Vec<Box<dyn EphemeralResource>> {
    vec![Box::new(cluster::ClusterCredentials)]
}

pub fn list_resources() -> Vec<Box<dyn ListResource>> {
    vec![
        Box::new(cluster::ClusterList),
        Box::new(node_pool::PoolList),
        Box::new(registry::RegistryList),
        Box::new(workload::WorkloadList),
    ]
}

pub fn actions() -> Vec<Box<dyn Action>> {
    vec![
        Box::new(workload::WorkloadRun),
        Box::new(workload::WorkloadRestart),
    ]
}
