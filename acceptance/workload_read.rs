//! genesis_workload read back from its cluster, by the real Terraform
//! against genesis-sim: imports (by cluster ID and through a kubeconfig)
//! plan no change, edits made with kubectl behind Terraform's back to
//! fields Genesis applied show in the next plan, fields others add never
//! do, and a workload whose cluster is gone leaves the state quietly.

use serde_json::{Value as Json, json};

use crate::harness::{Sim, Workspace, each_terraform, install_ingress_class, kubeconfig};
use crate::workload::EVERYTHING;

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

fn config() -> String {
    // The claim `everything` mounts (`shared-data`) is another workload's:
    // its pods could not be scheduled before it exists.
    let everything = &EVERYTHING[EVERYTHING.find("resource ").unwrap()..].replace(
        "kubeconfig_path    = \"/nonexistent/kubeconfig\"\n  kubeconfig_context = \"dev\"",
        "cluster    = genesis_cluster.main.id\n  depends_on = [genesis_workload.shared]",
    );
    format!(
        r#"
{cluster}

resource "genesis_workload" "api" {{
  cluster     = genesis_cluster.main.id
  namespace   = "jobs"
  name        = "api"
  image       = "nginx:1.27"
  ports       = [{{ name = "http", container_port = 8080 }}]
  resources   = {{ requests = {{ cpu = "500m", memory = "256Mi" }} }}
  autoscaling = {{ min_replicas = 2, max_replicas = 6, cpu_target = 70 }}
  service     = {{}}
}}

resource "genesis_workload" "shared" {{
  cluster   = genesis_cluster.main.id
  namespace = "jobs"
  name      = "shared"
  kind      = "CronJob"
  image     = "busybox:1.37"
  cron      = {{ schedule = "@daily" }}
  volumes = {{
    data = {{ size = "1Gi", storage_class = "standard", mount_path = "/data" }}
  }}
}}

output "endpoint" {{
  value = genesis_cluster.main.endpoint
}}

output "ca_certificate" {{
  value = genesis_cluster.main.ca_certificate
}}

{everything}
"#,
        cluster = crate::harness::apps_cluster(&["jobs"])
    )
}

const SIDE: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

resource "genesis_workload" "side" {
  kubeconfig_path = "./kubeconfig"
  namespace       = "jobs"
  name            = "side"
  image           = "nginx:1.27"
  replicas        = 1
  config_data     = { MODE = "side" }
}
"#;

/// `terraform plan -detailed-exitcode` must show no change; the plan is
/// printed when it does.
fn assert_no_changes(ws: &Workspace, why: &str) {
    let run = ws
        .run(&["plan", "-input=false", "-detailed-exitcode", "-no-color"])
        .assert_no_crash();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{why}:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// The planned update of one resource: (before, after).
fn change(plan: &Json, address: &str) -> (Json, Json) {
    let c = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("{address} is not in the plan"));
    assert_eq!(c["change"]["actions"], json!(["update"]), "{address}: {c}");
    (c["change"]["before"].clone(), c["change"]["after"].clone())
}

