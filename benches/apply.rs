//! Cloud-side costs, run with `cargo bench --bench apply`: the API calls
//! each resource costs per create and per refresh (counted by genesis-sim),
//! and the wall time of applying the production example against genesis-sim
//! (operations finish at once, so this is the provider's and Terraform's
//! own time). It prints a Markdown table; the README's figures come from it.
//! Then the same for `examples/eks-production` against genesis-sim's EKS
//! face and moto (IAM, STS, KMS, ECR; calls counted by moto's recorder),
//! and how often a create polls EKS while a cluster takes 30 s to come up.

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
    eks();
}

/// The EKS production example: wall time and calls per resource, by API.
fn eks() {
    let Some(moto) = common::Moto::start() else {
        println!(
            "\nEKS: skipped (moto is not installed: pip install -r acceptance/requirements.txt)"
        );
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let running = runtime
        .block_on(genesis_sim::start(genesis_sim::Config::default()))
        .unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/eks-production/main.tf");
    let dir = workspace(&std::fs::read_to_string(example).unwrap());
    let mut env = moto.env();
    env.push(("TF_VAR_deletion_protection", "false"));
    let run = |args: &[&str]| {
        let code = common::terraform_with(dir.path(), args, &running.urls, &env);
        assert!(matches!(code, Some(0 | 2)), "terraform {args:?} failed");
    };
    moto.record();
    let started = Instant::now();
    run(&["apply", "-input=false", "-auto-approve"]);
    let apply_time = started.elapsed();
    let created = common::sim_calls(&running);
    let created_aws = moto.calls();
    let state = running.sim.dump();
    let groups: usize = state["eks"]["nodegroups"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, g)| g.as_object().map_or(0, |g| g.len()))
        .sum();
    running.sim.reset_requests();
    moto.record();
    let started = Instant::now();
    run(&["plan", "-input=false"]);
    let refresh_time = started.elapsed();
    let refreshed = common::sim_calls(&running);
    let refreshed_aws = moto.calls();
    run(&["destroy", "-input=false", "-auto-approve"]);
    running.shutdown();

    // 1 cluster + node groups + repository + 2 workloads.
    let resources = (1 + groups + 1 + 2) as f64;
    let aws = |calls: &std::collections::BTreeMap<String, u64>, service: &str| {
        calls.get(service).copied().unwrap_or(0)
    };
    println!(
        "\nEKS production example: 1 cluster (5 add-ons, 2 IAM roles, 1 KMS key made by Genesis), {groups} node groups, 1 ECR repository, 2 workloads.\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| `terraform apply` wall time (operations finish at once) | {:.2} s |",
        apply_time.as_secs_f64()
    );
    println!(
        "| API calls for the apply: EKS / IAM / STS / KMS / ECR / Kubernetes | {} / {} / {} / {} / {} / {} |",
        created.eks,
        aws(&created_aws, "iam"),
        aws(&created_aws, "sts"),
        aws(&created_aws, "kms"),
        aws(&created_aws, "ecr"),
        created.kube
    );
    println!(
        "| `terraform plan` (refresh) wall time | {:.2} s |",
        refresh_time.as_secs_f64()
    );
    println!(
        "| API calls for the refresh: EKS / IAM / STS / KMS / ECR / Kubernetes | {} / {} / {} / {} / {} / {} |",
        refreshed.eks,
        aws(&refreshed_aws, "iam"),
        aws(&refreshed_aws, "sts"),
        aws(&refreshed_aws, "kms"),
        aws(&refreshed_aws, "ecr"),
        refreshed.kube
    );
    let all = |c: &common::SimCalls, a: &std::collections::BTreeMap<String, u64>| {
        (c.eks + c.kube + a.values().sum::<u64>()) as f64 / resources
    };
    println!(
        "| AWS and Kubernetes calls per resource, create | {:.1} |",
        all(&created, &created_aws)
    );
    println!(
        "| AWS and Kubernetes calls per resource, refresh | {:.1} |",
        all(&refreshed, &refreshed_aws)
    );
    println!(
        "| DescribeCluster calls while a cluster takes 30 s to create | {} |",
        polls_during_a_slow_create(&moto)
    );
}

/// A cluster whose create takes 30 s (no add-ons, so only the cluster is
/// waited on): the polls back off to one DescribeCluster per 10 s.
fn polls_during_a_slow_create(moto: &common::Moto) -> u64 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let running = runtime
        .block_on(genesis_sim::start(genesis_sim::Config {
            operation_time: std::time::Duration::from_secs(30),
            ..genesis_sim::Config::default()
        }))
        .unwrap();
    let dir = workspace(
        r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

resource "genesis_cluster" "slow" {
  cloud = "aws"
  name  = "slow"
  eks   = { subnet_ids = ["subnet-a", "subnet-b"], addons = [] }
}
"#,
    );
    let env = moto.env();
    let code = common::terraform_with(
        dir.path(),
        &["apply", "-input=false", "-auto-approve"],
        &running.urls,
        &env,
    );
    assert_eq!(code, Some(0), "the slow create failed");
    let polls = common::calls_of(&running, "eks.DescribeCluster");
    running.shutdown();
    polls
}
