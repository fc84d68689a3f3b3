//! How Genesis scales with the number of workloads, run with
//! `cargo bench --bench scale` (`GENESIS_SCALE=10,100` for other sizes;
//! 10, 100 and 500 by default; `GENESIS_SCALE_REAL_ONLY=1` for the real
//! API server alone; `GENESIS_SCALE_SHOW=1` shows Terraform's output).
//!
//! For each size N: N workloads, each a Deployment, a Service and a
//! HorizontalPodAutoscaler (`wait_for_rollout = false`, as in the scale
//! issue's side-by-side measurement against HashiCorp's kubernetes
//! provider), applied from empty state, planned with a refresh (no change)
//! and destroyed, with Terraform's default parallelism of 10:
//!
//! - on a real kube-apiserver 1.36 with its controller manager
//!   (`scripts/peers kube`), reached through a kubeconfig; the calls are
//!   counted from the server's audit log by the provider's User-Agent, by
//!   verb and resource;
//! - on genesis-sim, where the workloads name a GKE Autopilot cluster made
//!   in the same apply; the calls are counted by the simulator (Kubernetes
//!   and GKE).
//!
//! The provider is started once per size with `--debug` and Terraform
//! reattached to it, so its own CPU time and peak resident memory are read
//! for each command (Terraform configures it again for each run, so no
//! read is shared between commands).
//!
//! It prints Markdown tables; the README's figures come from it.

#[path = "../acceptance/apiserver.rs"]
#[allow(dead_code)]
mod apiserver;
mod common;
#[path = "../acceptance/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Reattached, sim_calls, workspace};

/// What one Terraform command cost.
#[derive(Default)]
struct Cost {
    wall: Duration,
    /// Kubernetes calls by (verb, resource).
    calls: BTreeMap<(String, String), u64>,
    /// Cloud calls (GKE), on genesis-sim.
    cloud: u64,
    cpu: Duration,
    peak_kib: u64,
}

impl Cost {
    fn kube(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// One size's apply, refresh and destroy.
struct Run {
    apply: Cost,
    refresh: Cost,
    destroy: Cost,
}

fn sizes() -> Vec<usize> {
    std::env::var("GENESIS_SCALE")
        .unwrap_or_else(|_| "10,100,500".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("GENESIS_SCALE: sizes, comma-separated")
        })
        .collect()
}

const PREAMBLE: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}
"#;

/// The workloads as the scale issue measured them.
fn workloads(n: usize, target: &str) -> String {
    format!(
        r#"
resource "genesis_workload" "app" {{
  count            = {n}
  {target}
  namespace        = "fleet"
  name             = "app-${{count.index}}"
  image            = "nginx:1.27"
  ports            = [{{ container_port = 8080 }}]
  resources        = {{ requests = {{ cpu = "100m" }} }}
  service          = {{}}
  autoscaling      = {{ min_replicas = 1, max_replicas = 3, cpu_target = 70 }}
  wait_for_rollout = false
}}
"#
    )
}

fn provider() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_terraform-provider-genesis"))
}

