//! Provider benchmarks, run with `cargo bench --bench provider`:
//!
//! - start-up: from process start to a served GetProviderSchema, over
//!   AutoMTLS, as Terraform does it (median of 20 starts);
//! - resident memory of the provider after serving its schema;
//! - `terraform plan` of 200 genesis resources against 200 built-in
//!   `terraform_data` resources, Terraform's floor with no plugin at all
//!   (median of 5 plans each).
//!
//! It prints a Markdown table; the README's figures come from it.

#[path = "../tests/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use genesis::protocol::generated::tfplugin6::get_provider_schema;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A memory figure from /proc/PID/status, in KiB: `VmRSS` (all resident
/// pages) or `RssAnon` (heap and stacks, without the binary's own pages).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn startup() -> (Duration, (u64, u64)) {
    let cert = support::client_cert();
    let mut samples = Vec::new();
    let mut rss = (0, 0);
    for _ in 0..20 {
        let start = Instant::now();
        let plugin = support::start(&[("PLUGIN_CLIENT_CERT", &cert.pem)]);
        let mut client = support::provider_client(&plugin, &cert).await;
        client
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .unwrap();
        samples.push(start.elapsed());
        let pid = plugin.child.id();
        rss = rss.max((status_kib(pid, "VmRSS:"), status_kib(pid, "RssAnon:")));
    }
    (median(samples), rss)
}

const PREAMBLE: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}
provider "genesis" {
  project = "bench"
  region  = "us-central1"
}
"#;

fn genesis_config(n: usize) -> String {
    let mut hcl = PREAMBLE.to_string();
    for i in 0..n {
        hcl.push_str(&match i % 4 {
            0 => format!("resource \"genesis_cluster\" \"c{i}\" {{\n  name = \"cluster-{i}\"\n  environment = \"prod\"\n  kubernetes_namespaces = [\"apps\"]\n}}\n"),
            1 => format!("resource \"genesis_node_pool\" \"p{i}\" {{\n  cluster = \"projects/bench/locations/us-central1/clusters/c\"\n  name = \"pool-{i}\"\n  node_pool_type = \"agent-runtime\"\n  max_nodes = 10\n}}\n"),
            2 => format!("resource \"genesis_registry\" \"r{i}\" {{\n  name = \"repo-{i}\"\n  cleanup_policies = {{ old = {{ action = \"DELETE\", older_than = \"90d\" }} }}\n}}\n"),
            _ => format!("resource \"genesis_workload\" \"w{i}\" {{\n  cluster = \"projects/bench/locations/us-central1/clusters/c\"\n  name = \"app-{i}\"\n  image = \"nginx:1.27\"\n  resources = {{ requests = {{ cpu = \"500m\" }} }}\n  autoscaling = {{ max_replicas = 5, cpu_target = 70 }}\n  service = {{ ports = [{{ port = 80, target_port = 8080 }}] }}\n}}\n"),
        });
    }
    hcl
}

fn terraform_data_config(n: usize) -> String {
    (0..n)
        .map(|i| format!("resource \"terraform_data\" \"d{i}\" {{\n  input = \"value-{i}\"\n}}\n"))
        .collect()
}

fn plan_time(dir: &Path, config: &str) -> Duration {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("main.tf"), config).unwrap();
    let provider_dir = Path::new(support::BINARY).parent().unwrap();
    std::fs::write(
        dir.join("cli.tfrc"),
        format!("provider_installation {{\n  dev_overrides {{\n    \"genesis-platform/genesis\" = \"{}\"\n  }}\n  direct {{}}\n}}\n", provider_dir.display()),
    )
    .unwrap();
    let run = || {
        let start = Instant::now();
        let out = Command::new("terraform")
            .args(["plan", "-input=false", "-refresh=false", "-no-color"])
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .expect("terraform on PATH");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    };
    run(); // warm the file cache
    median((0..5).map(|_| run()).collect())
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (start, rss) = runtime.block_on(startup());
    let dir = tempfile::tempdir().unwrap();
    let genesis = plan_time(&dir.path().join("genesis"), &genesis_config(200));
    let floor = plan_time(&dir.path().join("data"), &terraform_data_config(200));
    let version = Command::new("terraform").arg("version").output().unwrap();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| start to served GetProviderSchema (AutoMTLS, median of 20) | {:.1} ms |",
        start.as_secs_f64() * 1000.0
    );
    println!(
        "| provider resident memory after serving the schema | {:.1} MiB |",
        rss.0 as f64 / 1024.0
    );
    println!(
        "| of which heap and stacks (RssAnon; the rest is the binary's own pages) | {:.1} MiB |",
        rss.1 as f64 / 1024.0
    );
    println!(
        "| `terraform plan` of 200 genesis resources (median of 5) | {:.2} s |",
        genesis.as_secs_f64()
    );
    println!(
        "| `terraform plan` of 200 `terraform_data` resources (median of 5) | {:.2} s |",
        floor.as_secs_f64()
    );
    println!(
        "| ratio | {:.2}x |",
        genesis.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "\n{}",
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or_default()
    );
}
