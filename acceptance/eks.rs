//! genesis_cluster on EKS, applied by the real Terraform against
//! genesis-sim's EKS face (EKS) and moto (IAM, STS, KMS): create with the
//! roles and key Genesis makes, namespaces and a workload through the
//! minted EKS token in the same apply, a clean re-plan, in-place changes
//! (public access CIDRs, logs, one-minor upgrade), refused plans (two
//! minors, authentication mode backwards), import, drift and destroy that
//! leaves nothing Genesis made.

use serde_json::Value as Json;

use crate::harness::{Moto, Sim, Workspace, actions, each_terraform, first_terraform};

#[derive(Clone, Copy)]
struct Settings<'a> {
    version: &'a str,
    cidrs: &'a str,
    logs: &'a str,
    mode: &'a str,
    /// The system pool's (min, max).
    pool: (u32, u32),
    /// The system pool's `kubernetes_version` (an expression).
    pool_version: &'a str,
}

const BASE: Settings = Settings {
    version: "1.32",
    cidrs: r#"{ cidr_block = "203.0.113.0/24", display_name = "office" }"#,
    logs: "",
    mode: "API",
    pool: (1, 3),
    pool_version: "genesis_cluster.main.kubernetes_version",
};

fn config(s: &Settings) -> String {
    let logs = if s.logs.is_empty() {
        String::new()
    } else {
        format!("logging_components = [{}]", s.logs)
    };
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_cluster" "main" {{
  cloud              = "aws"
  name               = "genesis-eks"
  environment        = "staging"
  kubernetes_version = "{version}"
  labels             = {{ team = "platform" }}
  {logs}

  master_authorized_networks = [{cidrs}]

  eks = {{
    subnet_ids          = ["subnet-0a", "subnet-0b", "subnet-0c"]
    authentication_mode = "{mode}"
  }}

  kubernetes_namespaces = ["genesis-agents"]
}}

resource "genesis_node_pool" "system" {{
  cluster            = genesis_cluster.main.id
  name               = "system"
  machine_type       = "t3.large"
  initial_node_count = 2
  min_nodes          = {min}
  max_nodes          = {max}
  node_pool_type     = "general-purpose"
  labels             = {{ role = "system" }}
  kubernetes_version = {pool_version}
}}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.main.id
  namespace = "genesis-agents"
  name      = "api"
  image     = "nginx:1.27"
  ports     = [{{ name = "http", container_port = 8080 }}]
}}
"#,
        version = s.version,
        cidrs = s.cidrs,
        mode = s.mode,
        min = s.pool.0,
        max = s.pool.1,
        pool_version = s.pool_version,
    )
}

/// An EKS platform: a cluster, a node group and a workload.
pub fn platform() -> String {
    config(&BASE)
}

const ARN: &str = "arn:aws:eks:us-east-1:123456789012:cluster/genesis-eks";

/// After a destroy: no cluster or node group in the simulator, and no
/// role Genesis made left in moto.
fn assert_nothing_left(sim: &Sim, moto: &Moto) {
    let eks = &sim.state()["eks"];
    assert!(eks["clusters"].as_object().unwrap().is_empty(), "{eks:#}");
    assert!(eks["nodegroups"].as_object().unwrap().is_empty(), "{eks:#}");
    let roles = moto.python("print(len(iam.list_roles()['Roles']))");
    assert_eq!(roles, "0", "the roles Genesis made are gone");
}

/// The image of the Cluster Autoscaler Genesis runs in the cluster, from
/// its repository on.
fn autoscaler_image(sim: &Sim) -> String {
    let deployment = &sim.state()["kube"][ARN]["objects"]["objects"]["apps/deployments/kube-system/cluster-autoscaler"];
    let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    image.rsplit('/').next().unwrap_or_default().to_string()
}

fn cluster(sim: &Sim) -> Json {
    sim.state()["eks"]["clusters"][ARN].clone()
}

