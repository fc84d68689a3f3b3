//! What the HCL promises needs something in the cluster: on EKS Genesis
//! installs it with the cluster, or the plan is refused naming the setting
//! that fixes it. Here resource metrics for a workload's `autoscaling`: on
//! an EKS cluster without the metrics-server add-on an autoscaler never
//! scales, so once the cluster exists the workload's plan is refused at
//! `autoscaling` (the apply that makes the cluster plans it again); adding
//! metrics-server to `eks.addons` plans and applies in one run, and the
//! autoscaler then reports current metrics (genesis-sim's controller words
//! both as the real one does: kube_real.rs). Likewise a node pool's
//! `enable_autoscaling` without the Cluster Autoscaler, which nothing else
//! on EKS does: refused, then installed by Genesis with its IAM role, Pod
//! Identity association and Deployment.

use serde_json::{Value as Json, json};

use crate::harness::{
    EKS_PREAMBLE, Moto, Sim, Workspace, actions, each_terraform, first_terraform,
};

const ARN: &str = "arn:aws:eks:us-east-1:123456789012:cluster/metrics";

fn config(addons: &str) -> String {
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "main" {{
  cloud = "aws"
  name  = "metrics"
  eks = {{
    subnet_ids = ["subnet-0a", "subnet-0b"]
    addons     = [{addons}]
  }}
  kubernetes_namespaces = ["apps"]
}}

resource "genesis_node_pool" "general" {{
  cluster      = genesis_cluster.main.id
  name         = "general"
  machine_type = "t3.large"
}}

resource "genesis_workload" "api" {{
  cluster          = genesis_cluster.main.id
  namespace        = "apps"
  name             = "api"
  image            = "nginx:1.27"
  ports            = [{{ name = "http", container_port = 8080 }}]
  resources        = {{ requests = {{ cpu = "250m", memory = "128Mi" }} }}
  autoscaling      = {{ min_replicas = 2, max_replicas = 6, cpu_target = 70 }}
  wait_for_rollout = false
}}
"#
    )
}

const CORE: &str = r#""vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent""#;

/// The autoscaler's status in the simulated cluster once its controller
/// says whether it scales (`ScalingActive` is `want`), or after 20 s.
fn autoscaler_status(sim: &Sim, want: &str) -> Json {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let objects = sim.state()["kube"][ARN]["objects"]["objects"].clone();
        let status = objects
            .as_object()
            .into_iter()
            .flatten()
            .find(|(k, _)| k.starts_with("autoscaling/horizontalpodautoscalers/apps/api"))
            .map(|(_, hpa)| hpa["status"].clone())
            .unwrap_or_default();
        if scaling_active(&status) == want || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn scaling_active(status: &Json) -> Json {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "ScalingActive")
        .map(|c| c["status"].clone())
        .unwrap_or_default()
}

