//! GPUs on GKE nodes: accelerators attached to the machine type, which
//! must be of the family each GPU comes with (N1 for the older ones, an
//! accelerator-optimized family, whose size fixes the count, for the
//! newer), and a driver GKE installs.

use crate::cloud::gpus::{Gpus, PoolGpu};

pub struct AttachedGpus;

/// GPUs attached to N1 machines, with the counts GKE offers.
const N1: &[(&str, &[i64])] = &[
    ("nvidia-tesla-t4", &[1, 2, 4]),
    ("nvidia-tesla-p4", &[1, 2, 4]),
    ("nvidia-tesla-p100", &[1, 2, 4]),
    ("nvidia-tesla-v100", &[1, 2, 4, 8]),
];

/// Accelerator-optimized machine families (a prefix of the machine type)
/// and the GPU they come with.
const FAMILIES: &[(&str, &str)] = &[
    ("g2-standard-", "nvidia-l4"),
    ("a2-highgpu-", "nvidia-tesla-a100"),
    ("a2-megagpu-", "nvidia-tesla-a100"),
    ("a2-ultragpu-", "nvidia-a100-80gb"),
    ("a3-highgpu-", "nvidia-h100-80gb"),
    ("a3-megagpu-", "nvidia-h100-mega-80gb"),
    ("a3-ultragpu-", "nvidia-h200-141gb"),
    ("a4-highgpu-", "nvidia-b200"),
];

/// G2 sizes (vCPUs) with more than one L4.
const G2_COUNTS: &[(&str, i64)] = &[("24", 2), ("48", 4), ("96", 8)];

impl Gpus for AttachedGpus {
    fn problems(
        &self,
        machine_type: &str,
        _image: Option<&str>,
        gpu: &PoolGpu,
    ) -> Vec<(&'static str, String)> {
        if let Some((gpu_type, count)) = self.of_machine(machine_type) {
            let mut out = Vec::new();
            if gpu.gpu_type != gpu_type {
                out.push((
                    "gpu.type",
                    format!(
                        "{machine_type} comes with {gpu_type} GPUs, not {:?}.",
                        gpu.gpu_type
                    ),
                ));
            }
            if gpu.count != count {
                out.push(("gpu.count", format!("{machine_type} comes with {count} GPU(s): set count = {count}, or choose the machine size with {} GPUs.", gpu.count)));
            }
            return out;
        }
        if let Some((prefix, _)) = FAMILIES.iter().find(|(_, t)| *t == gpu.gpu_type) {
            return vec![(
                "machine_type",
                format!(
                    "{} GPUs come with {prefix}* machine types (e.g. {prefix}{}); {machine_type:?} is not one.",
                    gpu.gpu_type,
                    example_size(prefix)
                ),
            )];
        }
        if let Some((_, counts)) = N1.iter().find(|(t, _)| *t == gpu.gpu_type) {
            let mut out = Vec::new();
            if !machine_type.starts_with("n1-") {
                out.push(("machine_type", format!("{} GPUs attach to N1 machine types (e.g. n1-standard-8); {machine_type:?} is not one.", gpu.gpu_type)));
            }
            if !counts.contains(&gpu.count) {
                let counts: Vec<String> = counts.iter().map(i64::to_string).collect();
                out.push((
                    "gpu.count",
                    format!(
                        "GKE attaches {} GPUs {} at a time.",
                        gpu.gpu_type,
                        counts.join(", ")
                    ),
                ));
            }
            return out;
        }
        let known: Vec<&str> = N1
            .iter()
            .map(|(t, _)| *t)
            .chain(FAMILIES.iter().map(|(_, t)| *t))
            .collect();
        vec![(
            "gpu.type",
            format!(
                "{:?} is not a GKE GPU type: use one of {}.",
                gpu.gpu_type,
                dedup(known).join(", ")
            ),
        )]
    }

    fn of_machine(&self, machine_type: &str) -> Option<(&'static str, i64)> {
        let (prefix, gpu_type) = FAMILIES.iter().find(|(p, _)| machine_type.starts_with(p))?;
        let size = &machine_type[prefix.len()..];
        let count = if *prefix == "g2-standard-" {
            G2_COUNTS
                .iter()
                .find(|(s, _)| *s == size)
                .map_or(1, |(_, n)| *n)
        } else {
            // a2-highgpu-4g: the size is the count.
            size.strip_suffix('g')?.parse().ok()?
        };
        Some((gpu_type, count))
    }

    fn default_image(&self) -> Option<&'static str> {
        None
    }
}

fn example_size(prefix: &str) -> &'static str {
    if prefix == "g2-standard-" { "8" } else { "8g" }
}

fn dedup(mut names: Vec<&str>) -> Vec<&str> {
    let mut seen = Vec::new();
    names.retain(|n| {
        let new = !seen.contains(n);
        seen.push(*n);
        new
    });
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(gpu_type: &str, count: i64) -> PoolGpu {
        PoolGpu {
            gpu_type: gpu_type.into(),
            count,
            driver: None,
        }
    }

    #[test]
    fn machine_families_fix_the_gpus() {
        let gpus = AttachedGpus;
        assert_eq!(gpus.of_machine("g2-standard-8"), Some(("nvidia-l4", 1)));
        assert_eq!(gpus.of_machine("g2-standard-48"), Some(("nvidia-l4", 4)));
        assert_eq!(
            gpus.of_machine("a3-highgpu-8g"),
            Some(("nvidia-h100-80gb", 8))
        );
        assert_eq!(gpus.of_machine("n1-standard-8"), None);
        assert!(
            gpus.problems("g2-standard-8", None, &gpu("nvidia-l4", 1))
                .is_empty()
        );
        assert!(
            gpus.problems("n1-standard-8", None, &gpu("nvidia-tesla-t4", 2))
                .is_empty()
        );
        let at = |machine: &str, g: PoolGpu| -> Vec<&str> {
            gpus.problems(machine, None, &g)
                .into_iter()
                .map(|(a, _)| a)
                .collect()
        };
        assert_eq!(at("g2-standard-8", gpu("nvidia-l4", 2)), ["gpu.count"]);
        assert_eq!(at("g2-standard-8", gpu("nvidia-tesla-t4", 1)), ["gpu.type"]);
        assert_eq!(at("e2-standard-8", gpu("nvidia-l4", 1)), ["machine_type"]);
        assert_eq!(
            at("e2-standard-8", gpu("nvidia-tesla-t4", 3)),
            ["machine_type", "gpu.count"]
        );
        assert_eq!(at("n1-standard-8", gpu("nvidia-k80", 1)), ["gpu.type"]);
    }
}