#[test]
fn eks_cluster_lifecycle_against_the_simulator_and_moto() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(&BASE))]).against_eks(&sim, &moto);

        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let c = cluster(&sim);
        assert_eq!(c["status"], "ACTIVE", "{c:#}");
        assert_eq!(c["version"], "1.32");
        assert_eq!(c["accessConfig"]["authenticationMode"], "API");
        assert_eq!(
            c["accessConfig"]["bootstrapClusterCreatorAdminPermissions"],
            false
        );
        assert_eq!(
            c["resourcesVpcConfig"]["publicAccessCidrs"],
            serde_json::json!(["203.0.113.0/24"])
        );
        assert_eq!(
            c["resourcesVpcConfig"]["endpointPrivateAccess"], true,
            "staging: private endpoint on"
        );
        assert_eq!(c["tags"]["team"], "platform");
        assert_eq!(c["tags"]["genesis-environment"], "staging");
        assert!(
            c["roleArn"]
                .as_str()
                .unwrap()
                .ends_with(":role/genesis-eks-cluster"),
            "Genesis made the cluster role: {}",
            c["roleArn"]
        );
        // The creator is cluster admin through an access entry.
        let entries = &sim.state()["eks"]["access_entries"][ARN];
        let creator = entries
            .as_object()
            .and_then(|e| e.values().next())
            .expect("an access entry");
        assert!(
            creator["policies"][0]["policyArn"]
                .as_str()
                .unwrap()
                .ends_with("AmazonEKSClusterAdminPolicy")
        );
        // Every add-on runs: those needing nodes were installed once the
        // node group was ACTIVE, and nothing waits any more.
        let addons = &sim.state()["eks"]["addons"][ARN];
        for name in [
            "vpc-cni",
            "kube-proxy",
            "eks-pod-identity-agent",
            "coredns",
            "aws-ebs-csi-driver",
        ] {
            assert_eq!(addons[name]["status"], "ACTIVE", "{name}: {addons:#}");
        }
        assert!(
            c["tags"]["genesis-after-nodes"].is_null(),
            "{:#}",
            c["tags"]
        );
        let group = &sim.state()["eks"]["nodegroups"][ARN]["system"];
        assert_eq!(group["status"], "ACTIVE");
        assert_eq!(group["instanceTypes"], serde_json::json!(["t3.large"]));
        assert_eq!(group["amiType"], "AL2023_x86_64_STANDARD");
        assert_eq!(
            group["scalingConfig"],
            serde_json::json!({"minSize": 1, "maxSize": 3, "desiredSize": 2})
        );
        assert_eq!(group["labels"]["genesis.io/pool-type"], "general-purpose");
        assert_eq!(group["updateConfig"]["maxUnavailable"], 1);
        assert!(
            group["nodeRole"]
                .as_str()
                .unwrap()
                .ends_with(":role/genesis-eks-node")
        );
        assert_eq!(
            group["subnets"],
            serde_json::json!(["subnet-0a", "subnet-0b", "subnet-0c"])
        );
        // Genesis made its roles in moto, tagged for the cluster.
        let roles = moto.python("print(sorted(r['RoleName'] for r in iam.list_roles()['Roles']))");
        assert_eq!(
            roles,
            "['genesis-eks-autoscaler', 'genesis-eks-cluster', 'genesis-eks-lb-controller', 'genesis-eks-node']"
        );
        // The Load Balancer Controller's role: its own inline policy.
        let inline = moto.python(
            "print(iam.list_role_policies(RoleName='genesis-eks-lb-controller')['PolicyNames'])",
        );
        assert_eq!(inline, "['genesis-eks-lb-controller']");
        // The Cluster Autoscaler: its own role (an inline policy to resize
        // this cluster's groups), and its Deployment at the cluster's minor.
        let inline = moto.python(
            "print(iam.list_role_policies(RoleName='genesis-eks-autoscaler')['PolicyNames'])",
        );
        assert_eq!(inline, "['genesis-eks-autoscaler']");
        assert_eq!(autoscaler_image(&sim), "cluster-autoscaler:v1.32.7");
        // The namespace and the workload went in through the EKS token.
        let kube = &sim.state()["kube"][ARN]["objects"];
        let text = kube.to_string();
        assert!(text.contains("genesis-agents"), "namespace in the cluster");
        assert!(text.contains("\"api\""), "deployment in the cluster");
        assert!(!ws.plan_has_changes(), "a second plan shows no changes");

        // In place: the public access CIDRs, the logs and one minor version,
        // each planned as an update, never a replacement.
        for next in [
            Settings {
                cidrs: r#"{ cidr_block = "198.51.100.0/24" }"#,
                ..BASE
            },
            Settings {
                cidrs: r#"{ cidr_block = "198.51.100.0/24" }"#,
                logs: r#""api", "audit", "authenticator""#,
                ..BASE
            },
            Settings {
                cidrs: r#"{ cidr_block = "198.51.100.0/24" }"#,
                logs: r#""api", "audit", "authenticator""#,
                version: "1.33",
                ..BASE
            },
        ] {
            ws.write("main.tf", &config(&next));
            let plan = ws.plan_json();
            assert_eq!(
                actions(&plan, "genesis_cluster.main"),
                serde_json::json!(["update"])
            );
            assert_eq!(
                actions(&plan, "genesis_workload.api"),
                serde_json::json!(["no-op"])
            );
            ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
            assert!(!ws.plan_has_changes(), "settled after the change");
        }
        let c = cluster(&sim);
        assert_eq!(c["version"], "1.33");
        assert_eq!(
            c["resourcesVpcConfig"]["publicAccessCidrs"],
            serde_json::json!(["198.51.100.0/24"])
        );
        assert_eq!(
            c["logging"]["clusterLogging"][0]["types"],
            serde_json::json!(["api", "audit", "authenticator"])
        );
        let updates = sim.state()["eks"]["updates"][ARN].clone();
        let kinds = |group: Option<&str>| -> Vec<String> {
            updates
                .as_array()
                .unwrap()
                .iter()
                .filter(|u| u["nodegroup"].as_str() == group)
                .map(|u| u["body"]["type"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            kinds(None),
            ["EndpointAccessUpdate", "LoggingUpdate", "VersionUpdate"]
        );
        assert_eq!(
            autoscaler_image(&sim),
            "cluster-autoscaler:v1.33.6",
            "its release follows the upgrade"
        );
        // The node group followed the control plane in the same apply, in
        // place, once the control plane ran 1.33.
        assert_eq!(kinds(Some("system")), ["VersionUpdate"]);
        assert_eq!(
            sim.state()["eks"]["nodegroups"][ARN]["system"]["version"],
            "1.33"
        );

        // The cluster autoscaler grows the group behind Terraform's back:
        // no diff. Raising min_nodes above the size it chose applies in
        // place, the size raised with it in the same call.
        let group_arn = sim.state()["eks"]["nodegroups"][ARN]["system"]["nodegroupArn"]
            .as_str()
            .unwrap()
            .to_string();
        let status = sim.control(
            "PATCH",
            &format!("/_sim/objects?name={group_arn}"),
            Some(serde_json::json!({"scalingConfig": {"desiredSize": 3}})),
        );
        assert_eq!(status, 200);
        assert!(!ws.plan_has_changes(), "the autoscaler's size is no diff");
        let raised = Settings {
            cidrs: r#"{ cidr_block = "198.51.100.0/24" }"#,
            logs: r#""api", "audit", "authenticator""#,
            version: "1.33",
            pool: (4, 6),
            ..BASE
        };
        ws.write("main.tf", &config(&raised));
        let plan = ws.plan_json();
        assert_eq!(
            actions(&plan, "genesis_node_pool.system"),
            serde_json::json!(["update"])
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["eks"]["nodegroups"][ARN]["system"]["scalingConfig"],
            serde_json::json!({"minSize": 4, "maxSize": 6, "desiredSize": 4})
        );
        assert!(!ws.plan_has_changes());

        // Refused at plan time, before any call.
        ws.write(
            "main.tf",
            &config(&Settings {
                cidrs: r#"{ cidr_block = "198.51.100.0/24" }"#,
                logs: r#""api", "audit", "authenticator""#,
                version: "1.35",
                pool: (4, 6),
                ..BASE
            }),
        );
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success(), "a two-minor upgrade is refused");
        assert!(
            refused.stderr.contains("one minor version at a time"),
            "{}",
            refused.stderr
        );
        ws.write(
            "main.tf",
            &config(&Settings {
                cidrs: r#"{ cidr_block = "198.51.100.0/24" }"#,
                logs: r#""api", "audit", "authenticator""#,
                version: "1.33",
                mode: "CONFIG_MAP",
                pool: (4, 6),
                ..BASE
            }),
        );
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(
            !refused.status.success(),
            "going back to CONFIG_MAP is refused"
        );
        assert!(
            refused.stderr.contains("only towards API"),
            "{}",
            refused.stderr
        );
        // Nodes never go back (refused at plan time) and never run ahead
        // of the control plane: out of reach at plan time, one minor ahead
        // by EKS, its words in the error.
        ws.write(
            "main.tf",
            &config(&Settings {
                pool_version: r#""1.32""#,
                ..raised
            }),
        );
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success(), "a node downgrade is refused");
        assert!(
            refused.stderr.contains("cannot be downgraded"),
            "{}",
            refused.stderr
        );
        ws.write(
            "main.tf",
            &config(&Settings {
                pool_version: r#""1.35""#,
                ..raised
            }),
        );
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success(), "two minors ahead of the cluster");
        assert!(
            refused
                .stderr
                .contains("Nodes cannot pass their control plane"),
            "{}",
            refused.stderr
        );
        ws.write(
            "main.tf",
            &config(&Settings {
                pool_version: r#""1.34""#,
                ..raised
            }),
        );
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!refused.status.success(), "nodes newer than the cluster");
        assert!(
            refused.stderr.contains("newer than the cluster version"),
            "{}",
            refused.stderr
        );
        let settled = raised;
        ws.write("main.tf", &config(&settled));
        assert!(!ws.plan_has_changes(), "nothing changed by the refusal");

        // Drift: a CIDR added outside Terraform shows, and is put back.
        let status = sim.control(
            "PATCH",
            &format!("/_sim/objects?name={ARN}"),
            Some(serde_json::json!({"resourcesVpcConfig": {"publicAccessCidrs": ["198.51.100.0/24", "192.0.2.0/24"]}})),
        );
        assert_eq!(status, 200);
        let plan = ws.plan_json();
        assert_eq!(
            actions(&plan, "genesis_cluster.main"),
            serde_json::json!(["update"])
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());

        // The autoscaler deleted by hand shows as an add-on to install,
        // and is put back.
        let deployment = "/apis/apps/v1/namespaces/kube-system/deployments/cluster-autoscaler";
        let status = sim.control(
            "DELETE",
            &format!("/_sim/kube?cluster={ARN}&path={deployment}"),
            None,
        );
        assert_eq!(status, 204);
        let plan = ws.plan_json();
        assert_eq!(
            actions(&plan, "genesis_cluster.main"),
            serde_json::json!(["update"])
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(autoscaler_image(&sim), "cluster-autoscaler:v1.33.6");
        assert!(!ws.plan_has_changes());

        // Import: forgotten, imported by ARN, nothing to change.
        ws.run(&["state", "rm", "genesis_cluster.main"]).ok();
        ws.run(&["import", "-input=false", "genesis_cluster.main", ARN])
            .ok();
        assert!(
            !ws.plan_has_changes(),
            "the imported cluster plans no change:\n{}",
            ws.run(&["plan", "-input=false", "-no-color"]).stdout
        );

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_nothing_left(&sim, &moto);
    });
}

