//! StatefulSets applied by the real Terraform against genesis-sim: a claim
//! per pod and volume, a headless Service naming the pods, rollouts waited
//! on, claims grown in place (never shrunk, never re-classed), and data
//! kept when the workload goes unless the configuration says otherwise.

use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, each_terraform, first_terraform};

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

fn config(image: &str, size: &str, class: &str, retention: &str) -> String {
    format!(
        r#"
{cluster}

resource "genesis_workload" "db" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "db"
  kind      = "StatefulSet"
  image     = "{image}"
  replicas  = 2
  ports     = [{{ name = "postgres", container_port = 5432 }}]
  volumes = {{
    data    = {{ size = "{size}", storage_class = "{class}", mount_path = "/var/lib/postgresql/data" }}
    scratch = {{ empty_dir = {{ size_limit = "1Gi" }}, mount_path = "/scratch" }}
  }}
  {retention}
  timeouts {{
    create = "20s"
    update = "20s"
  }}
}}
"#,
        cluster = crate::harness::apps_cluster(&["apps"])
    )
}

fn objects(sim: &Sim) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"].clone()
}

fn claim_size(sim: &Sim, ordinal: u32) -> Json {
    objects(sim)[format!("/persistentvolumeclaims/apps/data-db-{ordinal}")]["spec"]["resources"]
        ["requests"]["storage"]
        .clone()
}

#[test]
fn stateful_sets_keep_their_data() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(
            tf,
            &[(
                "main.tf",
                &config("postgres:17.5", "1Gi", "standard-rwo", ""),
            )],
        )
        .against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let o = objects(&sim);
        let set = &o["apps/statefulsets/apps/db"];
        assert_eq!(set["spec"]["serviceName"], "db");
        assert_eq!(set["status"]["readyReplicas"], 2, "the apply waited: {set}");
        assert_eq!(
            o["/services/apps/db"]["spec"]["clusterIP"], "None",
            "headless"
        );
        for ordinal in [0, 1] {
            assert!(o[format!("/pods/apps/db-{ordinal}")].is_object());
            assert_eq!(claim_size(&sim, ordinal), "1Gi");
        }
        assert!(!ws.plan_has_changes(), "nothing to change after the apply");

        // A new image rolls out through both pods, in place.
        ws.write(
            "main.tf",
            &config("postgres:17.6", "1Gi", "standard-rwo", ""),
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let set = &objects(&sim)["apps/statefulsets/apps/db"];
        assert_eq!(
            set["status"]["currentRevision"],
            set["status"]["updateRevision"]
        );
        assert!(!ws.plan_has_changes());

        // Claims grow in place: the live claims expand, no replacement.
        let uid = |sim: &Sim| objects(sim)["apps/statefulsets/apps/db"]["metadata"]["uid"].clone();
        let before = uid(&sim);
        ws.write(
            "main.tf",
            &config("postgres:17.6", "2Gi", "standard-rwo", ""),
        );
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        for ordinal in [0, 1] {
            assert_eq!(claim_size(&sim, ordinal), "2Gi", "claim {ordinal} grew");
        }
        let o = objects(&sim);
        assert_ne!(
            uid(&sim),
            before,
            "the StatefulSet was made again over its pods"
        );
        assert_eq!(
            o["apps/statefulsets/apps/db"]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]
                ["requests"]["storage"],
            "2Gi"
        );
        assert!(!ws.plan_has_changes());

        // Scaling in keeps the removed pod's claim, and the plan says so.
        let grown = config("postgres:17.6", "2Gi", "standard-rwo", "");
        ws.write("main.tf", &grown.replace("replicas  = 2", "replicas  = 1"));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        let said = format!("{}{}", plan.stdout, plan.stderr);
        assert!(
            said.contains("Volume claims are kept") && said.contains("removes pods 1"),
            "{said}"
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let o = objects(&sim);
        assert!(o["/pods/apps/db-1"].is_null(), "scaled in");
        assert_eq!(claim_size(&sim, 1), "2Gi", "its claim stays");
        ws.write("main.tf", &grown);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // Shrinking and re-classing are refused before anything happens.
        for (size, class, why) in [
            ("1Gi", "standard-rwo", "Volume claims cannot shrink"),
            (
                "2Gi",
                "premium-rwo",
                "Claims keep their class and access modes",
            ),
        ] {
            ws.write("main.tf", &config("postgres:17.6", size, class, ""));
            let refused = ws.run(&["plan", "-input=false", "-no-color"]);
            assert!(!refused.status.success());
            assert!(refused.stderr.contains(why), "{}", refused.stderr);
        }

        // Destroying keeps the claims, and the plan says so.
        ws.write(
            "main.tf",
            &config("postgres:17.6", "2Gi", "standard-rwo", ""),
        );
        let plan = ws
            .run(&["plan", "-destroy", "-input=false", "-no-color"])
            .ok();
        let said = format!("{}{}", plan.stdout, plan.stderr);
        assert!(said.contains("Volume claims are kept"), "{said}");
        ws.run(&[
            "destroy",
            "-target=genesis_workload.db",
            "-input=false",
            "-auto-approve",
        ])
        .ok();
        let o = objects(&sim);
        assert!(o["apps/statefulsets/apps/db"].is_null());
        assert_eq!(claim_size(&sim, 0), "2Gi", "the data is still there");

        // Made again, the workload finds its claims; told to, it deletes
        // them with itself.
        let delete = r#"volume_retention = { when_deleted = "Delete" }"#;
        ws.write(
            "main.tf",
            &config("postgres:17.6", "2Gi", "standard-rwo", delete),
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());
        ws.run(&[
            "destroy",
            "-target=genesis_workload.db",
            "-input=false",
            "-auto-approve",
        ])
        .ok();
        assert!(
            objects(&sim)["/persistentvolumeclaims/apps/data-db-0"].is_null(),
            "deleted as asked"
        );
    });
}