#[test]
fn autoscaling_needs_metrics_on_eks_and_gets_them_from_the_addon() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(CORE))]).against_eks(&sim, &moto);
        // Planned before the cluster exists; once the apply has made it,
        // the workload's final plan is refused: nothing of it is made.
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!refused.status.success(), "autoscaling without metrics");
        let said = |stderr: &str| {
            stderr.contains("The cluster serves no resource metrics")
                && stderr.contains("metrics-server")
                && stderr.contains("autoscaling")
        };
        assert!(said(&refused.stderr), "{}", refused.stderr);
        let no_resizer = |stderr: &str| {
            stderr.contains("Nothing resizes this node group")
                && stderr.contains("cluster-autoscaler")
                && stderr.contains("enable_autoscaling")
        };
        assert!(no_resizer(&refused.stderr), "{}", refused.stderr);
        assert_eq!(sim.state()["eks"]["clusters"][ARN]["status"], "ACTIVE");
        assert!(
            sim.state()["eks"]["nodegroups"][ARN]
                .as_object()
                .is_none_or(|groups| groups.is_empty()),
            "no node group made"
        );
        let objects = sim.state()["kube"][ARN]["objects"].to_string();
        assert!(
            !objects.contains("horizontalpodautoscalers/apps/api"),
            "no autoscaler made"
        );
        // The next plan, the cluster there, says the same.
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success());
        assert!(said(&refused.stderr), "{}", refused.stderr);

        // The fix in the same run: the cluster's plan adds the add-ons.
        ws.write(
            "main.tf",
            &config(&format!(
                r#"{CORE}, "metrics-server", "cluster-autoscaler""#
            )),
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let resizer = cluster_autoscaler(&sim);
        assert_eq!(
            resizer["spec"]["template"]["spec"]["containers"][0]["command"][2],
            "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/metrics",
            "{resizer:#}"
        );
        assert_eq!(
            associations(&sim)
                .into_iter()
                .filter(
                    |(ns, sa, role, _)| (ns.as_str(), sa.as_str(), role.as_str())
                        == ("kube-system", "cluster-autoscaler", "metrics-autoscaler")
                )
                .count(),
            1,
            "its role through Pod Identity"
        );
        let addon = &sim.state()["eks"]["addons"][ARN]["metrics-server"];
        assert_eq!(addon["status"], "ACTIVE", "{addon:#}");
        let status = autoscaler_status(&sim, "True");
        assert_eq!(scaling_active(&status), "True", "{status:#}");
        assert_eq!(
            status["currentMetrics"][0]["resource"]["name"],
            json!("cpu"),
            "{status:#}"
        );
        assert!(!ws.plan_has_changes(), "settled");

        // Fixed-size pools need no autoscaler: left out of the add-ons, it
        // goes with its role and association in the same apply.
        let fixed = config(&format!(r#"{CORE}, "metrics-server""#)).replace(
            r#"machine_type = "t3.large""#,
            r#"machine_type = "t3.large"
  enable_autoscaling = false
  node_count   = 2"#,
        );
        ws.write("main.tf", &fixed);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(cluster_autoscaler(&sim).is_null(), "its Deployment is gone");
        assert!(
            associations(&sim)
                .iter()
                .all(|(ns, ..)| ns != "kube-system"),
            "its association is gone"
        );
        let roles = moto.python("print(sorted(r['RoleName'] for r in iam.list_roles()['Roles']))");
        assert!(!roles.contains("metrics-autoscaler"), "{roles}");
        assert!(!ws.plan_has_changes(), "settled without it");
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}

fn identity_config(role: Option<&str>) -> String {
    let service_account = role.map_or(String::new(), |r| {
        format!(r#"service_account = {{ aws_role_arn = "arn:aws:iam::123456789012:role/{r}" }}"#)
    });
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "main" {{
  cloud = "aws"
  name  = "metrics"
  eks   = {{ subnet_ids = ["subnet-0a", "subnet-0b"] }}
  kubernetes_namespaces = ["apps"]
}}

resource "genesis_workload" "api" {{
  cluster          = genesis_cluster.main.id
  namespace        = "apps"
  name             = "api"
  image            = "nginx:1.27"
  wait_for_rollout = false
  {service_account}
}}
"#
    )
}

/// The Cluster Autoscaler's Deployment in the simulated cluster.
fn cluster_autoscaler(sim: &Sim) -> Json {
    sim.state()["kube"][ARN]["objects"]["objects"]["apps/deployments/kube-system/cluster-autoscaler"]
        .clone()
}

/// The Pod Identity associations of the cluster's workloads (the
/// cluster's own Cluster Autoscaler's aside), as (namespace, service
/// account, role, claim tag).
fn workload_associations(sim: &Sim) -> Vec<(String, String, String, bool)> {
    associations(sim)
        .into_iter()
        .filter(|(namespace, ..)| namespace != "kube-system")
        .collect()
}

/// All the Pod Identity associations of the cluster, as (namespace,
/// service account, role, claim tag).
fn associations(sim: &Sim) -> Vec<(String, String, String, bool)> {
    let all = sim.state()["eks"]["pod_identity_associations"][ARN].clone();
    all.as_object()
        .into_iter()
        .flat_map(|a| a.values())
        .map(|a| {
            let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            let role = text("roleArn");
            let role = role.rsplit('/').next().unwrap_or_default().to_string();
            let tagged = a["tags"]["genesis-claim"].is_string();
            (text("namespace"), text("serviceAccount"), role, tagged)
        })
        .collect()
}

/// Changes an association's role behind Terraform's back, through
/// genesis-sim's EKS API as the AWS CLI would.
fn change_role_outside(sim: &Sim, role: &str) {
    let script = format!(
        r#"
import boto3
eks = boto3.client('eks', endpoint_url='{eks}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')
for a in eks.list_pod_identity_associations(clusterName='metrics')['associations']:
    eks.update_pod_identity_association(clusterName='metrics', associationId=a['associationId'], roleArn='arn:aws:iam::123456789012:role/{role}')
"#,
        eks = sim.running.urls.eks
    );
    crate::harness::python(&script);
}

/// `service_account.aws_role_arn` on an EKS cluster is an EKS Pod Identity
/// association (not an IRSA annotation, which would need an OIDC provider
/// and win over Pod Identity in the SDKs): made with the workload, its role
/// changed in place, drift put back, imported, removed when the setting
/// goes and with the workload.
#[test]
fn a_workload_role_on_eks_is_a_pod_identity_association() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &identity_config(Some("api")))])
            .against_eks(&sim, &moto);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(
            workload_associations(&sim),
            [("apps".into(), "api".into(), "api".into(), true)]
        );
        let objects = sim.state()["kube"][ARN]["objects"]["objects"].clone();
        let account = &objects["/serviceaccounts/apps/api"];
        assert!(
            account.is_object(),
            "{}",
            objects
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(
            account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
            "no IRSA annotation: {account:#}"
        );
        assert!(!ws.plan_has_changes(), "settled");

        // Drift: the role changed outside Terraform shows, and is put back.
        change_role_outside(&sim, "someone-else");
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "genesis_workload.api"), json!(["update"]));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(workload_associations(&sim)[0].2, "api");

        // Another role, in place.
        ws.write("main.tf", &identity_config(Some("api-v2")));
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "genesis_workload.api"), json!(["update"]));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(workload_associations(&sim)[0].2, "api-v2");
        assert!(!ws.plan_has_changes());

        // Imported, the role reads back from the association (the plan
        // after it sets wait_for_rollout alone, which only the
        // configuration holds).
        ws.run(&["state", "rm", "genesis_workload.api"]).ok();
        ws.run(&[
            "import",
            "-input=false",
            "genesis_workload.api",
            &format!("{ARN}/apps/api"),
        ])
        .ok();
        let plan = ws.plan_json();
        let change = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == "genesis_workload.api")
            .unwrap()["change"]
            .clone();
        assert_eq!(
            change["before"]["service_account"],
            change["after"]["service_account"]
        );
        assert!(
            change["before"]["service_account"]["aws_role_arn"]
                .as_str()
                .is_some_and(|r| r.ends_with("role/api-v2")),
            "{change:#}"
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());

        // The setting gone, the association goes; so with the workload.
        ws.write("main.tf", &identity_config(None));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(workload_associations(&sim).is_empty());
        assert!(!ws.plan_has_changes());
        ws.write("main.tf", &identity_config(Some("api")));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(workload_associations(&sim).len(), 1);

        // A cluster planned without the pod identity agent: refused at
        // the role, before any change.
        let without_agent = identity_config(Some("api")).replace(
            r#"eks   = { subnet_ids = ["subnet-0a", "subnet-0b"] }"#,
            r#"eks   = { subnet_ids = ["subnet-0a", "subnet-0b"], addons = ["vpc-cni", "kube-proxy", "coredns", "metrics-server"] }"#,
        );
        ws.write("main.tf", &without_agent);
        let refused = ws.run(&["plan", "-input=false", "-no-color"]);
        assert!(!refused.status.success());
        assert!(
            refused
                .stderr
                .contains("The cluster runs no pod identity agent"),
            "{}",
            refused.stderr
        );
        ws.write("main.tf", &identity_config(Some("api")));
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert!(workload_associations(&sim).is_empty());
    });
}

