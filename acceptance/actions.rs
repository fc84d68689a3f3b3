//! The `genesis_workload_run` action (Terraform 1.14+) runs a CronJob
//! workload's job now, invoked with `terraform apply -invoke`: checked at
//! plan time (a name that is no CronJob is refused there), progress shown
//! while it runs, a Job owned by the CronJob left in the cluster, and the
//! next plan empty.
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
