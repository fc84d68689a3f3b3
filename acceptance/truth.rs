//! The plan tells the truth (issue 15): what `terraform plan` shows is what
//! the apply does. A replaced cluster replaces its node pools and workloads;
//! deletion protection stops replacements too; creates never take over
//! objects that are not theirs; rules across attributes wait for values that
//! are unknown at validate; imports plan no change; updates show only what
//! can change.

use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, each_terraform};

const HEADER: &str = crate::harness::GKE_PREAMBLE;

const CLUSTER: &str = "projects/p1/locations/us-central1-a/clusters/c";

/// A zonal Standard cluster with one pool and one workload.
fn platform(description: &str, lifecycle: &str) -> String {
    format!(
        r#"{HEADER}
resource "genesis_cluster" "c" {{
  name                  = "c"
  description           = "{description}"
  regional_cluster      = false
  zone                  = "us-central1-a"
  kubernetes_namespaces = ["apps"]
  {lifecycle}
}}

resource "genesis_node_pool" "pool" {{
  cluster = genesis_cluster.c.id
  name    = "general"
}}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.c.id
  namespace = "apps"
  name      = "api"
  image     = "nginx:1.27"
  service   = {{ ports = [{{ port = 80 }}] }}
}}
"#
    )
}

/// The actions Terraform plans for each resource, by address.
fn actions(plan: &Json) -> Vec<(String, Vec<String>)> {
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                c["change"]["actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a.as_str().unwrap_or_default().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn action_of(plan: &Json, address: &str) -> Vec<String> {
    actions(plan)
        .into_iter()
        .find(|(a, _)| a == address)
        .map(|(_, actions)| actions)
        .unwrap_or_default()
}

/// What a plan changes, attribute by attribute, for failure messages.
fn differences(plan: &Json) -> Vec<String> {
    let mut out = Vec::new();
    for change in plan["resource_changes"].as_array().into_iter().flatten() {
        let (before, after) = (&change["change"]["before"], &change["change"]["after"]);
        for (key, value) in after.as_object().into_iter().flatten() {
            if before.get(key) != Some(value) {
                out.push(format!(
                    "{}.{key}: {} -> {value}",
                    change["address"].as_str().unwrap_or_default(),
                    before.get(key).unwrap_or(&Json::Null)
                ));
            }
        }
    }
    out
}

/// The API calls genesis-sim served since its count was reset that change
/// something (anything but GET, list and Kubernetes GETs).
fn writes(sim: &Sim) -> Vec<String> {
    sim.state()["requests"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(method, _)| method.clone())
        .filter(|m| !(m.ends_with(".get") || m.ends_with(".list") || m.starts_with("kube GET")))
        .collect()
}

fn replaced(actions: &[String]) -> bool {
    actions.contains(&"delete".to_string()) && actions.contains(&"create".to_string())
}

#[test]
fn a_replaced_cluster_replaces_its_pools_and_workloads() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &platform("first", ""))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // `description` cannot change in place and keeps the cluster's name.
        ws.write("main.tf", &platform("second", ""));
        let plan = ws.plan_json();
        for address in [
            "genesis_cluster.c",
            "genesis_node_pool.pool",
            "genesis_workload.api",
        ] {
            assert!(
                replaced(&action_of(&plan, address)),
                "{address} must be planned for replacement: {:?}",
                actions(&plan)
            );
        }
        assert_eq!(
            plan["resource_changes"][0]["change"]["after_unknown"]["id"], true,
            "the new cluster's id is known only after apply"
        );
        ws.run(&["apply", "-input=false", "plan.tfplan"]).ok();
        let state = sim.state();
        assert_eq!(
            state["gke"]["clusters"][CLUSTER]["description"], "second",
            "the cluster was replaced"
        );
        assert_eq!(
            state["gke"]["clusters"][CLUSTER]["nodePools"][0]["name"], "general",
            "the new cluster has its pool: {:#}",
            state["gke"]["clusters"][CLUSTER]
        );
        assert!(
            state["kube"][CLUSTER]["objects"]["objects"]["apps/deployments/apps/api"].is_object(),
            "the new cluster runs the workload"
        );
        assert!(!ws.plan_has_changes(), "nothing is left to create");
    });
}

