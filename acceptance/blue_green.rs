//! Blue-green and canary releases of genesis_workload against
//! genesis-sim. Blue-green: a new version goes to the other color and the
//! Service switches only once its pods are ready; re-applying the previous
//! image switches back with no new pods; a failing version leaves the
//! Service on the live one; the previous color is scaled down by the first
//! apply after `keep_previous`, which the plan shows; import reads the
//! colors back. Canary: the new color's pods and the shared Service follow
//! the steps; a failing canary rolls back and fails the apply with the
//! pods' reason; an apply killed between steps is taken up by the next.
//! Analysis: a version whose pods answer the check with an error never
//! gets all the traffic.

use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, each_terraform, first_terraform};

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

fn config(image: &str, keep_previous: &str) -> String {
    release(
        image,
        &format!(
            r#"{{ strategy = "blue-green", keep_previous = "{keep_previous}", preview = true }}"#
        ),
    )
}

fn canary(image: &str) -> String {
    release(
        image,
        r#"{
    strategy = "canary"
    steps    = [{ weight = 25, pause = "3s" }, { weight = 50, pause = "1s" }, { weight = 75, pause = "1s" }]
  }"#,
    )
}

fn release(image: &str, rollout: &str) -> String {
    format!(
        r#"{cluster}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "api"
  image     = "{image}"
  replicas  = 4
  ports     = [{{ name = "http", container_port = 8080 }}]
  service   = {{ ports = [{{ port = 80, target_port = 8080 }}] }}
  rollout   = {rollout}

  progress_deadline_seconds = 5
  timeouts {{
    create = "60s"
    update = "60s"
  }}
}}

output "live" {{
  value = genesis_workload.api.live_color
}}
{outputs}
"#,
        cluster = crate::harness::apps_cluster(&["apps"]),
        outputs = crate::harness::CLUSTER_OUTPUTS,
    )
}

fn objects(sim: &Sim) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"].clone()
}

/// The color the preview Service selects.
fn preview(sim: &Sim) -> String {
    objects(sim)["/services/apps/api-preview"]["spec"]["selector"]["genesis.dev/color"]
        .as_str()
        .unwrap_or_default()
        .to_string()
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
    first_terraform(|tf| {
        let sim = Sim::start();
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let ws = Workspace::new(tf, &[("main.tf", &config("nginx:1.27", "1h"))]).against(&sim);
        ws.run(&apply).ok();
        assert_eq!(live(&sim), "blue");
        assert_eq!(
            (output(&ws, "live"), preview(&sim)),
            ("blue".into(), "blue".into())
        );
        assert_eq!(pods(&sim, "blue").len(), 4);
        let ready = |slice: &Json| {
            let endpoints = slice["endpoints"].as_array().cloned().unwrap_or_default();
            endpoints
                .iter()
                .filter(|e| e["conditions"]["ready"] == true)
                .count()
        };
        assert_eq!(
            ready(&objects(&sim)["discovery.k8s.io/endpointslices/apps/api-preview-sim"]),
            4,
            "the release waited for the preview Service's endpoints"
        );
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
            4,
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
        apply_fails_saying(
            &ws,
            &["Traffic not switched", "apps/api-blue", "ImagePullBackOff"],
        );
        assert_eq!(live(&sim), "blue", "the Service stayed on the live version");
        assert_eq!(
            preview(&sim),
            "green",
            "the preview reaches the new version"
        );
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
        assert!(objects(&sim)["/services/apps/api-preview"].is_null());
    });
}

/// What the release looks like at one moment: the new color's pod count
/// and the color the Service selects ("" for both).
fn moment(sim: &Sim, color: &str) -> (i64, String) {
    let replicas = deployment(sim, color)["spec"]["replicas"]
        .as_i64()
        .unwrap_or(0);
    (replicas, live(sim))
}

