//! Blue-green releases of genesis_workload against genesis-sim: a new
//! version goes to the other color and the Service switches only once its
//! pods are ready; re-applying the previous image switches back with no
//! new pods; a failing version leaves the Service on the live one; the
//! previous color is scaled down by the first apply after `keep_previous`,
//! which the plan shows; import reads the colors back.

use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, each_terraform};

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

fn config(image: &str, keep_previous: &str) -> String {
    format!(
        r#"{cluster}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "api"
  image     = "{image}"
  replicas  = 2
  ports     = [{{ name = "http", container_port = 8080 }}]
  service   = {{ ports = [{{ port = 80, target_port = 8080 }}] }}
  rollout   = {{ strategy = "blue-green", keep_previous = "{keep_previous}" }}
  timeouts {{
    create = "20s"
    update = "20s"
  }}
}}

output "live" {{
  value = genesis_workload.api.live_color
}}
"#,
        cluster = crate::harness::apps_cluster(&["apps"])
    )
}

fn objects(sim: &Sim) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"].clone()
}

/// The color the Service sends traffic to.
fn live(sim: &Sim) -> String {
    objects(sim)["/services/apps/api"]["spec"]["selector"]["genesis.dev/color"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn deployment(sim: &Sim, color: &str) -> Json {
    objects(sim)[format!("apps/deployments/apps/api-{color}")].clone()
}

fn image(sim: &Sim, color: &str) -> String {
    deployment(sim, color)["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The names of a color's pods.
fn pods(sim: &Sim, color: &str) -> Vec<String> {
    let prefix = format!("/pods/apps/api-{color}-");
    objects(sim)
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.starts_with(&prefix))
        .map(|(key, _)| key.clone())
        .collect()
}

fn output(ws: &Workspace, name: &str) -> String {
    ws.run(&["output", "-raw", name]).ok().stdout
}

#[test]
fn blue_green_releases_switch_only_to_a_ready_version() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let ws = Workspace::new(tf, &[("main.tf", &config("nginx:1.27", "1h"))]).against(&sim);
        ws.run(&apply).ok();
        assert_eq!(live(&sim), "blue");
        assert_eq!(output(&ws, "live"), "blue");
        assert_eq!(pods(&sim, "blue").len(), 2);
        assert!(objects(&sim)["apps/deployments/apps/api"].is_null());
        assert!(!ws.plan_has_changes(), "no diff after the first release");

        // A new version goes to green; blue stays scaled.
        ws.write("main.tf", &config("nginx:1.28", "1h"));
        ws.run(&apply).ok();
        assert_eq!(
            (live(&sim), image(&sim, "green")),
            ("green".into(), "nginx:1.28".into())
        );
        assert_eq!(
            pods(&sim, "blue").len(),
            2,
            "the previous version stays scaled"
        );
        assert!(!ws.plan_has_changes(), "no diff after a release");
        let state = ws.run(&["show", "-json"]).ok().json();
        let api = &state["values"]["root_module"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "genesis_workload.api")
            .unwrap()["values"];
        assert_eq!(api["live_color"], "green");
        assert!(api["previous_kept_until"].is_string(), "{api}");

        // Rolling back to the kept version starts no pod.
        let blue_pods = pods(&sim, "blue");
        ws.write("main.tf", &config("nginx:1.27", "1h"));
        ws.run(&apply).ok();
        assert_eq!(live(&sim), "blue");
        assert_eq!(pods(&sim, "blue"), blue_pods, "the rollback started no pod");

        // A version that never gets ready never gets traffic.
        ws.write("main.tf", &config("registry.example/api:broken", "1h"));
        let run = ws.run(&apply).assert_no_crash();
        // Terraform writes warnings to stdout, errors to stderr.
        let both = format!("{}{}", run.stdout, run.stderr);
        let text = both.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            !run.status.success()
                && text.contains("Traffic not switched")
                && text.contains("apps/api-blue")
                && text.contains("ImagePullBackOff"),
            "{both}"
        );
        assert_eq!(live(&sim), "blue", "the Service stayed on the live version");
        assert_eq!(output(&ws, "live"), "blue");
        assert!(ws.plan_has_changes(), "the next apply releases again");

        // With a short keep, the plan shows the previous version going.
        ws.write("main.tf", &config("nginx:1.29", "1s"));
        ws.run(&apply).ok();
        assert_eq!(
            (live(&sim), image(&sim, "green")),
            ("green".into(), "nginx:1.29".into())
        );
        std::thread::sleep(std::time::Duration::from_secs(2));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("previous_kept_until"),
            "{}",
            plan.stdout
        );
        ws.run(&apply).ok();
        assert_eq!(deployment(&sim, "blue")["spec"]["replicas"], 0);
        assert!(!ws.plan_has_changes(), "nothing left to do");

        // Import reads the colors back as the configuration has them.
        ws.reimport_all();
        let plan = ws.run(&["plan", "-input=false", "-no-color", "-detailed-exitcode"]);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "an imported blue-green workload has no diff:\n{}",
            plan.stdout
        );

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert!(deployment(&sim, "blue").is_null() && deployment(&sim, "green").is_null());
    });
}
