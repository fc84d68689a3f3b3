//! The AWS Load Balancer Controller inside an EKS cluster with managed node
//! groups: what gives an Ingress of the `alb` class an Application Load
//! Balancer there, as GKE's built-in controller and EKS Auto Mode's do.
//! Its objects, all labelled as Genesis's own, follow what the project's
//! chart (eks/aws-load-balancer-controller) installs:
//!
//! - the definitions of its two resources, IngressClassParams and
//!   TargetGroupBinding (`elbv2.k8s.aws`), without which it does not
//!   start (their schemas here keep what the controller writes without
//!   checking it: the chart's admission webhooks check them, and those
//!   are not installed);
//! - its service account (whose IAM role EKS Pod Identity gives its pods:
//!   `cloud::aws::load_balancer_controller`), its ClusterRole and leader
//!   election Role;
//! - the certificate its webhook server needs to start, made once in the
//!   cluster (a Secret; never in Terraform's state);
//! - its Deployment, pinned, with IP targets (pods are reached straight
//!   through the VPC CNI, so a workload's ClusterIP Service serves);
//! - the `alb` IngressClass, the cluster's default, with parameters for an
//!   internet-facing load balancer, as on Auto Mode.
//!
//! Its admission webhooks (pod readiness gates, the Service mutator) are
//! not registered: Services of type LoadBalancer keep the cluster's
//! default handling.

use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use super::addon_objects::{
    CLUSTER_ROLE, CLUSTER_ROLE_BINDING, DEPLOYMENT, Kind, NAMESPACE, READ, ROLE, ROLE_BINDING,
    SECRET, SERVICE_ACCOUNT, binding, metadata, named, role, rule, service_account,
};
use super::ingress_classes::{ALB, DEFAULT_CLASS};
use super::{KubeError, owned, retried};

/// Its name: of the Deployment, the service account and its roles.
pub const NAME: &str = "aws-load-balancer-controller";
/// The controller its IngressClass names.
pub const CONTROLLER: &str = "ingress.k8s.aws/alb";
/// The release Genesis installs (the chart's `appVersion`, 2026-08).
pub const IMAGE: &str = "public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0";
/// Its resources' API group.
const GROUP: &str = "elbv2.k8s.aws";
/// The Secret holding its webhook server's certificate.
const CERTIFICATE: &str = "aws-load-balancer-tls";
/// The lock its replicas elect a leader with.
const LEADER: &str = "aws-load-balancer-controller-leader";

const DEFINITION: Kind = Kind::new(
    "apiextensions.k8s.io",
    "v1",
    "CustomResourceDefinition",
    "customresourcedefinitions",
    false,
);
const INGRESS_CLASS: Kind = Kind::new(
    "networking.k8s.io",
    "v1",
    "IngressClass",
    "ingressclasses",
    false,
);
const PARAMETERS: Kind = Kind::new(
    GROUP,
    "v1beta1",
    "IngressClassParams",
    "ingressclassparams",
    false,
);

/// A definition of one of its resources, served at v1beta1, whose spec and
/// status are kept as written.
fn definition(kind: &str, plural: &str, namespaced: bool) -> Json {
    let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata(NAME, &format!("{plural}.{GROUP}"), false),
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": format!("{kind}List"),
                "plural": plural,
                "singular": kind.to_lowercase(),
            },
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "versions": [{
                "name": "v1beta1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": open, "status": open},
                }},
            }],
        },
    })
}

/// What it watches and writes: Ingresses and Services and their status,
/// the endpoints and nodes behind them, its own resources.
fn cluster_role() -> Json {
    let ingresses = ["extensions", "networking.k8s.io"];
    role(
        NAME,
        NAME,
        false,
        vec![
            rule(
                &[""],
                &["configmaps"],
                &["create", "delete", "get", "update"],
            ),
            rule(&[""], &["endpoints", "namespaces", "nodes", "pods"], READ),
            rule(&[""], &["events"], &["create", "patch"]),
            rule(
                &[""],
                &["pods/status", "services/status"],
                &["patch", "update"],
            ),
            rule(
                &[""],
                &["services"],
                &["get", "list", "patch", "update", "watch"],
            ),
            rule(&["discovery.k8s.io"], &["endpointslices"], READ),
            rule(&[GROUP], &["ingressclassparams"], READ),
            rule(
                &[GROUP],
                &["targetgroupbindings"],
                &[
                    "create", "delete", "get", "list", "patch", "update", "watch",
                ],
            ),
            rule(
                &[GROUP],
                &["targetgroupbindings/status"],
                &["patch", "update"],
            ),
            rule(
                &ingresses,
                &["ingresses"],
                &["get", "list", "patch", "update", "watch"],
            ),
            rule(&ingresses, &["ingresses/status"], &["patch", "update"]),
            rule(&["networking.k8s.io"], &["ingressclasses"], READ),
        ],
    )
}