/// A node group that ends CREATE_FAILED fails the apply with EKS's health
/// issues and stays in the state, tainted; the next apply replaces it.
#[test]
fn a_failed_node_group_is_kept_tainted_with_its_health_issues() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(&BASE))]).against_eks(&sim, &moto);
        ws.run(&[
            "apply",
            "-input=false",
            "-auto-approve",
            "-target=genesis_cluster.main",
        ])
        .ok();
        // The next long-running change (the node group's create) fails.
        assert_eq!(
            sim.control(
                "POST",
                "/_sim/faults",
                Some(serde_json::json!({"fail_operations": 1}))
            ),
            204
        );
        let failed = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!failed.status.success());
        assert!(failed.stderr.contains("CREATE_FAILED"), "{}", failed.stderr);
        assert!(
            failed.stderr.contains("AsgInstanceLaunchFailures"),
            "{}",
            failed.stderr
        );
        let shown = ws
            .run(&["state", "show", "-no-color", "genesis_node_pool.system"])
            .ok();
        assert!(shown.stdout.contains("tainted"), "{}", shown.stdout);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            sim.state()["eks"]["nodegroups"][ARN]["system"]["status"],
            "ACTIVE"
        );
        assert!(!ws.plan_has_changes());
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_nothing_left(&sim, &moto);
    });
}

