//! genesis_cluster on GKE, applied by the real Terraform against
//! genesis-sim: create, no-op plan, in-place update, replacement, import,
//! drift, deletion protection and destroy.

use crate::harness::{Sim, Workspace, each_terraform, first_terraform};

fn config(description: &str, channel: &str, labels: &str, protect: bool) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_cluster" "prod" {{
  project_id  = "genesis-project-prod"
  region      = "us-central1"
  environment = "prod"
  name        = "genesis-prod"
  description = "{description}"

  release_channel        = "{channel}"
  master_ipv4_cidr_block = "172.16.0.0/28"
  monitoring_components  = ["SYSTEM_COMPONENTS", "APISERVER"]
  labels                 = {{ {labels} }}
  deletion_protection    = {protect}

  kubernetes_namespaces = ["genesis-agents"]

  namespace {{
    name               = "claude-talk"
    pod_security_level = "restricted"
    quota              = {{ requests_cpu = "4000m", requests_memory = "16Gi", pods = 50 }}
    limit_range        = {{ default_request_cpu = "250m", default_limit_memory = "1Gi" }}
  }}
}}
"#
    )
}

const ID: &str = "projects/genesis-project-prod/locations/us-central1/clusters/genesis-prod";

#[test]
fn cluster_lifecycle_against_the_simulator() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(
            tf,
            &[(
                "main.tf",
                &config("Production", "STABLE", "team = \"platform\"", true),
            )],
        )
        .against(&sim);

        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let cluster = &sim.state()["gke"]["clusters"][ID];
        assert_eq!(cluster["status"], "RUNNING");
        assert_eq!(cluster["resourceLabels"]["genesis-environment"], "prod");
        assert_eq!(
            cluster["privateClusterConfig"]["masterIpv4CidrBlock"],
            "172.16.0.0/28"
        );
        assert!(
            cluster["nodePools"].as_array().is_none_or(|p| p.is_empty()),
            "the bootstrap pool is gone: {cluster:#}"
        );
        assert!(!ws.plan_has_changes(), "a second plan shows no changes");

        // In place: labels and release channel.
        ws.write(
            "main.tf",
            &config(
                "Production",
                "REGULAR",
                "team = \"platform\", tier = \"gold\"",
                true,
            ),
        );
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("1 to change, 0 to destroy"),
            "{}",
            plan.stdout
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let cluster = &sim.state()["gke"]["clusters"][ID];
        assert_eq!(cluster["releaseChannel"]["channel"], "REGULAR");
        assert_eq!(cluster["resourceLabels"]["tier"], "gold");
        assert!(!ws.plan_has_changes());

        // Drift: a label changed behind Terraform's back shows in the plan.
        assert_eq!(
            sim.control(
                "PATCH",
                &format!("/_sim/objects?name={ID}"),
                Some(serde_json::json!({"resourceLabels": {"tier": "bronze"}}))
            ),
            200
        );
        assert!(ws.plan_has_changes(), "drift is detected");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());

        // Import matches the configuration.
        ws.run(&["state", "rm", "genesis_cluster.prod"]).ok();
        ws.run(&[
            "import",
            "-input=false",
            "genesis_cluster.prod",
            "genesis-project-prod/us-central1/genesis-prod",
        ])
        .ok();
        assert!(
            !ws.plan_has_changes(),
            "an imported cluster plans no change"
        );

        // Deletion protection stops destroy before any API call.
        let destroy = ws
            .run(&["destroy", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(!destroy.status.success());
        assert!(
            destroy.stderr.contains("deletion_protection = false"),
            "{}",
            destroy.stderr
        );
        assert_eq!(sim.state()["gke"]["clusters"][ID]["status"], "RUNNING");

        // Protection is lifted by an apply of its own (a replacement in the
        // same plan would still see the protected cluster and be refused).
        ws.write(
            "main.tf",
            &config(
                "Production",
                "REGULAR",
                "team = \"platform\", tier = \"gold\"",
                false,
            ),
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // A change that needs a new cluster plans a replacement.
        ws.write(
            "main.tf",
            &config(
                "Replaced",
                "REGULAR",
                "team = \"platform\", tier = \"gold\"",
                false,
            ),
        );
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["gke"]["clusters"][ID]["description"],
            "Replaced"
        );

        // Deleted behind Terraform's back: the next plan creates it again.
        assert_eq!(
            sim.control("DELETE", &format!("/_sim/objects?name={ID}"), None),
            204
        );
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);

        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["gke"]["clusters"],
            serde_json::json!({}),
            "destroy leaves nothing behind"
        );
    });
}

/// `service_mesh = "istio"` labels the namespaces Genesis makes for sidecar
/// injection, in place (the cluster is never replaced for it), reads back
/// from the labels (an import plans no change, a label removed behind
/// Terraform's back shows); a `service_mesh_revision` swaps the label for
/// the revision's, and going without the mesh removes the label.
#[test]
fn the_service_mesh_labels_the_namespaces() {
    const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";
    first_terraform(|tf| {
        let sim = Sim::start();
        let plain = crate::harness::apps_cluster(&["apps", "jobs"]);
        let meshed = plain.replace(
            "kubernetes_namespaces",
            "service_mesh          = \"istio\"\n  kubernetes_namespaces",
        );
        assert_ne!(plain, meshed);
        let revised = meshed.replace(
            "kubernetes_namespaces",
            "service_mesh_revision = \"asm-managed\"\n  kubernetes_namespaces",
        );
        let labels = |ns: &str| {
            sim.state()["kube"][CLUSTER]["objects"]["objects"][format!("/namespaces//{ns}")]
                ["metadata"]["labels"]
                .clone()
        };
        let label = |ns: &str| labels(ns)["istio-injection"].clone();
        let ws = Workspace::new(tf, &[("main.tf", &meshed)]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(label("apps"), "enabled");
        assert_eq!(label("jobs"), "enabled");
        assert!(!ws.plan_has_changes(), "the label is Genesis's own");
        ws.reimport_all();
        assert!(!ws.plan_has_changes(), "an import reads the mesh back");

        // Removed behind Terraform's back, the label shows as drift.
        let path = "/api/v1/namespaces/jobs";
        let patch = serde_json::json!({"metadata": {"labels": {"istio-injection": null}}});
        sim.patch_kube(CLUSTER, path, patch);
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(label("jobs"), "enabled");

        // A named revision's label replaces the default one, in place.
        ws.write("main.tf", &revised);
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        for ns in ["apps", "jobs"] {
            assert_eq!(labels(ns)["istio.io/rev"], "asm-managed", "{ns}");
            assert!(label(ns).is_null(), "Istio lets istio-injection win: {ns}");
        }
        assert!(!ws.plan_has_changes());
        ws.reimport_all();
        assert!(!ws.plan_has_changes(), "an import reads the revision back");

        // Without the mesh, in place.
        ws.write("main.tf", &plain);
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(label("apps").is_null(), "{}", label("apps"));
        assert!(labels("apps")["istio.io/rev"].is_null());
        assert!(!ws.plan_has_changes());
    });
}
