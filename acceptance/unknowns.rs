//! Values that come from another resource are unknown when the plan is
//! made (issue 30): planning must not decide from them as if they were
//! their defaults. Each attribute here takes its value from a
//! `terraform_data` made in the same apply; the apply must succeed (no
//! "inconsistent final plan", no "produced an unexpected new value") and
//! the next plan must be empty.

use crate::harness::{Moto, Sim, Workspace, actions, each_terraform};

fn later(values: &str) -> String {
    format!(
        r#"
resource "terraform_data" "later" {{
  input = {{ {values} }}
}}
"#
    )
}

#[test]
fn workload_settings_known_only_at_apply_plan_as_unknown() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let config = format!(
            r#"{cluster}
{later}
resource "genesis_cluster" "data" {{
  cloud                 = terraform_data.later.output.cloud
  project_id            = "p"
  region                = "us-central1"
  name                  = "data"
  environment           = terraform_data.later.output.environment
  enable_autopilot      = true
  kubernetes_namespaces = ["data"]
  storage_classes       = {{ fast-ssd = {{ type = "pd-ssd" }} }}
}}

resource "genesis_workload" "api" {{
  cluster           = genesis_cluster.main.id
  namespace         = "apps"
  name              = "api"
  image             = "nginx:1.27"
  kind              = terraform_data.later.output.kind
  replicas          = terraform_data.later.output.replicas
  min_ready_seconds = terraform_data.later.output.seconds
  service           = {{ type = terraform_data.later.output.type, ports = [{{ port = 80 }}] }}
}}

resource "genesis_workload" "db" {{
  cluster   = genesis_cluster.data.id
  namespace = "data"
  name      = "db"
  kind      = "StatefulSet"
  image     = "postgres:17.5"
  replicas  = 1
  volumes = {{
    data = {{ size = "1Gi", storage_class = terraform_data.later.output.class, mount_path = "/data" }}
  }}
}}
"#,
            cluster = crate::harness::apps_cluster(&["apps"]),
            later = later(
                r#"kind = "Deployment", replicas = 2, seconds = 5, type = "NodePort", class = "fast-ssd", environment = "staging", cloud = "gcp""#
            ),
        );
        let ws = Workspace::new(tf, &[("main.tf", &config)]).against(&sim);
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(run.status.success(), "{}", run.stderr);
        assert!(!ws.plan_has_changes(), "an empty re-plan");
    });
}

#[test]
fn a_private_endpoint_known_only_at_apply_plans_as_unknown() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let config = format!(
            r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}
{later}
resource "genesis_cluster" "main" {{
  cloud                   = terraform_data.later.output.cloud
  name                    = "genesis-eks"
  kubernetes_version      = "1.32"
  enable_private_endpoint = terraform_data.later.output.private
  eks = {{
    subnet_ids         = ["subnet-0a", "subnet-0b"]
    secrets_encryption = true
  }}
}}
"#,
            later = later(r#"private = true, cloud = "aws""#),
        );
        let ws = Workspace::new(tf, &[("main.tf", &config)]).against_eks(&sim, &moto);
        let run = ws
            .run(&["apply", "-input=false", "-auto-approve", "-no-color"])
            .assert_no_crash();
        assert!(run.status.success(), "{}", run.stderr);
        assert!(!ws.plan_has_changes(), "an empty re-plan");

        // A key known only at apply may be another one, which EKS never
        // changes: planned as a replacement, never an update the final
        // plan would turn into one.
        let made = ws.values("genesis_cluster.main")["eks"]["kms_key_arn"].clone();
        assert!(made.is_string(), "Genesis made a key: {made}");
        let keyed = config.replace(
            "    secrets_encryption = true\n",
            "    secrets_encryption = true\n    kms_key_arn        = terraform_data.key.output\n",
        ) + r#"
resource "terraform_data" "key" {
  input = "arn:aws:kms:us-east-1:123456789012:key/another"
}
"#;
        ws.write("main.tf", &keyed);
        let plan = ws.plan_json();
        assert_eq!(
            actions(&plan, "genesis_cluster.main"),
            serde_json::json!(["delete", "create"]),
            "replaced"
        );
    });
}