/// Leader election, in its own namespace only.
fn leader_role() -> Json {
    let lock = &["get", "patch", "update"];
    role(
        NAME,
        NAME,
        true,
        vec![
            rule(&[""], &["configmaps"], &["create"]),
            named(&[""], &["configmaps"], &[LEADER], lock),
            rule(&["coordination.k8s.io"], &["leases"], &["create"]),
            named(&["coordination.k8s.io"], &["leases"], &[LEADER], lock),
        ],
    )
}

/// The Deployment: two replicas electing a leader, critical to the
/// cluster, for the cluster `cluster` in `region` and its VPC `vpc_id`.
pub fn deployment(cluster: &str, region: &str, vpc_id: &str) -> Json {
    let labels = json!({"app.kubernetes.io/name": NAME});
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": 61779, "scheme": "HTTP"}});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(NAME, NAME, true),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "priorityClassName": "system-cluster-critical",
                    "securityContext": {"fsGroup": 65534},
                    "volumes": [{"name": "cert", "secret": {"secretName": CERTIFICATE, "defaultMode": 420}}],
                    "containers": [{
                        "name": NAME,
                        "image": IMAGE,
                        "args": [
                            format!("--cluster-name={cluster}"),
                            format!("--ingress-class={ALB}"),
                            format!("--aws-region={region}"),
                            format!("--aws-vpc-id={vpc_id}"),
                            // Pods are targets themselves: a ClusterIP
                            // Service serves, as on GKE and Auto Mode.
                            "--default-target-type=ip",
                        ],
                        "ports": [
                            {"name": "webhook-server", "containerPort": 9443, "protocol": "TCP"},
                            {"name": "metrics-server", "containerPort": 8080, "protocol": "TCP"},
                        ],
                        "volumeMounts": [{
                            "name": "cert",
                            "mountPath": "/tmp/k8s-webhook-server/serving-certs",
                            "readOnly": true,
                        }],
                        "livenessProbe": probe("/healthz"),
                        "readinessProbe": probe("/readyz"),
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "runAsNonRoot": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }],
                },
            },
        },
    })
}

/// Its IngressClass's parameters: an internet-facing load balancer (the
/// ALB's own default is internal), as GKE's controller makes.
fn parameters() -> Json {
    json!({
        "apiVersion": format!("{GROUP}/v1beta1"),
        "kind": "IngressClassParams",
        "metadata": metadata(NAME, ALB, false),
        "spec": {"scheme": "internet-facing"},
    })
}

/// The `alb` class, the cluster's default.
pub fn ingress_class() -> Json {
    let mut meta = metadata(NAME, ALB, false);
    meta["annotations"] = json!({DEFAULT_CLASS: "true"});
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": meta,
        "spec": {
            "controller": CONTROLLER,
            "parameters": {"apiGroup": GROUP, "kind": "IngressClassParams", "name": ALB},
        },
    })
}

/// The Secret of its webhook server's certificate, self-signed for the
/// name its webhook Service would have, valid ten years (as the chart's).
fn certificate() -> Result<Json, KubeError> {
    let failed =
        |e: rcgen::Error| KubeError::Refused(format!("making the webhook certificate: {e}"));
    let host = format!("aws-load-balancer-webhook-service.{NAMESPACE}.svc");
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params =
        rcgen::CertificateParams::new(vec![host.clone(), format!("{host}.cluster.local")])
            .map_err(failed)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host);
    let now = std::time::SystemTime::now();
    params.not_before = (now - std::time::Duration::from_secs(60)).into();
    params.not_after = (now + std::time::Duration::from_secs(3650 * 24 * 3600)).into();
    let cert = params.self_signed(&key).map_err(failed)?;
    let pem = cert.pem();
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(NAME, CERTIFICATE, true),
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": pem, "ca.crt": pem, "tls.key": key.serialize_pem()},
    }))
}