/// Runs an apply, noting each distinct moment (`at`) until it ends, or
/// until `stop_at` says to kill it.
pub(crate) fn watch<T: PartialEq + Clone + std::fmt::Debug>(
    ws: &Workspace,
    at: impl Fn() -> T,
    stop_at: impl Fn(&T) -> bool,
) -> Vec<T> {
    let mut run = ws.spawn(&["apply", "-input=false", "-auto-approve", "-no-color"]);
    let mut seen: Vec<T> = Vec::new();
    let mut killed = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while run.try_wait().ok().flatten().is_none() {
        let now = at();
        if seen.last() != Some(&now) {
            seen.push(now.clone());
        }
        if stop_at(&now) && crate::faults::kill_provider(run.id()) {
            killed = true;
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{seen:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = run.wait();
    assert!(
        killed || status.is_ok_and(|s| s.success()),
        "the watched apply failed; seen: {seen:?}\n{}",
        ws.run(&["plan", "-input=false", "-no-color"]).stdout
    );
    let end = at();
    if seen.last() != Some(&end) {
        seen.push(end);
    }
    seen
}

/// Applies a canary release of `image` (to blue) and kills the provider
/// once the Service shares the traffic, in the first step's pause.
fn kill_in_the_first_pause(ws: &Workspace, sim: &Sim, image: &str) {
    ws.write("main.tf", &canary(image));
    let seen = watch(ws, || moment(sim, "blue"), |(_, live)| live.is_empty());
    assert_eq!(
        seen.last().map(|m| m.1.as_str()),
        Some(""),
        "killed mid-canary: {seen:?}"
    );
}

#[test]
fn canary_releases_move_traffic_in_steps_and_roll_back_on_failure() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let ws = Workspace::new(tf, &[("main.tf", &canary("nginx:1.27"))]).against(&sim);
        ws.run(&apply).ok();
        assert_eq!(
            live(&sim),
            "blue",
            "a first release has nothing to share traffic with"
        );
        assert!(!ws.plan_has_changes());

        // 25%, 50% then 75% of the pods, with the Service on both colors,
        // then all of them on green.
        ws.write("main.tf", &canary("nginx:1.28"));
        let seen = watch(&ws, || moment(&sim, "green"), |_| false);
        let steps = [(1, ""), (2, ""), (3, ""), (4, "green")].map(|(n, c)| (n, c.to_string()));
        for step in steps {
            assert!(seen.contains(&step), "{step:?} in {seen:?}");
        }
        assert_eq!(image(&sim, "green"), "nginx:1.28");
        assert_eq!(
            pods(&sim, "blue").len(),
            4,
            "the previous version stays scaled"
        );
        assert!(!ws.plan_has_changes(), "no diff after a canary release");

        // A canary that never gets ready: rolled back, with the pods' reason.
        ws.write("main.tf", &canary("registry.example/api:broken"));
        apply_fails_saying(
            &ws,
            &[
                "Canary failed",
                "Step 1 (25% of the traffic)",
                "ImagePullBackOff",
                "sends all traffic to apps/api-green again",
            ],
        );
        assert_eq!(live(&sim), "green");
        assert_eq!(
            deployment(&sim, "blue")["spec"]["replicas"],
            0,
            "the canary is scaled to zero"
        );
        assert_eq!(output(&ws, "live"), "green");

        // An apply killed in the first step's pause: the Service still
        // shares traffic, and the next apply takes the release up.
        kill_in_the_first_pause(&ws, &sim, "nginx:1.29");
        assert!(
            ws.plan_has_changes(),
            "the interrupted release shows in the plan"
        );
        ws.run(&apply).ok();
        assert_eq!(
            (live(&sim), image(&sim, "blue")),
            ("blue".into(), "nginx:1.29".into())
        );
        assert!(!ws.plan_has_changes());

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert!(deployment(&sim, "blue").is_null() && deployment(&sim, "green").is_null());
    });
}

/// A canary killed in its first pause leaves a version that is neither in
/// the configuration nor in the state taking a share of the traffic, on
/// the color that held the previous version. Going back to the live
/// version must not plan "No changes" (issue 29): the read sees the
/// unfinished release (status `Progressing`), and the apply sends all
/// traffic back to the live color and scales the canary to zero; the
/// previous version is no longer kept, and the state says so.
#[test]
fn an_unfinished_canary_is_undone_when_the_configuration_goes_back() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let ws = Workspace::new(tf, &[("main.tf", &canary("nginx:1.27"))]).against(&sim);
        ws.run(&apply).ok();
        ws.write("main.tf", &canary("nginx:1.28"));
        ws.run(&apply).ok();
        assert_eq!(
            (live(&sim), image(&sim, "blue")),
            ("green".into(), "nginx:1.27".into())
        );

        kill_in_the_first_pause(&ws, &sim, "nginx:1.29");
        assert_eq!(
            image(&sim, "blue"),
            "nginx:1.29",
            "the canary shares the traffic"
        );

        ws.write("main.tf", &canary("nginx:1.28"));
        let plan = ws.plan_json();
        let change = plan["resource_changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["address"] == "genesis_workload.api"))
            .map(|c| c["change"].clone())
            .unwrap_or_default();
        assert_eq!(
            change["actions"],
            serde_json::json!(["update"]),
            "{change:#}"
        );
        assert_eq!(change["before"]["status"], "Progressing");
        ws.run(&apply).ok();
        assert_eq!(live(&sim), "green", "all traffic on the live version");
        assert_eq!(
            deployment(&sim, "blue")["spec"]["replicas"],
            0,
            "the canary is gone"
        );
        assert_eq!(image(&sim, "green"), "nginx:1.28");
        let state = ws.run(&["show", "-json"]).ok().json();
        let api = state["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["address"] == "genesis_workload.api"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(api["values"]["status"], "Available");
        assert!(
            api["values"]["previous_kept_until"].is_null(),
            "nothing kept: {api:#}"
        );
        assert!(!ws.plan_has_changes(), "converged");
    });
}

