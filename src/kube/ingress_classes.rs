//! Which controller gives a cluster's Ingresses their load balancer.
//!
//! - GKE's built-in controller takes an Ingress with no class, or with the
//!   `kubernetes.io/ingress.class` annotation `gce` (external) or
//!   `gce-internal`. It ignores `spec.ingressClassName`: an Ingress whose
//!   class names `gce` there gets no load balancer, so those two classes
//!   are written as the annotation.
//! - EKS Auto Mode runs an ALB controller (`eks.amazonaws.com/alb`) but
//!   makes no IngressClass for it. Genesis makes `alb`, with parameters for
//!   an internet-facing load balancer (what GKE's controller makes by
//!   default), labelled as its own and marked the cluster's default class.
//! - On an EKS cluster with node groups, the AWS Load Balancer Controller
//!   Genesis runs (`load_balancer_controller.rs`) makes `alb` too, for its
//!   own controller (`ingress.k8s.aws/alb`).
//! - Any other class needs its IngressClass in the cluster: without one,
//!   nothing ever gives the Ingress an address.

use k8s_openapi::api::networking::v1::{
    IngressClass, IngressClassParametersReference, IngressClassSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Classes, FIELD_MANAGER, KubeError, MANAGED_BY, owned, retried};

/// The class an EKS cluster's Ingresses use: Auto Mode's (which Genesis
/// makes) or the AWS Load Balancer Controller's.
pub const ALB: &str = "alb";
/// EKS Auto Mode's ALB controller.
pub const AUTO_MODE_CONTROLLER: &str = "eks.amazonaws.com/alb";
/// The annotation GKE's controller reads the class from.
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// The annotation that makes a class the cluster's default.
pub const DEFAULT_CLASS: &str = "ingressclass.kubernetes.io/is-default-class";

/// Whether `class` is one of GKE's built-in controller's, which it reads
/// from the annotation only.
pub fn is_gce(class: &str) -> bool {
    matches!(class, "gce" | "gce-internal")
}

/// How long a cluster just switched to Auto Mode may take to serve the
/// IngressClassParams definition.
const DEFINITION_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

fn parameters() -> ApiResource {
    let gvk = kube::api::GroupVersionKind::gvk("eks.amazonaws.com", "v1", "IngressClassParams");
    ApiResource::from_gvk_with_plural(&gvk, "ingressclassparams")
}

fn labels() -> std::collections::BTreeMap<String, String> {
    [(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())].into()
}

/// The class Genesis makes on an Auto Mode cluster.
pub fn auto_mode_class() -> IngressClass {
    IngressClass {
        metadata: ObjectMeta {
            name: Some(ALB.into()),
            labels: Some(labels()),
            annotations: Some([(DEFAULT_CLASS.to_string(), "true".to_string())].into()),
            ..ObjectMeta::default()
        },
        spec: Some(IngressClassSpec {
            controller: Some(AUTO_MODE_CONTROLLER.into()),
            parameters: Some(IngressClassParametersReference {
                api_group: Some("eks.amazonaws.com".into()),
                kind: "IngressClassParams".into(),
                name: ALB.into(),
                ..IngressClassParametersReference::default()
            }),
        }),
    }
}

/// Its parameters: an internet-facing load balancer (the ALB's own default
/// is internal, reachable only from the VPC).
pub fn auto_mode_parameters() -> serde_json::Value {
    json!({
        "apiVersion": "eks.amazonaws.com/v1",
        "kind": "IngressClassParams",
        "metadata": {"name": ALB, "labels": labels()},
        "spec": {"scheme": "internet-facing"},
    })
}

/// Makes Auto Mode's class (`on`) or removes the one Genesis made. A class
/// of the same name someone else made is never taken over, nor removed.
pub async fn reconcile_auto_mode(
    client: &kube::Client,
    on: bool,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let classes: Api<IngressClass> = Api::all(client.clone());
    let params: Api<DynamicObject> = Api::all_with(client.clone(), &parameters());
    let call = format!("applying IngressClass {ALB}");
    let live = retried(stop, || classes.get_opt(ALB))
        .await
        .map_err(|e| KubeError::from_kube(&call, e))?;
    let ours = live.as_ref().is_some_and(|c| owned::is_ours(&c.metadata));
    if !on {
        // Genesis's Load Balancer Controller's class has the same name.
        let auto_modes = live
            .as_ref()
            .and_then(|c| c.spec.as_ref())
            .and_then(|s| s.controller.as_deref())
            == Some(AUTO_MODE_CONTROLLER);
        if ours && auto_modes {
            owned::delete(&classes, "IngressClass", ALB, stop).await?;
            owned::delete(&params, "IngressClassParams", ALB, stop).await?;
        }
        return Ok(());
    }
    if live.is_some() && !ours {
        return Err(owned::not_ours(
            "IngressClass",
            ALB,
            "classes others manage (the AWS Load Balancer Controller's, say)",
        ));
    }
    let apply = PatchParams::apply(FIELD_MANAGER).force();
    let manifest = Patch::Apply(auto_mode_parameters());
    // EKS installs the definition as the mode comes on: a cluster just
    // switched may not serve it for a moment.
    let served_by = std::time::Instant::now() + DEFINITION_WAIT;
    loop {
        match retried(stop, || params.patch(ALB, &apply, &manifest)).await {
            Ok(_) => break,
            Err(kube::Error::Api(s)) if s.code == 404 && std::time::Instant::now() < served_by => {
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                    () = stop.cancelled() => {
                        return Err(KubeError::Transport {
                            call: format!("applying IngressClassParams {ALB}"),
                            message: "stopped while EKS installed Auto Mode's definitions".into(),
                        });
                    }
                }
            }
            Err(e) => {
                return Err(KubeError::from_kube(
                    &format!("applying IngressClassParams {ALB}"),
                    e,
                ));
            }
        }
    }
    let manifest = Patch::Apply(auto_mode_class());
    retried(stop, || classes.patch(ALB, &apply, &manifest))
        .await
        .map_err(|e| KubeError::from_kube(&call, e))?;
    Ok(())
}

/// The cluster's IngressClasses.
pub async fn classes(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Classes, KubeError> {
    let classes: Api<IngressClass> = Api::all(client.clone());
    let all = kube::api::ListParams::default();
    let list = retried(stop, || classes.list(&all))
        .await
        .map_err(|e| KubeError::from_kube("listing IngressClasses", e))?;
    Ok(Classes::of(
        list.items.iter().map(|c| &c.metadata),
        DEFAULT_CLASS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_modes_class_is_the_default_and_names_its_parameters() {
        let class = auto_mode_class();
        assert!(owned::is_ours(&class.metadata));
        let spec = class.spec.unwrap();
        assert_eq!(spec.controller.as_deref(), Some(AUTO_MODE_CONTROLLER));
        let parameters = spec.parameters.unwrap();
        assert_eq!(parameters.name, auto_mode_parameters()["metadata"]["name"]);
        assert_eq!(auto_mode_parameters()["spec"]["scheme"], "internet-facing");
        assert!(is_gce("gce-internal") && !is_gce(ALB));
    }
}