/// Its objects' kinds and names, in the order they are applied (what its
/// pods need first, the class last, once something serves it).
const OBJECTS: [(Kind, &str); 10] = [
    (DEFINITION, "ingressclassparams.elbv2.k8s.aws"),
    (DEFINITION, "targetgroupbindings.elbv2.k8s.aws"),
    (SERVICE_ACCOUNT, NAME),
    (CLUSTER_ROLE, NAME),
    (CLUSTER_ROLE_BINDING, NAME),
    (ROLE, NAME),
    (ROLE_BINDING, NAME),
    (DEPLOYMENT, NAME),
    (PARAMETERS, ALB),
    (INGRESS_CLASS, ALB),
];

/// How long a new definition may take to be served.
const DEFINITION_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Applies the controller for the cluster `cluster` (in `region`, VPC
/// `vpc_id`). Objects of its names that Genesis did not make (a controller
/// installed by its chart) are never taken over.
pub async fn apply(
    client: &kube::Client,
    cluster: &str,
    region: &str,
    vpc_id: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let others = "a Load Balancer Controller installed otherwise (its chart's; uninstall it, or leave \"aws-load-balancer-controller\" out of eks.addons)";
    let manifests = [
        definition("IngressClassParams", "ingressclassparams", false),
        definition("TargetGroupBinding", "targetgroupbindings", true),
        service_account(NAME),
        cluster_role(),
        binding(NAME, NAME, false),
        leader_role(),
        binding(NAME, NAME, true),
        deployment(cluster, region, vpc_id),
        parameters(),
        ingress_class(),
    ];
    let apis: Vec<Api<DynamicObject>> = OBJECTS.iter().map(|(k, _)| k.api(client)).collect();
    // Checked before anything is written, the class included (the chart
    // makes `alb` too).
    for (api, (kind, name)) in apis.iter().zip(OBJECTS) {
        let found = match retried(stop, || api.get_opt(name)).await {
            Ok(found) => found,
            // A kind not served yet (its definition is not there) has none.
            Err(kube::Error::Api(s)) if s.code == 404 => None,
            Err(e) => {
                return Err(KubeError::from_kube(
                    &format!("reading {} {name}", kind.kind),
                    e,
                ));
            }
        };
        if found.is_some_and(|o| !owned::is_ours(&o.metadata)) {
            return Err(owned::not_ours(kind.kind, name, others));
        }
    }
    ensure_certificate(client, stop).await?;
    let apply = kube::api::PatchParams::apply(super::FIELD_MANAGER).force();
    for ((api, (kind, name)), manifest) in apis.iter().zip(OBJECTS).zip(manifests) {
        let patch = kube::api::Patch::Apply(&manifest);
        let call = format!("applying {} {name}", kind.kind);
        let served_by = std::time::Instant::now() + DEFINITION_WAIT;
        // The parameters' kind is served a moment after its definition.
        loop {
            match retried(stop, || api.patch(name, &apply, &patch)).await {
                Ok(_) => break,
                Err(kube::Error::Api(s))
                    if s.code == 404 && std::time::Instant::now() < served_by =>
                {
                    tokio::select! {
                        () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                        () = stop.cancelled() => {
                            return Err(KubeError::Transport { call, message: "stopped".into() });
                        }
                    }
                }
                Err(e) => return Err(KubeError::from_kube(&call, e)),
            }
        }
    }
    Ok(())
}

/// Makes the certificate's Secret unless it is there: a certificate is
/// made once, not on every apply.
async fn ensure_certificate(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let secrets = SECRET.api(client);
    let found = retried(stop, || secrets.get_opt(CERTIFICATE))
        .await
        .map_err(|e| KubeError::from_kube(&format!("reading Secret {CERTIFICATE}"), e))?;
    match found {
        Some(s) if owned::is_ours(&s.metadata) => Ok(()),
        Some(_) => Err(owned::not_ours(
            "Secret",
            CERTIFICATE,
            "a Load Balancer Controller installed otherwise",
        )),
        None => {
            let secret: DynamicObject = serde_json::from_value(certificate()?)
                .map_err(|e| KubeError::Refused(format!("the webhook certificate: {e}")))?;
            let create = PostParams::default();
            match retried(stop, || secrets.create(&create, &secret)).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
                Err(e) => Err(KubeError::from_kube(
                    &format!("creating Secret {CERTIFICATE}"),
                    e,
                )),
            }
        }
    }
}

