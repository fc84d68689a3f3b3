//! genesis_workload against a real Kubernetes API server (etcd,
//! kube-apiserver and kube-controller-manager from `scripts/peers kube`),
//! through a kubeconfig, by each Terraform: apply, an empty re-plan (the
//! server's defaults and omissions never show as a diff), drift made with
//! kubectl, what others add left alone, replicas owned by the autoscaler,
//! an object someone else made never taken over, import, destroy. The same
//! steps run against genesis-sim in workload_read.rs and workload_apply.rs;
//! here the real server is the judge. No kubelet runs, so the workloads do
//! not wait for their rollouts (`wait_for_rollout = false`).

use serde_json::json;

use crate::apiserver::ApiServer;
use crate::harness::{Workspace, first_terraform};
use crate::workload::EVERYTHING;

/// `backups` is the size of the claim the backup CronJob's pods share.
fn config(namespace: &str, image: &str, backups: &str) -> String {
    let everything = &EVERYTHING[EVERYTHING.find("resource ").unwrap()..]
        .replace(
            "kubeconfig_path    = \"/nonexistent/kubeconfig\"\n  kubeconfig_context = \"dev\"",
            "kubeconfig_path  = \"./kubeconfig\"\n  wait_for_rollout = false",
        )
        .replace("\"jobs\"", &format!("\"{namespace}\""));
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_workload" "api" {{
  kubeconfig_path  = "./kubeconfig"
  namespace        = "{namespace}"
  name             = "api"
  image            = "{image}"
  ports            = [{{ name = "http", container_port = 8080 }}]
  resources        = {{ requests = {{ cpu = "500m", memory = "256Mi" }} }}
  liveness_probe   = {{ http_get = {{ path = "/healthz", port = 8080 }} }}
  readiness_probe  = {{ http_get = {{ path = "/ready", port = 8080 }}, period_seconds = 5 }}
  autoscaling      = {{ min_replicas = 2, max_replicas = 6, cpu_target = 70 }}
  disruption_budget = {{ min_available = "50%" }}
  service          = {{ type = "LoadBalancer", ports = [{{ port = 80, target_port = 8080 }}] }}
  ingress          = {{ host = "api.example.com" }}
  network_policy   = {{ allow_from = [{{ cidr = "0.0.0.0/0", ports = [8080] }}] }}
  wait_for_rollout = false
}}

resource "genesis_workload" "db" {{
  kubeconfig_path  = "./kubeconfig"
  namespace        = "{namespace}"
  name             = "db"
  kind             = "StatefulSet"
  image            = "postgres:17.5"
  replicas         = 2
  ports            = [{{ name = "postgres", container_port = 5432 }}]
  volumes = {{
    data    = {{ size = "1Gi", mount_path = "/var/lib/postgresql/data" }}
    scratch = {{ empty_dir = {{ size_limit = "256Mi" }}, mount_path = "/scratch" }}
  }}
  strategy         = {{ partition = 0 }}
  wait_for_rollout = false
}}

resource "genesis_workload" "migrate" {{
  kubeconfig_path  = "./kubeconfig"
  namespace        = "{namespace}"
  name             = "migrate"
  kind             = "Job"
  image            = "busybox:1.37"
  args             = ["migrate", "up"]
  job              = {{ backoff_limit = 2, ttl_seconds_after_finished = 3600 }}
  wait_for_rollout = false
}}

resource "genesis_workload" "backup" {{
  kubeconfig_path  = "./kubeconfig"
  namespace        = "{namespace}"
  name             = "backup"
  kind             = "CronJob"
  image            = "postgres:17.5"
  command          = ["/bin/sh", "-c", "pg_dump -h db app > /backups/app.sql"]
  cron             = {{ schedule = "0 2 * * *", time_zone = "Europe/Paris" }}
  volumes          = {{ backups = {{ size = "{backups}", mount_path = "/backups" }} }}
  wait_for_rollout = false
}}

{everything}
"#
    )
}

/// The objects `config` renders (the `everything` pods run as an account
/// made by someone else).
const OBJECTS: [(&str, &str); 17] = [
    ("deployment", "api"),
    ("service", "api"),
    ("hpa", "api"),
    ("pdb", "api"),
    ("ingress", "api"),
    ("networkpolicy", "api"),
    ("serviceaccount", "api"),
    ("statefulset", "db"),
    ("service", "db"),
    ("job", "migrate"),
    ("cronjob", "backup"),
    ("deployment", "everything"),
    ("configmap", "everything"),
    ("service", "everything"),
    ("ingress", "everything"),
    ("pdb", "everything"),
    ("networkpolicy", "everything"),
];

