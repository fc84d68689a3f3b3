//! Blue-green and canary releases of genesis_workload on a real API server
//! whose pods run (on a KWOK node, see apiserver.rs), by each Terraform:
//! the Service switches to the new color once its Deployment is available,
//! re-applying the previous image switches back with no new pod, and a
//! canary's steps scale the new color and share the Service before it takes
//! all the traffic, and a canary whose pods never start (KWOK's stage in
//! acceptance/kwok) is rolled back with their reason. The other failures
//! (a failing analysis, restarts, a kill between steps) are tested on
//! genesis-sim (blue_green.rs).

use serde_json::Value as Json;

use crate::apiserver::ApiServer;
use crate::harness::{Workspace, first_terraform};

fn config(namespace: &str, image: &str, rollout: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_workload" "api" {{
  kubeconfig_path = "./kubeconfig"
  namespace       = "{namespace}"
  name            = "api"
  image           = "{image}"
  replicas        = 3
  ports           = [{{ name = "http", container_port = 8080 }}]
  service         = {{ ports = [{{ port = 80, target_port = 8080 }}] }}
  rollout         = {rollout}

  progress_deadline_seconds = 15
  timeouts {{
    create = "90s"
    update = "90s"
  }}
}}
"#
    )
}

const BLUE_GREEN: &str = r#"{ strategy = "blue-green", preview = true }"#;
const CANARY: &str = r#"{
    strategy = "canary"
    steps    = [{ weight = 33, pause = "4s" }]
  }"#;

/// The names of a color's pods, sorted.
fn pods(server: &ApiServer, namespace: &str, color: &str) -> Vec<String> {
    let out = server.kubectl(&[
        "-n",
        namespace,
        "get",
        "pods",
        "-l",
        &format!("app.kubernetes.io/name=api,genesis.dev/color={color}"),
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    let mut names: Vec<String> = out.split_whitespace().map(str::to_string).collect();
    names.sort();
    names
}

fn selected(server: &ApiServer, namespace: &str, service: &str) -> String {
    let service = server
        .get(namespace, "service", service)
        .unwrap_or(Json::Null);
    service["spec"]["selector"]["genesis.dev/color"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn deployment(server: &ApiServer, namespace: &str, color: &str) -> Json {
    server
        .get(namespace, "deployment", &format!("api-{color}"))
        .unwrap_or(Json::Null)
}

#[test]
fn releases_by_color_on_a_real_api_server() {
    let server = ApiServer::start_with_nodes();
    let n = std::sync::atomic::AtomicUsize::new(0);
    first_terraform(|tf| {
        let namespace = format!(
            "releases-{}",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let namespace = namespace.as_str();
        server.kubectl(&["create", "namespace", namespace]);
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let ws = Workspace::new(
            tf,
            &[
                ("main.tf", &config(namespace, "nginx:1.27", BLUE_GREEN)),
                ("kubeconfig", &server.kubeconfig),
            ],
        );
        ws.run(&apply).ok();
        assert_eq!(selected(&server, namespace, "api"), "blue");
        assert_eq!(
            deployment(&server, namespace, "blue")["status"]["readyReplicas"],
            3
        );
        assert!(!ws.plan_has_changes(), "no diff after the first release");

        // The new version goes to green, the Service follows once it is
        // available; blue stays scaled.
        ws.write("main.tf", &config(namespace, "nginx:1.28", BLUE_GREEN));
        ws.run(&apply).ok();
        let green = deployment(&server, namespace, "green");
        assert_eq!(
            (
                selected(&server, namespace, "api"),
                &green["status"]["availableReplicas"]
            ),
            ("green".to_string(), &Json::from(3))
        );
        assert_eq!(selected(&server, namespace, "api-preview"), "green");
        let ready = server.kubectl(&[
            "-n",
            namespace,
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=api-preview",
            "-o",
            "jsonpath={.items[*].endpoints[*].conditions.ready}",
        ]);
        assert_eq!(
            ready.split_whitespace().filter(|r| *r == "true").count(),
            3,
            "the preview Service's endpoints: {ready}"
        );
        let blue_pods = pods(&server, namespace, "blue");
        assert_eq!(blue_pods.len(), 3, "the previous version stays scaled");
        assert!(!ws.plan_has_changes());

        // Rolling back to the previous image is a switch: no new pod.
        ws.write("main.tf", &config(namespace, "nginx:1.27", BLUE_GREEN));
        ws.run(&apply).ok();
        assert_eq!(selected(&server, namespace, "api"), "blue");
        assert_eq!(pods(&server, namespace, "blue"), blue_pods, "no new pod");
        assert!(!ws.plan_has_changes());

        // A canary: a third of the pods on green with the Service on both
        // colors, then all of the traffic on green.
        ws.write("main.tf", &config(namespace, "nginx:1.29", CANARY));
        let seen = crate::blue_green::watch(
            &ws,
            || {
                let green = deployment(&server, namespace, "green");
                let image = &green["spec"]["template"]["spec"]["containers"][0]["image"];
                let replicas = green["spec"]["replicas"].as_i64().unwrap_or(0);
                let ours = image == "nginx:1.29";
                (
                    if ours { replicas } else { 0 },
                    selected(&server, namespace, "api"),
                )
            },
            |_| false,
        );
        for moment in [(1, String::new()), (3, "green".to_string())] {
            assert!(seen.contains(&moment), "{moment:?} in {seen:?}");
        }
        let green = deployment(&server, namespace, "green");
        assert_eq!(green["status"]["availableReplicas"], 3);
        assert_eq!(
            pods(&server, namespace, "blue"),
            blue_pods,
            "blue stays scaled"
        );
        assert!(!ws.plan_has_changes(), "no diff after a canary release");

        // A canary whose pods never start (KWOK's stage for this image):
        // rolled back, with the pods' reason; green keeps all the traffic.
        ws.write(
            "main.tf",
            &config(namespace, "registry.example/api:broken", CANARY),
        );
        let run = ws.run(&apply).assert_no_crash();
        let text = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            !run.status.success()
                && text.contains("Canary failed")
                && text.contains("Step 1 (33% of the traffic)")
                && text.contains("ImagePullBackOff")
                && text.contains(&format!("sends all traffic to {namespace}/api-green again")),
            "{}",
            run.stderr
        );
        assert_eq!(selected(&server, namespace, "api"), "green");
        assert_eq!(
            deployment(&server, namespace, "blue")["spec"]["replicas"],
            0
        );
        assert!(ws.plan_has_changes(), "the next apply releases again");

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        server.eventually("the colors are gone", || {
            let left = [
                deployment(&server, namespace, "blue"),
                deployment(&server, namespace, "green"),
            ];
            if left.iter().all(Json::is_null) {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        });
    });
}