fn protected(description: &str) -> String {
    format!(
        r#"{HEADER}
resource "genesis_cluster" "c" {{
  name             = "c"
  description      = "{description}"
  environment      = "prod"
  regional_cluster = false
  zone             = "us-central1-a"
}}
"#
    )
}

#[test]
fn deletion_protection_stops_replacements() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &protected("first"))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let created = sim.state()["gke"]["clusters"][CLUSTER]["createTime"].clone();
        assert!(created.is_string());

        // A change that cannot be made in place.
        ws.write("main.tf", &protected("second"));
        let run = ws
            .run(&["plan", "-input=false", "-no-color"])
            .assert_no_crash();
        assert!(!run.status.success(), "{}", run.stdout);
        assert!(
            run.stderr.contains("Cluster is protected from deletion")
                && run.stderr.contains("description"),
            "{}",
            run.stderr
        );

        // A replacement the user asks for.
        ws.write("main.tf", &protected("first"));
        let run = ws
            .run(&[
                "apply",
                "-input=false",
                "-auto-approve",
                "-replace=genesis_cluster.c",
            ])
            .assert_no_crash();
        assert!(!run.status.success(), "{}", run.stdout);
        assert!(
            run.stderr.contains("Cluster is protected from deletion"),
            "{}",
            run.stderr
        );

        // A tainted cluster: the plan is Terraform's own, the delete refuses.
        ws.run(&["taint", "genesis_cluster.c"]).ok();
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve"])
            .assert_no_crash();
        assert!(!run.status.success(), "{}", run.stdout);
        assert!(
            run.stderr.contains("Cluster is protected from deletion"),
            "{}",
            run.stderr
        );
        ws.run(&["untaint", "genesis_cluster.c"]).ok();

        assert_eq!(
            sim.state()["gke"]["clusters"][CLUSTER]["createTime"],
            created,
            "the protected cluster is the one first created"
        );
        assert!(!ws.plan_has_changes());
    });
}

#[test]
fn creates_never_take_over_objects_that_are_not_theirs() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let first = Workspace::new(tf, &[("main.tf", &platform("first", ""))]).against(&sim);
        first.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // Another configuration declares the same pool and workload.
        let second = Workspace::new(
            tf,
            &[(
                "main.tf",
                &format!(
                    r#"{HEADER}
resource "genesis_node_pool" "pool" {{
  cluster      = "{CLUSTER}"
  name         = "general"
  machine_type = "e2-standard-8"
}}

resource "genesis_workload" "api" {{
  cluster   = "{CLUSTER}"
  namespace = "apps"
  name      = "api"
  image     = "httpd:2.4"
  replicas  = 5
}}
"#
                ),
            )],
        )
        .against(&sim);
        let run = second
            .run(&["apply", "-input=false", "-auto-approve"])
            .assert_no_crash();
        assert!(!run.status.success(), "{}", run.stdout);
        assert!(
            run.stderr.contains("already exists") && run.stderr.contains("import"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("Workload objects already exist")
                && run.stderr.contains("Deployment apps/api"),
            "{}",
            run.stderr
        );
        let listed = second.run(&["state", "list"]).assert_no_crash();
        assert!(
            listed.stdout.trim().is_empty(),
            "nothing of the first configuration's is in the second's state: {}",
            listed.stdout
        );
        let state = sim.state();
        let deployment = &state["kube"][CLUSTER]["objects"]["objects"]["apps/deployments/apps/api"];
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27",
            "the first configuration's deployment is untouched"
        );
        assert_eq!(
            state["gke"]["clusters"][CLUSTER]["nodePools"][0]["config"]["machineType"],
            "e2-medium"
        );
        assert!(
            !first.plan_has_changes(),
            "the first configuration sees no change"
        );

        // create_before_destroy under a fixed name with an unchanged
        // configuration: the replacement meets its own predecessor (same
        // origin), which is then not deleted as the "old" object.
        first.write(
            "main.tf",
            &platform("first", "").replace(
                "  service   = {",
                "  lifecycle {\n    create_before_destroy = true\n  }\n  service   = {",
            ),
        );
        let run = first
            .run(&[
                "apply",
                "-input=false",
                "-auto-approve",
                "-replace=genesis_workload.api",
            ])
            .ok();
        assert!(
            run.stdout
                .contains("Kept: the replacement is the same object")
                || run
                    .stderr
                    .contains("Kept: the replacement is the same object"),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
        assert!(!first.plan_has_changes(), "the workload is in state once");
        let objects = sim.state()["kube"][CLUSTER]["objects"]["objects"].clone();
        for key in ["apps/deployments/apps/api", "/services/apps/api"] {
            assert!(objects[key].is_object(), "{key} is still there");
        }
    });
}