fn classes_config(classes: &str, size: &str, class: &str) -> String {
    let cluster = crate::harness::apps_cluster(&["apps"]).replace(
        "kubernetes_namespaces = [\"apps\"]\n",
        &format!(
            "kubernetes_namespaces = [\"apps\"]\n  storage_classes = {{\n    {classes}\n  }}\n"
        ),
    );
    assert!(cluster.contains("storage_classes"), "classes spliced in");
    format!(
        r#"
{cluster}
resource "genesis_workload" "db" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "db"
  kind      = "StatefulSet"
  image     = "postgres:17.6"
  replicas  = 1
  volumes = {{
    data = {{ size = "{size}", storage_class = "{class}", mount_path = "/var/lib/postgresql/data" }}
  }}
  timeouts {{
    create = "8s"
    update = "20s"
  }}
}}
"#
    )
}

fn class(sim: &Sim, name: &str) -> Json {
    objects(sim)[format!("storage.k8s.io/storageclasses//{name}")].clone()
}

/// The cluster's StorageClasses are made with it, before the workloads
/// that claim from them; a class Kubernetes cannot change is made again
/// without touching the cluster; a claim grows only where its class allows
/// it (refused at plan time otherwise); the cloud's own classes are never
/// taken over.
#[test]
fn storage_classes_come_with_the_cluster() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let fixed = r#"fast-ssd = { type = "pd-ssd", allow_expansion = false }"#;
        let ws = Workspace::new(
            tf,
            &[("main.tf", &classes_config(fixed, "1Gi", "fast-ssd"))],
        )
        .against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let fast = class(&sim, "fast-ssd");
        assert_eq!(fast["provisioner"], "pd.csi.storage.gke.io");
        assert_eq!(fast["parameters"]["type"], "pd-ssd");
        assert_eq!(fast["volumeBindingMode"], "WaitForFirstConsumer");
        assert_eq!(fast["allowVolumeExpansion"], false);
        assert_eq!(
            objects(&sim)["/persistentvolumeclaims/apps/data-db-0"]["status"]["phase"],
            "Bound"
        );
        assert!(!ws.plan_has_changes(), "nothing to change after the apply");

        // The class does not let claims grow: refused before anything runs.
        ws.write("main.tf", &classes_config(fixed, "2Gi", "fast-ssd"));
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success());
        assert!(
            refused
                .stderr
                .contains("StorageClass does not allow expansion"),
            "{}",
            refused.stderr
        );

        // Allowed in place (same class object), then the claim grows.
        let growing = r#"fast-ssd = { type = "pd-ssd" }"#;
        ws.write("main.tf", &classes_config(growing, "1Gi", "fast-ssd"));
        let uid = class(&sim, "fast-ssd")["metadata"]["uid"].clone();
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(class(&sim, "fast-ssd")["metadata"]["uid"], uid, "in place");
        assert_eq!(class(&sim, "fast-ssd")["allowVolumeExpansion"], true);
        ws.write("main.tf", &classes_config(growing, "2Gi", "fast-ssd"));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(claim_size(&sim, 0), "2Gi");

        // A new disk type makes the class again, never the cluster.
        let balanced = r#"fast-ssd = { type = "pd-balanced", reclaim_policy = "Retain" }"#;
        ws.write("main.tf", &classes_config(balanced, "2Gi", "fast-ssd"));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        let said = format!("{}{}", plan.stdout, plan.stderr);
        assert!(
            said.contains("0 to add, 1 to change, 0 to destroy")
                && said.contains("StorageClass made again"),
            "{said}"
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let fast = class(&sim, "fast-ssd");
        assert_ne!(fast["metadata"]["uid"], uid, "made again");
        assert_eq!(fast["parameters"]["type"], "pd-balanced");
        assert_eq!(fast["reclaimPolicy"], "Retain");
        assert_eq!(claim_size(&sim, 0), "2Gi", "the claim is untouched");
        assert!(!ws.plan_has_changes());

        // GKE's own class is not Genesis' to change.
        let foreign = format!("{balanced}\n    standard-rwo = {{ type = \"pd-ssd\" }}");
        ws.write("main.tf", &classes_config(&foreign, "2Gi", "fast-ssd"));
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!refused.status.success());
        assert!(
            refused
                .stderr
                .replace('\n', " ")
                .contains("Genesis did not make it"),
            "{}",
            refused.stderr
        );
        assert_eq!(
            class(&sim, "standard-rwo")["parameters"]["type"],
            "pd-balanced",
            "left as GKE made it"
        );

        // A claim naming a class the cluster lacks would never bind: the
        // plan says so, with the classes there are, and makes nothing.
        ws.write("main.tf", &classes_config(balanced, "2Gi", "fast-ssd"));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let missing = classes_config(balanced, "1Gi", "no-such-class")
            .replace("name      = \"db\"", "name      = \"cache\"")
            .replace(
                "\"genesis_workload\" \"db\"",
                "\"genesis_workload\" \"cache\"",
            );
        ws.write("main.tf", &missing);
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        refused.refused_saying(&[
            "No such StorageClass in the cluster",
            r#"storage_class = "no-such-class""#,
            "it has fast-ssd, premium-rwo, standard, standard-rwo",
        ]);
        let objects = sim.state()["kube"][CLUSTER]["objects"]["objects"].clone();
        assert!(
            objects["apps/statefulsets/apps/cache"].is_null(),
            "nothing made"
        );

        // Classes left out of the configuration go; the cloud's stay.
        ws.write("main.tf", &missing.replace(balanced, ""));
        ws.run(&[
            "apply",
            "-input=false",
            "-auto-approve",
            "-target=genesis_cluster.main",
        ])
        .ok();
        assert!(class(&sim, "fast-ssd").is_null());
        assert!(class(&sim, "standard-rwo").is_object());
    });
}

