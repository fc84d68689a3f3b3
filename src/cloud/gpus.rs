//! GPUs on a pool's nodes, in one shape for both clouds (`gpu = { type =
//! "nvidia-l4", count = 1 }`): GKE attaches them to the machine type
//! (`gcp/gpus.rs`), on EKS the instance type has them (`aws/gpus.rs`).
//! Either way the nodes are tainted so that only pods asking for GPUs land
//! there (a workload's GPU request tolerates the taint).

use super::node_pool::PoolTaint;

/// What a pool asks of its nodes' GPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolGpu {
    /// GKE's accelerator type name, used for both clouds: `nvidia-l4`,
    /// `nvidia-tesla-t4`, `nvidia-a10g`, `nvidia-h100-80gb`.
    pub gpu_type: String,
    /// GPUs per node.
    pub count: i64,
    /// How GKE installs the driver (`DEFAULT`, `LATEST`,
    /// `INSTALLATION_DISABLED`); EKS's GPU AMIs come with it.
    pub driver: Option<String>,
}

/// The taint on every GPU node: the one GKE sets itself on GPU pools of
/// clusters that have other pools, set by Genesis on both clouds.
pub fn taint() -> PoolTaint {
    PoolTaint {
        key: "nvidia.com/gpu".into(),
        value: "present".into(),
        effect: "NO_SCHEDULE".into(),
    }
}

/// One cloud's GPU nodes.
pub trait Gpus: Send + Sync {
    /// What is wrong with `gpu` on nodes of `machine_type` (and, on EKS,
    /// the AMI type `image`), by attribute: `gpu.type`, `gpu.count`,
    /// `gpu.driver`, `machine_type` or `image_type`.
    fn problems(
        &self,
        machine_type: &str,
        image: Option<&str>,
        gpu: &PoolGpu,
    ) -> Vec<(&'static str, String)>;

    /// The GPUs a machine type comes with, (type, count), when they follow
    /// from it (always on EKS; on GKE's accelerator-optimized machines).
    fn of_machine(&self, machine_type: &str) -> Option<(&'static str, i64)>;

    /// The node image a GPU pool gets when the configuration names none
    /// (the cloud's default otherwise).
    fn default_image(&self) -> Option<&'static str>;
}

pub fn of_cloud(eks: bool) -> &'static dyn Gpus {
    if eks {
        &super::aws::gpus::InstanceGpus
    } else {
        &super::gcp::gpus::AttachedGpus
    }
}