/// `terraform plan -detailed-exitcode` must show no change; the plan is
/// printed when it does.
fn assert_no_changes(ws: &Workspace, why: &str) {
    let run = ws
        .run(&["plan", "-input=false", "-detailed-exitcode", "-no-color"])
        .assert_no_crash();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{why}:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn workloads_on_a_real_api_server() {
    let server = ApiServer::start();
    let round = std::cell::Cell::new(0);
    first_terraform(|tf| {
        round.set(round.get() + 1);
        let ns = format!("apps-{}", round.get());
        server.kubectl(&["create", "namespace", &ns]);
        // The account the `everything` pods run as, made by someone else.
        server.kubectl(&["-n", &ns, "create", "serviceaccount", "shared-runner"]);
        let ws = Workspace::new(
            tf,
            &[
                ("main.tf", &config(&ns, "nginx:1.27", "1Gi")),
                ("kubeconfig", &server.kubeconfig),
            ],
        );
        // Imports by NAMESPACE/NAME find the cluster through KUBECONFIG.
        let kubeconfig = ws.dir.path().join("kubeconfig");
        let ws = ws.with_env("KUBECONFIG", kubeconfig.to_str().unwrap());
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        for (kind, name) in OBJECTS {
            assert!(
                server.get(&ns, kind, name).is_some(),
                "{kind}/{name} applied"
            );
        }
        assert_no_changes(
            &ws,
            "a second plan against the real server shows no changes",
        );

        // The controller manager made the ReplicaSet and its Pods (Pending:
        // no kubelet); the HPA scales within its bounds.
        server.eventually("the api ReplicaSet", || {
            let out = server.kubectl(&["-n", &ns, "get", "replicasets", "-o", "name"]);
            out.contains("replicaset.apps/api-")
                .then_some(())
                .ok_or(out)
        });

        // The StatefulSet controller made the first pod's claim (the
        // second waits for the first pod to be ready: OrderedReady).
        server.eventually("the db claim", || {
            server
                .get(&ns, "pvc", "data-db-0")
                .map(|_| ())
                .ok_or_else(|| "no claim yet".to_string())
        });
        let service = server.get(&ns, "service", "db").unwrap();
        assert_eq!(service["spec"]["clusterIP"], "None", "headless");

        // Replicas are the autoscaler's: a scale by anyone else is no diff.
        server.kubectl(&["-n", &ns, "scale", "deployment", "api", "--replicas=5"]);
        assert_no_changes(
            &ws,
            "replicas scaled outside Terraform are the autoscaler's",
        );

        // What others add is theirs.
        server.kubectl(&[
            "-n",
            &ns,
            "label",
            "deployment",
            "api",
            "policy.example/checked=yes",
        ]);
        server.kubectl(&[
            "-n",
            &ns,
            "annotate",
            "service",
            "api",
            "cloud.example/lb-id=abc",
        ]);
        assert_no_changes(&ws, "labels and annotations added by others are no diff");

        // Drift: an image changed with kubectl shows, and apply puts it back.
        server.kubectl(&[
            "-n",
            &ns,
            "set",
            "image",
            "deployment/api",
            "api=nginx:1.26",
        ]);
        assert!(ws.plan_has_changes(), "an image set with kubectl is drift");
        let plan = ws.plan_json();
        let api = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == "genesis_workload.api")
            .unwrap();
        assert_eq!(api["change"]["actions"], json!(["update"]));
        assert_eq!(api["change"]["before"]["image"], "nginx:1.26");
        assert_eq!(api["change"]["after"]["image"], "nginx:1.27");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let deployment = server.get(&ns, "deployment", "api").unwrap();
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.27"
        );
        assert_eq!(
            deployment["metadata"]["labels"]["policy.example/checked"], "yes",
            "what others added stays"
        );
        assert_no_changes(&ws, "the apply put the image back");

        // A new image through Terraform, then import by NAMESPACE/NAME.
        // The backups' claim, not bound (no provisioner here), is made
        // again at its new size: Kubernetes grows only bound claims.
        let backups = server.get(&ns, "pvc", "backup-backups").unwrap();
        assert_eq!(backups["spec"]["resources"]["requests"]["storage"], "1Gi");
        ws.write("main.tf", &config(&ns, "nginx:1.28", "2Gi"));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_no_changes(&ws, "after an update");
        let grown = server.get(&ns, "pvc", "backup-backups").unwrap();
        assert_eq!(grown["spec"]["resources"]["requests"]["storage"], "2Gi");
        assert_ne!(grown["metadata"]["uid"], backups["metadata"]["uid"]);
        for name in ["api", "everything", "db", "migrate", "backup"] {
            let address = format!("genesis_workload.{name}");
            ws.run(&["state", "rm", &address]).ok();
            ws.run(&["import", "-input=false", &address, &format!("{ns}/{name}")])
                .ok();
        }
        // An import cannot know how the last apply waited: it records the
        // default (wait), so a configuration that does not wait shows that
        // one setting, and nothing in the cluster, as the only change.
        let plan = ws.plan_json();
        for change in plan["resource_changes"].as_array().unwrap() {
            let (before, after) = (&change["change"]["before"], &change["change"]["after"]);
            let differing: Vec<&String> = after
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| before[k.as_str()] != after[k.as_str()])
                .collect();
            assert_eq!(differing, ["wait_for_rollout"], "{}", change["address"]);
        }
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_no_changes(&ws, "imported workloads plan no change once applied");

        // A Deployment someone else made is never taken over.
        server.kubectl(&[
            "-n",
            &ns,
            "create",
            "deployment",
            "taken",
            "--image=nginx:1.25",
        ]);
        let taken = Workspace::new(
            tf,
            &[
                (
                    "main.tf",
                    &kubeconfig_workload("taken", &ns, "  replicas = 1"),
                ),
                ("kubeconfig", &server.kubeconfig),
            ],
        );
        let run = taken.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!run.status.success(), "a foreign Deployment was taken over");
        assert!(
            run.stderr.contains("already has Deployment") && run.stderr.contains("/taken"),
            "the error names the object: {}",
            run.stderr
        );
        let foreign = server.get(&ns, "deployment", "taken").unwrap();
        assert_eq!(
            foreign["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25",
            "the foreign Deployment is untouched"
        );

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        for (kind, name) in OBJECTS {
            assert!(
                server.get(&ns, kind, name).is_none(),
                "{kind}/{name} destroyed"
            );
        }
        // The garbage collector removes what the Deployment owned.
        server.eventually("the api ReplicaSets collected", || {
            let out = server.kubectl(&["-n", &ns, "get", "replicasets", "-o", "name"]);
            (!out.contains("replicaset.apps/api-"))
                .then_some(())
                .ok_or(out)
        });
        assert!(server.get(&ns, "serviceaccount", "shared-runner").is_some());
        assert!(
            server.get(&ns, "pvc", "data-db-0").is_some(),
            "the StatefulSet's claim outlives it"
        );
        assert!(
            server.get(&ns, "pvc", "backup-backups").is_some(),
            "the CronJob's claim outlives it"
        );
    });
}

/// A workload NAME (nginx) in `namespace` of the cluster `./kubeconfig`
/// points at, not waited on (the real server runs no pods), with more
/// `settings`.
fn kubeconfig_workload(name: &str, namespace: &str, settings: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_workload" "{name}" {{
  kubeconfig_path  = "./kubeconfig"
  wait_for_rollout = false
  namespace        = "{namespace}"
  name             = "{name}"
  image            = "nginx:1.27"
{settings}
}}
"#
    )
}

