//! The Kubernetes objects genesis_workload renders, from plans of the
//! `workloads` example, checked against the official Kubernetes schemas by
//! kubernetes-validate (PyPI), strictly (no unknown fields).

use genesis::framework::value::Value;
use genesis::protocol::codec::decode_json;

use crate::harness::{Workspace, planned, terraforms};

fn rendered(plan: &serde_json::Value, address: &str) -> Vec<serde_json::Value> {
    let after = planned(plan, address);
    let ty = genesis::resources::workload::value_type();
    let value: Value =
        decode_json(after.to_string().as_bytes(), &ty).expect("planned values decode");
    genesis::kube::workload::render(&value)
}

#[test]
fn rendered_objects_pass_the_kubernetes_schemas() {
    let tf = &terraforms()[0];
    let plan = Workspace::example(tf, "workloads").plan_json();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for address in ["genesis_workload.api", "genesis_workload.worker"] {
        for (i, object) in rendered(&plan, address).iter().enumerate() {
            let path = dir.path().join(format!(
                "{}-{i}-{}.json",
                address.replace('.', "-"),
                object["kind"].as_str().unwrap()
            ));
            std::fs::write(&path, serde_json::to_string_pretty(object).unwrap()).unwrap();
            files.push(path);
        }
    }
    let out = std::process::Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(&files)
        .output()
        .expect("kubernetes-validate is installed by scripts/test (pip install -r acceptance/requirements.txt)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "rendered objects fail the Kubernetes schemas:\n{report}"
    );
    assert!(
        !report.contains("ERROR") && !report.contains("INVALID"),
        "{report}"
    );

    let api = rendered(&plan, "genesis_workload.api");
    let kinds: Vec<&str> = api.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "Ingress"
        ]
    );
    let deployment = &api[1];
    assert!(
        deployment["spec"]["replicas"].is_null(),
        "the autoscaler owns replicas"
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(
        deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    let hpa = &api[3];
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(
        hpa["spec"]["metrics"][1]["resource"]["target"]["averageUtilization"],
        80
    );
    assert_eq!(
        api[0]["metadata"]["annotations"]["iam.gke.io/gcp-service-account"],
        "agent-cage@genesis-project-dev.iam.gserviceaccount.com"
    );
    let policy = &api[5];
    assert_eq!(
        policy["spec"]["egress"][0]["ports"][0]["port"], 53,
        "DNS is allowed out"
    );
}
