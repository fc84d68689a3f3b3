//! Provider benchmarks, run with `cargo bench --bench provider`, side by
//! side in one run: Genesis (this build, release profile), the same work on
//! HashiCorp's Go stack (benches/peer: a provider on
//! terraform-plugin-framework, built by `scripts/peers framework`), and
//! Terraform's built-in `terraform_data`, which has no plugin at all:
//!
//! - AutoMTLS handshake: process start to the handshake line, with
//!   `PLUGIN_CLIENT_CERT` set as Terraform sets it (median of 20 starts);
//! - start to a served GetProviderSchema over that TLS (median of 20) and
//!   the resident memory then;
//! - `terraform plan -refresh=false` of 200 resources (median of 5 runs
//!   each, the three alternating);
//! - the provider's own CPU time and peak resident memory for such a plan,
//!   started once with `--debug` and reattached, so its start is not
//!   counted (mean of 5 plans);
//! - the binary's size.
//!
//! It prints a Markdown table; the README's figures come from it.

mod common;
#[path = "../tests/support.rs"]
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Reattached, status_kib};

use genesis::protocol::generated::tfplugin6::get_provider_schema;
use genesis::protocol::plugin::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// One plugin under test.
struct Provider {
    /// `genesis-platform/NAME`
    name: &'static str,
    binary: PathBuf,
    /// 200 resources of it, as HCL.
    resources: fn(usize) -> String,
}

fn registries(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "resource \"genesis_registry\" \"r{i}\" {{\n  project_id = \"bench\"\n  region = \"us-central1\"\n  name = \"repo-{i}\"\n  cleanup_policies = {{ old = {{ action = \"DELETE\", older_than = \"90d\" }} }}\n}}\n"
            )
        })
        .collect()
}

fn peer_resources(n: usize) -> String {
    (0..n)
        .map(|i| format!("resource \"peer_resource\" \"p{i}\" {{\n  triggers = {{ value = \"value-{i}\" }}\n}}\n"))
        .collect()
}

fn terraform_data(n: usize) -> String {
    (0..n)
        .map(|i| format!("resource \"terraform_data\" \"d{i}\" {{\n  input = \"value-{i}\"\n}}\n"))
        .collect()
}

/// 200 genesis resources of all four kinds. The pools and workloads name
/// clusters that do not exist, the workloads on GKE and on EKS alike, and
/// there are no cloud credentials here: a plan must not wait on a cloud
/// for them.
fn mixed(n: usize) -> String {
    const GKE: &str = "projects/bench/locations/us-central1/clusters/c";
    const EKS: &str = "arn:aws:eks:us-east-1:123456789012:cluster/c";
    (0..n)
        .map(|i| match i % 4 {
            0 => format!("resource \"genesis_cluster\" \"c{i}\" {{\n  project_id = \"bench\"\n  region = \"us-central1\"\n  name = \"cluster-{i}\"\n  environment = \"prod\"\n  kubernetes_namespaces = [\"apps\"]\n}}\n"),
            1 => format!("resource \"genesis_node_pool\" \"p{i}\" {{\n  cluster = \"{GKE}\"\n  name = \"pool-{i}\"\n  node_pool_type = \"agent-runtime\"\n  max_nodes = 10\n}}\n"),
            2 => format!("resource \"genesis_registry\" \"r{i}\" {{\n  project_id = \"bench\"\n  region = \"us-central1\"\n  name = \"repo-{i}\"\n}}\n"),
            _ => format!("resource \"genesis_workload\" \"w{i}\" {{\n  cluster = \"{}\"\n  name = \"app-{i}\"\n  image = \"nginx:1.27\"\n  resources = {{ requests = {{ cpu = \"500m\" }} }}\n  autoscaling = {{ max_replicas = 5, cpu_target = 70 }}\n  service = {{ ports = [{{ port = 80, target_port = 8080 }}] }}\n}}\n", if i % 8 == 3 { GKE } else { EKS }),
        })
        .collect()
}

/// The benchmark peer, built (once per machine) by scripts/peers.
fn framework_peer() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers");
    let out = Command::new(script)
        .arg("framework")
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/peers runs");
    assert!(out.status.success(), "scripts/peers framework failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("framework="))
            .expect("framework=PATH"),
    )
}

/// A working directory for plans: the configuration, and a CLI
/// configuration whose dev_overrides point at the plugin under test
/// (under the name Terraform looks for).
struct PlanDir {
    dir: PathBuf,
}

impl PlanDir {
    fn new(root: &Path, label: &str, provider: Option<&Provider>, hcl: &str) -> PlanDir {
        let dir = root.join(label);
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = String::new();
        let mut overrides = String::new();
        if let Some(p) = provider {
            let bin = dir.join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            let link = bin.join(format!("terraform-provider-{}", p.name));
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&p.binary, &link).unwrap();
            config = format!(
                "terraform {{\n  required_providers {{\n    {0} = {{ source = \"genesis-platform/{0}\" }}\n  }}\n}}\n",
                p.name
            );
            overrides = format!(
                "    \"genesis-platform/{}\" = \"{}\"\n",
                p.name,
                bin.display()
            );
        }
        config.push_str(hcl);
        std::fs::write(dir.join("main.tf"), config).unwrap();
        std::fs::write(
            dir.join("cli.tfrc"),
            format!(
                "provider_installation {{\n  dev_overrides {{\n{overrides}  }}\n  direct {{}}\n}}\n"
            ),
        )
        .unwrap();
        PlanDir { dir }
    }

    fn plan(&self, reattach: Option<&str>) -> Duration {
        let start = Instant::now();
        let mut cmd = Command::new("terraform");
        cmd.args(["plan", "-input=false", "-refresh=false", "-no-color"])
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", self.dir.join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1");
        if let Some(r) = reattach {
            cmd.env("TF_REATTACH_PROVIDERS", r);
        }
        let out = cmd.output().expect("terraform on PATH");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    }
}

