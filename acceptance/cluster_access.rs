//! Handing a cluster to other tools without another cloud provider: the
//! `genesis_cluster` data source (by ID, and by cloud, location and name)
//! and the `genesis_cluster_credentials` ephemeral resource, whose
//! kubeconfig kubectl uses from a `local-exec` provisioner (one of the
//! places Terraform lets an ephemeral value go) against genesis-sim's
//! clusters: on EKS the simulator checks the token's signature as EKS's
//! authenticator does. Nothing of the credentials is in the state.
//!
//! The EKS case on every client (how data sources and ephemeral values are
//! read and kept out of state is the client's); GKE's on the first.

use crate::harness::{
    EKS_PREAMBLE, GKE_PREAMBLE, Moto, Sim, Workspace, each_terraform, first_terraform,
};

/// A cluster on one cloud, the data source looking it up both ways, the
/// credentials, and kubectl through them.
struct Cloud {
    cluster: &'static str,
    lookup: &'static str,
    /// What `expires_at` must satisfy.
    expiry: &'static str,
    location: &'static str,
    status: &'static str,
}

const EKS: Cloud = Cloud {
    cluster: r#"
  cloud = "aws"
  eks = {
    subnet_ids = ["subnet-0a", "subnet-0b"]
  }"#,
    lookup: r#"
  cloud    = "aws"
  location = "us-east-1""#,
    expiry: r#"timecmp(ephemeral.genesis_cluster_credentials.c.expires_at, timeadd(timestamp(), "10m")) > 0"#,
    location: "us-east-1",
    status: "ACTIVE",
};

/// GKE with the provider's project and region, which the data source
/// defaults to as the resource does.
const GKE: Cloud = Cloud {
    cluster: r#"
  project_id = "p1"
  region     = "us-central1""#,
    lookup: r#"
  cloud = "gcp""#,
    expiry: "ephemeral.genesis_cluster_credentials.c.expires_at == null",
    location: "us-central1",
    status: "RUNNING",
};

fn config(cloud: &Cloud) -> String {
    let Cloud {
        cluster,
        lookup,
        expiry,
        ..
    } = cloud;
    format!(
        r#"
resource "genesis_cluster" "c" {{
  name             = "shared"
  enable_autopilot = true{cluster}
  kubernetes_namespaces = ["apps"]
}}

data "genesis_cluster" "by_id" {{
  id = genesis_cluster.c.id
}}

data "genesis_cluster" "by_name" {{
  name       = "shared"{lookup}
  depends_on = [genesis_cluster.c]
}}

ephemeral "genesis_cluster_credentials" "c" {{
  cluster = data.genesis_cluster.by_id.id
}}

resource "terraform_data" "kubectl" {{
  triggers_replace = [genesis_cluster.c.id]

  lifecycle {{
    precondition {{
      condition     = ephemeral.genesis_cluster_credentials.c.host == "https://${{data.genesis_cluster.by_name.endpoint}}"
      error_message = "the credentials' host is the cluster's endpoint"
    }}
    precondition {{
      condition     = startswith(ephemeral.genesis_cluster_credentials.c.cluster_ca_certificate, "-----BEGIN CERTIFICATE-----")
      error_message = "the CA certificate is PEM"
    }}
    precondition {{
      condition     = {expiry}
      error_message = "an EKS token lasts about 15 minutes; GKE's expiry is not known"
    }}
  }}

  provisioner "local-exec" {{
    command = "printf '%s' \"$KUBECONFIG_JSON\" > kubeconfig.json && kubectl --kubeconfig kubeconfig.json get namespace apps -o name > seen.txt && rm kubeconfig.json"
    environment = {{
      KUBECONFIG_JSON = ephemeral.genesis_cluster_credentials.c.kubeconfig
    }}
  }}
}}

output "by_id" {{
  value = data.genesis_cluster.by_id
}}

output "by_name" {{
  value = data.genesis_cluster.by_name
}}
"#
    )
}

/// Applies `cloud`'s configuration in `ws` and checks what came of it.
fn found_and_reached(ws: &Workspace, cloud: &Cloud) {
    ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

    // kubectl reached the cluster with the token Genesis made.
    let seen = std::fs::read_to_string(ws.path().join("seen.txt")).unwrap_or_default();
    assert_eq!(seen.trim(), "namespace/apps");
    assert!(
        !ws.path().join("kubeconfig.json").exists(),
        "the provisioner removed its copy"
    );

    let outputs = ws.run(&["output", "-json"]).ok().json();
    let (by_id, by_name) = (&outputs["by_id"]["value"], &outputs["by_name"]["value"]);
    let cluster = ws.values("genesis_cluster.c");
    for found in [by_id, by_name] {
        assert_eq!(found["id"], cluster["id"], "{found:#}");
        assert_eq!(found["endpoint"], cluster["endpoint"]);
        assert_eq!(found["ca_certificate"], cluster["ca_certificate"]);
        assert_eq!(found["location"], cloud.location);
        assert_eq!(found["status"], cloud.status);
        assert_eq!(found["enable_autopilot"], true);
    }

    // Nothing of the credentials is in the state.
    let state = ws.run(&["show", "-json"]).ok().json();
    let kept: Vec<&serde_json::Value> = state["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "genesis_cluster_credentials")
        .collect();
    assert!(kept.is_empty(), "{kept:#?}");
    assert!(
        !state.to_string().contains("k8s-aws-v1."),
        "a token in the state"
    );
    assert!(!ws.plan_has_changes(), "the next plan is empty");

    ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
}

#[test]
fn an_eks_cluster_is_found_and_reached_with_ephemeral_credentials() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let main = format!("{EKS_PREAMBLE}{}", config(&EKS));
        let ws = Workspace::new(tf, &[("main.tf", &main)]).against_eks(&sim, &moto);
        found_and_reached(&ws, &EKS);
    });
}

/// GKE's side of the same: what differs from EKS is the cloud's, so the
/// first client suffices.
#[test]
fn a_gke_cluster_is_found_and_reached_with_ephemeral_credentials() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let main = format!("{GKE_PREAMBLE}{}", config(&GKE));
        let ws = Workspace::new(tf, &[("main.tf", &main)]).against(&sim);
        found_and_reached(&ws, &GKE);
    });
}

#[test]
fn a_data_source_names_its_cluster_once_and_says_when_it_is_missing() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let both = r#"
data "genesis_cluster" "x" {
  id   = "arn:aws:eks:us-east-1:123456789012:cluster/x"
  name = "x"
}
"#;
        let ws = Workspace::new(tf, &[("main.tf", &format!("{EKS_PREAMBLE}{both}"))])
            .against_eks(&sim, &moto);
        ws.run(&["validate", "-no-color"])
            .refused_saying(&["Conflicting attributes", "remove `name`"]);

        let missing = r#"
data "genesis_cluster" "x" {
  cloud    = "aws"
  name     = "nowhere"
  location = "us-east-1"
}
"#;
        ws.write("main.tf", &format!("{EKS_PREAMBLE}{missing}"));
        ws.run(&["plan", "-input=false", "-no-color"])
            .refused_saying(&[
                "Cluster not found",
                "\"nowhere\" in AWS region \"us-east-1\"",
            ]);
    });
}
