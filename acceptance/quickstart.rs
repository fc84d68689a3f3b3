//! The README's first command, `scripts/quickstart`, run as a user would
//! (with `--yes --destroy` for a round trip): genesis-sim started, the
//! quickstart example planned and applied by the real Terraform, kubectl
//! reading the cluster through the kubeconfig output, everything destroyed.

use std::path::Path;
use std::process::Command;

use crate::harness::first_terraform;

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
    first_terraform(|tf| {
        for (cloud, resources, extra) in [
            ("gcp", 4, "api_address = \"203.0.113."),
            // EKS and ECR, with kubectl authenticated by the AWS CLI's
            // token, which genesis-sim's EKS checks as EKS does.
            ("aws", 4, "cluster_id = \"arn:aws:eks:us-east-1:"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let out = Command::new(root.join("scripts/quickstart"))
                .args(["--yes", "--destroy"])
                .env("TERRAFORM", tf.command.join(" "))
                .env("TF_VAR_cloud", cloud)
                .env("GENESIS_QUICKSTART_NO_BUILD", "1")
                .env("GENESIS_QUICKSTART_DIR", dir.path())
                .env("CARGO_TARGET_DIR", debug.parent().unwrap())
                .env("TF_CLI_ARGS", "-no-color")
                .env_remove("TF_LOG")
                .env_remove("GOOGLE_OAUTH_ACCESS_TOKEN")
                .env_remove("AWS_ENDPOINT_URL")
                .output()
                .expect("run scripts/quickstart");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{cloud}: {stdout}\n{stderr}");
            for expected in [
                format!("Plan: {resources} to add, 0 to change, 0 to destroy."),
                "genesis_workload.api: Creation complete".to_string(),
                format!("Apply complete! Resources: {resources} added, 0 changed, 0 destroyed."),
                extra.to_string(),
                "kubeconfig = <sensitive>".to_string(),
                // kubectl, through the kubeconfig output.
                "deployment.apps/api".to_string(),
                "deployment.apps/worker".to_string(),
                "horizontalpodautoscaler.autoscaling/api".to_string(),
                format!("Destroy complete! Resources: {resources} destroyed."),
            ] {
                assert!(
                    stdout.contains(&expected),
                    "{cloud}: {expected:?} missing:\n{stdout}\n{stderr}"
                );
            }
        }
    });
}