fn cluster_config(quota_pods: u32, disk: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_cluster" "main" {{
  project_id            = "p"
  region                = "us-central1"
  name                  = "apps"
  enable_autopilot      = true
  kubernetes_namespaces = ["apps"]
  storage_classes = {{
    fast-ssd = {{ type = "{disk}", allow_expansion = false }}
  }}

  namespace {{
    name               = "talk"
    pod_security_level = "restricted"
    labels             = {{ team = "agents" }}
    quota              = {{ requests_cpu = "4000m", requests_memory = "16Gi", pods = {quota_pods} }}
    limit_range        = {{ default_request_cpu = "250m", default_limit_memory = "1Gi" }}
  }}
}}

resource "genesis_workload" "api" {{
  cluster          = genesis_cluster.main.id
  namespace        = "talk"
  name             = "api"
  image            = "nginx:1.27"
  ports            = [{{ name = "http", container_port = 8080 }}]
  resources        = {{ requests = {{ cpu = "500m", memory = "256Mi" }} }}
  replicas         = 2
  wait_for_rollout = false
}}
"#
    )
}

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";

/// genesis_cluster's namespaces (Pod Security labels, ResourceQuota,
/// LimitRange), its StorageClasses (made again when a setting the server
/// keeps fixed changes) and a workload reached by cluster ID, on a GKE cluster whose
/// control plane is genesis-sim and whose API server is the real one:
/// apply, empty re-plan (the server's canonical quantities are no diff),
/// drift made with kubectl put back, import, destroy.
#[test]
fn cluster_namespaces_on_a_real_api_server() {
    first_terraform(|tf| {
        let server = ApiServer::start();
        let sim = server.behind_simulated_gke();
        let ws = Workspace::new(tf, &[("main.tf", &cluster_config(50, "pd-ssd"))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_no_changes(
            &ws,
            "a second plan against the real server shows no changes",
        );

        let namespace = server.get("", "namespace", "talk").expect("namespace talk");
        let labels = &namespace["metadata"]["labels"];
        assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert_eq!(labels["team"], "agents");
        assert!(server.get("", "namespace", "apps").is_some());
        let quota = server
            .get("talk", "resourcequota", "genesis-quota")
            .unwrap();
        assert_eq!(quota["spec"]["hard"]["pods"], "50");
        assert_eq!(
            quota["spec"]["hard"]["requests.cpu"], "4",
            "the server's canonical form"
        );
        let limits = server.get("talk", "limitrange", "genesis-limits").unwrap();
        assert_eq!(limits["spec"]["limits"][0]["defaultRequest"]["cpu"], "250m");
        let class = server.get("", "storageclass", "fast-ssd").expect("class");
        assert_eq!(class["provisioner"], "pd.csi.storage.gke.io");
        assert_eq!(class["parameters"]["type"], "pd-ssd");
        assert_eq!(class["allowVolumeExpansion"], false);
        // The workload passed the namespace's restricted Pod Security level:
        // its pods are made (Pending: no kubelet), not refused.
        server.eventually("api pods admitted under the restricted level", || {
            let out = server.kubectl(&["-n", "talk", "get", "pods", "-o", "name"]);
            (out.lines().count() == 2).then_some(()).ok_or(out)
        });

        // Drift made with kubectl shows, and apply puts it back.
        server.kubectl(&[
            "-n",
            "talk",
            "patch",
            "resourcequota",
            "genesis-quota",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"hard":{"pods":"100"}}}"#,
        ]);
        server.kubectl(&[
            "label",
            "namespace",
            "talk",
            "--overwrite",
            "pod-security.kubernetes.io/enforce=privileged",
        ]);
        assert!(ws.plan_has_changes(), "quota and Pod Security drift shows");
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert_no_changes(&ws, "the apply put the namespace back");
        let quota = server
            .get("talk", "resourcequota", "genesis-quota")
            .unwrap();
        assert_eq!(quota["spec"]["hard"]["pods"], "50");
        let namespace = server.get("", "namespace", "talk").unwrap();
        assert_eq!(
            namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );

        // A change through Terraform is made in place.
        ws.write("main.tf", &cluster_config(60, "pd-balanced"));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let quota = server
            .get("talk", "resourcequota", "genesis-quota")
            .unwrap();
        assert_eq!(quota["spec"]["hard"]["pods"], "60");
        // The real server refuses to change a class's parameters: the class
        // was made again.
        let class = server.get("", "storageclass", "fast-ssd").unwrap();
        assert_eq!(class["parameters"]["type"], "pd-balanced");
        assert_no_changes(&ws, "the class made again reads back as configured");

        // Imported, the cluster reads its namespaces back from the server.
        ws.run(&["state", "rm", "genesis_cluster.main"]).ok();
        ws.run(&["import", "-input=false", "genesis_cluster.main", CLUSTER])
            .ok();
        assert_no_changes(&ws, "an imported cluster plans no change");

        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        assert!(server.get("talk", "deployment", "api").is_none());
        assert_eq!(sim.state()["gke"]["clusters"], json!({}));
    });
}