fn shared_config(size: &str, retention: &str) -> String {
    format!(
        r#"
{cluster}

resource "genesis_workload" "backup" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "backup"
  kind      = "CronJob"
  image     = "postgres:17.5"
  command   = ["/bin/sh", "-c", "pg_dump -h db -U app app > /backups/app.sql"]
  cron      = {{ schedule = "0 3 * * *" }}
  volumes = {{
    dumps = {{ size = "{size}", storage_class = "standard-rwo", mount_path = "/backups" }}
  }}
  {retention}
}}

resource "genesis_workload" "cache" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "cache"
  image     = "redis:8.0"
  volumes = {{
    data = {{ size = "1Gi", storage_class = "standard", mount_path = "/data" }}
  }}
  timeouts {{
    create = "20s"
  }}
}}
"#,
        cluster = crate::harness::apps_cluster(&["apps"])
    )
}

/// A sized volume on a CronJob or a Deployment is a claim all its pods
/// share: made beside the workload, grown in place, kept (with a warning)
/// when the workload goes and taken back by the next one of its name,
/// deleted only when told.
#[test]
fn shared_claims_outlive_their_workloads() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &shared_config("1Gi", ""))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let claim =
            |name: &str| objects(&sim)[format!("/persistentvolumeclaims/apps/{name}")].clone();
        let dumps = claim("backup-dumps");
        assert_eq!(dumps["spec"]["resources"]["requests"]["storage"], "1Gi");
        assert_eq!(
            dumps["metadata"]["labels"]["genesis-platform.dev/volume"],
            "dumps"
        );
        assert_eq!(
            dumps["status"]["phase"], "Pending",
            "a WaitForFirstConsumer claim waits for the first run: {dumps}"
        );
        let o = objects(&sim);
        let pod =
            &o["batch/cronjobs/apps/backup"]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let mounted = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "dumps");
        assert_eq!(
            mounted.unwrap()["persistentVolumeClaim"]["claimName"],
            "backup-dumps",
            "{pod}"
        );
        // Immediate binding: bound before the Deployment's pod is placed.
        assert_eq!(claim("cache-data")["status"]["phase"], "Bound");
        assert_eq!(
            o["apps/deployments/apps/cache"]["status"]["readyReplicas"],
            1
        );
        assert!(!ws.plan_has_changes(), "nothing to change after the apply");

        // Growing the claim, not bound yet, makes it again at its new size.
        ws.write("main.tf", &shared_config("2Gi", ""));
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            claim("backup-dumps")["spec"]["resources"]["requests"]["storage"],
            "2Gi"
        );
        ws.write("main.tf", &shared_config("1Gi", ""));
        let shrink = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(
            shrink.stderr.contains("Volume claims cannot shrink"),
            "{}",
            shrink.stderr
        );
        ws.write("main.tf", &shared_config("2Gi", ""));

        // At 03:00 the next night, in the simulator's time, the CronJob
        // starts its first run, whose pod is the claim's first consumer:
        // the claim binds, the run completes, and nothing shows in a plan.
        sim.control(
            "POST",
            "/_sim/clock",
            Some(serde_json::json!({"seconds": 86_400})),
        );
        let run = (0..100)
            .find_map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let o = objects(&sim);
                let jobs = o.as_object().unwrap();
                jobs.iter()
                    .find(|(k, j)| {
                        k.starts_with("batch/jobs/apps/backup-") && j["status"]["succeeded"] == 1
                    })
                    .map(|(_, j)| j.clone())
            })
            .expect("a completed run of the CronJob");
        assert_eq!(run["metadata"]["ownerReferences"][0]["kind"], "CronJob");
        let cron = &objects(&sim)["batch/cronjobs/apps/backup"];
        assert!(
            cron["status"]["lastScheduleTime"]
                .as_str()
                .is_some_and(|t| t.ends_with("T03:00:00Z")),
            "{cron}"
        );
        assert_eq!(claim("backup-dumps")["status"]["phase"], "Bound");
        assert!(
            !ws.plan_has_changes(),
            "a run changes nothing Terraform manages"
        );

        // Imported, the claim reads back as the volume it is.
        ws.reimport_all();
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("No changes"),
            "an import plans no change: {}",
            plan.stdout
        );

        // Destroyed, the workload leaves its data, and the plan says so.
        let plan = ws
            .run(&["plan", "-destroy", "-input=false", "-no-color"])
            .ok();
        let said = format!("{}{}", plan.stdout, plan.stderr);
        assert!(
            said.contains("Volume claims are kept") && said.contains("backup-dumps"),
            "{said}"
        );
        let destroy = [
            "destroy",
            "-target=genesis_workload.backup",
            "-input=false",
            "-auto-approve",
        ];
        ws.run(&destroy).ok();
        assert!(objects(&sim)["batch/cronjobs/apps/backup"].is_null());
        let uid = claim("backup-dumps")["metadata"]["uid"].clone();
        assert!(uid.is_string(), "the data is still there");

        // Made again, the workload takes its claim back; told to, it
        // deletes it with itself.
        let delete = r#"volume_retention = { when_deleted = "Delete" }"#;
        ws.write("main.tf", &shared_config("2Gi", delete));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            claim("backup-dumps")["metadata"]["uid"],
            uid,
            "the same claim"
        );
        assert!(!ws.plan_has_changes());
        ws.run(&destroy).ok();
        assert!(claim("backup-dumps").is_null(), "deleted as asked");
    });
}

