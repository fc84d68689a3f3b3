//! `terraform plan` of the examples: the plans Terraform accepts, with the
//! defaults and computed values users should see before anything exists.

use serde_json::json;

use crate::harness::{Workspace, each_terraform, planned};

#[test]
fn production_example_plans_secure_defaults_and_typed_pools() {
    each_terraform(|tf| {
        let plan = Workspace::example(tf, "production-standard").plan_json();
        let cluster = planned(&plan, "genesis_cluster.prod");
        assert!(
            cluster["id"].is_null(),
            "a new cluster's id is known after apply"
        );
        assert_eq!(cluster["location"], "us-central1");
        assert_eq!(cluster["deletion_protection"], true);
        assert_eq!(cluster["release_channel"], "STABLE");
        assert_eq!(cluster["master_ipv4_cidr_block"], "172.16.0.0/28");
        assert_eq!(cluster["namespace"][0]["pod_security_level"], "restricted");
        let agents = planned(&plan, "genesis_node_pool.agent_runtime");
        assert_eq!(
            agents["effective_labels"]["genesis.io/pool-type"],
            "agent-runtime"
        );
        assert_eq!(
            agents["effective_taints"],
            json!([
                { "key": "agent-runtime", "value": "true", "effect": "NO_SCHEDULE" },
                { "key": "genesis.io/pool-type", "value": "agent-runtime", "effect": "NO_SCHEDULE" }
            ])
        );
        let spot = planned(&plan, "genesis_node_pool.general_purpose");
        assert_eq!(spot["spot"], true);
        let registry = planned(&plan, "genesis_registry.images");
        assert_eq!(
            registry["repository_url"],
            "us-central1-docker.pkg.dev/genesis-project-prod/genesis-images"
        );
        assert_eq!(
            registry["cleanup_policies"]["delete-old"]["older_than"],
            "90d"
        );
    });
}

#[test]
fn environment_sets_defaults_and_explicit_settings_win() {
    each_terraform(|tf| {
        let plan = Workspace::example(tf, "dev-zonal").plan_json();
        let cluster = planned(&plan, "genesis_cluster.dev");
        assert_eq!(cluster["location"], "us-central1-a");
        assert_eq!(cluster["release_channel"], "RAPID");
        assert_eq!(cluster["deletion_protection"], false);
        assert_eq!(cluster["enable_workload_identity"], false);
        assert_eq!(cluster["enable_private_cluster"], false);
        assert!(cluster["master_ipv4_cidr_block"].is_null());
        let pool = planned(&plan, "genesis_node_pool.dev");
        assert_eq!(pool["preemptible"], true);
        assert_eq!(pool["auto_upgrade"], false);
    });
}

#[test]
fn workloads_plan_before_their_cluster_exists() {
    each_terraform(|tf| {
        let plan = Workspace::example(tf, "workloads").plan_json();
        let api = planned(&plan, "genesis_workload.api");
        assert!(
            api["replicas"].is_null(),
            "with autoscaling, replicas are the autoscaler's"
        );
        assert_eq!(api["security_context"], serde_json::Value::Null);
        assert_eq!(api["service"]["type"], "LoadBalancer");
        assert_eq!(api["wait_for_rollout"], true);
        let worker = planned(&plan, "genesis_workload.worker");
        assert!(worker["replicas"].is_null());
        assert_eq!(worker["autoscaling"]["min_replicas"], 2);
        assert_eq!(worker["namespace"], "genesis-agents");
    });
}

#[test]
fn project_and_region_come_from_the_environment() {
    each_terraform(|tf| {
        let main = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}
resource "genesis_registry" "r" {
  name = "images"
}
"#;
        let ws = Workspace::new(tf, &[("main.tf", main)])
            .with_env("GOOGLE_PROJECT", "env-project")
            .with_env("GOOGLE_REGION", "europe-west4");
        let plan = ws.plan_json();
        let registry = planned(&plan, "genesis_registry.r");
        assert_eq!(registry["project_id"], "env-project");
        assert_eq!(
            registry["repository_url"],
            "europe-west4-docker.pkg.dev/env-project/images"
        );

        let ws = Workspace::new(tf, &[("main.tf", main)]);
        let run = ws
            .run(&["plan", "-input=false", "-no-color"])
            .assert_no_crash();
        assert!(!run.status.success());
        assert!(
            run.stderr.contains("No project") && run.stderr.contains("GOOGLE_PROJECT"),
            "{}",
            run.stderr
        );
    });
}