/// Configurations valid only once their variables are known.
const WITH_VARIABLES: &[(&str, &str)] = &[
    (
        "zonal cluster from a variable",
        r#"
variable "regional" {
  type    = bool
  default = false
}
variable "z" {
  type    = string
  default = null
}
resource "genesis_cluster" "a" {
  name             = "a"
  regional_cluster = var.regional
  zone             = "us-central1-a"
}
resource "genesis_cluster" "b" {
  name             = "b"
  regional_cluster = true
  zone             = var.z
}
resource "genesis_cluster" "c" {
  name             = "c"
  regional_cluster = var.regional
  zone             = var.regional ? null : "us-central1-a"
}
"#,
    ),
    (
        "workload settings from variables",
        r#"
variable "kc" {
  type    = string
  default = null
}
variable "m" {
  type    = string
  default = null
}
variable "as" {
  type    = object({ max_replicas = number, cpu_target = number })
  default = { max_replicas = 3, cpu_target = 50 }
}
variable "probe" {
  type    = object({ path = string, port = number })
  default = null
}
variable "mount" {
  type    = string
  default = null
}
resource "genesis_cluster" "c" {
  name = "c"
}
resource "genesis_workload" "w" {
  cluster           = genesis_cluster.c.id
  kubeconfig_path   = var.kc
  name              = "w"
  image             = "nginx:1.27"
  resources         = { requests = { cpu = "100m" } }
  autoscaling       = var.as
  disruption_budget = { min_available = "1", max_unavailable = var.m }
  readiness_probe   = { http_get = { path = "/", port = 80 }, tcp_socket = var.probe == null ? null : { port = var.probe.port } }
  config_mount_path = var.mount
}
"#,
    ),
    (
        "node pool size from a variable",
        r#"
variable "a" {
  type    = bool
  default = false
}
resource "genesis_node_pool" "p" {
  cluster            = "projects/p1/locations/us-central1/clusters/c"
  name               = "p"
  enable_autoscaling = var.a
  node_count         = 2
}
"#,
    ),
];

#[test]
fn rules_across_attributes_wait_for_unknown_values() {
    each_terraform(|tf| {
        for (name, hcl) in WITH_VARIABLES {
            let ws = Workspace::new(tf, &[("main.tf", &format!("{HEADER}{hcl}"))]);
            let out = ws.run(&["validate", "-json"]).assert_no_crash().json();
            assert_eq!(out["valid"], true, "{name}: {out:#}");
            let plan = ws
                .run(&["plan", "-input=false", "-no-color"])
                .assert_no_crash();
            assert!(
                plan.status.success(),
                "{name}: {}\n{}",
                plan.stdout,
                plan.stderr
            );
        }
        // Once the values are known, the rules apply.
        let ws = Workspace::new(
            tf,
            &[("main.tf", &format!("{HEADER}{}", WITH_VARIABLES[0].1))],
        )
        .with_env("TF_VAR_regional", "true");
        let plan = ws
            .run(&["plan", "-input=false", "-no-color"])
            .assert_no_crash();
        assert!(!plan.status.success());
        assert!(
            plan.stderr.contains("Zone set on a regional cluster"),
            "{}",
            plan.stderr
        );
        let ws = Workspace::new(
            tf,
            &[("main.tf", &format!("{HEADER}{}", WITH_VARIABLES[1].1))],
        )
        .with_env("TF_VAR_m", "1");
        let plan = ws
            .run(&["plan", "-input=false", "-no-color"])
            .assert_no_crash();
        assert!(
            !plan.status.success() && plan.stderr.contains("Set one disruption limit"),
            "{}",
            plan.stderr
        );
    });
}

