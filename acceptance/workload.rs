//! The Kubernetes objects genesis_workload renders, from plans of the
//! `workloads` example, checked against the official Kubernetes schemas by
//! kubernetes-validate (PyPI), strictly (no unknown fields).

use genesis::framework::value::Value;
use genesis::protocol::codec::decode_json;

use crate::harness::{Workspace, planned, terraforms};

fn rendered(plan: &serde_json::Value, address: &str) -> Vec<serde_json::Value> {
    let after = planned(plan, address);
    let ty = genesis::resources::workload::value_type();
    let value: Value =
        decode_json(after.to_string().as_bytes(), &ty).expect("planned values decode");
    let model = genesis::resources::workload::Model::decode(&value).expect("plans decode");
    genesis::kube::workload::render(&model.spec)
}

#[test]
fn rendered_objects_pass_the_kubernetes_schemas() {
    let tf = &terraforms()[0];
    let plan = Workspace::example(tf, "workloads").plan_json();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for address in ["genesis_workload.api", "genesis_workload.worker"] {
        for (i, object) in rendered(&plan, address).iter().enumerate() {
            let path = dir.path().join(format!(
                "{}-{i}-{}.json",
                address.replace('.', "-"),
                object["kind"].as_str().unwrap()
            ));
            std::fs::write(&path, serde_json::to_string_pretty(object).unwrap()).unwrap();
            files.push(path);
        }
    }
    let out = std::process::Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(&files)
        .output()
        .expect("kubernetes-validate is installed by scripts/test (pip install -r acceptance/requirements.txt)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "rendered objects fail the Kubernetes schemas:\n{report}"
    );
    assert!(
        !report.contains("ERROR") && !report.contains("INVALID"),
        "{report}"
    );

    let api = rendered(&plan, "genesis_workload.api");
    let kinds: Vec<&str> = api.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "Ingress"
        ]
    );
    let deployment = &api[1];
    assert!(
        deployment["spec"]["replicas"].is_null(),
        "the autoscaler owns replicas"
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(
        deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    let hpa = &api[3];
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(
        hpa["spec"]["metrics"][1]["resource"]["target"]["averageUtilization"],
        80
    );
    assert_eq!(
        api[0]["metadata"]["annotations"]["iam.gke.io/gcp-service-account"],
        "agent-cage@genesis-project-dev.iam.gserviceaccount.com"
    );
    let policy = &api[5];
    assert_eq!(
        policy["spec"]["egress"][0]["ports"][0]["port"], 53,
        "DNS is allowed out"
    );
}

/// A workload using every attribute the others leave out, on a cluster
/// reached through a kubeconfig (nothing is contacted at plan time).
pub const EVERYTHING: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

resource "genesis_workload" "everything" {
  kubeconfig_path    = "/nonexistent/kubeconfig"
  kubeconfig_context = "dev"
  namespace          = "jobs"
  name               = "everything"
  image              = "nginx:1.27"
  image_pull_policy  = "Always"
  command            = ["/bin/app"]
  args               = ["--serve"]
  env                = { A = "1", B = "two" }
  secret_env         = { DB_PASSWORD = { secret = "db", key = "password" } }
  env_from_secrets   = ["shared"]
  config_data        = { "app.yaml" = "debug: false" }
  config_mount_path  = "/etc/app"
  ports              = [{ name = "http", container_port = 8080 }, { container_port = 9090, protocol = "UDP" }]
  replicas           = 2
  resources = {
    requests = { cpu = "1000m", memory = "1Gi", ephemeral_storage = "1Gi" }
    limits   = { cpu = "2", extended = { "nvidia.com/gpu" = "1" } }
  }
  init_containers = [{
    name    = "wait-for-api"
    image   = "busybox:1.37"
    command = ["sh", "-c", "until nc -z api 80; do sleep 2; done"]
  }]
  sidecars = [{
    name      = "proxy"
    image     = "envoyproxy/envoy:v1.34.1"
    args      = ["--config-path", "/etc/envoy/envoy.yaml"]
    env       = { LOG_LEVEL = "info" }
    ports     = [{ name = "admin", container_port = 9901 }]
    resources = { requests = { cpu = "100m", memory = "64Mi" } }
  }]
  volumes = {
    cache  = { empty_dir = { size_limit = "1Gi", memory = true }, mount_path = "/cache" }
    certs  = { secret = "everything-tls", mount_path = "/etc/tls", read_only = true }
    shared = { claim_name = "shared-data", mount_path = "/shared" }
  }
  startup_probe   = { tcp_socket = { port = 8080 }, failure_threshold = 30 }
  liveness_probe  = { exec = { command = ["cat", "/tmp/healthy"] } }
  readiness_probe = { grpc = { port = 9090 }, success_threshold = 2 }
  strategy        = { type = "Recreate" }

  min_ready_seconds                = 5
  progress_deadline_seconds        = 120
  termination_grace_period_seconds = 45

  service = {
    type                        = "LoadBalancer"
    annotations                 = { "networking.gke.io/load-balancer-type" = "Internal" }
    load_balancer_source_ranges = ["10.0.0.0/8"]
    ports                       = [{ port = 443, target_port = 8080, node_port = 30443 }]
  }
  ingress = {
    host        = "everything.example.com"
    path        = "/api"
    path_type   = "Exact"
    class_name  = "nginx"
    annotations = { "nginx.ingress.kubernetes.io/ssl-redirect" = "true" }
  }
  disruption_budget = { max_unavailable = "1" }
  network_policy = {
    allow_from = [{ namespace_labels = { team = "web" }, pod_labels = { role = "frontend" } }]
    allow_to   = [{ cidr = "10.1.0.0/16", ports = [5432, 6379] }]
    allow_dns  = false
  }
  security_context = {
    run_as_user      = 1000
    run_as_group     = 3000
    fs_group         = 2000
    capabilities_add = ["NET_BIND_SERVICE"]
  }
  service_account = { create = false, name = "shared-runner" }
  node_selector   = { "cloud.google.com/compute-class" = "Performance" }
  tolerations     = [{ key = "dedicated", value = "jobs", effect = "NoSchedule" }, { operator = "Exists", effect = "NoExecute", toleration_seconds = 60 }]
  node_pool       = "agent-runtime"
  node_pool_type  = "agent-runtime"
  labels          = { team = "platform" }
  annotations     = { "prometheus.io/scrape" = "true" }
}
"#;

/// Reading the rendered objects back gives every attribute as planned:
/// the renderer and its inverse agree for everything a configuration can
/// say, with real plans from Terraform.
#[test]
fn reading_rendered_objects_back_gives_the_planned_attributes() {
    let tf = &terraforms()[0];
    let example = Workspace::example(tf, "workloads").plan_json();
    let everything = Workspace::new(tf, &[("main.tf", EVERYTHING)]).plan_json();
    let ty = genesis::resources::workload::value_type();
    for (plan, address) in [
        (&example, "genesis_workload.api"),
        (&example, "genesis_workload.worker"),
        (&everything, "genesis_workload.everything"),
    ] {
        let after = planned(plan, address);
        let value: Value = decode_json(after.to_string().as_bytes(), &ty).unwrap();
        let spec = genesis::resources::workload::Model::decode(&value)
            .unwrap()
            .spec;
        let objects = genesis::kube::workload::render(&spec);
        let live = genesis::kube::workload::Observed::of(&objects).ours(&spec.name, &objects);
        let read = genesis::kube::workload::spec_of(&live, &spec);
        assert_eq!(read, spec, "{address}: read back differs from the plan");
    }
}