/// Runs an apply that must fail, saying each of `phrases`: Terraform
/// writes warnings to stdout, errors to stderr.
fn apply_fails_saying(ws: &Workspace, phrases: &[&str]) {
    let run = ws
        .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
        .assert_no_crash();
    let both = format!("{}{}", run.stdout, run.stderr);
    let text = both.split_whitespace().collect::<Vec<_>>().join(" ");
    let missing: Vec<&&str> = phrases.iter().filter(|p| !text.contains(**p)).collect();
    assert!(
        !run.status.success() && missing.is_empty(),
        "missing {missing:?}:\n{both}"
    );
}

/// How many GETs went through the pod proxy.
fn analyses(sim: &Sim) -> u64 {
    sim.state()["requests"]["kube GET pods/proxy"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn releases_move_traffic_only_to_a_version_that_passes_its_analysis() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let analysis = r#"analysis = { path = "/healthz?window=1m" }"#;
        let canary = |image: &str| {
            release(
                image,
                &format!(
                    r#"{{
    strategy = "canary"
    steps    = [{{ weight = 25, pause = "1s" }}, {{ weight = 50, pause = "1s" }}]
    {analysis}
  }}"#
                ),
            )
        };
        let blue_green = |image: &str| {
            release(
                image,
                &format!(r#"{{ strategy = "blue-green", {analysis} }}"#),
            )
        };
        let ws = Workspace::new(tf, &[("main.tf", &canary("nginx:1.27"))]).against(&sim);
        ws.run(&apply).ok();
        assert_eq!(live(&sim), "blue");
        assert!(analyses(&sim) >= 4, "each of the 4 pods was asked");

        // Its pods get ready but answer the check with 503: the first
        // step rolls back, with the answer.
        ws.write("main.tf", &canary("registry.example/api:unhealthy"));
        apply_fails_saying(
            &ws,
            &[
                "Canary failed",
                "Step 1 (25% of the traffic)",
                "GET /healthz?window=1m",
                "port 8080 answered 503 Service Unavailable: unhealthy",
            ],
        );
        assert_eq!(live(&sim), "blue");
        assert_eq!(deployment(&sim, "green")["spec"]["replicas"], 0);
        assert_eq!(output(&ws, "live"), "blue");

        // Blue-green checks the whole new version before the switch.
        ws.write("main.tf", &blue_green("registry.example/api:unhealthy"));
        apply_fails_saying(
            &ws,
            &["Analysis failed", "apps/api-green", "Traffic not switched"],
        );
        assert_eq!(live(&sim), "blue", "the Service stayed on the live version");

        // A healthy version passes and takes the traffic.
        ws.write("main.tf", &blue_green("nginx:1.28"));
        ws.run(&apply).ok();
        assert_eq!(
            (live(&sim), image(&sim, "green")),
            ("green".into(), "nginx:1.28".into())
        );
        assert!(!ws.plan_has_changes());
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}

/// The share of the traffic the VirtualService gives each color.
fn weights(sim: &Sim) -> (i64, i64) {
    let routes =
        &objects(sim)["networking.istio.io/virtualservices/apps/api"]["spec"]["http"][0]["route"];
    let weight = |color: &str| {
        routes
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["destination"]["subset"] == color)
            .and_then(|r| r["weight"].as_i64())
            .unwrap_or(-1)
    };
    (weight("blue"), weight("green"))
}

