//! The ingress controllers a cluster runs (`platform`) give its Ingresses
//! an address in `status.loadBalancer.ingress`:
//!
//! - GKE's built-in controller takes an Ingress with no class at all, or
//!   with the `kubernetes.io/ingress.class` annotation `gce` (an external
//!   address) or `gce-internal` (one in the VPC). It ignores
//!   `spec.ingressClassName`: an Ingress with any class name there is left
//!   to another controller.
//! - EKS Auto Mode's ALB controller takes those whose IngressClass names
//!   `eks.amazonaws.com/alb`, with a DNS name that starts `internal-`
//!   unless the class's IngressClassParams say `internet-facing` (the
//!   ALB's default scheme is internal).
//! - The AWS Load Balancer Controller takes those whose IngressClass names
//!   `ingress.k8s.aws/alb` (parameters of `elbv2.k8s.aws`), the same way,
//!   while its Deployment (`kube-system/aws-load-balancer-controller`)
//!   runs its image where its pods get AWS credentials (`Platform`).
//!
//! Any other Ingress keeps an empty status, as where no controller takes
//! it: what a user of a cluster without a controller sees.

use serde_json::{Value as Json, json};

use super::controllers::hash;
use super::objects::Objects;
use super::platform::Platform;

const PREFIX: &str = "networking.k8s.io/ingresses/";
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// The DefaultIngressClass admission plugin: a new Ingress that names no
/// class, in its field or GKE's annotation, gets the default class, when
/// the cluster has one. The field is then nobody's in managedFields (the
/// creator did not write it), so the creator's next apply keeps it.
pub fn admit(objects: &Objects, ingress: &mut Json) {
    let named = !ingress["spec"]["ingressClassName"].is_null()
        || !ingress["metadata"]["annotations"][CLASS_ANNOTATION].is_null();
    if named {
        return;
    }
    let default = objects.newest_marked(
        "networking.k8s.io/ingressclasses/",
        "ingressclass.kubernetes.io/is-default-class",
    );
    if let Some(class) = default {
        ingress["spec"]["ingressClassName"] = json!(class);
    }
}

pub fn run(objects: &mut Objects, platform: &Platform) {
    let waiting: Vec<(String, Json)> = objects
        .objects
        .range(PREFIX.to_string()..)
        .take_while(|(k, _)| k.starts_with(PREFIX))
        .filter(|(_, i)| {
            i["metadata"]["deletionTimestamp"].is_null()
                && i["status"]["loadBalancer"]["ingress"].is_null()
        })
        .filter_map(|(k, i)| Some((k.clone(), address(objects, i, platform)?)))
        .collect();
    for (key, address) in waiting {
        objects.controller_write(&key, |i| {
            i["status"]["loadBalancer"] = json!({ "ingress": [address] })
        });
    }
}

/// The address the controller that takes `ingress` gives it, if one runs.
fn address(objects: &Objects, ingress: &Json, platform: &Platform) -> Option<Json> {
    let n = hash(&ingress["metadata"]["uid"]);
    let annotation = ingress["metadata"]["annotations"][CLASS_ANNOTATION].as_str();
    let class_name = ingress["spec"]["ingressClassName"].as_str();
    if platform.gce_ingress {
        return match (annotation, class_name) {
            (None, None) | (Some("gce"), _) => {
                Some(json!({"ip": format!("198.51.100.{}", n % 250 + 2)}))
            }
            (Some("gce-internal"), _) => Some(json!({"ip": format!("10.128.0.{}", n % 250 + 2)})),
            _ => None,
        };
    }
    let class = objects.objects.get(&format!(
        "networking.k8s.io/ingressclasses//{}",
        class_name?
    ))?;
    let (region, parameters_group) = match class["spec"]["controller"].as_str()? {
        "eks.amazonaws.com/alb" => (platform.auto_mode_alb.as_deref()?, "eks.amazonaws.com"),
        "ingress.k8s.aws/alb" if load_balancer_controller_runs(objects) => (
            platform.load_balancer_controller.as_deref()?,
            "elbv2.k8s.aws",
        ),
        _ => return None,
    };
    let parameters = &class["spec"]["parameters"];
    let public = parameters["kind"] == "IngressClassParams"
        && objects
            .objects
            .get(&format!(
                "{parameters_group}/ingressclassparams//{}",
                parameters["name"].as_str().unwrap_or_default()
            ))
            .is_some_and(|p| p["spec"]["scheme"] == "internet-facing");
    let short = |v: &Json| {
        v.as_str()
            .unwrap_or_default()
            .chars()
            .take(8)
            .collect::<String>()
    };
    let name = format!(
        "k8s-{}-{}-{:010x}",
        short(&ingress["metadata"]["namespace"]),
        short(&ingress["metadata"]["name"]),
        n & 0xff_ffff_ffff
    );
    let scheme = if public { "" } else { "internal-" };
    Some(
        json!({"hostname": format!("{scheme}{name}-{}.{region}.elb.amazonaws.com", n % 1_000_000_000)}),
    )
}

/// Whether the cluster has the AWS Load Balancer Controller's Deployment,
/// running its image, with replicas.
fn load_balancer_controller_runs(objects: &Objects) -> bool {
    objects
        .objects
        .get("apps/deployments/kube-system/aws-load-balancer-controller")
        .is_some_and(|d| {
            d["spec"]["replicas"].as_u64() != Some(0)
                && d["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| {
                        c["image"]
                            .as_str()
                            .is_some_and(|i| i.contains("/aws-load-balancer-controller:"))
                    })
        })
}