/// A storm on the EKS face and the cluster's API server (30% 503, 10%
/// throttling, half the updates answered "update in progress", 10%
/// responses lost after the request took effect): the platform is applied
/// and destroyed all the same, nothing made twice, nothing left behind.
#[test]
fn eks_applies_and_destroys_through_a_storm() {
    first_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            seed: crate::crash::chaos_seed(),
            ..genesis_sim::Config::default()
        });
        let moto = Moto::start();
        let storm = || {
            for fault in [
                serde_json::json!({"api": "eks", "method": "*", "status": 503, "rate": 0.3}),
                serde_json::json!({"api": "eks", "method": "*", "status": 429, "rate": 0.1}),
                serde_json::json!({"api": "eks", "method": "Update*", "status": 409, "rate": 0.5}),
                serde_json::json!({"api": "*", "method": "*", "drop_connection": true, "rate": 0.1}),
                serde_json::json!({"api": "kube", "method": "*", "status": 503, "rate": 0.2}),
            ] {
                assert_eq!(sim.control("POST", "/_sim/faults", Some(fault)), 204);
            }
        };
        let ws = Workspace::new(tf, &[("main.tf", &config(&BASE))]).against_eks(&sim, &moto);
        storm();
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        // An update through the storm: CIDRs and pool bounds.
        ws.write(
            "main.tf",
            &config(&Settings {
                cidrs: r#"{ cidr_block = "198.51.100.0/24" }"#,
                pool: (2, 5),
                ..BASE
            }),
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(sim.control("DELETE", "/_sim/faults", None), 204);
        assert!(!ws.plan_has_changes(), "converged");
        let served = &sim.state()["requests"];
        assert!(served["eks.CreateCluster"].as_u64() >= Some(1));
        storm();
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_eq!(sim.control("DELETE", "/_sim/faults", None), 204);
        assert_nothing_left(&sim, &moto);
    });
}