#[test]
fn imports_plan_no_change() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let config = format!(
            r#"{HEADER}
resource "genesis_cluster" "auto" {{
  name             = "auto"
  enable_autopilot = true
}}

resource "genesis_cluster" "c" {{
  name                  = "c"
  regional_cluster      = false
  zone                  = "us-central1-a"
  kubernetes_namespaces = ["apps"]
  namespace {{
    name  = "jobs"
    quota = {{ pods = 20 }}
  }}
  timeouts {{
    create = "30m"
  }}
}}

resource "genesis_node_pool" "agents" {{
  cluster        = genesis_cluster.c.id
  name           = "agents"
  node_pool_type = "agent-runtime"
  taints         = [{{ key = "team", value = "ml", effect = "NoSchedule" }}]
}}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.auto.id
  name      = "api"
  image     = "nginx:1.27"
  service   = {{ type = "LoadBalancer", ports = [{{ port = 80 }}] }}
  timeouts {{
    create = "2m"
  }}
}}
"#
        );
        let ws = Workspace::new(tf, &[("main.tf", &config)]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());
        let imports = [
            (
                "genesis_cluster.auto",
                "projects/p1/locations/us-central1/clusters/auto".to_string(),
            ),
            ("genesis_cluster.c", CLUSTER.to_string()),
            (
                "genesis_node_pool.agents",
                format!("{CLUSTER}/nodePools/agents"),
            ),
            (
                "genesis_workload.api",
                "projects/p1/locations/us-central1/clusters/auto/default/api".to_string(),
            ),
        ];
        for (address, _) in &imports {
            ws.run(&["state", "rm", address]).ok();
        }
        for (address, id) in &imports {
            ws.run(&["import", "-input=false", address, id]).ok();
        }
        assert_eq!(
            sim.control("DELETE", "/_sim/requests", None),
            204,
            "the call count starts here"
        );
        let plan = ws.plan_json();
        let changed: Vec<_> = actions(&plan)
            .into_iter()
            .filter(|(_, a)| a != &["no-op".to_string()])
            .collect();
        assert!(
            changed.is_empty(),
            "imports plan no change: {changed:?} {:#?}",
            differences(&plan)
        );
        ws.run(&["apply", "-input=false", "plan.tfplan"]).ok();
        // Reads only: no import leads to a change in the cloud or cluster.
        let writes = writes(&sim);
        assert!(writes.is_empty(), "calls after import: {writes:?}");
        assert!(!ws.plan_has_changes());

        // Timeouts are write-only, as the google provider's behave: changing
        // them alone is no change.
        ws.write(
            "main.tf",
            &config.replace("create = \"2m\"", "create = \"3m\""),
        );
        assert!(!ws.plan_has_changes(), "a timeouts change alone is no diff");
    });
}

