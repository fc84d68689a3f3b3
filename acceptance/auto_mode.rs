//! `enable_autopilot = true` on AWS is EKS Auto Mode, applied by the real
//! Terraform against genesis-sim's EKS face and moto's IAM: the cluster
//! made with EKS's three capabilities on and its node pools, the roles
//! with the Auto Mode policies, no core add-on installed (EKS runs them;
//! metrics-server is); switched off and on again in place (the add-ons it
//! has are kept); EKS's own deletion protection and support policy from
//! the configuration, in place; import with no change; destroy that leaves
//! nothing.

use serde_json::{Value as Json, json};

use crate::harness::{EKS_PREAMBLE, Moto, Sim, Workspace, actions, each_terraform, terraforms};

const ARN: &str = "arn:aws:eks:us-east-1:123456789012:cluster/auto";

struct Settings {
    autopilot: bool,
    protect: bool,
    support: &'static str,
}

fn config(s: &Settings) -> String {
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "auto" {{
  cloud               = "aws"
  name                = "auto"
  enable_autopilot    = {autopilot}
  deletion_protection = {protect}
  eks = {{
    subnet_ids   = ["subnet-0a", "subnet-0b"]
    support_type = "{support}"
  }}
  kubernetes_namespaces = ["apps"]
}}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.auto.id
  namespace = "apps"
  name      = "api"
  image     = "nginx:1.27"
  ports     = [{{ name = "http", container_port = 8080 }}]
  wait_for_rollout = false
}}
"#,
        autopilot = s.autopilot,
        protect = s.protect,
        support = s.support,
    )
}

const AUTO: Settings = Settings {
    autopilot: true,
    protect: false,
    support: "STANDARD",
};

fn cluster(sim: &Sim) -> Json {
    sim.state()["eks"]["clusters"][ARN].clone()
}

