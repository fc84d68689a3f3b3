//! Trace logs carry no credentials (issue 29): users paste `TF_LOG=trace`
//! output into bug reports and CI logs, and at trace the libraries below
//! the provider log requests with their headers. An apply of a GKE and of
//! an EKS platform, each with a workload (so Kubernetes calls too), logged
//! at trace: no request signature, bearer token, EKS token or test
//! credential appears, only `<redacted>` where one was.
//!
//! Run on the first client only: the log lines checked are the provider's,
//! the same whichever client starts it.

use crate::harness::{Moto, Sim, Workspace, terraforms};

const ACCESS_KEY_ID: &str = "GENESISTRACEKEYID";
const SECRET_ACCESS_KEY: &str = "genesis-trace-secret-access-key";

/// Applies and destroys with trace logging; returns the log.
fn traced(ws: Workspace) -> String {
    let log = ws.dir.path().join("trace.log");
    let ws = ws
        .with_env("TF_LOG", "trace")
        .with_env("TF_LOG_PATH", log.to_str().unwrap());
    ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
    ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    std::fs::read_to_string(&log).unwrap()
}

/// Every place `marker` appears is followed by the placeholder.
fn only_redacted(log: &str, marker: &str) -> Vec<String> {
    log.match_indices(marker)
        .map(|(at, _)| &log[at..(at + marker.len() + 40).min(log.len())])
        .filter(|found| !found[marker.len()..].starts_with("<redacted>"))
        .map(|found| found.chars().take(60).collect())
        .collect()
}

fn assert_no_credentials(log: &str, secrets: &[&str]) {
    assert!(log.len() > 100_000, "a trace log: {} bytes", log.len());
    for marker in ["Signature=", "Bearer ", "k8s-aws-v1.", "Credential="] {
        let leaks = only_redacted(log, marker);
        assert!(leaks.is_empty(), "{marker} in the trace log: {leaks:?}");
    }
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in the trace log");
    }
}

#[test]
fn trace_logs_of_gke_and_eks_applies_carry_no_credentials() {
    let tf = &terraforms()[0];
    let sim = Sim::start();
    let gke = Workspace::new(tf, &[("main.tf", &crate::crash::config())]).against(&sim);
    let log = traced(gke);
    assert_no_credentials(&log, &[&sim.running.urls.token]);

    // The simulated clusters accept EKS tokens signed with these.
    let sim = Sim::start_with(genesis_sim::Config {
        aws_credentials: vec![(ACCESS_KEY_ID.into(), SECRET_ACCESS_KEY.into())],
        ..genesis_sim::Config::default()
    });
    let moto = Moto::start();
    let eks = Workspace::new(tf, &[("main.tf", &crate::eks::platform())])
        .against_eks(&sim, &moto)
        .with_env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .with_env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY);
    let log = traced(eks);
    assert!(log.contains("eks"), "the EKS calls are in the log");
    assert_no_credentials(
        &log,
        &[ACCESS_KEY_ID, SECRET_ACCESS_KEY, &sim.running.urls.token],
    );
    // The AWS SDK logs each request's signing at trace.
    assert!(log.contains("<redacted>"), "something was redacted");
}
