//! genesis_registry on ECR (`cloud = "aws"`), applied by the real Terraform
//! against moto's server: create with a lifecycle policy, tags, tag
//! immutability and scan on push; no-op plan; in-place update; drift made
//! with boto3; import by ARN; destroy. Cleanup policies ECR cannot express
//! are refused at plan time with their attribute paths.

use crate::harness::{Moto, Workspace, first_terraform};

fn config(immutable: bool, older_than: &str, team: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_registry" "images" {{
  cloud          = "aws"
  name           = "genesis/agents"
  immutable_tags = {immutable}

  cleanup_policies = {{
    keep-recent     = {{ action = "KEEP", keep_count = 20 }}
    delete-untagged = {{ action = "DELETE", tag_state = "UNTAGGED", older_than = "{older_than}" }}
  }}
  labels = {{ team = "{team}" }}
}}

output "url" {{
  value = genesis_registry.images.repository_url
}}
"#
    )
}

const DESCRIBE: &str =
    "r = ecr.describe_repositories(repositoryNames=['genesis/agents'])['repositories'][0]\n";

#[test]
fn ecr_repository_lifecycle_against_moto() {
    first_terraform(|tf| {
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(true, "14d", "platform"))])
            .against_moto(&moto);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let seen = moto.python(&format!(
            "{DESCRIBE}p = json.loads(ecr.get_lifecycle_policy(repositoryName='genesis/agents')['lifecyclePolicyText'])\n\
             t = [x for x in ecr.list_tags_for_resource(resourceArn=r['repositoryArn'])['tags'] if x['Key'] != 'genesis-origin']\n\
             print(json.dumps([r['imageTagMutability'], r['imageScanningConfiguration']['scanOnPush'], p['rules'], t]))"
        ));
        let seen: serde_json::Value = serde_json::from_str(&seen).unwrap();
        // The origin marker (see README) is there, apart from the labels.
        let marked = moto.python(&format!(
            "{DESCRIBE}print(any(x['Key'] == 'genesis-origin' for x in ecr.list_tags_for_resource(resourceArn=r['repositoryArn'])['tags']))"
        ));
        assert_eq!(marked, "True");
        assert_eq!(seen[0], "IMMUTABLE");
        assert_eq!(seen[1], true, "scan on push by default");
        assert_eq!(seen[2][0]["description"], "delete-untagged");
        assert_eq!(seen[2][0]["selection"]["countType"], "sinceImagePushed");
        assert_eq!(seen[2][0]["selection"]["countNumber"], 14);
        assert_eq!(seen[2][1]["selection"]["countType"], "imageCountMoreThan");
        assert_eq!(
            seen[3],
            serde_json::json!([{"Key": "team", "Value": "platform"}])
        );
        let outputs = ws.run(&["output", "-json"]).ok().json();
        assert_eq!(
            outputs["url"]["value"],
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/genesis/agents"
        );
        assert!(!ws.plan_has_changes(), "14d and ECR's 14 days are the same");

        // In place: mutability, the lifecycle policy, tags.
        ws.write("main.tf", &config(false, "7d", "agents"));
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok();
        assert!(
            plan.stdout.contains("1 to change, 0 to destroy"),
            "{}",
            plan.stdout
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let seen = moto.python(&format!(
            "{DESCRIBE}p = json.loads(ecr.get_lifecycle_policy(repositoryName='genesis/agents')['lifecyclePolicyText'])\n\
             t = [x for x in ecr.list_tags_for_resource(resourceArn=r['repositoryArn'])['tags'] if x['Key'] != 'genesis-origin']\n\
             print(json.dumps([r['imageTagMutability'], p['rules'][0]['selection']['countNumber'], t]))"
        ));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&seen).unwrap(),
            serde_json::json!(["MUTABLE", 7, [{"Key": "team", "Value": "agents"}]])
        );
        assert!(!ws.plan_has_changes());

        // Drift: tags made immutable behind Terraform's back.
        moto.python(
            "ecr.put_image_tag_mutability(repositoryName='genesis/agents', imageTagMutability='IMMUTABLE')",
        );
        assert!(
            ws.plan_has_changes(),
            "the edited mutability shows in the plan"
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());

        // Import by ARN matches the configuration.
        ws.run(&["state", "rm", "genesis_registry.images"]).ok();
        ws.run(&[
            "import",
            "-input=false",
            "genesis_registry.images",
            "arn:aws:ecr:us-east-1:123456789012:repository/genesis/agents",
        ])
        .ok();
        assert!(
            !ws.plan_has_changes(),
            "an imported repository plans no change"
        );

        // Gone behind Terraform's back: planned again, not an error.
        moto.python("ecr.delete_repository(repositoryName='genesis/agents', force=True)");
        assert!(ws.plan_has_changes());
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            moto.python("print(len(ecr.describe_repositories()['repositories']))"),
            "0",
            "destroy leaves nothing behind"
        );
    });
}

#[test]
fn cleanup_policies_ecr_cannot_express_are_refused_at_plan_time() {
    let tf = &crate::harness::terraforms()[0];
    let ws = Workspace::new(
        tf,
        &[(
            "main.tf",
            r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

resource "genesis_registry" "images" {
  cloud  = "aws"
  region = "us-east-1"
  name   = "images"
  cleanup_policies = {
    keep-recent = { action = "KEEP", keep_count = 20 }
    delete-old  = { action = "DELETE", older_than = "36h" }
    fresh       = { action = "DELETE", tag_state = "TAGGED", older_than = "1d", newer_than = "1h" }
  }
}
"#,
        )],
    );
    let run = ws.run(&["validate", "-json"]);
    let report = run.json();
    let summaries: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["summary"].as_str())
        .collect();
    for expected in [
        "Not a whole number of days",
        "Not available on ECR",
        "TAGGED needs tag_prefixes on ECR",
        "More than one policy for any tag state",
    ] {
        assert!(
            summaries.iter().any(|s| s.contains(expected)),
            "{expected:?} missing from {summaries:?}"
        );
    }
}