/// What legitimately differs between two API servers holding the same
/// object: identities, times, versions, allocated addresses, status, and
/// the claim of the resource instance holding it (random per create).
pub(crate) fn comparable(object: &serde_json::Value) -> serde_json::Value {
    let mut o = object.clone();
    if let Some(meta) = o["metadata"].as_object_mut() {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            meta.remove(k);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(|a| a.as_object_mut()) {
            annotations.remove("deployment.kubernetes.io/revision");
            annotations.remove("genesis-platform.dev/claim");
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(spec) = o["spec"].as_object_mut() {
        for k in ["clusterIP", "clusterIPs", "healthCheckNodePort"] {
            spec.remove(k);
        }
        for port in spec
            .get_mut("ports")
            .and_then(|p| p.as_array_mut())
            .into_iter()
            .flatten()
        {
            if port["nodePort"] != 30443 {
                port.as_object_mut().unwrap().remove("nodePort");
            }
        }
    }
    if let Some(o) = o.as_object_mut() {
        o.remove("status");
    }
    // A Job's selector and pod labels carry its own uid.
    if o["kind"] == "Job" {
        o["spec"].as_object_mut().unwrap().remove("selector");
        if let Some(labels) = o["spec"]["template"]["metadata"]["labels"].as_object_mut() {
            labels.retain(|k, _| !k.ends_with("controller-uid"));
        }
    }
    // The autoscaler's to set, each on its own time.
    if o["kind"] == "Deployment" && o["metadata"]["name"] == "api" {
        o["spec"].as_object_mut().unwrap().remove("replicas");
    }
    o
}

/// A simulated GKE cluster with `namespace`, made by Terraform, and a
/// kubeconfig for it (the workspace keeps the cluster in its state).
pub(crate) fn simulated_cluster(
    tf: &crate::harness::Terraform,
    sim: &crate::harness::Sim,
    namespace: &str,
) -> (Workspace, String) {
    let cluster = Workspace::new(
        tf,
        &[(
            "main.tf",
            &format!(
                r#"
terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}
resource "genesis_cluster" "sim" {{
  project_id            = "p"
  region                = "us-central1"
  name                  = "sim"
  enable_autopilot      = true
  kubernetes_namespaces = ["{namespace}"]
}}
output "endpoint" {{
  value = genesis_cluster.sim.endpoint
}}
output "ca_certificate" {{
  value = genesis_cluster.sim.ca_certificate
}}
"#
            ),
        )],
    )
    .against(sim);
    cluster
        .run(&["apply", "-input=false", "-auto-approve"])
        .ok();
    let outputs = cluster.run(&["output", "-json"]).ok().json();
    let kubeconfig = crate::harness::kubeconfig(&outputs, &sim.running.urls.token);
    (cluster, kubeconfig)
}

/// The same workloads applied by Terraform to genesis-sim and to the real
/// API server are stored alike: every object genesis_workload renders reads
/// back the same from both, defaults and omissions included. Where they
/// differ, the real server is right and genesis-sim is fixed.
#[test]
fn the_simulator_stores_workloads_as_the_real_server_does() {
    let tf = &crate::harness::terraforms()[0];
    let server = ApiServer::start();
    let sim = crate::harness::Sim::start();
    let (_cluster, sim_kubeconfig) = simulated_cluster(tf, &sim, "same");
    server.kubectl(&["create", "namespace", "same"]);
    server.kubectl(&["-n", "same", "create", "serviceaccount", "shared-runner"]);

    let mut stored = Vec::new();
    for kubeconfig in [&sim_kubeconfig, &server.kubeconfig] {
        let ws = Workspace::new(
            tf,
            &[
                ("main.tf", &config("same", "nginx:1.27", "1Gi")),
                ("kubeconfig", kubeconfig),
            ],
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let kubeconfig_file = ws.dir.path().join("kubeconfig");
        let mut objects = std::collections::BTreeMap::new();
        for (kind, name) in OBJECTS {
            let out = std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&kubeconfig_file)
                .args(["-n", "same", "get", kind, name, "-o", "json"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{kind}/{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let object: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            objects.insert(format!("{kind}/{name}"), comparable(&object));
        }
        stored.push(objects);
    }
    // A node port on a Service whose type is left to its default
    // (ClusterIP) is refused by both, in the real server's words.
    let service = r#"{"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "np", "namespace": "same"},
        "spec": {"selector": {"app": "np"}, "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]}}"#;
    let refusals: Vec<String> = [&sim_kubeconfig, &server.kubeconfig]
        .into_iter()
        .map(|kubeconfig| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
            std::fs::write(dir.path().join("np.json"), service).unwrap();
            let out = std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(dir.path().join("kubeconfig"))
                .args(["apply", "--server-side", "-f", "np.json"])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                !out.status.success(),
                "a node port on a ClusterIP Service was accepted"
            );
            String::from_utf8_lossy(&out.stderr).into_owned()
        })
        .collect();
    assert_eq!(
        refusals[0], refusals[1],
        "genesis-sim refuses as the real server does"
    );
    assert!(
        refusals[1].contains(
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
        ),
        "{}",
        refusals[1]
    );

    let (simulated, real) = (&stored[0], &stored[1]);
    let differing: Vec<String> = real
        .iter()
        .filter(|(key, object)| simulated.get(*key) != Some(object))
        .map(|(key, object)| {
            format!(
                "{key}:\n  real: {}\n  sim:  {}",
                object,
                simulated.get(key).cloned().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "genesis-sim stores these differently from the real server:\n{}",
        differing.join("\n")
    );
}

/// A CustomResourceDefinition (a trimmed Istio VirtualService) and one of
/// its resources, applied with kubectl to genesis-sim and to the real API
/// server: the definition is defaulted and established alike, the resource
/// pruned and stored alike, and an invalid one refused with the same
/// field errors.
#[test]
fn the_simulator_serves_custom_resources_as_the_real_server_does() {
    let tf = &crate::harness::terraforms()[0];
    let server = ApiServer::start();
    let sim = crate::harness::Sim::start();
    let (cluster, sim_kubeconfig) = simulated_cluster(tf, &sim, "golden");
    server.kubectl(&["create", "namespace", "golden"]);
    let files = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/tests/custom");
    let wrong = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wrong, namespace: golden}
spec:
  http:
  - route:
    - destination: {host: reviews, port: {number: 70000}}
      weight: ten
"#;
    let mut seen = Vec::new();
    for (at, kubeconfig) in [("sim", sim_kubeconfig), ("real", server.kubeconfig.clone())] {
        let dir = cluster.dir.path().join(at);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("kubeconfig"), kubeconfig).unwrap();
        std::fs::write(dir.join("wrong.yaml"), wrong).unwrap();
        let kubectl = |args: &[&str]| {
            std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(dir.join("kubeconfig"))
                .args(args)
                .current_dir(&files)
                .output()
                .expect("kubectl on PATH")
        };
        let ok = |args: &[&str]| {
            let out = kubectl(args);
            assert!(
                out.status.success(),
                "{at}: kubectl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        ok(&["apply", "--server-side", "-f", "virtualservice-crd.yaml"]);
        ok(&[
            "wait",
            "--for=condition=Established",
            "crd/virtualservices.networking.istio.io",
            "--timeout=30s",
        ]);
        // Published once the OpenAPI controller has caught up.
        let document = (0..100)
            .find_map(|_| {
                let out = kubectl(&["get", "--raw", "/openapi/v3/apis/networking.istio.io/v1"]);
                if out.status.success() {
                    return Some(String::from_utf8_lossy(&out.stdout).into_owned());
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
                None
            })
            .unwrap_or_else(|| panic!("{at}: the definition's OpenAPI document"));
        let mut document: serde_json::Value = serde_json::from_str(&document).unwrap();
        // DeleteOptions names every group the server serves, and
        // genesis-sim serves fewer than a real server.
        if let Some(options) =
            document["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
                .as_object_mut()
        {
            options.remove("x-kubernetes-group-version-kind");
        }
        // Server-side apply refuses the undeclared field; create prunes it.
        let applied = kubectl(&[
            "apply",
            "--server-side",
            "--validate=false",
            "-f",
            "reviews.yaml",
        ]);
        assert!(
            !applied.status.success(),
            "{at}: an undeclared field is refused"
        );
        let apply_error = String::from_utf8_lossy(&applied.stderr).into_owned();
        ok(&["create", "--validate=false", "-f", "reviews.yaml"]);
        let get = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&ok(args)).unwrap() };
        let crd = get(&[
            "get",
            "crd",
            "virtualservices.networking.istio.io",
            "-o",
            "json",
        ]);
        let vs = get(&["-n", "golden", "get", "vs", "reviews", "-o", "json"]);
        let refused = kubectl(&[
            "create",
            "--validate=false",
            "-f",
            dir.join("wrong.yaml").to_str().unwrap(),
        ]);
        assert!(
            !refused.status.success(),
            "{at}: the invalid resource is refused"
        );
        let mut errors: Vec<String> = String::from_utf8_lossy(&refused.stderr)
            .lines()
            .map(str::to_string)
            .collect();
        errors.sort();
        let conditions: Vec<_> = crd["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["type"].clone(),
                    c["status"].clone(),
                    c["reason"].clone(),
                    c["message"].clone(),
                )
            })
            .collect();
        seen.push((
            comparable(&crd),
            json!({
                "acceptedNames": crd["status"]["acceptedNames"],
                "storedVersions": crd["status"]["storedVersions"],
                "conditions": format!("{conditions:?}"),
            }),
            comparable(&vs),
            errors,
            apply_error,
            document["components"]["schemas"].clone(),
            document["paths"]["/apis/networking.istio.io/v1/namespaces/{namespace}/virtualservices/{name}"]["patch"].clone(),
        ));
    }
    let (sim, real) = (&seen[0], &seen[1]);
    assert_eq!(sim.0, real.0, "the definition as stored");
    assert_eq!(sim.1, real.1, "the definition's status");
    assert_eq!(sim.2, real.2, "the resource as stored");
    assert_eq!(sim.3, real.3, "kubectl's errors for the invalid resource");
    assert_eq!(sim.4, real.4, "server-side apply of an undeclared field");
    let schemas = |v: &serde_json::Value| v.as_object().cloned().unwrap_or_default();
    let differing: Vec<String> = schemas(&real.5)
        .into_iter()
        .filter(|(name, schema)| sim.5.get(name) != Some(schema))
        .map(|(name, schema)| format!("{name}:\n  real: {schema}\n  sim:  {}", sim.5[&name]))
        .collect();
    assert!(
        differing.is_empty() && schemas(&sim.5).len() == schemas(&real.5).len(),
        "the OpenAPI schemas published for the definition differ:\n{}",
        differing.join("\n")
    );
    assert!(real.6.is_object());
    assert_eq!(sim.6, real.6, "the PATCH operation kubectl reads");
}

/// A meshed workload applied by Terraform to genesis-sim and to the real
/// API server, both with Istio's own CustomResourceDefinitions (their
/// schemas and validation rules): the real server accepts Genesis's
/// PeerAuthentication, VirtualService and DestinationRule, and both store
/// them alike.
#[test]
fn meshed_workloads_are_stored_as_the_real_server_does() {
    let workload = r#"
  ports   = [{ name = "http", container_port = 8080 }]
  service = { ports = [{ port = 80, target_port = 8080 }] }
  mesh = {
    mtls    = "STRICT"
    timeout = "5s"
    retries = { attempts = 3, per_try_timeout = "2s", retry_on = "5xx,reset" }
    outlier_detection = { consecutive_5xx_errors = 5, interval = "10s", base_ejection_time = "30s", max_ejection_percent = 50 }
  }
"#;
    let stored = stored_by_both(
        "meshed",
        workload,
        crate::harness::install_istio,
        &["peerauthentication", "virtualservice", "destinationrule"],
    );
    assert_eq!(
        stored[0], stored[1],
        "genesis-sim stores the mesh's objects as the real server does"
    );
}

/// genesis-sim and the real API server, both with the External Secrets
/// Operator's own CustomResourceDefinitions (v0.16.2): the real server
/// accepts Genesis's ExternalSecret, and both store it alike, with the
/// schema's defaults (the real server has no operator, so the apply does
/// not wait for the sync here; acceptance/secrets.rs does).
#[test]
fn external_secrets_are_stored_as_the_real_server_does() {
    let workload = r#"
  external_secrets = {
    DB_PASSWORD = { store = "gcp", key = "db-password", version = "latest" }
    API_TOKEN   = { store = "aws", key = "prod/api", property = "token" }
  }
"#;
    let stored = stored_by_both(
        "secrets",
        workload,
        crate::harness::install_external_secrets,
        &["externalsecret"],
    );
    assert_eq!(
        stored[0], stored[1],
        "genesis-sim stores the ExternalSecret as the real server does"
    );
}

/// Applies a workload with `settings` in `namespace` through a kubeconfig,
/// not waiting for its rollout, to a simulated cluster and to the real API
/// server, each first given the CustomResourceDefinitions `install`
/// applies; returns the `kinds` named after the workload as each stored
/// them, without what differs by server.
fn stored_by_both(
    namespace: &str,
    settings: &str,
    install: fn(&crate::harness::Kubectl),
    kinds: &[&str],
) -> Vec<std::collections::BTreeMap<String, serde_json::Value>> {
    let tf = &crate::harness::terraforms()[0];
    let server = ApiServer::start();
    let sim = crate::harness::Sim::start();
    let (cluster, sim_kubeconfig) = simulated_cluster(tf, &sim, namespace);
    server.kubectl(&["create", "namespace", namespace]);
    let workload = kubeconfig_workload("api", namespace, settings);
    let mut stored = Vec::new();
    for (at, kubeconfig) in [("sim", &sim_kubeconfig), ("real", &server.kubeconfig)] {
        let ws = Workspace::new(tf, &[("main.tf", &workload), ("kubeconfig", kubeconfig)]);
        let kubectl = crate::harness::kubectl(&ws.dir.path().join("kubeconfig"), namespace);
        install(&kubectl);
        // The real server serves a definition's resources a moment after
        // it is established.
        let mut applied = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        for _ in 0..20 {
            if applied.status.success() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
            applied = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        }
        assert!(
            applied.status.success(),
            "{at}: {}\n{}",
            applied.stdout,
            applied.stderr
        );
        let mut objects = std::collections::BTreeMap::new();
        for kind in kinds {
            let out = kubectl(&["get", kind, "api", "-o", "json"]);
            let mut object: serde_json::Value = serde_json::from_str(&out).unwrap();
            // Only controllers write statuses, and the real server has none
            // for these kinds.
            if let Some(o) = object.as_object_mut() {
                o.remove("status");
            }
            objects.insert(kind.to_string(), comparable(&object));
        }
        assert!(!ws.plan_has_changes(), "{at}: read back as applied");
        stored.push(objects);
    }
    drop(cluster);
    stored
}

/// An EKS cluster made straight through genesis-sim's EKS API, without the
/// metrics-server add-on, and a kubeconfig with an EKS token for it (signed
/// as `aws eks get-token` signs one, by boto3).
fn simulated_eks_cluster_without_metrics(sim: &crate::harness::Sim) -> String {
    let script = format!(
        r#"
import base64, json, time, boto3
creds = dict(region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')
eks = boto3.client('eks', endpoint_url='{eks}', **creds)
eks.create_cluster(name='no-metrics', roleArn='arn:aws:iam::123456789012:role/r',
                   resourcesVpcConfig={{'subnetIds': ['subnet-a', 'subnet-b']}})
while True:
    c = eks.describe_cluster(name='no-metrics')['cluster']
    if c['status'] == 'ACTIVE' and c.get('endpoint'):
        break
    time.sleep(0.2)
sts = boto3.client('sts', **creds)
def name_cluster(request, **kwargs):
    request.headers['x-k8s-aws-id'] = 'no-metrics'
sts.meta.events.register('before-sign.sts.GetCallerIdentity', name_cluster)
url = sts.generate_presigned_url('get_caller_identity', Params={{}}, ExpiresIn=60, HttpMethod='GET')
token = 'k8s-aws-v1.' + base64.urlsafe_b64encode(url.encode()).decode().rstrip('=')
print(json.dumps({{'endpoint': c['endpoint'], 'ca': c['certificateAuthority']['data'], 'token': token}}))
"#,
        eks = sim.running.urls.eks
    );
    let made: serde_json::Value = serde_json::from_str(&crate::harness::python(&script)).unwrap();
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "eks", "cluster": {
            "server": made["endpoint"],
            "certificate-authority-data": made["ca"],
        }}],
        "users": [{"name": "eks", "user": {"token": made["token"]}}],
        "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks"}}],
        "current-context": "eks",
    })
    .to_string()
}

