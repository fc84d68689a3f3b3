//! A workload's `ingress` and the controller that gives it an address
//! (`kube::ingress_classes` says which takes which class): the class
//! planned when the configuration leaves it out, the cluster's own by
//! cloud, and the plan-time refusal of a class nothing in the cluster
//! takes, which would leave the Ingress without an address forever.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{Target, cluster_classes};
use crate::framework::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::resource::PlanContext;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::ClassKind;
use crate::kube::ingress_classes::{self, ALB, CLASS_ANNOTATION};
use crate::resources::cluster::ClusterName;

/// What planning and checking read of a workload's ingress.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct IngressView {
    cluster: Field<String>,
    kubeconfig_path: Field<String>,
    kubeconfig_context: Field<String>,
    ingress: Field<IngressSettings>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct IngressSettings {
    class_name: Field<String>,
    annotations: Field<BTreeMap<String, Json>>,
}

/// The cloud of the cluster a workload names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cloud {
    Gke,
    Eks,
}

fn cloud_of(cluster: &str) -> Option<Cloud> {
    match ClusterName::parse(cluster)? {
        ClusterName::Gcp { .. } => Some(Cloud::Gke),
        ClusterName::Aws { .. } => Some(Cloud::Eks),
    }
}

/// The class is written in `class_name`, not as GKE's annotation (which
/// Kubernetes refuses beside a class name, and Genesis writes itself).
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let Ok(view) = view::as_written::<IngressView>(config) else {
        return;
    };
    let Some(annotations) = view.ingress.known().and_then(|i| i.annotations.known()) else {
        return;
    };
    if annotations.contains_key(CLASS_ANNOTATION) {
        diags.attribute_error(
            AttributePath::attr("ingress")
                .join("annotations")
                .key(CLASS_ANNOTATION),
            "The class goes in class_name",
            format!("Set ingress.class_name instead of the {CLASS_ANNOTATION} annotation: Genesis writes GKE's classes (gce, gce-internal) as that annotation itself, and any other as the Ingress's class."),
        );
    }
}

/// Plans a class left out as the cluster's own: `alb` on EKS; elsewhere
/// none on a new Ingress (GKE's built-in controller takes it), then what
/// the cluster gave it (Kubernetes gives a new Ingress that names no class
/// the default class, if the cluster marks one, and the field is then
/// nobody's: Genesis's next apply leaves it, so the plan keeps it too).
/// Unknown while the cluster is.
pub fn plan_class(config: &Value, prior: &Value, planned: &mut Value) {
    let Ok(view) = view::as_written::<IngressView>(config) else {
        return;
    };
    if !view.ingress.known().is_some_and(|i| i.class_name.is_null()) {
        return;
    }
    let given = || {
        let prior = view::as_written::<IngressView>(prior).unwrap_or_default();
        match prior.ingress.known().map(|i| &i.class_name) {
            Some(Field::Known(class)) => Value::from(class.as_str()),
            _ => Value::Null,
        }
    };
    let class = match &view.cluster {
        Field::Unknown => Value::Unknown,
        Field::Known(id) if cloud_of(id) == Some(Cloud::Eks) => Value::from(ALB),
        _ => given(),
    };
    if let Some(ingress) = planned.get_mut("ingress") {
        ingress.set_attr("class_name", class);
    }
}

/// An Ingress whose class no controller in an existing cluster takes is
/// refused at plan time, naming what to install; through a kubeconfig it
/// is a warning. The cluster's classes are listed once per process.
pub async fn check_plan(ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
    let Ok(view) = view::as_written::<IngressView>(planned) else {
        return;
    };
    let Some(ingress) = view.ingress.known() else {
        return;
    };
    let Some(target) = Target::planned(
        &view.cluster,
        &view.kubeconfig_path,
        &view.kubeconfig_context,
    ) else {
        return;
    };
    let cloud = target.cluster.as_deref().and_then(cloud_of);
    let class = match (&ingress.class_name, cloud) {
        (Field::Unknown, _) => return,
        // GKE's built-in controller takes these, and only GKE's.
        (Field::Null, Some(Cloud::Gke)) => return,
        (Field::Known(c), Some(Cloud::Gke)) if ingress_classes::is_gce(c) => return,
        (Field::Known(c), Some(Cloud::Eks)) if ingress_classes::is_gce(c) => {
            diags.push(on_eks(c));
            return;
        }
        // The cluster's default class, whatever it is.
        (Field::Null, _) => return,
        (Field::Known(c), _) => c.clone(),
    };
    // The cluster's plan in this run makes Auto Mode's class.
    if class == ALB
        && let Some(cluster) = &target.cluster
        && ctx
            .provider
            .planned
            .runs(cluster)
            .is_some_and(|r| r.ingress)
    {
        return;
    }
    let Some(classes) = cluster_classes(ctx, &target, planned, ClassKind::Ingress).await else {
        return;
    };
    if classes.has(&class) {
        return;
    }
    let mut d = missing(&class, cloud, &classes.names);
    if target.cluster.is_none() {
        d.severity = Severity::Warning;
    }
    diags.push(d);
}