#[test]
fn namespace_changes_reach_the_cluster() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let config = |namespaces: &str| {
            format!(
                r#"{HEADER}
resource "genesis_cluster" "c" {{
  name                  = "c"
  regional_cluster      = false
  zone                  = "us-central1-a"
  kubernetes_namespaces = [{namespaces}]
}}
"#
            )
        };
        let ws = Workspace::new(tf, &[("main.tf", &config(r#""apps""#))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let namespace = |name: &str| {
            sim.state()["kube"][CLUSTER]["objects"]["objects"][format!("/namespaces//{name}")]
                .clone()
        };
        assert!(namespace("apps").is_object());

        ws.write("main.tf", &config(r#""apps", "jobs""#));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(
            namespace("jobs").is_object(),
            "an added namespace is created"
        );
        assert!(!ws.plan_has_changes());

        ws.write("main.tf", &config(r#""jobs""#));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let apps = namespace("apps");
        assert!(
            apps.is_null() || apps["status"]["phase"] == "Terminating",
            "a removed namespace goes: {apps:#}"
        );
        assert!(!ws.plan_has_changes());
    });
}

#[test]
fn updates_show_only_what_can_change() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let workload = |annotation: &str, env: &str| {
            format!(
                r#"{HEADER}
resource "genesis_cluster" "c" {{
  name             = "c"
  enable_autopilot = true
}}

resource "genesis_workload" "internal" {{
  cluster = genesis_cluster.c.id
  name    = "internal"
  image   = "nginx:1.27"
  env     = {{ MODE = "{env}" }}
  service = {{ ports = [{{ port = 80 }}], annotations = {{ note = "{annotation}" }} }}
}}

resource "genesis_workload" "public" {{
  cluster = genesis_cluster.c.id
  name    = "public"
  image   = "nginx:1.27"
  env     = {{ MODE = "{env}" }}
  service = {{ type = "LoadBalancer", ports = [{{ port = 80 }}] }}
}}

resource "genesis_workload" "worker" {{
  cluster = genesis_cluster.c.id
  name    = "worker"
  image   = "nginx:1.27"
  env     = {{ MODE = "{env}" }}
}}
"#
            )
        };
        let ws = Workspace::new(tf, &[("main.tf", &workload("a", "x"))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // Only the Service's annotation: the rollout stays as it was.
        ws.write("main.tf", &workload("b", "x"));
        let plan = ws.plan_json();
        let change = |address: &str| {
            plan["resource_changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["address"] == address)
                .map(|c| c["change"].clone())
                .unwrap_or_else(|| panic!("{address} not in the plan"))
        };
        let internal = change("genesis_workload.internal");
        assert_eq!(internal["actions"][0], "update");
        assert_eq!(internal["after"]["status"], "Available");
        assert!(internal["after"]["load_balancer_ip"].is_null());
        assert_ne!(internal["after_unknown"]["load_balancer_ip"], true);
        assert_ne!(internal["after_unknown"]["status"], true);
        ws.run(&["apply", "-input=false", "plan.tfplan"]).ok();

        // A new rollout: its outcome is unknown, a load balancer's address
        // is not, and a workload without one never shows one.
        ws.write("main.tf", &workload("b", "y"));
        let plan = ws.plan_json();
        let change = |address: &str| {
            plan["resource_changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["address"] == address)
                .map(|c| c["change"].clone())
                .unwrap()
        };
        let public = change("genesis_workload.public");
        assert_eq!(public["after_unknown"]["status"], true);
        assert!(
            public["after"]["load_balancer_ip"].is_string(),
            "{public:#}"
        );
        let worker = change("genesis_workload.worker");
        assert!(worker["after"]["load_balancer_ip"].is_null());
        assert_ne!(worker["after_unknown"]["load_balancer_ip"], true);
        ws.run(&["apply", "-input=false", "plan.tfplan"]).ok();
        assert!(!ws.plan_has_changes());
    });
}

/// Every resource of every example, applied, forgotten and imported again,
/// plans no change and the next apply writes nothing.
#[test]
fn every_example_imports_with_no_change() {
    each_terraform(|tf| {
        for example in [
            "basic-autopilot",
            "production-standard",
            "dev-zonal",
            "workloads",
            "data-tier",
            "gpu-inference",
            "quickstart",
        ] {
            let sim = Sim::start();
            let ws = Workspace::example(tf, example)
                .against(&sim)
                .with_env("TF_VAR_with_standard_cluster", "true");
            sim.create_accounts_named_in(&ws);
            // Only the provider's calls are counted from here.
            sim.running.sim.reset_requests();
            ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
            sim.assert_calls_name_the_provider();
            let resources = ws.reimport_all();
            assert!(resources.len() >= 2, "{example}: {resources:?}");
            let plan = ws.plan_json();
            let changed: Vec<_> = actions(&plan)
                .into_iter()
                .filter(|(_, a)| a != &["no-op".to_string()])
                .collect();
            assert!(
                changed.is_empty(),
                "{example}: imports plan no change: {changed:?} {:#?}",
                differences(&plan)
            );
            assert_eq!(sim.control("DELETE", "/_sim/requests", None), 204);
            ws.run(&["apply", "-input=false", "plan.tfplan"]).ok();
            let writes = writes(&sim);
            assert!(
                writes.is_empty(),
                "{example}: calls after import: {writes:?}"
            );
        }
    });
}