fn addons(sim: &Sim) -> Vec<String> {
    let all = sim.state()["eks"]["addons"][ARN].clone();
    let mut names: Vec<String> = all
        .as_object()
        .map(|a| a.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The AWS managed policies attached to a role, by name, sorted.
fn policies(moto: &Moto, role: &str) -> String {
    moto.python(&format!(
        "print(sorted(p['PolicyName'] for p in iam.list_attached_role_policies(RoleName='{role}')['AttachedPolicies']))"
    ))
}

#[test]
fn eks_auto_mode_is_made_switched_in_place_protected_and_imported() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(&AUTO))]).against_eks(&sim, &moto);
        ws.apply_settles();

        let c = cluster(&sim);
        assert_eq!(c["status"], "ACTIVE");
        assert_eq!(c["computeConfig"]["enabled"], true, "{c:#}");
        assert_eq!(
            c["computeConfig"]["nodePools"],
            json!(["general-purpose", "system"])
        );
        assert!(
            c["computeConfig"]["nodeRoleArn"]
                .as_str()
                .is_some_and(|r| r.ends_with(":role/auto-node")),
            "{c:#}"
        );
        assert_eq!(c["storageConfig"]["blockStorage"]["enabled"], true);
        assert_eq!(
            c["kubernetesNetworkConfig"]["elasticLoadBalancing"]["enabled"],
            true
        );
        assert_eq!(c["deletionProtection"], false);
        assert_eq!(c["upgradePolicy"]["supportType"], "STANDARD");
        assert_eq!(
            addons(&sim),
            ["metrics-server"],
            "Auto Mode runs the core add-ons, not metrics-server"
        );
        assert_eq!(
            policies(&moto, "auto-cluster"),
            "['AmazonEKSBlockStoragePolicy', 'AmazonEKSClusterPolicy', 'AmazonEKSComputePolicy', 'AmazonEKSLoadBalancingPolicy', 'AmazonEKSNetworkingPolicy']"
        );
        assert_eq!(
            policies(&moto, "auto-node"),
            "['AmazonEC2ContainerRegistryPullOnly', 'AmazonEC2ContainerRegistryReadOnly', 'AmazonEKSWorkerNodeMinimalPolicy', 'AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy']"
        );
        let kube = sim.state()["kube"][ARN]["objects"].to_string();
        assert!(kube.contains("\"api\""), "the workload went in");

        // Off, in place: one Auto Mode update, the core add-ons installed
        // for node groups (those whose pods need nodes once a node group
        // runs), the Auto Mode policies taken off.
        let managed = Settings {
            autopilot: false,
            ..AUTO
        };
        ws.write("main.tf", &config(&managed));
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "genesis_cluster.auto"), json!(["update"]));
        assert_eq!(actions(&plan, "genesis_workload.api"), json!(["no-op"]));
        ws.apply_settles();
        let c = cluster(&sim);
        assert_eq!(c["computeConfig"]["enabled"], false);
        assert_eq!(
            addons(&sim),
            [
                "eks-pod-identity-agent",
                "kube-proxy",
                "metrics-server",
                "vpc-cni"
            ]
        );
        assert_eq!(
            c["tags"]["genesis-after-nodes"],
            "coredns aws-ebs-csi-driver"
        );
        assert_eq!(
            policies(&moto, "auto-cluster"),
            "['AmazonEKSClusterPolicy']"
        );

        // On again, in place: the add-ons it has stay, and those that
        // waited for nodes run on Auto Mode's.
        ws.write("main.tf", &config(&AUTO));
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "genesis_cluster.auto"), json!(["update"]));
        ws.apply_settles();
        let c = cluster(&sim);
        assert_eq!(c["computeConfig"]["enabled"], true);
        assert!(c["tags"]["genesis-after-nodes"].is_null(), "{c:#}");
        assert_eq!(addons(&sim).len(), 6);
        let updates: Vec<Json> = sim.state()["eks"]["updates"][ARN]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["body"]["type"].clone())
            .collect();
        assert_eq!(updates, [json!("AutoModeUpdate"), json!("AutoModeUpdate")]);

        // EKS's own deletion protection and support policy, in place.
        let protected = Settings {
            protect: true,
            support: "EXTENDED",
            ..AUTO
        };
        ws.write("main.tf", &config(&protected));
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "genesis_cluster.auto"), json!(["update"]));
        ws.apply_settles();
        let c = cluster(&sim);
        assert_eq!(c["deletionProtection"], true);
        assert_eq!(c["upgradePolicy"]["supportType"], "EXTENDED");

        // Import: forgotten, imported by ARN, nothing to change (the mode,
        // the add-ons and the protection read back from EKS).
        ws.run(&["state", "rm", "genesis_cluster.auto"]).ok();
        ws.run(&["import", "-input=false", "genesis_cluster.auto", ARN])
            .ok();
        assert!(
            !ws.plan_has_changes(),
            "the imported cluster plans no change:\n{}",
            ws.run(&["plan", "-input=false", "-no-color"]).stdout
        );

        let refused = ws.run(&["destroy", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!refused.status.success(), "protected");
        assert_eq!(cluster(&sim)["status"], "ACTIVE");
        ws.write("main.tf", &config(&AUTO));
        ws.apply_settles();
        assert_eq!(cluster(&sim)["deletionProtection"], false);
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        let eks = &sim.state()["eks"];
        assert!(eks["clusters"].as_object().unwrap().is_empty(), "{eks:#}");
        assert_eq!(
            moto.python("print(len(iam.list_roles()['Roles']))"),
            "0",
            "the roles Genesis made are gone"
        );
    });
}

/// EKS itself refuses to delete a protected cluster (genesis-sim says so as
/// EKS does), whatever the state says.
#[test]
fn eks_refuses_to_delete_a_protected_cluster() {
    let sim = Sim::start();
    let moto = Moto::start();
    let tf = &terraforms()[0];
    let ws = Workspace::new(
        tf,
        &[(
            "main.tf",
            &config(&Settings {
                protect: true,
                ..AUTO
            }),
        )],
    )
    .against_eks(&sim, &moto);
    ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
    // Protection lifted in the state alone, as an old state would have it.
    ws.run(&["state", "rm", "genesis_workload.api"]).ok();
    let state = ws.run(&["state", "pull"]).ok().stdout;
    let lifted = state.replace(
        "\"deletion_protection\": true",
        "\"deletion_protection\": false",
    );
    ws.write("lifted.tfstate", &lifted);
    ws.run(&["state", "push", "-force", "lifted.tfstate"]).ok();
    let refused = ws.run(&[
        "destroy",
        "-input=false",
        "-auto-approve",
        "-refresh=false",
        "-no-color",
    ]);
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("deletion protection enabled"),
        "{}",
        refused.stderr
    );
    assert_eq!(cluster(&sim)["status"], "ACTIVE");
}
