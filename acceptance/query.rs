//! `terraform query` (Terraform 1.14+) over workloads made outside Genesis
//! (applied with kubectl, in a cluster Genesis made): the `genesis_workload` list
//! resource finds them, `-generate-config-out` writes an `import` block
//! and a `resource` block for each (the configuration from
//! GenerateResourceConfig: the shortest that plans no change), and the
//! plan of that configuration imports them all and changes nothing.
//!
//! On the clients that have `terraform query` (Terraform 1.15 here;
//! Terraform 1.11 and OpenTofu have no list resources).

use serde_json::Value as Json;

use crate::harness::{
    CLUSTER_OUTPUTS, GKE_PREAMBLE, Moto, Sim, Workspace, apps_cluster, each_terraform_1_14,
};

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

/// What a team applied with kubectl: a Deployment and a CronJob.
const OTHERS: [(&str, &str); 2] = [
    (
        "web.json",
        r#"{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "shop"},
  "spec": {
    "replicas": 2,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
      "metadata": {"labels": {"app": "web"}},
      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    }
  }
}"#,
    ),
    (
        "report.json",
        r#"{
  "apiVersion": "batch/v1",
  "kind": "CronJob",
  "metadata": {"name": "report", "namespace": "shop"},
  "spec": {
    "schedule": "0 * * * *",
    "jobTemplate": {"spec": {"template": {"spec": {
      "restartPolicy": "OnFailure",
      "containers": [{"name": "report", "image": "busybox:1.36"}]
    }}}}
  }
}"#,
    ),
];

/// `terraform query -generate-config-out` in `ws`: the configuration it
/// wrote, asserted to import `count` objects.
fn generate(ws: &Workspace, count: usize) -> String {
    ws.run(&["query", "-no-color", "-generate-config-out=generated.tf"])
        .ok();
    let generated = std::fs::read_to_string(ws.path().join("generated.tf")).unwrap();
    assert_eq!(generated.matches("import {").count(), count, "{generated}");
    generated
}

#[test]
fn query_finds_workloads_made_with_kubectl_and_generates_their_configuration() {
    each_terraform_1_14(|tf| {
        let sim = Sim::start();
        let platform = Workspace::new(
            tf,
            &[(
                "main.tf",
                &format!("{}{CLUSTER_OUTPUTS}", apps_cluster(&["shop"])),
            )],
        )
        .against(&sim);
        platform
            .run(&["apply", "-input=false", "-auto-approve"])
            .ok();
        let kubectl = platform.cluster_kubectl(&sim, "shop");
        for (file, manifest) in OTHERS {
            platform.write(file, manifest);
            let path = platform.path().join(file);
            kubectl(&["apply", "--server-side", "-f", path.to_str().unwrap()]);
        }

        let query = format!(
            r#"
list "genesis_workload" "shop" {{
  provider         = genesis
  include_resource = true
  config {{
    cluster   = "{CLUSTER}"
    namespace = "shop"
  }}
}}
"#
        );
        let adopt = Workspace::new(
            tf,
            &[("main.tf", GKE_PREAMBLE), ("shop.tfquery.hcl", &query)],
        )
        .against(&sim);
        let listed = adopt.run(&["query", "-no-color"]).ok().stdout;
        assert!(
            listed.contains("shop/web") && listed.contains("shop/report"),
            "{listed}"
        );
        let generated = generate(&adopt, 2);
        assert_eq!(
            generated.matches("resource \"genesis_workload\"").count(),
            2,
            "{generated}"
        );
        assert!(
            !generated.contains("load_balancer_ip") && !generated.contains("status"),
            "what only the provider sets is left out:\n{generated}"
        );
        // GenerateResourceConfig leaves out what equals its default (the
        // client's own generator would write `wait_for_rollout = true`).
        assert!(
            !generated.contains("wait_for_rollout"),
            "defaults are left out:\n{generated}"
        );

        let plan = adopt.plan_json();
        let changes: Vec<(String, Json)> = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["address"].as_str().unwrap_or_default().to_string(),
                    c["change"].clone(),
                )
            })
            .collect();
        assert_eq!(changes.len(), 2, "{changes:#?}");
        for (address, change) in &changes {
            assert_eq!(
                change["actions"],
                serde_json::json!(["no-op"]),
                "{address}: {change:#}\n{generated}"
            );
            assert!(change["importing"].is_object(), "{address} is imported");
        }
        adopt.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!adopt.plan_has_changes(), "adopted, nothing changes");
    });
}

