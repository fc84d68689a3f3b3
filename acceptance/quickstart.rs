//! The README's first command, `scripts/quickstart`, run as a user would
//! (with `--yes --destroy` for a round trip): genesis-sim started, the
//! quickstart example planned and applied by the real Terraform, kubectl
//! reading the cluster through the kubeconfig output, everything destroyed.

use std::path::Path;
use std::process::Command;

use crate::harness::each_terraform;

#[test]
fn the_quickstart_applies_shows_and_destroys() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let debug = Path::new(env!("CARGO_BIN_EXE_terraform-provider-genesis"))
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(
        debug.join("genesis-sim").exists(),
        "genesis-sim is built by `cargo test --workspace`"
    );
    each_terraform(|tf| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(root.join("scripts/quickstart"))
            .args(["--yes", "--destroy"])
            .env("TERRAFORM", tf.command.join(" "))
            .env("GENESIS_QUICKSTART_NO_BUILD", "1")
            .env("GENESIS_QUICKSTART_DIR", dir.path())
            .env("CARGO_TARGET_DIR", debug.parent().unwrap())
            .env("TF_CLI_ARGS", "-no-color")
            .env_remove("TF_LOG")
            .env_remove("GOOGLE_OAUTH_ACCESS_TOKEN")
            .output()
            .expect("run scripts/quickstart");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        for expected in [
            "Plan: 4 to add, 0 to change, 0 to destroy.",
            "genesis_workload.api: Creation complete",
            "Apply complete! Resources: 4 added, 0 changed, 0 destroyed.",
            "api_address = \"203.0.113.",
            "kubeconfig = <sensitive>",
            // kubectl, through the kubeconfig output.
            "deployment.apps/api",
            "deployment.apps/worker",
            "horizontalpodautoscaler.autoscaling/api",
            "Destroy complete! Resources: 4 destroyed.",
        ] {
            assert!(
                stdout.contains(expected),
                "{expected:?} missing:\n{stdout}\n{stderr}"
            );
        }
    });
}