const GKE: &str = "projects/p/locations/us-central1/clusters/apps";
const MEMBER: &str = "serviceAccount:p.svc.id.goog[apps/api]";

fn gke_identity_config(account: Option<&str>) -> String {
    let service_account = account.map_or(String::new(), |a| {
        format!(r#"service_account = {{ gcp_service_account = "{a}" }}"#)
    });
    format!(
        r#"{cluster}
resource "genesis_workload" "api" {{
  cluster          = genesis_cluster.main.id
  namespace        = "apps"
  name             = "api"
  image            = "nginx:1.27"
  wait_for_rollout = false
  {service_account}
}}
"#,
        cluster = crate::harness::apps_cluster(&["apps"]),
    )
}

/// The members the Google service account's policy grants Workload
/// Identity to, and the policy itself.
fn workload_identity_users(sim: &Sim, account: &str) -> (Vec<String>, Json) {
    let policy = sim.iam(
        &format!("projects/-/serviceAccounts/{account}:getIamPolicy"),
        &json!({}),
    );
    let members = policy["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["role"] == "roles/iam.workloadIdentityUser")
        .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    (members, policy)
}

/// `service_account.gcp_service_account` on a GKE cluster is Workload
/// Identity made, not just annotated: the annotation, and the Google
/// service account's grant of `roles/iam.workloadIdentityUser` to the
/// cluster project's pool member for the workload's service account, made
/// with the workload beside what others granted, put back when removed
/// outside Terraform, moved when the account changes, and taken back when
/// the setting or the workload goes.
#[test]
fn a_workload_account_on_gke_is_granted_workload_identity() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let runtime = sim.create_service_account("p", "api-runtime");
        let other = sim.create_service_account("p", "api-runtime-v2");
        // Someone else's grant on the same account, which must stay.
        let theirs = json!({"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:ops@example.com"]});
        sim.iam(
            &format!("projects/-/serviceAccounts/{runtime}:setIamPolicy"),
            &json!({"policy": {"bindings": [theirs]}}),
        );
        let ws =
            Workspace::new(tf, &[("main.tf", &gke_identity_config(Some(&runtime)))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let (members, policy) = workload_identity_users(&sim, &runtime);
        assert_eq!(members, [MEMBER], "{policy:#}");
        assert!(policy["bindings"].as_array().unwrap().contains(&theirs));
        let account = &sim.state()["kube"][GKE]["objects"]["objects"]["/serviceaccounts/apps/api"];
        assert_eq!(
            account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"],
            json!(runtime),
            "{account:#}"
        );
        assert!(!ws.plan_has_changes(), "settled");

        // Drift: the grant removed outside Terraform shows, and is put back.
        sim.iam(
            &format!("projects/-/serviceAccounts/{runtime}:setIamPolicy"),
            &json!({"policy": {"bindings": [theirs]}}),
        );
        let plan = ws.plan_json();
        assert_eq!(actions(&plan, "genesis_workload.api"), json!(["update"]));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(workload_identity_users(&sim, &runtime).0, [MEMBER]);

        // Another account: the grant moves.
        ws.write("main.tf", &gke_identity_config(Some(&other)));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(workload_identity_users(&sim, &runtime).0.is_empty());
        assert_eq!(workload_identity_users(&sim, &other).0, [MEMBER]);

        // The setting gone, the grant goes; with the workload, too.
        ws.write("main.tf", &gke_identity_config(None));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(workload_identity_users(&sim, &other).0.is_empty());
        ws.write("main.tf", &gke_identity_config(Some(&runtime)));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(workload_identity_users(&sim, &runtime).0, [MEMBER]);
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        let (members, policy) = workload_identity_users(&sim, &runtime);
        assert!(members.is_empty(), "{policy:#}");
        assert_eq!(policy["bindings"], json!([theirs]), "theirs stays");
    });
}