/// The provider killed while the cluster is being created, while an add-on
/// is, then while its node group is: each next apply adopts what the
/// killed one made.
#[test]
fn eks_creates_killed_midway_are_resumed() {
    first_terraform(|tf| {
        let sim = Sim::start_with(genesis_sim::Config {
            operation_time: std::time::Duration::from_secs(2),
            ..genesis_sim::Config::default()
        });
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(&BASE))]).against_eks(&sim, &moto);
        let apply = ["apply", "-input=false", "-auto-approve"];
        let points: [crate::crash::KillPoint; 3] = [
            (
                "cluster create",
                Box::new(|s: &Sim| s.state()["eks"]["clusters"][ARN].is_object()),
            ),
            (
                "add-on create",
                Box::new(|s: &Sim| {
                    s.state()["eks"]["addons"][ARN]
                        .as_object()
                        .is_some_and(|a| a.values().any(|a| a["status"] == "CREATING"))
                }),
            ),
            (
                "node group create",
                Box::new(|s: &Sim| s.state()["eks"]["nodegroups"][ARN]["system"].is_object()),
            ),
        ];
        let killed = crate::crash::kill_at(&ws, &sim, &apply, &points);
        assert!(killed >= 2, "most points were reached: {killed}");
        ws.run(&apply).ok();
        assert!(!ws.plan_has_changes(), "converged");
        assert_eq!(
            sim.state()["eks"]["nodegroups"][ARN]["system"]["status"],
            "ACTIVE"
        );
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_nothing_left(&sim, &moto);
    });
}