/// Runs `terraform ARGS` in `dir` against the reattached provider; it must
/// succeed.
fn terraform(dir: &Path, args: &[&str], plugin: &Reattached, env: &[(&str, &str)]) -> Duration {
    let started = Instant::now();
    let out = Command::new("terraform")
        .args(args)
        .args(["-input=false", "-no-color"])
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("TF_REATTACH_PROVIDERS", &plugin.reattach)
        .env("CHECKPOINT_DISABLE", "1")
        .envs(env.iter().copied())
        .output()
        .expect("terraform on PATH");
    let wall = started.elapsed();
    if std::env::var("GENESIS_SCALE_SHOW").is_ok() {
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    }
    assert!(
        out.status.success(),
        "terraform {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    wall
}

/// Runs one command and measures it: `count` gives the calls made since
/// `reset` was called.
fn measured(
    plugin: &Reattached,
    run: impl FnOnce() -> Duration,
    reset: impl FnOnce(),
    count: impl FnOnce() -> (BTreeMap<(String, String), u64>, u64),
) -> Cost {
    reset();
    plugin.reset_peak();
    let cpu = plugin.cpu();
    let wall = run();
    let (calls, cloud) = count();
    Cost {
        wall,
        calls,
        cloud,
        cpu: plugin.cpu() - cpu,
        peak_kib: plugin.peak_kib(),
    }
}

fn on_real_api_server(n: usize) -> Run {
    let server = apiserver::ApiServer::start_audited();
    server.kubectl(&["create", "namespace", "fleet"]);
    // An absolute path: the reattached provider runs elsewhere.
    let kubeconfig = server.dir.path().join("genesis.kubeconfig");
    std::fs::write(&kubeconfig, &server.kubeconfig).unwrap();
    let target = format!("kubeconfig_path  = {:?}", kubeconfig.display().to_string());
    let dir = workspace(&format!("{PREAMBLE}{}", workloads(n, &target)));
    let plugin = Reattached::start(provider(), &[]);
    let agent = "terraform-provider-genesis/";
    let seen = std::cell::Cell::new(0);
    let since = || {
        let calls = server.calls_of(agent);
        let mut by = BTreeMap::new();
        for call in &calls[seen.get().min(calls.len())..] {
            *by.entry(call.clone()).or_default() += 1;
        }
        seen.set(calls.len());
        (by, 0)
    };
    let reset = || {
        seen.set(server.calls_of(agent).len());
    };
    let tf = |args: &[&str]| terraform(dir.path(), args, &plugin, &[]);
    let apply = measured(&plugin, || tf(&["apply", "-auto-approve"]), reset, since);
    let refresh = measured(&plugin, || tf(&["plan"]), reset, since);
    let destroy = measured(&plugin, || tf(&["destroy", "-auto-approve"]), reset, since);
    Run {
        apply,
        refresh,
        destroy,
    }
}

fn on_genesis_sim(n: usize, runtime: &tokio::runtime::Runtime) -> Run {
    let running = runtime
        .block_on(genesis_sim::start(genesis_sim::Config::default()))
        .unwrap();
    let cluster = r#"
resource "genesis_cluster" "main" {
  project_id            = "p"
  region                = "us-central1"
  name                  = "scale"
  enable_autopilot      = true
  kubernetes_namespaces = ["fleet"]
}
"#;
    let config = format!(
        "{PREAMBLE}{cluster}{}",
        workloads(n, "cluster          = genesis_cluster.main.id")
    );
    let dir = workspace(&config);
    let urls = &running.urls;
    let env = [
        ("GENESIS_GKE_ENDPOINT", urls.gke.as_str()),
        (
            "GENESIS_ARTIFACT_REGISTRY_ENDPOINT",
            urls.artifact_registry.as_str(),
        ),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", urls.token.as_str()),
    ];
    let plugin = Reattached::start(provider(), &env);
    let tf = |args: &[&str]| terraform(dir.path(), args, &plugin, &[]);
    let reset = || running.sim.reset_requests();
    let count = || {
        let state = running.sim.dump();
        let mut by = BTreeMap::new();
        for (method, calls) in state["requests"].as_object().into_iter().flatten() {
            // "kube GET deployments"
            let mut parts = method.splitn(3, ' ');
            if parts.next() == Some("kube") {
                let verb = parts.next().unwrap_or_default().to_lowercase();
                let kind = parts.next().unwrap_or_default().to_string();
                by.insert((verb, kind), calls.as_u64().unwrap_or(0));
            }
        }
        (by, sim_calls(&running).gke)
    };
    let apply = measured(&plugin, || tf(&["apply", "-auto-approve"]), reset, count);
    let refresh = measured(&plugin, || tf(&["plan"]), reset, count);
    let destroy = measured(&plugin, || tf(&["destroy", "-auto-approve"]), reset, count);
    Run {
        apply,
        refresh,
        destroy,
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut runs = Vec::new();
    println!(
        "| server | N | apply | plan (refresh) | destroy | calls per workload: apply / plan / destroy | provider CPU: apply / plan / destroy | provider peak memory |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes() {
        runs.push(("kube-apiserver 1.36", n, on_real_api_server(n)));
        row(runs.last().unwrap());
        if std::env::var("GENESIS_SCALE_REAL_ONLY").is_err() {
            runs.push(("genesis-sim", n, on_genesis_sim(n, &runtime)));
            row(runs.last().unwrap());
        }
    }

    println!();
    println!("Calls by verb and resource (GKE calls on genesis-sim after the slash):\n");
    for (server, n, run) in &runs {
        for (what, cost) in [
            ("apply", &run.apply),
            ("plan", &run.refresh),
            ("destroy", &run.destroy),
        ] {
            let calls: Vec<String> = cost
                .calls
                .iter()
                .map(|((verb, resource), n)| format!("{verb} {resource} {n}"))
                .collect();
            println!(
                "- {server}, N = {n}, {what}: {} / {}: {}",
                cost.kube(),
                cost.cloud,
                calls.join(", ")
            );
        }
    }
}

/// Prints one size's row of the table, as soon as it is measured.
fn row((server, n, run): &(&str, usize, Run)) {
    let per = |c: &Cost| c.kube() as f64 / *n as f64;
    let secs = |c: &Cost| format!("{:.2} s", c.wall.as_secs_f64());
    let ms = |c: &Cost| format!("{:.0} ms", c.cpu.as_secs_f64() * 1000.0);
    let peak = [&run.apply, &run.refresh, &run.destroy]
        .iter()
        .map(|c| c.peak_kib)
        .max()
        .unwrap_or(0);
    println!(
        "| {server} | {n} | {} | {} | {} | {:.1} / {:.1} / {:.1} | {} / {} / {} | {:.1} MiB |",
        secs(&run.apply),
        secs(&run.refresh),
        secs(&run.destroy),
        per(&run.apply),
        per(&run.refresh),
        per(&run.destroy),
        ms(&run.apply),
        ms(&run.refresh),
        ms(&run.destroy),
        peak as f64 / 1024.0
    );
}
