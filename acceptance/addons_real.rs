//! The add-ons Genesis runs itself inside an EKS cluster with node groups,
//! applied by the provider's own code to a real Kubernetes API server and
//! to genesis-sim: both accept the same objects and store them alike (the
//! real server is the judge of the resource definitions, RBAC and
//! Deployment Genesis writes), a second apply changes nothing (the webhook
//! certificate is made once), and removal leaves nothing of Genesis's.

use genesis::kube::load_balancer_controller as controller;
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use crate::apiserver::ApiServer;
use crate::harness::{Sim, kubectl, terraforms};
use crate::kube_real::{comparable, simulated_cluster};

/// What the cluster holds of the controller, as kubectl reads it.
const OBJECTS: &[(&str, &str)] = &[
    ("", "crd/ingressclassparams.elbv2.k8s.aws"),
    ("", "crd/targetgroupbindings.elbv2.k8s.aws"),
    ("", "clusterrole/aws-load-balancer-controller"),
    ("", "clusterrolebinding/aws-load-balancer-controller"),
    ("kube-system", "serviceaccount/aws-load-balancer-controller"),
    ("kube-system", "role/aws-load-balancer-controller"),
    ("kube-system", "rolebinding/aws-load-balancer-controller"),
    ("kube-system", "deployment/aws-load-balancer-controller"),
    ("", "ingressclassparams.elbv2.k8s.aws/alb"),
    ("", "ingressclass/alb"),
];

fn read(kubeconfig: &std::path::Path, namespace: &str, object: &str) -> Json {
    let out = kubectl(kubeconfig, namespace)(&["get", object, "-o", "json"]);
    serde_json::from_str(&out).unwrap()
}

/// The stored objects, comparable across servers (a definition's
/// conditions and accepted names are the server's to report).
fn stored(kubeconfig: &std::path::Path) -> Json {
    let objects: Vec<Json> = OBJECTS
        .iter()
        .map(|(namespace, object)| comparable(&read(kubeconfig, namespace, object)))
        .collect();
    json!(objects)
}

fn certificate(kubeconfig: &std::path::Path) -> Json {
    read(kubeconfig, "kube-system", "secret/aws-load-balancer-tls")["data"]["tls.crt"].clone()
}

#[test]
fn the_load_balancer_controller_is_stored_as_on_the_real_server() {
    let server = ApiServer::start();
    let sim = Sim::start();
    let tf = &terraforms()[0];
    let (_cluster, sim_kubeconfig) = simulated_cluster(tf, &sim, "apps");
    // As the provider's main does.
    genesis::protocol::tls::install_crypto_provider();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stop = CancellationToken::new();
    let seen: Vec<Json> = [&sim_kubeconfig, &server.kubeconfig]
        .into_iter()
        .map(|kubeconfig| {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("kubeconfig");
            std::fs::write(&file, kubeconfig).unwrap();
            let client = runtime
                .block_on(genesis::kube::connect_kubeconfig(file.to_str().unwrap(), None))
                .unwrap();
            let apply = || {
                runtime
                    .block_on(controller::apply(
                        &client,
                        "apps",
                        "us-east-1",
                        "vpc-0abc",
                        &stop,
                    ))
                    .unwrap()
            };
            apply();
            let first = (stored(&file), certificate(&file));
            apply();
            assert_eq!(
                (stored(&file), certificate(&file)),
                first,
                "a second apply changes nothing, the certificate included"
            );
            assert!(runtime.block_on(controller::installed(&client, &stop)).unwrap());
            runtime
                .block_on(controller::remove(&client, &stop))
                .unwrap();
            let left = kubectl(&file, "kube-system")(&[
                "get",
                "deployment,serviceaccount,role,rolebinding,secret,ingressclass,clusterrole,clusterrolebinding,crd",
                "-A",
                "-l",
                "app.kubernetes.io/name=aws-load-balancer-controller",
                "-o",
                "name",
            ]);
            assert_eq!(left.trim(), "", "nothing of Genesis's is left");
            first.0
        })
        .collect();
    assert_eq!(
        seen[0], seen[1],
        "genesis-sim (left) and the real API server (right)"
    );
}