/// `examples/eks-production`, the seed's EKS platform, applied from empty
/// state in one run: cluster, add-ons, four node groups, ECR and the
/// workloads. The next plan is empty; every resource imports with no
/// change; destroy waits for deletion protection to be lifted, then leaves
/// nothing Genesis made (roles deleted, its KMS key scheduled for deletion).
#[test]
fn the_eks_production_example_applies_imports_and_destroys() {
    first_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::example(tf, "eks-production").against_eks(&sim, &moto);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let arn = "arn:aws:eks:us-east-1:123456789012:cluster/lead-gen-prod";
        let eks = sim.state()["eks"].clone();
        let c = &eks["clusters"][arn];
        assert_eq!(c["status"], "ACTIVE");
        assert_eq!(c["deletionProtection"], true, "prod: EKS protects it too");
        assert_eq!(c["upgradePolicy"]["supportType"], "STANDARD");
        assert_eq!(c["resourcesVpcConfig"]["endpointPrivateAccess"], true);
        assert!(
            c["encryptionConfig"][0]["provider"]["keyArn"]
                .as_str()
                .is_some_and(|k| k.starts_with("arn:aws:kms:us-east-1:")),
            "prod encrypts secrets with a key Genesis made: {c:#}"
        );
        assert_eq!(
            c["logging"]["clusterLogging"][0]["types"],
            serde_json::json!(["api", "audit", "authenticator"])
        );
        let groups = eks["nodegroups"][arn].as_object().unwrap();
        assert_eq!(groups.len(), 4);
        // A GPU pool gets the NVIDIA AMI and the GPU taint by itself.
        assert_eq!(groups["ai-gpu"]["amiType"], "AL2023_x86_64_NVIDIA");
        assert!(
            groups["ai-gpu"]["taints"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["key"] == "nvidia.com/gpu" && t["value"] == "present")
        );
        assert!(
            groups["database"]["taints"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["key"] == "dedicated" && t["effect"] == "NO_SCHEDULE")
        );
        for addon in eks["addons"][arn].as_object().unwrap().values() {
            assert_eq!(addon["status"], "ACTIVE", "{addon:#}");
        }
        assert!(!ws.plan_has_changes(), "the next plan is empty");
        sim.assert_calls_name_the_provider();

        // Every resource, forgotten and imported, plans no change.
        let resources = ws.reimport_all();
        assert_eq!(resources.len(), 8, "{resources:?}");
        assert!(
            !ws.plan_has_changes(),
            "imports plan no change:\n{}",
            ws.run(&["plan", "-input=false", "-no-color"]).stdout
        );

        // Adopted the modern way, with import blocks and generated
        // configuration, it plans the imports alone, then nothing.
        let preamble = "terraform {\n  required_providers {\n    genesis = { source = \"genesis-platform/genesis\" }\n  }\n}\nprovider \"genesis\" {\n  aws_region = \"us-east-1\"\n}\n";
        ws.adopt_with_generated_config(preamble);
        // And by identity: the account, region and name of each.
        if tf.has_resource_identity() {
            let identities = ws.identities();
            let cluster = identities.iter().find(|(a, _)| a == "genesis_cluster.prod");
            assert_eq!(
                cluster.unwrap().1,
                serde_json::json!({"project": null, "account_id": "123456789012", "location": "us-east-1", "name": "lead-gen-prod"})
            );
            ws.adopt_by_identity(preamble);
        }

        let refused = ws.run(&["destroy", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!refused.status.success(), "prod is protected");
        let ws = ws.with_env("TF_VAR_deletion_protection", "false");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert_nothing_left(&sim, &moto);
        assert_eq!(
            moto.python("print([kms.describe_key(KeyId=k['KeyId'])['KeyMetadata']['KeyState'] for k in kms.list_keys()['Keys']])"),
            "['PendingDeletion']"
        );
        assert_eq!(
            moto.python("print(len(ecr.describe_repositories()['repositories']))"),
            "0"
        );
    });
}
