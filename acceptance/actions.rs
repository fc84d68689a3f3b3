//! The workload actions (Terraform 1.14+), invoked with `terraform apply
//! -invoke`: `genesis_workload_run` runs a CronJob workload's job now (a
//! Job owned by the CronJob left in the cluster), `genesis_workload_restart`
//! rolls a workload's pods; each checked at plan time (a name that is not
//! what the action acts on is refused there), progress shown while it
//! runs, and the next plan empty.
//!
//! On the clients that have actions (Terraform 1.15 here; Terraform 1.11
//! and OpenTofu have none).

use crate::harness::{Sim, Workspace, apps_cluster, each_terraform_1_14};

fn config(target: &str) -> String {
    format!(
        r#"{cluster}
resource "genesis_workload" "report" {{
  cluster   = genesis_cluster.main.id
  namespace = "shop"
  name      = "report"
  kind      = "CronJob"
  image     = "busybox:1.36"
  cron = {{
    schedule = "0 3 * * *"
  }}
}}

action "genesis_workload_run" "report" {{
  config {{
    cluster   = genesis_cluster.main.id
    namespace = "shop"
    name      = "{target}"
  }}
}}
"#,
        cluster = apps_cluster(&["shop"])
    )
}

#[test]
fn a_cron_jobs_job_is_run_now_by_an_action() {
    each_terraform_1_14(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &config("report"))]).against(&sim);
        ws.apply_settles();

        let invoked = ws
            .run(&[
                "apply",
                "-input=false",
                "-auto-approve",
                "-no-color",
                "-invoke=action.genesis_workload_run.report",
            ])
            .ok();
        assert!(
            invoked.stdout.contains("started Job shop/report-manual-"),
            "{}",
            invoked.stdout
        );
        assert!(invoked.stdout.contains("succeeded"), "{}", invoked.stdout);
        let objects = sim.state()["kube"]["projects/p/locations/us-central1/clusters/apps"]["objects"]["objects"].clone();
        let job = objects
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.starts_with("batch/jobs/shop/report-manual-"))
            .map(|(_, v)| v.clone())
            .expect("the Job the action made");
        assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
        assert_eq!(
            job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
            "manual"
        );
        assert!(
            !ws.plan_has_changes(),
            "the workload's state did not change"
        );

        // A name that is no CronJob is refused when the action is planned.
        ws.write("main.tf", &config("nothing"));
        ws.run(&[
            "plan",
            "-input=false",
            "-no-color",
            "-invoke=action.genesis_workload_run.report",
        ])
        .refused_saying(&["No such CronJob", "shop/nothing"]);
    });
}

fn restart_config(target: &str) -> String {
    format!(
        r#"{cluster}
resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.main.id
  namespace = "shop"
  name      = "api"
  image     = "nginx:1.27"
  replicas  = 2
}}

action "genesis_workload_restart" "api" {{
  config {{
    cluster   = genesis_cluster.main.id
    namespace = "shop"
    name      = "{target}"
  }}
}}
"#,
        cluster = apps_cluster(&["shop"])
    )
}

/// `genesis_workload_restart` rolls a Deployment's pods as `kubectl
/// rollout restart` does, waits for the rollout, and leaves the workload's
/// state as it was; a name that is no Deployment or StatefulSet is refused
/// at plan time.
#[test]
fn a_workloads_pods_are_restarted_by_an_action() {
    each_terraform_1_14(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &restart_config("api"))]).against(&sim);
        ws.apply_settles();
        let deployment = || {
            sim.state()["kube"]["projects/p/locations/us-central1/clusters/apps"]["objects"]
                ["objects"]["apps/deployments/shop/api"]
                .clone()
        };
        let before = deployment();

        let invoked = ws
            .run(&[
                "apply",
                "-input=false",
                "-auto-approve",
                "-no-color",
                "-invoke=action.genesis_workload_restart.api",
            ])
            .ok();
        assert!(
            invoked.stdout.contains("restarting Deployment shop/api"),
            "{}",
            invoked.stdout
        );
        assert!(invoked.stdout.contains("restarted"), "{}", invoked.stdout);
        let after = deployment();
        let annotations = &after["spec"]["template"]["metadata"]["annotations"];
        assert!(
            annotations["kubectl.kubernetes.io/restartedAt"].is_string(),
            "{annotations}"
        );
        assert_ne!(
            after["metadata"]["generation"], before["metadata"]["generation"],
            "a new rollout"
        );
        assert!(
            !ws.plan_has_changes(),
            "the workload's state did not change"
        );
        // Genesis's next apply leaves the restart's annotation alone.
        ws.apply_settles();
        assert_eq!(
            deployment()["spec"]["template"]["metadata"]["annotations"],
            *annotations
        );

        ws.write("main.tf", &restart_config("nothing"));
        ws.run(&[
            "plan",
            "-input=false",
            "-no-color",
            "-invoke=action.genesis_workload_restart.api",
        ])
        .refused_saying(&["No workload to restart", "shop/nothing"]);
    });
}
