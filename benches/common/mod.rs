//! What the benchmarks share: running the real terraform in a workspace
//! pointed at genesis-sim and the built provider, and counting API calls.
//! Each bench compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// A workspace directory with `main.tf` and a CLI configuration that
/// installs the provider cargo built.
pub fn workspace(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), config).unwrap();
    let provider_dir = Path::new(env!("CARGO_BIN_EXE_terraform-provider-genesis"))
        .parent()
        .unwrap();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!("provider_installation {{\n  dev_overrides {{\n    \"genesis-platform/genesis\" = \"{}\"\n  }}\n  direct {{}}\n}}\n", provider_dir.display()),
    )
    .unwrap();
    dir
}

/// Runs terraform against the simulator; it must succeed.
pub fn terraform(dir: &Path, args: &[&str], sim: &genesis_sim::Urls) {
    let code = terraform_code(dir, args, sim);
    assert_eq!(code, Some(0), "terraform {args:?} failed");
}

/// Runs terraform against the simulator and returns its exit code (2 is
/// `plan -detailed-exitcode`'s "changes"); its output is shown on failure.
pub fn terraform_code(dir: &Path, args: &[&str], sim: &genesis_sim::Urls) -> Option<i32> {
    terraform_with(dir, args, sim, &[])
}

/// Runs terraform with extra environment (moto's endpoint and keys).
pub fn terraform_with(
    dir: &Path,
    args: &[&str],
    sim: &genesis_sim::Urls,
    env: &[(&str, &str)],
) -> Option<i32> {
    let out = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("GENESIS_GKE_ENDPOINT", &sim.gke)
        .env("GENESIS_ARTIFACT_REGISTRY_ENDPOINT", &sim.artifact_registry)
        .env("GENESIS_EKS_ENDPOINT", &sim.eks)
        .env("GOOGLE_OAUTH_ACCESS_TOKEN", &sim.token)
        .envs(env.iter().copied())
        .output()
        .expect("terraform on PATH");
    if !matches!(out.status.code(), Some(0 | 2)) {
        eprintln!(
            "terraform {args:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.code()
}

/// moto's server for IAM, STS, KMS and ECR, with its request recorder on,
/// so the calls Genesis makes can be counted by service.
pub struct Moto {
    pub endpoint: String,
    child: std::process::Child,
}

impl Moto {
    /// `None` when moto is not installed (`pip install -r acceptance/requirements.txt`).
    pub fn start() -> Option<Moto> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(moto);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        None
    }

    /// The environment that points the provider's AWS clients here.
    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("GENESIS_AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ]
    }

    fn request(&self, method: &str, path: &str) -> String {
        use std::io::{Read, Write};
        let host = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default()
    }

    /// Forgets the calls recorded so far and records the next ones.
    pub fn record(&self) {
        self.request("POST", "/moto-api/recorder/reset-recording");
        self.request("POST", "/moto-api/recorder/start-recording");
    }

    /// The calls recorded, by service (`iam`, `sts`, `kms`, `ecr`), from
    /// each request's SigV4 credential scope.
    pub fn calls(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        let recording = self.request("GET", "/moto-api/recorder/download-recording");
        for line in recording.lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let service = entry["headers"]["Authorization"]
                .as_str()
                .and_then(|a| a.split("Credential=").nth(1))
                .and_then(|c| c.split('/').nth(3))
                .unwrap_or("other")
                .to_string();
            *out.entry(service).or_default() += 1;
        }
        out
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// API calls served by genesis-sim since the last reset, by face.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimCalls {
    pub gke: u64,
    pub artifact_registry: u64,
    pub eks: u64,
    pub kube: u64,
}

pub fn sim_calls(running: &genesis_sim::Running) -> SimCalls {
    let state = running.sim.dump();
    let mut out = SimCalls::default();
    for (method, n) in state["requests"].as_object().into_iter().flatten() {
        let n = n.as_u64().unwrap_or(0);
        if method.starts_with("container.") {
            out.gke += n;
        } else if method.starts_with("artifactregistry.") {
            out.artifact_registry += n;
        } else if method.starts_with("eks.") {
            out.eks += n;
        } else {
            out.kube += n;
        }
    }
    out
}

/// Calls of one operation (`eks.DescribeCluster`) since the last reset.
pub fn calls_of(running: &genesis_sim::Running, method: &str) -> u64 {
    running.sim.dump()["requests"][method].as_u64().unwrap_or(0)
}

/// API calls served since the last reset: GKE, Artifact Registry,
/// Kubernetes.
pub fn calls(running: &genesis_sim::Running) -> (u64, u64, u64) {
    let c = sim_calls(running);
    (c.gke, c.artifact_registry, c.kube)
}

/// A figure from /proc/PID/status, in KiB: `VmRSS` (resident now),
/// `VmHWM` (peak resident), `RssAnon` (heap and stacks).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU time of a process, all its threads, so far.
pub fn cpu_time(pid: u32) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields[11] + fields[12]; // utime, stime
    let per_second = 100; // USER_HZ on Linux
    std::time::Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

/// A plugin started once with `--debug`, for Terraform to reattach to
/// (`TF_REATTACH_PROVIDERS`), so that its own CPU time and memory can be
/// read between Terraform runs, its start not counted. Killed when dropped.
pub struct Reattached {
    child: std::process::Child,
    /// The value of `TF_REATTACH_PROVIDERS`.
    pub reattach: String,
}

impl Reattached {
    /// Started with `env` (Terraform's environment does not reach a
    /// provider it reattaches to).
    pub fn start(binary: &Path, env: &[(&str, &str)]) -> Reattached {
        use std::io::BufRead as _;
        let mut child = Command::new(binary)
            .arg("--debug")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the plugin with --debug");
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut reattach = None;
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 {
            if let Some(at) = line.find("TF_REATTACH_PROVIDERS='") {
                let rest = &line[at + "TF_REATTACH_PROVIDERS='".len()..];
                reattach = Some(rest[..rest.find('\'').unwrap()].to_string());
                break;
            }
            line.clear();
        }
        let reattach = reattach.expect("the plugin prints TF_REATTACH_PROVIDERS");
        // Keep its output flowing; a full pipe would block it.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Reattached { child, reattach }
    }

    pub fn cpu(&self) -> std::time::Duration {
        cpu_time(self.child.id())
    }

    /// Resets the peak resident set to now, so the next peak is what
    /// follows.
    pub fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }

    /// The peak resident set since the last reset, in KiB.
    pub fn peak_kib(&self) -> u64 {
        status_kib(self.child.id(), "VmHWM:")
    }

    pub fn resident_kib(&self, field: &str) -> u64 {
        status_kib(self.child.id(), field)
    }
}

impl Drop for Reattached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
