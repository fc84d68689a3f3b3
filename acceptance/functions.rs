//! The provider's functions called from HCL, as `provider::genesis::NAME`,
//! by the real clients: results in outputs, and a bad argument refused
//! with the provider's reason at that argument. No cloud is called.
//!
//! On every client: each calls the functions itself (Terraform 1.8+,
//! OpenTofu 1.7+), with its own type checks and error messages.

use crate::harness::{EKS_PREAMBLE, Workspace, each_terraform};

const CALLS: &str = r#"
output "image" {
  value = provider::genesis::parse_image("us-central1-docker.pkg.dev/p/images/api:1.4.2")
}

output "hub" {
  value = provider::genesis::parse_image("nginx")
}

output "cluster" {
  value = provider::genesis::parse_cluster_id("arn:aws:eks:eu-west-1:123456789012:cluster/prod")
}

output "ecr" {
  value = provider::genesis::repository_url("arn:aws:ecr:us-east-1:123456789012:repository/agents")
}
"#;

#[test]
fn functions_are_called_from_hcl_and_refuse_bad_arguments() {
    each_terraform(|tf| {
        let ws = Workspace::new(tf, &[("main.tf", &format!("{EKS_PREAMBLE}{CALLS}"))]);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let outputs = ws.run(&["output", "-json"]).ok().json();
        let image = &outputs["image"]["value"];
        assert_eq!(
            image["registry"], "us-central1-docker.pkg.dev",
            "{outputs:#}"
        );
        assert_eq!(image["repository"], "p/images/api");
        assert_eq!(image["tag"], "1.4.2");
        assert!(image["digest"].is_null());
        assert_eq!(outputs["hub"]["value"]["repository"], "library/nginx");
        let cluster = &outputs["cluster"]["value"];
        assert_eq!(cluster["cloud"], "aws");
        assert_eq!(cluster["location"], "eu-west-1");
        assert_eq!(cluster["account"], "123456789012");
        assert!(cluster["project"].is_null());
        assert_eq!(
            outputs["ecr"]["value"],
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/agents"
        );

        let bad = r#"
output "bad" {
  value = provider::genesis::parse_image("Not/An:Image!")
}
"#;
        ws.write("main.tf", &format!("{EKS_PREAMBLE}{bad}"));
        ws.run(&["plan", "-input=false", "-no-color"])
            .refused_saying(&["parse_image", "is not a valid tag"]);
    });
}
