//! The AWS side of the Cluster Autoscaler Genesis runs on an EKS cluster
//! with managed node groups (`cluster-autoscaler` in `eks.addons`; the
//! Kubernetes side is `kube::cluster_autoscaler`). EKS has no add-on for
//! it: Genesis runs it as one of its own (`own_addons.rs`), with an IAM
//! role allowed to resize only the Auto Scaling groups EKS tagged as the
//! cluster's.
//!
//! EKS tags the Auto Scaling group of every managed node group with
//! `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/NAME`,
//! which is what the autoscaler discovers them by.

/// Its name in `eks.addons`, and of its service account and objects.
pub const NAME: &str = "cluster-autoscaler";
/// The cluster tag saying Genesis installed it (its role's ARN).
pub const TAG: &str = "genesis-cluster-autoscaler";

/// Whether `addons` (a cluster's `eks.addons`) ask for the autoscaler.
pub fn wanted(addons: &[String]) -> bool {
    super::own_addons::CLUSTER_AUTOSCALER.wanted(addons)
}

/// The tag EKS puts on the Auto Scaling groups of a cluster's node groups.
pub fn group_tag(cluster: &str) -> String {
    format!("k8s.io/cluster-autoscaler/{cluster}")
}

/// The autoscaler's permissions: read any Auto Scaling group and instance
/// type (to find the node groups and model their nodes), resize only the
/// cluster's own.
pub fn policy(cluster: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "autoscaling:SetDesiredCapacity",
                    "autoscaling:TerminateInstanceInAutoScalingGroup",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {format!("aws:ResourceTag/{}", group_tag(cluster)): "owned"},
                },
            },
            {
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                "Resource": "*",
            },
        ],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_autoscaler_resizes_only_its_own_clusters_groups() {
        let policy: serde_json::Value = serde_json::from_str(&policy("prod")).unwrap();
        let resize = &policy["Statement"][0];
        assert_eq!(
            resize["Action"][0], "autoscaling:SetDesiredCapacity",
            "{policy}"
        );
        assert_eq!(
            resize["Condition"]["StringEquals"]["aws:ResourceTag/k8s.io/cluster-autoscaler/prod"],
            "owned"
        );
        let reads = policy["Statement"][1]["Action"].as_array().unwrap();
        assert!(reads.iter().all(|a| {
            let a = a.as_str().unwrap();
            a.contains(":Describe") || a.contains(":Get")
        }));
    }
}