/// The seeds' data tier itself (`examples/data-tier`): made from empty
/// state with its cluster in one apply, grown in place, never shrunk, its
/// claims kept when the workloads go and taken back by the next ones, and
/// deleted only by a configuration that says so.
#[test]
fn the_data_tier_keeps_its_data() {
    const CLUSTER: &str =
        "projects/genesis-project-dev/locations/us-central1/clusters/genesis-data";
    const STATEFUL: [&str; 4] = ["postgres", "backup", "redis", "rabbitmq"];
    const CLAIMS: [&str; 6] = [
        "data-postgres-0",
        "postgres-backup-backups",
        "data-redis-0",
        "data-rabbitmq-0",
        "data-rabbitmq-1",
        "data-rabbitmq-2",
    ];
    first_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::example(tf, "data-tier").against(&sim);
        let example = std::fs::read_to_string(ws.dir.path().join("main.tf")).unwrap();
        let claim = |name: &str| {
            sim.state()["kube"][CLUSTER]["objects"]["objects"]
                [format!("/persistentvolumeclaims/data/{name}")]
            .clone()
        };
        let size = |name: &str| claim(name)["spec"]["resources"]["requests"]["storage"].clone();
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(
            !ws.plan_has_changes(),
            "the example plans empty once applied"
        );
        assert_eq!(size("data-postgres-0"), "100Gi");
        assert_eq!(claim("data-postgres-0")["status"]["phase"], "Bound");
        assert_eq!(size("postgres-backup-backups"), "500Gi");
        let uid = claim("data-postgres-0")["metadata"]["uid"].clone();

        // PostgreSQL's volume grows in place: its claim is expanded.
        let grown = example.replace(r#"size = "100Gi""#, r#"size = "200Gi""#);
        ws.write("main.tf", &grown);
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(size("data-postgres-0"), "200Gi");
        assert_eq!(
            claim("data-postgres-0")["metadata"]["uid"],
            uid,
            "the same claim"
        );
        assert!(!ws.plan_has_changes());

        // An image changed behind Terraform's back shows as drift, and the
        // apply puts it back.
        let set = "apps/statefulsets/data/postgres";
        let live = sim.state()["kube"][CLUSTER]["objects"]["objects"][set].clone();
        let mut containers = live["spec"]["template"]["spec"]["containers"].clone();
        containers[0]["image"] = "postgres:16.9".into();
        let path = "/apis/apps/v1/namespaces/data/statefulsets/postgres";
        let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": containers}}}});
        sim.patch_kube(CLUSTER, path, patch);
        let plan = ws.plan_json();
        let change = plan["resource_changes"]
            .as_array()
            .and_then(|c| {
                c.iter()
                    .find(|c| c["address"] == "genesis_workload.postgres")
            })
            .map(|c| c["change"].clone())
            .expect("the StatefulSet's workload is in the plan");
        assert_eq!(change["actions"][0], "update", "{change}");
        assert_eq!(change["before"]["image"], "postgres:16.9");
        assert_eq!(change["after"]["image"], "postgres:17.5");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let live = sim.state()["kube"][CLUSTER]["objects"]["objects"][set].clone();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["image"],
            "postgres:17.5"
        );
        assert!(!ws.plan_has_changes());

        // It never shrinks: refused at plan time, with the attribute.
        ws.write(
            "main.tf",
            &example.replace(r#"size = "100Gi""#, r#"size = "50Gi""#),
        );
        let shrink = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(
            !shrink.status.success()
                && shrink.stderr.contains("Volume claims cannot shrink")
                && shrink.stderr.contains("genesis_workload.postgres"),
            "{}",
            shrink.stderr
        );

        // Destroying the workloads keeps every claim, and the plan says so.
        ws.write("main.tf", &grown);
        let targets: Vec<String> = STATEFUL
            .iter()
            .map(|w| format!("-target=genesis_workload.{w}"))
            .collect();
        let destroy = |ws: &Workspace| {
            let mut args = vec!["destroy", "-input=false", "-auto-approve", "-no-color"];
            args.extend(targets.iter().map(String::as_str));
            ws.run(&args).ok()
        };
        let run = destroy(&ws);
        let said = format!("{}{}", run.stdout, run.stderr);
        // Terraform folds the other workloads' warnings into "3 more".
        assert!(
            said.contains("Volume claims are kept") && said.contains("data-postgres-N"),
            "{said}"
        );
        let objects = sim.state()["kube"][CLUSTER]["objects"]["objects"].clone();
        for set in ["postgres", "redis", "rabbitmq"] {
            assert!(objects[format!("apps/statefulsets/data/{set}")].is_null());
        }
        assert!(objects["batch/cronjobs/data/postgres-backup"].is_null());
        for name in CLAIMS {
            assert!(claim(name)["metadata"]["uid"].is_string(), "{name} kept");
        }

        // A configuration that deletes them: the workloads come back on
        // their own claims, and go with them.
        let mut deleting = grown.clone();
        for kind in ["StatefulSet", "CronJob"] {
            deleting = deleting.replace(
                &format!("kind      = \"{kind}\"\n"),
                &format!(
                    "kind      = \"{kind}\"\n  volume_retention = {{ when_deleted = \"Delete\" }}\n"
                ),
            );
        }
        assert_eq!(deleting.matches("when_deleted").count(), 4, "{deleting}");
        ws.write("main.tf", &deleting);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(claim("data-postgres-0")["metadata"]["uid"], uid, "its data");
        assert!(!ws.plan_has_changes());
        destroy(&ws);
        for name in CLAIMS {
            assert!(claim(name).is_null(), "{name} deleted as configured");
        }
    });
}
