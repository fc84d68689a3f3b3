//! What the benchmarks share: running the real terraform in a workspace
//! pointed at genesis-sim and the built provider, and counting API calls.

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
    let out = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("GENESIS_GKE_ENDPOINT", &sim.gke)
        .env("GENESIS_ARTIFACT_REGISTRY_ENDPOINT", &sim.artifact_registry)
        .env("GOOGLE_OAUTH_ACCESS_TOKEN", &sim.token)
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

/// API calls served since the last reset, by API.
pub fn calls(running: &genesis_sim::Running) -> (u64, u64, u64) {
    let state = running.sim.dump();
    let mut out = (0, 0, 0);
    for (method, n) in state["requests"].as_object().into_iter().flatten() {
        let n = n.as_u64().unwrap_or(0);
        if method.starts_with("container.") {
            out.0 += n;
        } else if method.starts_with("artifactregistry.") {
            out.1 += n;
        } else {
            out.2 += n;
        }
    }
    out
}