/// An autoscaler on a cluster that serves no resource metrics (no
/// metrics-server) reads the same from genesis-sim and the real API server
/// with its controller manager: the controller's conditions, in its words,
/// and `kubectl get hpa`'s TARGETS column (`<unknown>`).
#[test]
fn an_autoscaler_without_metrics_reads_as_on_the_real_server() {
    let server = ApiServer::start();
    let sim = crate::harness::Sim::start();
    let sim_kubeconfig = simulated_eks_cluster_without_metrics(&sim);
    let deployment = r#"
      {"apiVersion": "apps/v1", "kind": "Deployment",
       "metadata": {"name": "api", "namespace": "default"},
       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                "template": {"metadata": {"labels": {"app": "api"}},
                             "spec": {"containers": [{"name": "api", "image": "nginx:1.27",
                                      "resources": {"requests": {"cpu": "100m"}}}]}}}}"#;
    let autoscaler = r#"
      {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
       "metadata": {"name": "api", "namespace": "default"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "minReplicas": 2, "maxReplicas": 6,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                             "target": {"type": "Utilization", "averageUtilization": 70}}}]}}"#;
    let seen: Vec<(serde_json::Value, String)> = [&sim_kubeconfig, &server.kubeconfig]
        .into_iter()
        .map(|kubeconfig| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
            std::fs::write(dir.path().join("deployment.json"), deployment).unwrap();
            std::fs::write(dir.path().join("autoscaler.json"), autoscaler).unwrap();
            let kubectl = crate::harness::kubectl(&dir.path().join("kubeconfig"), "default");
            let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
            kubectl(&["apply", "--server-side", "-f", &file("deployment.json")]);
            kubectl(&["apply", "--server-side", "-f", &file("autoscaler.json")]);
            let conditions = server.eventually("the autoscaler's conditions", || {
                let hpa: serde_json::Value =
                    serde_json::from_str(&kubectl(&["get", "hpa", "api", "-o", "json"])).unwrap();
                let conditions: Vec<serde_json::Value> = hpa["status"]["conditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| json!([c["type"], c["status"], c["reason"], c["message"]]))
                    .collect();
                if conditions.iter().any(|c| c[0] == "ScalingActive") {
                    Ok(json!(conditions))
                } else {
                    Err(hpa["status"].to_string())
                }
            });
            // NAME REFERENCE TARGETS MINPODS MAXPODS (REPLICAS and AGE are
            // each server's own time).
            let table = kubectl(&["get", "hpa", "api"]);
            let columns: Vec<String> = table
                .lines()
                .map(|l| {
                    let cells: Vec<&str> = l
                        .split("  ")
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect();
                    cells
                        .iter()
                        .take(5)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect();
            (conditions, columns.join("\n"))
        })
        .collect();
    assert_eq!(
        seen[0], seen[1],
        "genesis-sim (left) reports an autoscaler without metrics as the real server (right) does"
    );
    assert!(seen[1].1.contains("<unknown>/70%"), "{}", seen[1].1);
}

/// An Ingress that names no class gets the cluster's default IngressClass
/// when it is created (the DefaultIngressClass admission plugin), from
/// genesis-sim as from the real API server; one with GKE's class
/// annotation, or a class of its own, is left as it is. Also who owns the
/// class admission set, which decides whether the creator's next
/// server-side apply, which does not name it, takes it away again.
#[test]
fn a_default_ingress_class_is_given_as_on_the_real_server() {
    let server = ApiServer::start();
    let sim = crate::harness::Sim::start();
    let tf = &crate::harness::terraforms()[0];
    let (_cluster, sim_kubeconfig) = simulated_cluster(tf, &sim, "apps");
    let class = r#"{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
       "metadata": {"name": "alb", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
       "spec": {"controller": "eks.amazonaws.com/alb"}}"#;
    let ingress = |name: &str, extra: &str| {
        format!(
            r#"{{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {{"name": "{name}", "namespace": "apps"{extra}}},
               "spec": {{"defaultBackend": {{"service": {{"name": "shop", "port": {{"number": 80}}}}}}}}}}"#
        )
    };
    let files = [
        ("class.json", class.to_string()),
        ("plain.json", ingress("plain", "")),
        (
            "annotated.json",
            ingress(
                "annotated",
                r#", "annotations": {"kubernetes.io/ingress.class": "gce"}"#,
            ),
        ),
        (
            "relabelled.json",
            ingress("plain", r#", "labels": {"tier": "web"}"#),
        ),
    ];
    let seen: Vec<serde_json::Value> = [&sim_kubeconfig, &server.kubeconfig]
        .into_iter()
        .map(|kubeconfig| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
            for (name, text) in &files {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            let kubectl = crate::harness::kubectl(&dir.path().join("kubeconfig"), "apps");
            let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
            let apply = |name: &str| {
                kubectl(&[
                    "apply",
                    "--server-side",
                    "--field-manager=genesis",
                    "-f",
                    &file(name),
                ]);
            };
            if kubeconfig == &server.kubeconfig {
                kubectl(&["create", "namespace", "apps"]);
            }
            apply("class.json");
            // The admission plugin reads the classes from an informer.
            server.eventually("the class is listed", || {
                let listed = kubectl(&["get", "ingressclass", "-o", "name"]);
                if listed.contains("alb") {
                    Ok(())
                } else {
                    Err(listed)
                }
            });
            apply("plain.json");
            apply("annotated.json");
            let read = |name: &str| -> serde_json::Value {
                serde_json::from_str(&kubectl(&["get", "ingress", name, "-o", "json"])).unwrap()
            };
            let owned_by_genesis = |o: &serde_json::Value| {
                o["metadata"]["managedFields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m["manager"] == "genesis")
                    .any(|m| m["fieldsV1"]["f:spec"]["f:ingressClassName"].is_object())
            };
            let plain = read("plain");
            let annotated = read("annotated");
            // The creator applies again without the class.
            apply("relabelled.json");
            let again = read("plain");
            json!({
                "plain": plain["spec"]["ingressClassName"],
                "plain owned by its creator": owned_by_genesis(&plain),
                "annotated": annotated["spec"]["ingressClassName"],
                "after the creator's next apply": again["spec"]["ingressClassName"],
            })
        })
        .collect();
    assert_eq!(
        seen[0], seen[1],
        "genesis-sim (left) and the real API server (right)"
    );
    eprintln!("{:#}", seen[1]);
}

/// A watch from the resource version a client read tells of a deletion
/// made before the watch began (the real server replays it from its watch
/// cache), on genesis-sim as on the real server. Genesis waits for its
/// deletions that way: one GET, then one watch from the version read.
#[test]
fn a_watch_from_a_version_replays_an_earlier_deletion_as_on_the_real_server() {
    let server = ApiServer::start();
    let sim = crate::harness::Sim::start();
    let tf = &crate::harness::terraforms()[0];
    let (_cluster, sim_kubeconfig) = simulated_cluster(tf, &sim, "apps");
    let seen: Vec<serde_json::Value> = [&sim_kubeconfig, &server.kubeconfig]
        .into_iter()
        .map(|kubeconfig| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("kubeconfig"), kubeconfig).unwrap();
            let kubectl = crate::harness::kubectl(&dir.path().join("kubeconfig"), "apps");
            if kubeconfig == &server.kubeconfig {
                kubectl(&["create", "namespace", "apps"]);
            }
            for name in ["staying", "going"] {
                kubectl(&["create", "configmap", name, "--from-literal=a=b"]);
            }
            let read = kubectl(&[
                "get",
                "configmap",
                "going",
                "-o",
                "jsonpath={.metadata.resourceVersion}",
            ]);
            kubectl(&["delete", "configmap", "going", "--wait=false"]);
            let watch = |name: &str| {
                kubectl(&[
                    "get",
                    "--raw",
                    &format!("/api/v1/namespaces/apps/configmaps?watch=1&fieldSelector=metadata.name%3D{name}&resourceVersion={read}&timeoutSeconds=2"),
                ])
            };
            let events = |out: String| -> Vec<serde_json::Value> {
                out.lines()
                    .map(|l| {
                        let e: serde_json::Value = serde_json::from_str(l).unwrap();
                        let version: u64 = e["object"]["metadata"]["resourceVersion"]
                            .as_str()
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        json!([e["type"], e["object"]["metadata"]["name"], version > read.parse::<u64>().unwrap()])
                    })
                    .collect()
            };
            json!({
                "deleted before the watch": events(watch("going")),
                "unchanged since": events(watch("staying")),
            })
        })
        .collect();
    assert_eq!(
        seen[0], seen[1],
        "genesis-sim (left) and the real API server (right)"
    );
    assert_eq!(
        seen[1],
        json!({
            "deleted before the watch": [["DELETED", "going", true]],
            "unchanged since": [],
        })
    );
}

