//! Cloud-side costs, run with `cargo bench --bench apply`: the API calls
//! each resource costs per create and per refresh (counted by genesis-sim),
//! and the wall time of applying the production example against genesis-sim
//! (operations finish at once, so this is the provider's and Terraform's
//! own time). It prints a Markdown table; the README's figures come from it.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{calls, terraform, workspace};

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let running = runtime
        .block_on(genesis_sim::start(genesis_sim::Config::default()))
        .unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/production-standard/main.tf");
    let config = std::fs::read_to_string(example).unwrap().replace(
        "environment = \"prod\"",
        "environment = \"prod\"\n  deletion_protection = false",
    );
    let dir = workspace(&config);

    running.sim.reset();
    let started = Instant::now();
    terraform(
        dir.path(),
        &["apply", "-input=false", "-auto-approve"],
        &running.urls,
    );
    let apply_time = started.elapsed();
    let created = calls(&running);
    let state = running.sim.dump();
    let clusters = state["gke"]["clusters"].as_object().map_or(0, |c| c.len());
    let pools: usize = state["gke"]["clusters"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, c)| c["nodePools"].as_array().map_or(0, Vec::len))
        .sum();
    let repos = state["artifact_registry"]["repositories"]
        .as_object()
        .map_or(0, |r| r.len());

    running.sim.reset_requests();
    let started = Instant::now();
    terraform(dir.path(), &["plan", "-input=false"], &running.urls);
    let refresh_time = started.elapsed();
    let refreshed = calls(&running);
    terraform(
        dir.path(),
        &["destroy", "-input=false", "-auto-approve"],
        &running.urls,
    );

    // The same apply through a storm on every face (30% 503, 10% 429 with
    // Retry-After 1 s, 10% dropped connections, seeded): the cost of
    // retrying and adopting.
    running.sim.reset();
    for (status, retry_after, drop_connection, rate) in [
        (Some(503), None, false, 0.3),
        (Some(429), Some(1), false, 0.1),
        (None, None, true, 0.1),
    ] {
        running.sim.add_fault(genesis_sim::faults::FaultRule {
            api: "*".into(),
            method: "*".into(),
            status,
            retry_after,
            drop_connection,
            rate: Some(rate),
            ..Default::default()
        });
    }
    let started = Instant::now();
    let stormy_ok = common::terraform_code(
        dir.path(),
        &["apply", "-input=false", "-auto-approve"],
        &running.urls,
    ) == Some(0);
    let storm_time = started.elapsed();
    let stormy = calls(&running);
    running.sim.clear_faults();
    terraform(
        dir.path(),
        &["destroy", "-input=false", "-auto-approve"],
        &running.urls,
    );

    let objects = (clusters + pools + repos) as f64;
    println!(
        "Production example: {clusters} cluster, {pools} node pools, {repos} repository (and the cluster's namespaces).\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| `terraform apply` wall time (operations finish at once) | {:.2} s |",
        apply_time.as_secs_f64()
    );
    println!(
        "| API calls for the apply: GKE / Artifact Registry / Kubernetes | {} / {} / {} |",
        created.0, created.1, created.2
    );
    println!(
        "| `terraform plan` (refresh) wall time | {:.2} s |",
        refresh_time.as_secs_f64()
    );
    println!(
        "| API calls for the refresh: GKE / Artifact Registry / Kubernetes | {} / {} / {} |",
        refreshed.0, refreshed.1, refreshed.2
    );
    println!(
        "| `terraform apply` through the storm (30% 503, 10% 429, 10% dropped) | {:.2} s{} |",
        storm_time.as_secs_f64(),
        if stormy_ok { "" } else { " (FAILED)" }
    );
    println!(
        "| API calls for the apply through the storm: GKE / Artifact Registry / Kubernetes | {} / {} / {} |",
        stormy.0, stormy.1, stormy.2
    );
    println!(
        "| Google API calls per resource, create | {:.1} |",
        (created.0 + created.1) as f64 / objects
    );
    println!(
        "| Google API calls per resource, refresh | {:.1} |",
        (refreshed.0 + refreshed.1) as f64 / objects
    );
    running.shutdown();
}
