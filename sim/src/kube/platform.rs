//! What a managed cluster runs besides Kubernetes, as its cloud set it
//! up, which decides what its objects get:
//!
//! - resource metrics (`kube::metrics`), for autoscalers;
//! - the CSI drivers that make volumes: GKE's Persistent Disk driver is
//!   built in; on EKS the EBS driver runs once the `aws-ebs-csi-driver`
//!   add-on is ACTIVE (the in-tree `kubernetes.io/aws-ebs` of the `gp2`
//!   class is migrated to it), and Auto Mode's own
//!   `ebs.csi.eks.amazonaws.com` while its block storage is on. A claim
//!   whose class's provisioner does not run stays Pending, as on the
//!   cloud;
//! - the ingress controllers: GKE's built-in one, and on EKS Auto Mode's
//!   ALB controller while its load balancing is on, or the AWS Load
//!   Balancer Controller where its pods can run and get AWS credentials
//!   (`kube::ingresses`);
//! - EKS Auto Mode's definitions, built-in node pools and their status
//!   (`kube::auto_mode`);
//! - GKE's ComputeClass definition and its verdict on classes
//!   (`kube::compute_classes`).
//!
//! Clusters the simulator does not know as EKS (GKE's, and those tests
//! start directly) run what GKE runs.

use serde_json::json;

use super::metrics::{self, Metrics};
use crate::World;

/// What runs in one cluster.
#[derive(Clone, Debug, Default)]
pub struct Platform {
    pub metrics: bool,
    /// The provisioners whose volumes get made.
    pub provisioners: Vec<&'static str>,
    /// GKE's built-in ingress controller.
    pub gce_ingress: bool,
    /// The region of an EKS Auto Mode cluster whose ALB controller runs.
    pub auto_mode_alb: Option<String>,
    /// The region of an EKS cluster where an AWS Load Balancer Controller
    /// would get AWS credentials: nodes run its pods, the pod identity
    /// agent runs, and its service account
    /// (`kube-system/aws-load-balancer-controller`) has a Pod Identity
    /// association. Whether its Deployment is there is the objects'.
    pub load_balancer_controller: Option<String>,
    /// EKS Auto Mode is on: its CustomResourceDefinitions are installed.
    pub auto_mode: bool,
    /// The built-in NodePools Auto Mode runs (`computeConfig.nodePools`).
    pub auto_mode_node_pools: Vec<String>,
    /// GKE's custom ComputeClasses are served (`kube::compute_classes`).
    pub compute_classes: bool,
}

const GKE_PROVISIONERS: &[&str] = &["pd.csi.storage.gke.io", "kubernetes.io/gce-pd"];
const EBS_ADDON_PROVISIONERS: &[&str] = &["ebs.csi.aws.com", "kubernetes.io/aws-ebs"];
const AUTO_MODE_PROVISIONER: &str = "ebs.csi.eks.amazonaws.com";

/// What runs in the cluster the simulator keys by `cluster` (an EKS
/// cluster's ARN, a GKE cluster's name).
pub fn of(world: &World, cluster: &str) -> Platform {
    let metrics = metrics::of(world, cluster) == Metrics::Served;
    let Some(region) = cluster
        .strip_prefix("arn:aws:eks:")
        .and_then(|rest| rest.split(':').next())
    else {
        return Platform {
            metrics,
            provisioners: GKE_PROVISIONERS.to_vec(),
            gce_ingress: true,
            compute_classes: true,
            ..Platform::default()
        };
    };
    let eks = world.eks.clusters.get(cluster);
    let on = |path: &[&str]| {
        eks.is_some_and(|c| {
            c["status"] == "ACTIVE" && path.iter().fold(c, |v, step| &v[step]) == &json!(true)
        })
    };
    let mut provisioners = Vec::new();
    let addon_active = world
        .eks
        .addons
        .get(cluster)
        .and_then(|a| a.get("aws-ebs-csi-driver"))
        .is_some_and(|a| a["status"] == "ACTIVE");
    if addon_active {
        provisioners.extend(EBS_ADDON_PROVISIONERS);
    }
    if on(&["storageConfig", "blockStorage", "enabled"]) {
        provisioners.push(AUTO_MODE_PROVISIONER);
    }
    let load_balancing = on(&["kubernetesNetworkConfig", "elasticLoadBalancing", "enabled"]);
    let agent = world
        .eks
        .addons
        .get(cluster)
        .and_then(|a| a.get("eks-pod-identity-agent"))
        .is_some_and(|a| a["status"] == "ACTIVE");
    let associated = world
        .eks
        .pod_identity_associations
        .get(cluster)
        .into_iter()
        .flat_map(|a| a.values())
        .any(|a| {
            a["namespace"] == "kube-system" && a["serviceAccount"] == "aws-load-balancer-controller"
        });
    let controller = agent && associated && world.eks.has_active_nodes(cluster);
    Platform {
        metrics,
        provisioners,
        gce_ingress: false,
        auto_mode_alb: load_balancing.then(|| region.to_string()),
        load_balancer_controller: controller.then(|| region.to_string()),
        auto_mode: on(&["computeConfig", "enabled"]),
        auto_mode_node_pools: eks
            .filter(|_| on(&["computeConfig", "enabled"]))
            .and_then(|c| c["computeConfig"]["nodePools"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        compute_classes: false,
    }
}
