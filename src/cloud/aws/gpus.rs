//! GPUs on EKS nodes: the instance type has them (its family says which,
//! its size how many), and an NVIDIA AMI brings the driver.

use crate::cloud::gpus::{Gpus, PoolGpu};

pub struct InstanceGpus;

/// GPUs per instance size (`xlarge`, `12xlarge`, `metal`).
type Sizes = &'static [(&'static str, i64)];

/// Sizes with one GPU, as in most G families.
const ONE: Sizes = &[
    ("xlarge", 1),
    ("2xlarge", 1),
    ("4xlarge", 1),
    ("8xlarge", 1),
    ("16xlarge", 1),
    ("12xlarge", 4),
    ("24xlarge", 4),
    ("48xlarge", 8),
];

/// Instance families with NVIDIA GPUs: the GPU (in GKE's names, which the
/// configuration uses on both clouds) and the count per size.
const FAMILIES: &[(&str, &str, Sizes)] = &[
    (
        "g4dn",
        "nvidia-tesla-t4",
        &[
            ("xlarge", 1),
            ("2xlarge", 1),
            ("4xlarge", 1),
            ("8xlarge", 1),
            ("16xlarge", 1),
            ("12xlarge", 4),
            ("metal", 8),
        ],
    ),
    ("g5", "nvidia-a10g", ONE),
    ("g6", "nvidia-l4", ONE),
    ("g6e", "nvidia-l40s", ONE),
    ("p4d", "nvidia-tesla-a100", &[("24xlarge", 8)]),
    ("p5", "nvidia-h100-80gb", &[("48xlarge", 8)]),
];

/// The AMI types with the NVIDIA driver, for x86 instances.
const NVIDIA_AMIS: &[&str] = &[
    "AL2023_x86_64_NVIDIA",
    "AL2_x86_64_GPU",
    "BOTTLEROCKET_x86_64_NVIDIA",
];

impl Gpus for InstanceGpus {
    fn problems(
        &self,
        machine_type: &str,
        image: Option<&str>,
        gpu: &PoolGpu,
    ) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self.of_machine(machine_type) {
            None => out.push((
                "machine_type",
                format!("{machine_type:?} is not an instance type with NVIDIA GPUs: use one such as g6.xlarge (nvidia-l4), g5.xlarge (nvidia-a10g) or g4dn.xlarge (nvidia-tesla-t4)."),
            )),
            Some((gpu_type, count)) => {
                if gpu.gpu_type != gpu_type {
                    out.push(("gpu.type", format!("{machine_type} has {gpu_type} GPUs, not {:?}.", gpu.gpu_type)));
                }
                if gpu.count != count {
                    out.push(("gpu.count", format!("{machine_type} has {count} GPU(s): set count = {count}, or choose the size with {} GPUs.", gpu.count)));
                }
            }
        }
        if gpu.driver.is_some() {
            out.push((
                "gpu.driver",
                "EKS's NVIDIA AMIs come with the driver: remove driver (it applies to GKE)."
                    .to_string(),
            ));
        }
        if let Some(image) = image
            && !NVIDIA_AMIS.contains(&image)
        {
            out.push((
                "image_type",
                format!(
                    "{image} has no NVIDIA driver: use {} (the default for GPU pools).",
                    NVIDIA_AMIS.join(", ")
                ),
            ));
        }
        out
    }

    fn of_machine(&self, machine_type: &str) -> Option<(&'static str, i64)> {
        let (family, size) = machine_type.split_once('.')?;
        let (_, gpu_type, sizes) = FAMILIES.iter().find(|(f, _, _)| *f == family)?;
        let (_, count) = sizes.iter().find(|(s, _)| *s == size)?;
        Some((gpu_type, *count))
    }

    fn default_image(&self) -> Option<&'static str> {
        Some("AL2023_x86_64_NVIDIA")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_type_says_which_gpus() {
        let gpus = InstanceGpus;
        assert_eq!(gpus.of_machine("g6.xlarge"), Some(("nvidia-l4", 1)));
        assert_eq!(gpus.of_machine("g5.48xlarge"), Some(("nvidia-a10g", 8)));
        assert_eq!(gpus.of_machine("t3.medium"), None);
        let l4 = PoolGpu {
            gpu_type: "nvidia-l4".into(),
            count: 1,
            driver: None,
        };
        assert!(
            gpus.problems("g6.xlarge", Some("AL2023_x86_64_NVIDIA"), &l4)
                .is_empty()
        );
        let at = |machine: &str, image: &str, g: &PoolGpu| -> Vec<&str> {
            gpus.problems(machine, Some(image), g)
                .into_iter()
                .map(|(a, _)| a)
                .collect()
        };
        assert_eq!(
            at("t3.medium", "AL2023_x86_64_NVIDIA", &l4),
            ["machine_type"]
        );
        assert_eq!(
            at("g5.xlarge", "AL2023_x86_64_STANDARD", &l4),
            ["gpu.type", "image_type"]
        );
        let driver = PoolGpu {
            driver: Some("LATEST".into()),
            count: 4,
            ..l4
        };
        assert_eq!(
            at("g6.xlarge", "AL2023_x86_64_NVIDIA", &driver),
            ["gpu.count", "gpu.driver"]
        );
    }
}
