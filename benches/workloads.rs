//! 100 workloads on one cluster, run with `cargo bench --bench workloads`:
//! wall time of `terraform apply` from empty state (the cluster and the
//! workloads together), of a refreshing `terraform plan` with no change and
//! with one image changed, and of `terraform destroy`, with the Kubernetes
//! API calls per workload of the apply, the refresh and the destroy
//! (counted by genesis-sim). Operations and
//! rollouts finish at once in the simulator, so the times are the
//! provider's and Terraform's own. Prints the README's Markdown table.

mod common;

use std::time::{Duration, Instant};

use common::{calls, terraform, terraform_code, workspace};

const WORKLOADS: usize = 100;

/// Each workload has the module's usual shape: container port, requests,
/// autoscaler, disruption budget, service, network policy, service account.
fn config(image_of_first: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_cluster" "main" {{
  project_id            = "p"
  region                = "us-central1"
  name                  = "bench"
  enable_autopilot      = true
  kubernetes_namespaces = ["apps"]
}}

resource "genesis_workload" "app" {{
  count     = {WORKLOADS}
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "app-${{count.index}}"
  image     = count.index == 0 ? "{image_of_first}" : "nginx:1.27"
  ports     = [{{ name = "http", container_port = 8080 }}]
  env       = {{ INDEX = count.index }}
  resources = {{ requests = {{ cpu = "250m", memory = "256Mi" }} }}

  autoscaling       = {{ min_replicas = 2, max_replicas = 10, cpu_target = 70 }}
  disruption_budget = {{ min_available = "50%" }}
  service           = {{}}
  network_policy    = {{ allow_from = [{{ namespace_labels = {{ team = "web" }} }}] }}
  readiness_probe   = {{ http_get = {{ path = "/ready", port = 8080 }} }}
}}
"#
    )
}

fn timed(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let running = runtime
        .block_on(genesis_sim::start(genesis_sim::Config::default()))
        .unwrap();
    let dir = workspace(&config("nginx:1.27"));
    let tf = |args: &[&str]| terraform(dir.path(), args, &running.urls);

    running.sim.reset();
    let apply = timed(|| tf(&["apply", "-input=false", "-auto-approve"]));
    let applied = calls(&running);
    let objects = running.sim.dump()["kube"]["projects/p/locations/us-central1/clusters/bench"]
        ["objects"]["objects"]
        .as_object()
        .map_or(0, |o| {
            o.keys()
                .filter(|k| k.contains("/apps/app-") && !k.starts_with("/pods/"))
                .count()
        });

    let no_refresh = timed(|| tf(&["plan", "-input=false", "-refresh=false"]));
    running.sim.reset_requests();
    let refresh = timed(|| tf(&["plan", "-input=false", "-detailed-exitcode"]));
    let refreshed = calls(&running);

    std::fs::write(dir.path().join("main.tf"), config("nginx:1.28")).unwrap();
    let plan_change = timed(|| {
        let code = terraform_code(
            dir.path(),
            &["plan", "-input=false", "-detailed-exitcode"],
            &running.urls,
        );
        assert_eq!(code, Some(2), "one workload changes");
    });
    let update = timed(|| tf(&["apply", "-input=false", "-auto-approve"]));
    running.sim.reset_requests();
    let destroy = timed(|| tf(&["destroy", "-input=false", "-auto-approve"]));
    let destroyed = calls(&running);

    let per = |n: u64| n as f64 / WORKLOADS as f64;
    println!(
        "{WORKLOADS} workloads on one GKE Autopilot cluster ({objects} Kubernetes objects), applied with the cluster from empty state.\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| `terraform apply`, cluster and {WORKLOADS} workloads | {:.2} s |",
        apply.as_secs_f64()
    );
    println!(
        "| `terraform plan -refresh=false` (Terraform and the provider's planning alone) | {:.2} s |",
        no_refresh.as_secs_f64()
    );
    println!(
        "| `terraform plan`, refresh, no change | {:.2} s |",
        refresh.as_secs_f64()
    );
    println!(
        "| `terraform plan`, refresh, one image changed | {:.2} s |",
        plan_change.as_secs_f64()
    );
    println!(
        "| `terraform apply` of that change | {:.2} s |",
        update.as_secs_f64()
    );
    println!("| `terraform destroy` | {:.2} s |", destroy.as_secs_f64());
    println!(
        "| Kubernetes / GKE calls per workload, apply | {:.1} / {:.1} |",
        per(applied.2),
        per(applied.0)
    );
    println!(
        "| Kubernetes / GKE calls per workload, refresh | {:.1} / {:.1} |",
        per(refreshed.2),
        per(refreshed.0)
    );
    println!(
        "| Kubernetes / GKE calls per workload, destroy | {:.1} / {:.1} |",
        per(destroyed.2),
        per(destroyed.0)
    );
    running.shutdown();
}