#[test]
fn through_the_mesh_the_canary_steps_are_the_virtual_service_weights() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let meshed = |image: &str, mesh: &str| {
            canary(image)
                .replace(
                    "kubernetes_namespaces",
                    "service_mesh          = \"istio\"\n  kubernetes_namespaces",
                )
                .replace(
                    "  progress_deadline_seconds",
                    &format!("  {mesh}\n  progress_deadline_seconds"),
                )
        };
        let ws = Workspace::new(tf, &[("main.tf", &meshed("nginx:1.27", ""))]).against(&sim);
        ws.run(&apply).ok();
        crate::harness::install_istio(&ws.cluster_kubectl(&sim, "apps"));

        // Into the mesh: all the traffic to the live color, with the
        // Service reaching both.
        ws.write(
            "main.tf",
            &meshed("nginx:1.27", "mesh = { mtls = \"STRICT\" }"),
        );
        ws.run(&apply).ok();
        assert_eq!(weights(&sim), (100, 0));
        assert_eq!(live(&sim), "", "the Service reaches both colors");
        let rule = &objects(&sim)["networking.istio.io/destinationrules/apps/api"]["spec"];
        assert_eq!(
            rule["subsets"][1]["labels"]["genesis.dev/color"], "green",
            "{rule}"
        );
        assert!(!ws.plan_has_changes());

        ws.write(
            "main.tf",
            &meshed("nginx:1.28", "mesh = { mtls = \"STRICT\" }"),
        );
        let seen = watch(&ws, || weights(&sim), |_| false);
        assert_eq!(
            seen.iter()
                .filter(|w| **w != (100, 0))
                .cloned()
                .collect::<Vec<_>>(),
            [(75, 25), (50, 50), (25, 75), (0, 100)],
            "{seen:?}"
        );
        assert_eq!(image(&sim, "green"), "nginx:1.28");
        assert!(!ws.plan_has_changes(), "no diff after a meshed canary");

        ws.reimport_all();
        assert!(
            !ws.plan_has_changes(),
            "an imported meshed canary has no diff"
        );
    });
}

/// The autoscaler, the disruption budget and the network policy across a
/// release: the autoscaler follows the live color, and the new color starts
/// with as many pods as the live one has; the budget and the policy select
/// the workload's pods of both colors.
#[test]
fn the_autoscaler_follows_the_live_color() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let apply = ["apply", "-input=false", "-auto-approve", "-no-color"];
        let autoscaled = |image: &str| {
            config(image, "1h").replace(
                "  replicas  = 4\n",
                r#"  autoscaling       = { min_replicas = 3, max_replicas = 6, cpu_target = 70 }
  resources         = { requests = { cpu = "250m" } }
  disruption_budget = { min_available = "50%" }
  network_policy    = { allow_from = [{ cidr = "10.0.0.0/8", ports = [8080] }] }
"#,
            )
        };
        let ws = Workspace::new(tf, &[("main.tf", &autoscaled("nginx:1.27"))]).against(&sim);
        ws.run(&apply).ok();
        let target = |sim: &Sim| {
            objects(sim)["autoscaling/horizontalpodautoscalers/apps/api"]["spec"]["scaleTargetRef"]
                ["name"]
                .clone()
        };
        assert_eq!(target(&sim), "api-blue");

        ws.write("main.tf", &autoscaled("nginx:1.28"));
        ws.run(&apply).ok();
        assert_eq!(target(&sim), "api-green");
        assert!(deployment(&sim, "green")["spec"]["replicas"].as_i64() >= Some(3));
        for selected in [
            "policy/poddisruptionbudgets/apps/api",
            "networking.k8s.io/networkpolicies/apps/api",
        ] {
            let object = &objects(&sim)[selected];
            let spec = &object["spec"];
            let labels = spec["selector"]["matchLabels"]
                .as_object()
                .or(spec["podSelector"]["matchLabels"].as_object())
                .cloned()
                .unwrap_or_default();
            assert!(
                !labels.contains_key("genesis.dev/color")
                    && labels.contains_key("app.kubernetes.io/name"),
                "{selected} selects both colors: {object}"
            );
        }
        assert!(
            !ws.plan_has_changes(),
            "scaling by the autoscaler is no diff"
        );

        // The preview Service goes with the setting.
        assert_eq!(preview(&sim), "green");
        ws.write(
            "main.tf",
            &autoscaled("nginx:1.28").replace(", preview = true", ""),
        );
        ws.run(&apply).ok();
        assert!(objects(&sim)["/services/apps/api-preview"].is_null());
        assert!(!ws.plan_has_changes());
    });
}