/// The Ingresses its class serves: while any is left, removing the
/// controller would leave their load balancers in the account, with
/// nothing to delete them (and the Ingresses held by its finalizer).
pub async fn served_ingresses(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Vec<String>, KubeError> {
    let ingresses: Api<k8s_openapi::api::networking::v1::Ingress> = Api::all(client.clone());
    let all = ListParams::default();
    let listed = retried(stop, || ingresses.list(&all))
        .await
        .map_err(|e| KubeError::from_kube("listing Ingresses", e))?;
    Ok(listed
        .items
        .iter()
        .filter(|i| {
            i.spec
                .as_ref()
                .and_then(|s| s.ingress_class_name.as_deref())
                == Some(ALB)
        })
        .map(|i| {
            format!(
                "{}/{}",
                i.metadata.namespace.as_deref().unwrap_or_default(),
                i.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect())
}

/// Removes what `apply` made, the class first, once no Ingress of the class
/// is left; objects Genesis did not make stay. The class is removed only
/// while it names this controller (Auto Mode's, which Genesis makes under
/// the same name, stays).
pub async fn remove(client: &kube::Client, stop: &CancellationToken) -> Result<(), KubeError> {
    let left = served_ingresses(client, stop).await?;
    if !left.is_empty() {
        return Err(KubeError::Refused(format!(
            "the Ingresses {} still have load balancers the AWS Load Balancer Controller made; remove their `ingress` (or the workloads) first, so that it deletes them, then remove the controller",
            left.join(", ")
        )));
    }
    let apis: Vec<Api<DynamicObject>> = OBJECTS.iter().map(|(k, _)| k.api(client)).collect();
    for (api, (kind, name)) in apis.iter().zip(OBJECTS).rev() {
        if kind.kind == "IngressClass" {
            let class = owned::get(api, kind.kind, name, stop).await?;
            if class.is_some_and(|c| c["spec"]["controller"] != CONTROLLER) {
                continue;
            }
        }
        owned::delete_in_order(
            &[(api, kind.kind)],
            name,
            std::time::Duration::from_secs(120),
            "",
            stop,
        )
        .await?;
    }
    owned::delete(&SECRET.api(client), "Secret", CERTIFICATE, stop).await
}

/// Whether Genesis's controller Deployment is in the cluster.
pub async fn installed(client: &kube::Client, stop: &CancellationToken) -> Result<bool, KubeError> {
    super::addon_objects::installed(client, NAME, stop).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::MANAGED_BY;

    #[test]
    fn the_controller_serves_the_alb_class_of_its_cluster() {
        let d = deployment("prod", "eu-west-1", "vpc-0abc");
        let container = &d["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Json::as_str)
            .collect();
        for arg in [
            "--cluster-name=prod",
            "--ingress-class=alb",
            "--aws-region=eu-west-1",
            "--aws-vpc-id=vpc-0abc",
            "--default-target-type=ip",
        ] {
            assert!(args.contains(&arg), "{arg}: {args:?}");
        }
        assert_eq!(d["spec"]["template"]["spec"]["serviceAccountName"], NAME);
        let class = ingress_class();
        assert_eq!(class["spec"]["controller"], CONTROLLER);
        assert_eq!(
            class["spec"]["parameters"]["name"],
            parameters()["metadata"]["name"]
        );
        assert_eq!(parameters()["spec"]["scheme"], "internet-facing");
        for object in [d, class, parameters(), cluster_role(), leader_role()] {
            assert_eq!(object["metadata"]["labels"][MANAGED_BY.0], MANAGED_BY.1);
        }
    }

    #[test]
    fn its_certificate_is_for_its_webhook_service() {
        let secret = certificate().unwrap();
        assert_eq!(secret["type"], "kubernetes.io/tls");
        let pem = secret["stringData"]["tls.crt"].as_str().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(
            secret["stringData"]["tls.key"]
                .as_str()
                .unwrap()
                .contains("PRIVATE KEY")
        );
    }

    #[test]
    fn its_definitions_are_named_as_the_controller_looks_them_up() {
        let d = definition("TargetGroupBinding", "targetgroupbindings", true);
        assert_eq!(d["metadata"]["name"], OBJECTS[1].1);
        assert_eq!(d["spec"]["scope"], "Namespaced");
        let p = definition("IngressClassParams", "ingressclassparams", false);
        assert_eq!(p["metadata"]["name"], OBJECTS[0].1);
    }
}