/// The top-level attributes whose known planned values differ from the
/// prior ones (unknown values are left out of `after`).
fn differing(before: &Json, after: &Json) -> Vec<String> {
    let mut keys: Vec<String> = after
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| before[k.as_str()] != after[k.as_str()])
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[test]
fn workloads_are_read_back_from_the_cluster() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &config())]).against(&sim);
        // `everything`'s Ingress names the nginx class, which the cluster
        // must have (its plan is refused otherwise): installed as
        // ingress-nginx's chart would, once the cluster exists.
        let cluster_first = [
            "apply",
            "-input=false",
            "-auto-approve",
            "-target=genesis_cluster.main",
        ];
        ws.run(&cluster_first).ok();
        let kubectl = ws.cluster_kubectl(&sim, "jobs");
        install_ingress_class(&kubectl, ws.path(), "nginx", "k8s.io/ingress-nginx");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_no_changes(&ws, "a second plan shows no changes");

        // Import by CLUSTER_ID/NAMESPACE/NAME matches the configuration.
        for (address, name) in [
            ("genesis_workload.everything", "everything"),
            ("genesis_workload.api", "api"),
        ] {
            ws.run(&["state", "rm", address]).ok();
            ws.run(&[
                "import",
                "-input=false",
                address,
                &format!("{CLUSTER}/jobs/{name}"),
            ])
            .ok();
        }
        assert_no_changes(&ws, "imported workloads plan no change");

        // Edits behind Terraform's back, with kubectl through a kubeconfig
        // made from the cluster's outputs.
        let outputs = ws.run(&["output", "-json"]).ok().json();
        let kubeconfig = kubeconfig(&outputs, &sim.running.urls.token);
        let kubeconfig_file = ws.dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig_file, &kubeconfig).unwrap();
        let kubectl = crate::harness::kubectl(&kubeconfig_file, "jobs");
        kubectl(&[
            "patch",
            "deployment",
            "everything",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"minReadySeconds":30}}"#,
        ]);
        kubectl(&[
            "patch",
            "configmap",
            "everything",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"app.yaml":"debug: true"}}"#,
        ]);
        kubectl(&[
            "annotate",
            "service",
            "everything",
            "--overwrite",
            "networking.gke.io/load-balancer-type=External",
        ]);
        kubectl(&[
            "patch",
            "hpa",
            "api",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"maxReplicas":4}}"#,
        ]);
        // The ServiceAccount the `everything` pods run as, made by someone
        // else: it is not the workload's and never shows as its own.
        let account = ws.dir.path().join("account.json");
        std::fs::write(
            &account,
            r#"{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "shared-runner", "namespace": "jobs", "labels": {"team": "platform"}}}"#,
        )
        .unwrap();
        kubectl(&["create", "-f", account.to_str().unwrap()]);
        // What others add to the objects is theirs: an admission
        // controller's annotation, a policy engine's label.
        kubectl(&["label", "deployment", "api", "policy.example/checked=yes"]);
        kubectl(&[
            "patch",
            "deployment",
            "api",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"template":{"metadata":{"annotations":{"sidecar.example/inject":"true"}}}}}"#,
        ]);

        let plan = ws.plan_json();
        let (before, after) = change(&plan, "genesis_workload.everything");
        assert_eq!(
            differing(&before, &after),
            ["config_data", "min_ready_seconds", "service"],
            "exactly the edited fields"
        );
        assert_eq!(before["min_ready_seconds"], 30);
        assert_eq!(after["min_ready_seconds"], 5);
        assert_eq!(before["config_data"]["app.yaml"], "debug: true");
        assert_eq!(
            before["service"]["annotations"]["networking.gke.io/load-balancer-type"],
            "External"
        );
        let (before, after) = change(&plan, "genesis_workload.api");
        assert_eq!(differing(&before, &after), ["autoscaling"]);
        assert_eq!(before["autoscaling"]["max_replicas"], 4);
        assert!(before["labels"].is_null() && before["annotations"].is_null());

        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_no_changes(&ws, "the apply put the edited fields back");
        let api = &sim.state()["kube"][CLUSTER]["objects"]["objects"]["apps/deployments/jobs/api"];
        assert_eq!(
            api["spec"]["template"]["metadata"]["annotations"]["sidecar.example/inject"], "true",
            "what others added stays"
        );

        // A cluster Genesis does not manage, through a kubeconfig.
        let side = Workspace::new(tf, &[("main.tf", SIDE), ("kubeconfig", &kubeconfig)]);
        side.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(
            sim.state()["kube"][CLUSTER]["objects"]["objects"]["apps/deployments/jobs/side"]
                .is_object(),
            "applied through the kubeconfig"
        );
        assert_no_changes(
            &side,
            "a second plan through the kubeconfig shows no changes",
        );
        side.run(&["state", "rm", "genesis_workload.side"]).ok();
        let absolute = side.dir.path().join("kubeconfig");
        let side = side.with_env("KUBECONFIG", absolute.to_str().unwrap());
        side.run(&[
            "import",
            "-input=false",
            "genesis_workload.side",
            "jobs/side",
        ])
        .ok();
        assert_no_changes(
            &side,
            "a workload imported by NAMESPACE/NAME with KUBECONFIG plans no change",
        );
        side.run(&["destroy", "-input=false", "-auto-approve"]).ok();

        // A cluster deleted behind Terraform's back takes its workloads
        // with it: the refresh forgets them instead of failing.
        let status = sim.control("DELETE", &format!("/_sim/objects?name={CLUSTER}"), None);
        assert_eq!(status, 204);
        let plan = ws.plan_json();
        let creates = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["change"]["actions"] == json!(["create"]))
            .count();
        assert_eq!(
            creates, 4,
            "the cluster and its three workloads are created again"
        );
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_eq!(sim.state()["gke"]["clusters"], json!({}));
    });
}