fn volume_config(default_class: bool) -> String {
    let classes = if default_class {
        r#"storage_classes = { gp3 = { type = "gp3", default = true } }"#
    } else {
        ""
    };
    format!(
        r#"{EKS_PREAMBLE}
resource "genesis_cluster" "main" {{
  cloud = "aws"
  name  = "metrics"
  eks   = {{ subnet_ids = ["subnet-0a", "subnet-0b"] }}
  kubernetes_namespaces = ["apps"]
  {classes}
}}

resource "genesis_node_pool" "general" {{
  cluster      = genesis_cluster.main.id
  name         = "general"
  machine_type = "t3.large"
}}

resource "genesis_workload" "db" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "db"
  image     = "postgres:17"
  volumes   = {{ data = {{ size = "10Gi", mount_path = "/var/lib/postgresql/data" }} }}
  depends_on = [genesis_node_pool.general]
}}
"#
    )
}

/// A volume that names no class gets the cluster's default one; an EKS
/// cluster has none (EKS marks none since Kubernetes 1.30), so its claim
/// would stay Pending and the rollout never end. Once the cluster exists
/// the workload's plan is refused at the volume, naming the fix; a default
/// class added to the cluster's `storage_classes` in the same run is
/// taken, and the claim binds through the EBS add-on's driver.
#[test]
fn a_volume_without_a_class_needs_a_default_one_on_eks() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let ws = Workspace::new(tf, &[("main.tf", &volume_config(false))]).against_eks(&sim, &moto);
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        refused.refused_saying(&[
            "The cluster has no default StorageClass",
            "default = true",
            "volumes = {",
        ]);
        let objects = sim.state()["kube"][ARN]["objects"]["objects"].clone();
        assert!(objects["/persistentvolumeclaims/apps/db-data"].is_null());

        ws.write("main.tf", &volume_config(true));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let claim =
            sim.state()["kube"][ARN]["objects"]["objects"]["/persistentvolumeclaims/apps/db-data"]
                .clone();
        assert_eq!(claim["spec"]["storageClassName"], "gp3", "{claim:#}");
        assert_eq!(claim["status"]["phase"], "Bound", "{claim:#}");
        assert!(!ws.plan_has_changes(), "settled");
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
    });
}

