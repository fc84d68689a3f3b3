//! A renamed `for_each` key (issue 29): without a `moved` block Terraform
//! plans a destroy of the old address and a create of the new one, and runs
//! them at once on the same objects (here a workload's Kubernetes objects
//! and a repository). Creates and deletes of one name take turns in the
//! provider (`framework::turns`): a create that goes first adopts objects
//! of its own origin, and the delete keeps what was created in this apply;
//! a delete that goes first finishes before the create makes the objects
//! anew. A workload's objects also carry its claim, so a delete never
//! removes objects another instance holds. Whatever the order, the
//! platform keeps running under the new address (before, the workload was
//! deleted while the apply reported success). With `moved`, nothing is
//! touched at all.

use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, each_terraform};

const CLUSTER: &str = "projects/p1/locations/us-central1/clusters/c";

fn config(wait_for_rollout: bool, moved: &str) -> String {
    format!(
        r#"{preamble}
variable "key" {{
  default = "alpha"
}}

resource "genesis_cluster" "a" {{
  name                  = "c"
  enable_autopilot      = true
  kubernetes_namespaces = ["apps"]
}}

resource "genesis_registry" "images" {{
  for_each = {{ (var.key) = "images" }}
  name     = each.value
}}

resource "genesis_workload" "fe" {{
  for_each         = {{ (var.key) = "svc-a" }}
  cluster          = genesis_cluster.a.id
  namespace        = "apps"
  name             = each.value
  image            = "nginx:1.0"
  service          = {{ ports = [{{ port = 80 }}] }}
  wait_for_rollout = {wait_for_rollout}
}}
{moved}
"#,
        preamble = crate::harness::GKE_PREAMBLE
    )
}

/// The workload's objects in the simulated cluster, by key, with their uid.
fn objects(sim: &Sim) -> Vec<(String, Json)> {
    let state = sim.state();
    [
        "apps/deployments/apps/svc-a",
        "/services/apps/svc-a",
        "/serviceaccounts/apps/svc-a",
    ]
    .iter()
    .map(|key| {
        let object = &state["kube"][CLUSTER]["objects"]["objects"][*key];
        (key.to_string(), object["metadata"]["uid"].clone())
    })
    .collect()
}

fn assert_running(sim: &Sim, after: &str) {
    for (key, uid) in objects(sim) {
        assert!(uid.is_string(), "{after}: {key} is gone");
    }
    assert!(
        sim.state()["artifact_registry"]["repositories"]
            ["projects/p1/locations/us-central1/repositories/images"]
            .is_object(),
        "{after}: the repository is gone"
    );
}

#[test]
fn a_renamed_key_moves_the_workload_and_never_deletes_it() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(false, ""))]).against(&sim);
        let apply = |args: &[&str]| {
            let mut all = vec!["apply", "-input=false", "-auto-approve", "-no-color"];
            all.extend_from_slice(args);
            let run = ws.run(&all).assert_no_crash();
            assert!(run.status.success(), "{all:?}:\n{}", run.stderr);
            run
        };
        apply(&[]);
        assert_running(&sim, "the first apply");
        // Renamed back and forth, waiting for the rollout or not: each time
        // Terraform deletes one address and creates the other at once.
        for (round, (key, waits)) in [("beta", false), ("alpha", true), ("beta", true)]
            .into_iter()
            .enumerate()
        {
            ws.write("main.tf", &config(waits, ""));
            let run = apply(&["-var", &format!("key={key}")]);
            assert!(
                run.stdout.contains("2 added") && run.stdout.contains("2 destroyed"),
                "round {round}: {}",
                run.stdout
            );
            assert_running(&sim, &format!("renaming to {key}"));
            let listed = ws.run(&["state", "list"]).ok().stdout;
            assert!(
                listed.contains(&format!("genesis_workload.fe[\"{key}\"]")),
                "{listed}"
            );
            let plan = ws.run(&[
                "plan",
                "-input=false",
                "-detailed-exitcode",
                "-var",
                &format!("key={key}"),
            ]);
            assert_eq!(plan.status.code(), Some(0), "converged:\n{}", plan.stdout);
        }
        // With `moved`, the rename is a move in the plan and touches nothing.
        let before = objects(&sim);
        let moved = r#"
moved {
  from = genesis_workload.fe["beta"]
  to   = genesis_workload.fe["gamma"]
}
moved {
  from = genesis_registry.images["beta"]
  to   = genesis_registry.images["gamma"]
}
"#;
        ws.write("main.tf", &config(true, moved));
        let run = apply(&["-var", "key=gamma"]);
        assert!(
            run.stdout.contains("0 added, 0 changed, 0 destroyed"),
            "{}",
            run.stdout
        );
        assert_eq!(objects(&sim), before, "the same objects");
        ws.run(&[
            "destroy",
            "-input=false",
            "-auto-approve",
            "-var",
            "key=gamma",
        ])
        .ok();
        for (key, uid) in objects(&sim) {
            assert!(uid.is_null(), "{key} left after destroy");
        }
        assert!(
            sim.state()["artifact_registry"]["repositories"]
                .as_object()
                .is_none_or(|r| r.is_empty())
        );
    });
}
