//! Jobs and CronJobs applied by the real Terraform against genesis-sim: a
//! Job's run waited on (and run again when it changes, since Kubernetes
//! cannot change a Job), a failing run failing the apply with the Job's
//! reason and its pods', a CronJob's schedule checked at plan time and
//! changed in place.

use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, first_terraform};

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

fn config(migrate_image: &str, args: &str, schedule: &str) -> String {
    format!(
        r#"
{cluster}

resource "genesis_workload" "migrate" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "migrate"
  kind      = "Job"
  image     = "{migrate_image}"
  args      = [{args}]
  job       = {{ backoff_limit = 2, active_deadline_seconds = 600 }}
  timeouts {{
    create = "20s"
    update = "20s"
  }}
}}

resource "genesis_workload" "backup" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "backup"
  kind      = "CronJob"
  image     = "postgres:17.5"
  command   = ["/bin/sh", "-c", "pg_dump -h db -U app app > /backups/app.sql"]
  cron = {{
    schedule  = "{schedule}"
    time_zone = "Europe/Paris"
  }}
  volumes = {{
    backups = {{ claim_name = "backups", mount_path = "/backups" }}
  }}
}}
"#,
        cluster = crate::harness::apps_cluster(&["apps"])
    )
}

fn objects(sim: &Sim) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"].clone()
}

#[test]
fn jobs_run_to_completion_and_cron_jobs_keep_their_schedule() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(
            tf,
            &[(
                "main.tf",
                &config("busybox:1.37", r#""migrate", "up""#, "0 2 * * *"),
            )],
        )
        .against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let o = objects(&sim);
        let job = &o["batch/jobs/apps/migrate"];
        assert_eq!(job["spec"]["backoffLimit"], 2);
        assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
        let cron = &o["batch/cronjobs/apps/backup"];
        assert_eq!(cron["spec"]["schedule"], "0 2 * * *");
        assert_eq!(cron["spec"]["timeZone"], "Europe/Paris");
        assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
        let state = ws.run(&["show", "-json"]).ok().json();
        let status = |state: &Json, name: &str| {
            state["values"]["root_module"]["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .map(|r| r["values"]["status"].clone())
                .unwrap()
        };
        assert_eq!(
            status(&state, "migrate"),
            "Complete",
            "the apply waited for the run"
        );
        assert_eq!(status(&state, "backup"), "Available");
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("No changes."),
            "nothing to change after the run: {}",
            plan.stdout
        );

        // A changed Job runs again: Kubernetes cannot change a Job.
        let uid = |sim: &Sim| objects(sim)["batch/jobs/apps/migrate"]["metadata"]["uid"].clone();
        let first = uid(&sim);
        ws.write(
            "main.tf",
            &config("busybox:1.37", r#""migrate", "up", "--all""#, "30 3 * * *"),
        );
        ws.assert_plan_counts((0, 2, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_ne!(uid(&sim), first, "a new run");
        assert_eq!(
            objects(&sim)["batch/cronjobs/apps/backup"]["spec"]["schedule"],
            "30 3 * * *",
            "changed in place"
        );
        assert!(!ws.plan_has_changes());

        // A schedule that is not one is refused at plan time, with its path.
        ws.write(
            "main.tf",
            &config("busybox:1.37", r#""migrate", "up", "--all""#, "30 25 * * *"),
        );
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success());
        assert!(
            refused.stderr.contains("is not a valid hour")
                && refused.stderr.contains("cron.schedule"),
            "{}",
            refused.stderr
        );

        // A failing run fails the apply with the Job's reason and the pods'.
        ws.write(
            "main.tf",
            &config(
                "registry.example/migrate:broken",
                r#""migrate""#,
                "30 3 * * *",
            ),
        );
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(!run.status.success());
        let text = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains("Job failed")
                && text.contains("BackoffLimitExceeded")
                && text.contains("exited with code 1"),
            "{}",
            run.stderr
        );
        ws.write(
            "main.tf",
            &config("busybox:1.37", r#""migrate""#, "30 3 * * *"),
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}