/// The refresh of many workloads on one EKS cluster lists the cluster's
/// Pod Identity associations once (in pages, as EKS serves them), not once
/// per workload, and describes only those it finds: the identities of 121
/// workloads (120 with a role) cost 122 EKS calls, where listing per
/// workload cost 241. A change made since (the role of one) is read
/// afresh by the next run.
#[test]
fn a_refresh_lists_a_clusters_pod_identities_once() {
    const WORKLOADS: usize = 120;
    first_terraform(|tf| {
        let sim = Sim::start();
        let moto = Moto::start();
        let mut config = identity_config(None);
        for i in 0..WORKLOADS {
            config.push_str(&format!(
                r#"
resource "genesis_workload" "w{i}" {{
  cluster          = genesis_cluster.main.id
  namespace        = "apps"
  name             = "w{i}"
  image            = "nginx:1.27"
  wait_for_rollout = false
  service_account  = {{ aws_role_arn = "arn:aws:iam::123456789012:role/w{i}" }}
}}
"#
            ));
        }
        let ws = Workspace::new(tf, &[("main.tf", &config)]).against_eks(&sim, &moto);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_eq!(workload_associations(&sim).len(), WORKLOADS);
        sim.running.sim.reset_requests();
        assert!(!ws.plan_has_changes(), "settled");
        let calls = |operation: &str| {
            sim.running.sim.dump()["requests"][format!("eks.{operation}")]
                .as_u64()
                .unwrap_or(0)
        };
        // Two pages of at most 100.
        assert_eq!(calls("ListPodIdentityAssociations"), 2);
        assert_eq!(calls("DescribePodIdentityAssociation"), WORKLOADS as u64);

        change_role_outside(&sim, "someone-else");
        assert!(ws.plan_has_changes(), "the change made outside shows");
    });
}