/// Process start to the handshake line, AutoMTLS on (median of 20).
fn handshake(binary: &Path, cert_pem: &str) -> Duration {
    let samples = (0..20)
        .map(|_| {
            let start = Instant::now();
            let mut child = Command::new(binary)
                .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
                .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
                .env("PLUGIN_MIN_PORT", "10000")
                .env("PLUGIN_MAX_PORT", "25000")
                .env("PLUGIN_CLIENT_CERT", cert_pem)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the plugin");
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let elapsed = start.elapsed();
            assert!(line.contains("|grpc|"), "handshake line: {line:?}");
            let _ = child.kill();
            let _ = child.wait();
            elapsed
        })
        .collect();
    median(samples)
}

/// Start to a served GetProviderSchema over AutoMTLS (median of 20), and
/// the resident memory then (VmRSS, RssAnon; KiB).
async fn schema_served(binary: &Path) -> (Duration, (u64, u64)) {
    let cert = support::client_cert();
    let mut samples = Vec::new();
    let mut rss = (0, 0);
    for _ in 0..20 {
        let start = Instant::now();
        let plugin = support::start_binary(binary, &[("PLUGIN_CLIENT_CERT", &cert.pem)]);
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

/// The provider's own CPU time per plan (mean of 5) and its peak resident
/// memory over them (KiB): started once with `--debug`, Terraform
/// reattached to it.
fn plan_cost(provider: &Provider, dir: &PlanDir) -> (Duration, u64) {
    let plugin = Reattached::start(&provider.binary, &[]);
    dir.plan(Some(&plugin.reattach)); // warm: the schema and the first plan
    plugin.reset_peak();
    let before = plugin.cpu();
    for _ in 0..5 {
        dir.plan(Some(&plugin.reattach));
    }
    ((plugin.cpu() - before) / 5, plugin.peak_kib())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let genesis = Provider {
        name: "genesis",
        binary: PathBuf::from(support::BINARY),
        resources: registries,
    };
    let peer = Provider {
        name: "peer",
        binary: framework_peer(),
        resources: peer_resources,
    };
    let cert = support::client_cert();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let providers = [&genesis, &peer];
    let handshakes: Vec<Duration> = providers
        .iter()
        .map(|p| handshake(&p.binary, &cert.pem))
        .collect();
    let schemas: Vec<(Duration, (u64, u64))> = providers
        .iter()
        .map(|p| runtime.block_on(schema_served(&p.binary)))
        .collect();

    let root = tempfile::tempdir().unwrap();
    let dirs = [
        PlanDir::new(
            root.path(),
            "genesis",
            Some(&genesis),
            &(genesis.resources)(200),
        ),
        PlanDir::new(root.path(), "peer", Some(&peer), &(peer.resources)(200)),
        PlanDir::new(root.path(), "data", None, &terraform_data(200)),
    ];
    let mixed_dir = PlanDir::new(root.path(), "mixed", Some(&genesis), &mixed(200));
    for d in dirs.iter().chain([&mixed_dir]) {
        d.plan(None); // warm the file cache
    }
    let mut walls: Vec<Vec<Duration>> = vec![Vec::new(); 4];
    for _ in 0..5 {
        for (i, d) in dirs.iter().chain([&mixed_dir]).enumerate() {
            walls[i].push(d.plan(None));
        }
    }
    let walls: Vec<Duration> = walls.into_iter().map(median).collect();
    let costs: Vec<(Duration, u64)> = providers
        .iter()
        .zip(&dirs)
        .map(|(p, d)| plan_cost(p, d))
        .collect();
    let size = |p: &Provider| std::fs::metadata(&p.binary).unwrap().len() / 1024;

    println!("| measure | Genesis | Go framework peer | `terraform_data` |");
    println!("|---|---|---|---|");
    println!(
        "| AutoMTLS handshake: process start to handshake line (median of 20) | {} | {} | — |",
        ms(handshakes[0]),
        ms(handshakes[1])
    );
    println!(
        "| start to served GetProviderSchema (median of 20) | {} | {} | — |",
        ms(schemas[0].0),
        ms(schemas[1].0)
    );
    println!(
        "| resident memory after serving the schema | {} | {} | — |",
        mib(schemas[0].1.0),
        mib(schemas[1].1.0)
    );
    println!(
        "| of which heap and stacks (RssAnon) | {} | {} | — |",
        mib(schemas[0].1.1),
        mib(schemas[1].1.1)
    );
    println!(
        "| `terraform plan -refresh=false`, 200 resources (median of 5) | {:.2} s | {:.2} s | {:.2} s |",
        walls[0].as_secs_f64(),
        walls[1].as_secs_f64(),
        walls[2].as_secs_f64()
    );
    println!(
        "| the provider's CPU time for that plan (reattached, mean of 5) | {} | {} | — |",
        ms(costs[0].0),
        ms(costs[1].0)
    );
    println!(
        "| the provider's peak resident memory during those plans | {} | {} | — |",
        mib(costs[0].1),
        mib(costs[1].1)
    );
    println!(
        "| binary size | {} | {} | — |",
        mib(size(&genesis)),
        mib(size(&peer))
    );
    println!(
        "| `terraform plan -refresh=false`, 200 genesis resources of all four kinds (median of 5) | {:.2} s | | |",
        walls[3].as_secs_f64()
    );
    let version = Command::new("terraform").arg("version").output().unwrap();
    println!(
        "\nResources: {} `genesis_registry`, {} `peer_resource` (null_resource's behaviour), {} `terraform_data`. {}",
        200,
        200,
        200,
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or_default()
    );
}