/// GKE clusters made with the API (as gcloud would), not by Genesis, one
/// on Autopilot and one with a node pool: the clusters listed in their
/// project's location, the pool in its cluster, all adopted through
/// generated configuration: the clusters with no change, the pool with
/// Genesis's pool label added to its nodes in place.
#[test]
fn query_finds_clusters_and_pools_made_outside_genesis_and_adopts_them() {
    each_terraform_1_14(|tf| {
        let sim = Sim::start();
        let clusters = "projects/p1/locations/us-central1/clusters";
        sim.gke(
            clusters,
            &serde_json::json!({"cluster": {"name": "legacy", "autopilot": {"enabled": true}}}),
        );
        sim.gke(
            clusters,
            &serde_json::json!({"cluster": {"name": "batch", "nodePools": [
                {"name": "workers", "initialNodeCount": 1, "config": {"machineType": "e2-standard-4"}}
            ]}}),
        );
        let query = r#"
list "genesis_cluster" "p1" {
  provider         = genesis
  include_resource = true
  config {
    cloud = "gcp"
  }
}

list "genesis_node_pool" "batch" {
  provider         = genesis
  include_resource = true
  config {
    cluster = "projects/p1/locations/us-central1/clusters/batch"
  }
}
"#;
        let adopt = Workspace::new(tf, &[("main.tf", GKE_PREAMBLE), ("p1.tfquery.hcl", query)])
            .against(&sim);
        let listed = adopt.run(&["query", "-no-color"]).ok().stdout;
        for name in ["us-central1/legacy", "us-central1/batch", "workers"] {
            assert!(listed.contains(name), "{name} in:\n{listed}");
        }
        let generated = generate(&adopt, 3);
        let plan = adopt.plan_json();
        let changes = plan["resource_changes"].as_array().unwrap();
        assert_eq!(changes.len(), 3, "{generated}");
        for change in changes {
            let (address, change) = (&change["address"], &change["change"]);
            assert!(change["importing"].is_object(), "{address} is imported");
            // Adopting a pool labels its nodes with its name (in place),
            // which is how workloads select it; nothing else changes.
            let changed: Vec<&String> = change["after"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| change["before"][k.as_str()] != **v)
                .map(|(k, _)| k)
                .collect();
            let expected: &[&str] = if address
                .as_str()
                .is_some_and(|a| a.starts_with("genesis_node_pool"))
            {
                &["effective_labels"]
            } else {
                &[]
            };
            if changed != expected {
                let shown = adopt.run(&["plan", "-no-color"]).stdout;
                panic!("{address}: {changed:?}\n{shown}");
            }
        }
        let pool = changes
            .iter()
            .find(|c| {
                c["address"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("genesis_node_pool"))
            })
            .unwrap();
        assert_eq!(
            pool["change"]["after"]["effective_labels"]["genesis.io/node-pool"],
            "workers"
        );
    });
}

/// Repositories made with the clouds' APIs (an Artifact Registry
/// repository through genesis-sim, an ECR one through moto with boto3):
/// listed per cloud and adopted with no change.
#[test]
fn query_finds_repositories_on_both_clouds_and_adopts_them_unchanged() {
    each_terraform_1_14(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        sim.artifact_registry(
            "projects/p1/locations/us-central1/repositories?repositoryId=legacy",
            &serde_json::json!({"format": "DOCKER", "description": "old images"}),
        );
        moto.python("ecr.create_repository(repositoryName='agents')");
        let query = r#"
list "genesis_registry" "gcp" {
  provider         = genesis
  include_resource = true
  config {}
}

list "genesis_registry" "aws" {
  provider         = genesis
  include_resource = true
  config {
    cloud = "aws"
  }
}
"#;
        let adopt = Workspace::new(
            tf,
            &[("main.tf", GKE_PREAMBLE), ("repos.tfquery.hcl", query)],
        )
        .against(&sim)
        .against_moto(&moto);
        let listed = adopt.run(&["query", "-no-color"]).ok().stdout;
        assert!(
            listed.contains("legacy") && listed.contains("agents"),
            "{listed}"
        );
        let generated = generate(&adopt, 2);
        let plan = adopt.plan_json();
        let changes = plan["resource_changes"].as_array().unwrap();
        assert_eq!(changes.len(), 2, "{generated}");
        for change in changes {
            if change["change"]["actions"] != serde_json::json!(["no-op"]) {
                let shown = adopt.run(&["plan", "-no-color"]).stdout;
                panic!("{}:\n{shown}\n{generated}", change["address"]);
            }
        }
    });
}