/// Workloads of a fleet, as the scale issue measured them: a Deployment, a
/// Service and a HorizontalPodAutoscaler each, not waited on.
fn fleet(namespace: &str, count: usize) -> String {
    let mut config = String::from(
        r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}
"#,
    );
    for i in 0..count {
        config.push_str(&format!(
            r#"
resource "genesis_workload" "app_{i}" {{
  kubeconfig_path  = "./kubeconfig"
  namespace        = "{namespace}"
  name             = "app-{i}"
  image            = "nginx:1.27"
  ports            = [{{ container_port = 8080 }}]
  resources        = {{ requests = {{ cpu = "100m" }} }}
  service          = {{}}
  autoscaling      = {{ min_replicas = 1, max_replicas = 3, cpu_target = 70 }}
  wait_for_rollout = false
}}
"#
        ));
    }
    config
}

/// Calls (verb, resource) by how many were made.
fn tally(calls: &[(String, String)]) -> std::collections::BTreeMap<(String, String), usize> {
    let mut by_call = std::collections::BTreeMap::new();
    for call in calls {
        *by_call.entry(call.clone()).or_default() += 1;
    }
    by_call
}

/// A refresh and a destroy on a real API server, counted by the server:
/// the calls are the provider's own, told by its User-Agent in the
/// server's audit log.
///
/// The refresh reads each kind once per namespace for all the workloads
/// (the first read by GET, the rest from one shared list), where reading
/// each object cost a GET per object (6 to 9 per workload in the scale
/// issue's measurement). The destroy's delete reads each object once
/// (whose it is) and deletes it; what its DELETE leaves going (the
/// Deployments, deleted in the foreground while the garbage collector
/// takes their ReplicaSets and pods) is watched from the version the
/// DELETE answered. Polling made a GET per object per second of the
/// collector's work (86 calls per workload in the scale issue's
/// measurement).
#[test]
fn a_refresh_and_a_destroy_on_a_real_api_server_make_few_calls() {
    const WORKLOADS: usize = 10;
    let server = ApiServer::start_audited();
    first_terraform(|tf| {
        server.kubectl(&["create", "namespace", "fleet"]);
        let ws = Workspace::new(
            tf,
            &[
                ("main.tf", &fleet("fleet", WORKLOADS)),
                ("kubeconfig", &server.kubeconfig),
            ],
        );
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        // The pods exist, so the collector has work to do.
        server.eventually("the fleet's pods", || {
            let pods = server.kubectl(&["-n", "fleet", "get", "pods", "-o", "name"]);
            (pods.lines().count() >= WORKLOADS)
                .then_some(())
                .ok_or(pods)
        });
        let agent = "terraform-provider-genesis/";
        let before = server.calls_of(agent).len();
        ws.run(&["plan", "-input=false", "-detailed-exitcode"]).ok();
        let refresh = server.calls_of(agent).split_off(before);
        let per_workload = refresh.len() as f64 / WORKLOADS as f64;
        eprintln!(
            "plan with refresh of {WORKLOADS} workloads: {} calls ({per_workload:.1} per workload): {:?}",
            refresh.len(),
            tally(&refresh)
        );
        assert!(
            per_workload <= 2.0,
            "at most 2 calls per workload: {:?}",
            tally(&refresh)
        );
        let before = server.calls_of(agent).len();
        ws.run(&["destroy", "-input=false", "-auto-approve"]).ok();
        let calls = server.calls_of(agent).split_off(before);
        let by_call = tally(&calls);
        eprintln!(
            "destroy of {WORKLOADS} workloads: {} calls ({:.1} per workload): {by_call:?}",
            calls.len(),
            calls.len() as f64 / WORKLOADS as f64
        );
        // The kubernetes provider's destroy: 18 calls per workload (the
        // scale issue's measurement).
        assert!(
            calls.len() <= 18 * WORKLOADS,
            "at most 18 calls per workload: {by_call:?}"
        );
        for resource in ["deployments", "services", "horizontalpodautoscalers"] {
            let count = |verb: &str| {
                by_call
                    .get(&(verb.to_string(), resource.to_string()))
                    .copied()
                    .unwrap_or(0)
            };
            assert_eq!(count("delete"), WORKLOADS, "{resource}: one DELETE each");
            assert!(
                count("get") <= WORKLOADS + 1,
                "{resource}: {} GETs for {WORKLOADS} workloads (whose, and the refresh's first): {by_call:?}",
                count("get")
            );
        }
        assert!(
            server
                .kubectl(&[
                    "-n",
                    "fleet",
                    "get",
                    "deployments,services,hpa",
                    "-o",
                    "name"
                ])
                .trim()
                .is_empty(),
            "everything is gone"
        );
    });
}