fn at_class() -> AttributePath {
    AttributePath::attr("ingress").join("class_name")
}

fn on_eks(class: &str) -> Diagnostic {
    Diagnostic::error(
        "A GKE ingress class on EKS",
        format!("{class:?} is the class of GKE's built-in controller, which EKS does not run. Leave class_name out: on EKS the Ingress gets the `alb` class (EKS Auto Mode's controller, or the AWS Load Balancer Controller)."),
    )
    .at(at_class())
}

/// No controller takes `class` in the cluster.
fn missing(class: &str, cloud: Option<Cloud>, classes: &[String]) -> Diagnostic {
    let nothing = "nothing in the cluster would ever give the Ingress an address";
    if cloud == Some(Cloud::Eks) && class == ALB {
        return Diagnostic::error(
            "No ingress controller in the cluster",
            format!("The EKS cluster has no IngressClass \"alb\": {nothing}. Add \"aws-load-balancer-controller\" to eks.addons on its genesis_cluster (Genesis then runs the AWS Load Balancer Controller and makes its `alb` class; it is in the default add-ons), or set enable_autopilot = true (EKS Auto Mode runs an ALB controller). Then apply again, or remove `ingress`."),
        )
        .at(at_class());
    }
    let have = if classes.is_empty() {
        "it has none".to_string()
    } else {
        format!("it has {}", classes.join(", "))
    };
    Diagnostic::error(
        "No such IngressClass in the cluster",
        format!("The cluster has no IngressClass {class:?} ({have}): {nothing}. Install the controller that makes it, or leave class_name out for the cluster's own (GKE's built-in controller, EKS Auto Mode's ALB)."),
    )
    .at(at_class())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cluster: Value, class: Value) -> Value {
        Value::object([
            ("cluster", cluster),
            (
                "ingress",
                Value::object([
                    ("host", Value::from("shop.example.com")),
                    ("class_name", class),
                ]),
            ),
        ])
    }

    fn planned_class(cluster: Value, class: Value) -> Value {
        planned_after(cluster, class, &Value::Null)
    }

    fn planned_after(cluster: Value, class: Value, prior: &Value) -> Value {
        let config = config(cluster, class);
        let mut planned = config.clone();
        plan_class(&config, prior, &mut planned);
        planned
            .at(&AttributePath::attr("ingress").join("class_name"))
            .clone()
    }

    #[test]
    fn a_class_left_out_is_the_clusters_own() {
        let eks = Value::from("arn:aws:eks:eu-west-1:123456789012:cluster/prod");
        let gke = Value::from("projects/p/locations/europe-west1/clusters/prod");
        assert_eq!(planned_class(eks.clone(), Value::Null), Value::from(ALB));
        assert_eq!(planned_class(gke, Value::Null), Value::Null);
        assert_eq!(planned_class(Value::Null, Value::Null), Value::Null);
        assert_eq!(planned_class(Value::Unknown, Value::Null), Value::Unknown);
        assert_eq!(
            planned_class(eks, Value::from("nginx")),
            Value::from("nginx")
        );
        // What the cluster's default class gave it stays.
        let given = config(Value::Null, Value::from("nginx"));
        assert_eq!(
            planned_after(Value::Null, Value::Null, &given),
            Value::from("nginx")
        );
    }

    #[test]
    fn the_missing_alb_class_names_both_fixes() {
        let d = missing(ALB, Some(Cloud::Eks), &[]);
        assert!(d.detail.contains("enable_autopilot = true"), "{}", d.detail);
        assert!(d.detail.contains("AWS Load Balancer Controller"));
        let d = missing("nginx", Some(Cloud::Gke), &["gce-l7".into()]);
        assert!(d.detail.contains("it has gce-l7"), "{}", d.detail);
    }
}
