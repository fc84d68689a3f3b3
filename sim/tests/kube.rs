//! The Kubernetes face of genesis-sim against what a real v1.36 API server
//! recorded (`../shared/kube/transcripts`), and driven by kubectl.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use genesis_sim::{Config, DEV_TOKEN, Running};
use serde_json::{Value as Json, json};

struct Cluster {
    running: Running,
    endpoint: String,
    ca_pem: String,
    http: reqwest::Client,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.running.shutdown();
    }
}

async fn cluster_with(config: Config) -> Cluster {
    let running = genesis_sim::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let gke = running.urls.gke.clone();
    let created = http
        .post(format!(
            "{gke}/v1/projects/p/locations/us-central1/clusters"
        ))
        .bearer_auth(DEV_TOKEN)
        .json(&json!({"cluster": {"name": "c", "initialNodeCount": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let cluster: Json = http
        .get(format!(
            "{gke}/v1/projects/p/locations/us-central1/clusters/c"
        ))
        .bearer_auth(DEV_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let endpoint = cluster["endpoint"]
        .as_str()
        .expect("a running cluster has an endpoint")
        .to_string();
    let ca = base64::engine::general_purpose::STANDARD
        .decode(
            cluster["masterAuth"]["clusterCaCertificate"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let ca_pem = String::from_utf8(ca).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Cluster {
        running,
        endpoint,
        ca_pem,
        http,
    }
}

impl Cluster {
    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &Json,
        token: &str,
    ) -> (u16, Json) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // The recorded client was Python's urllib; the field manager of its
        // updates comes from the user agent.
        let mut req = self
            .http
            .request(method, format!("https://{}{path}", self.endpoint))
            .bearer_auth(token)
            .header("user-agent", "Python-urllib/3.11");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req = match body {
            Json::Null => req,
            Json::String(s) => req.body(s.clone()),
            other => req.body(other.to_string()),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Json::Null))
    }

    async fn get(&self, path: &str) -> (u16, Json) {
        self.send("GET", path, None, &Json::Null, DEV_TOKEN).await
    }

    async fn apply(&self, path: &str, manager: &str, body: Json) -> (u16, Json) {
        let path = format!("{path}?fieldManager={manager}");
        self.send(
            "PATCH",
            &path,
            Some("application/apply-patch+yaml"),
            &body,
            DEV_TOKEN,
        )
        .await
    }
}

fn transcripts() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/kube/transcripts");
    dir.exists().then_some(dir)
}

fn load(dir: &Path, name: &str) -> Json {
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
        .unwrap()
}

/// Removes what legitimately differs between two servers: identities,
/// times, versions, allocated addresses.
fn comparable(v: &Json) -> Json {
    let mut v = v.clone();
    if let Some(meta) = v["metadata"].as_object_mut() {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
        ] {
            meta.remove(k);
        }
        if let Some(fields) = meta.get_mut("managedFields").and_then(Json::as_array_mut) {
            // The simulated controller manager writes less status than the
            // real one; only the appliers' and scalers' entries compare.
            fields.retain(|f| f["manager"] != "kube-controller-manager");
            for f in fields.iter_mut() {
                f.as_object_mut().unwrap().remove("time");
            }
        }
    }
    if let Some(spec) = v["spec"].as_object_mut() {
        for k in ["clusterIP", "clusterIPs"] {
            spec.remove(k);
        }
        for p in spec
            .get_mut("ports")
            .and_then(Json::as_array_mut)
            .into_iter()
            .flatten()
        {
            p.as_object_mut().unwrap().remove("nodePort");
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    v
}

#[tokio::test]
async fn the_simulator_answers_as_the_recorded_server() {
    let Some(dir) = transcripts() else { return };
    let c = cluster_with(Config::default()).await;
    // The recorded session, in the order it happened.
    let scenario = [
        "discovery-version",
        "discovery-api",
        "discovery-apis",
        "error-401-bad-token",
        "namespace-create-201",
        "error-409-already-exists",
        "error-422-invalid-name",
        "error-404-missing",
        "deployment-ssa-create",
        "deployment-get-after-controller",
        "deployment-ssa-reapply-noop",
        "error-409-stale-resourceversion",
        "deployment-scale-by-other-manager",
        "error-409-ssa-conflict",
        "deployment-ssa-without-replicas",
        "error-422-bad-quantity",
        "hpa-ssa-create",
        "pdb-ssa-create",
        "networkpolicy-ssa-create",
        "service-ssa-create",
        "deployment-list-labelselector",
        "deployment-delete-foreground",
        "deployment-get-while-deleting",
        "service-delete",
        "namespace-delete",
        "namespace-get-terminating",
    ];
    let mut previous_version = Json::Null;
    for name in scenario {
        if matches!(
            name,
            "deployment-get-while-deleting" | "deployment-get-after-controller"
        ) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let t = load(&dir, name);
        let req = &t["request"];
        let token = if name.starts_with("error-401") {
            "not-a-token"
        } else {
            DEV_TOKEN
        };
        let (status, body) = c
            .send(
                req["method"].as_str().unwrap(),
                req["path"].as_str().unwrap(),
                req["content_type"].as_str(),
                &req["body"],
                token,
            )
            .await;
        let expected = &t["response"]["body"];
        let version_before = previous_version.clone();
        previous_version = body["metadata"]["resourceVersion"].clone();
        let previous_version = version_before;
        assert_eq!(
            status, t["response"]["status"],
            "{name}: status; got {body:#}"
        );
        assert_eq!(body["kind"], expected["kind"], "{name}: kind; got {body:#}");
        if expected["kind"] == "Status" {
            assert_eq!(body["reason"], expected["reason"], "{name}: reason");
            assert_eq!(body["message"], expected["message"], "{name}: message");
            assert_eq!(body["code"], expected["code"], "{name}: code");
            assert_eq!(
                body["details"]["causes"], expected["details"]["causes"],
                "{name}: causes"
            );
            continue;
        }
        match name {
            "discovery-version" => {
                for k in ["major", "minor", "gitVersion", "platform"] {
                    assert!(body[k].is_string(), "{name}: {k}");
                }
            }
            "discovery-api" | "discovery-apis" => {
                assert_eq!(body["kind"], expected["kind"]);
            }
            "deployment-list-labelselector" => {
                assert_eq!(
                    body["items"].as_array().unwrap().len(),
                    expected["items"].as_array().unwrap().len()
                );
                assert_eq!(
                    comparable(&body["items"][0])["spec"],
                    comparable(&expected["items"][0])["spec"]
                );
            }
            "deployment-get-after-controller" => {
                assert_eq!(
                    comparable(&body)["spec"],
                    comparable(expected)["spec"],
                    "{name}: spec"
                );
                for k in ["observedGeneration", "replicas", "updatedReplicas"] {
                    assert_eq!(
                        body["status"][k], expected["status"][k],
                        "{name}: status.{k}"
                    );
                }
                let types = |v: &Json| {
                    v["status"]["conditions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["type"].clone())
                        .collect::<Vec<_>>()
                };
                assert_eq!(types(&body), types(expected), "{name}: conditions");
                assert_eq!(
                    body["metadata"]["annotations"], expected["metadata"]["annotations"],
                    "{name}: annotations"
                );
            }
            "deployment-ssa-reapply-noop" => {
                assert_eq!(
                    comparable(&body)["spec"],
                    comparable(expected)["spec"],
                    "{name}: spec"
                );
                assert_eq!(
                    body["metadata"]["resourceVersion"], previous_version,
                    "{name}: a no-op apply changes nothing"
                );
            }
            "deployment-scale-by-other-manager" => {
                assert_eq!(body["spec"], expected["spec"], "{name}");
                assert_eq!(
                    body["status"]["selector"], expected["status"]["selector"],
                    "{name}"
                );
            }
            "namespace-delete" | "namespace-get-terminating" => {
                assert_eq!(body["status"]["phase"], "Terminating", "{name}");
                assert_eq!(
                    comparable(&body)["metadata"]["labels"],
                    comparable(expected)["metadata"]["labels"]
                );
            }
            _ => {
                let (ours, theirs) = (comparable(&body), comparable(expected));
                assert_eq!(ours["spec"], theirs["spec"], "{name}: spec");
                assert_eq!(
                    ours["metadata"]["labels"], theirs["metadata"]["labels"],
                    "{name}: labels"
                );
                assert_eq!(
                    ours["metadata"]["finalizers"], theirs["metadata"]["finalizers"],
                    "{name}: finalizers"
                );
                assert_eq!(
                    ours["metadata"]["managedFields"], theirs["metadata"]["managedFields"],
                    "{name}: managedFields"
                );
            }
        }
    }
}

#[tokio::test]
async fn discovery_lists_what_the_recorded_server_lists() {
    let Some(dir) = transcripts() else { return };
    let c = cluster_with(Config::default()).await;
    for (name, path) in [
        ("discovery-api-v1", "/api/v1"),
        ("discovery-apps-v1", "/apis/apps/v1"),
        ("discovery-autoscaling-v2", "/apis/autoscaling/v2"),
        ("discovery-policy-v1", "/apis/policy/v1"),
        ("discovery-networking-v1", "/apis/networking.k8s.io/v1"),
    ] {
        let expected = &load(&dir, name)["response"]["body"];
        let (status, ours) = c.get(path).await;
        assert_eq!(status, 200);
        assert_eq!(ours["groupVersion"], expected["groupVersion"]);
        for r in ours["resources"].as_array().unwrap() {
            let theirs = expected["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == r["name"]);
            let theirs =
                theirs.unwrap_or_else(|| panic!("{path}: the real server has no {}", r["name"]));
            for k in ["kind", "namespaced", "verbs", "shortNames"] {
                assert_eq!(r[k], theirs[k], "{path} {}: {k}", r["name"]);
            }
        }
    }
    let (_, aggregated) = c
        .http
        .get(format!("https://{}/apis", c.endpoint))
        .bearer_auth(DEV_TOKEN)
        .header(
            "accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    let aggregated: Json = aggregated.json().await.unwrap();
    assert_eq!(aggregated["kind"], "APIGroupDiscoveryList");
}

#[tokio::test]
async fn deployments_roll_out_or_fail_with_the_reason() {
    let c = cluster_with(Config {
        rollout_time: Duration::from_millis(200),
        progress_deadline_cap: Some(Duration::from_millis(300)),
        ..Config::default()
    })
    .await;
    c.send(
        "POST",
        "/api/v1/namespaces",
        Some("application/json"),
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
        DEV_TOKEN,
    )
    .await;
    let deployment = |name: &str, image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": image}]}}}})
    };
    let (s, _) = c
        .apply(
            "/apis/apps/v1/namespaces/apps/deployments/good",
            "genesis",
            deployment("good", "nginx:1.27"),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = c
        .apply(
            "/apis/apps/v1/namespaces/apps/deployments/bad",
            "genesis",
            deployment("bad", "registry.example/app:broken"),
        )
        .await;
    assert_eq!(s, 201);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, good) = c
        .get("/apis/apps/v1/namespaces/apps/deployments/good")
        .await;
    assert_eq!(
        good["status"]["conditions"][0]["reason"],
        "MinimumReplicasUnavailable"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, good) = c
        .get("/apis/apps/v1/namespaces/apps/deployments/good")
        .await;
    assert_eq!(good["status"]["availableReplicas"], 2, "{good:#}");
    assert_eq!(good["status"]["observedGeneration"], 1);
    assert_eq!(
        good["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let (_, bad) = c.get("/apis/apps/v1/namespaces/apps/deployments/bad").await;
    let progressing = bad["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Progressing")
        .unwrap();
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded", "{bad:#}");
    assert!(bad["status"]["availableReplicas"].is_null());

    // Their pods say why, as the kubelet would.
    let (s, pods) = c
        .get("/api/v1/namespaces/apps/pods?labelSelector=app%3Dbad")
        .await;
    assert_eq!(s, 200, "{pods:#}");
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{pods:#}");
    let waiting = &items[0]["status"]["containerStatuses"][0]["state"]["waiting"];
    assert_eq!(waiting["reason"], "ImagePullBackOff");
    assert_eq!(
        waiting["message"],
        "Back-off pulling image \"registry.example/app:broken\""
    );
    assert_eq!(items[0]["status"]["phase"], "Pending");
    assert_eq!(items[0]["metadata"]["ownerReferences"][0]["name"], "bad");
    let (_, pods) = c
        .get("/api/v1/namespaces/apps/pods?labelSelector=app%3Dgood")
        .await;
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|p| p["status"]["phase"] == "Running"
        && p["status"]["containerStatuses"][0]["ready"] == true));

    // A new template replaces them; deleting the deployment removes them.
    let (s, _) = c
        .apply(
            "/apis/apps/v1/namespaces/apps/deployments/good",
            "genesis",
            deployment("good", "nginx:1.28"),
        )
        .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, pods) = c
        .get("/api/v1/namespaces/apps/pods?labelSelector=app%3Dgood")
        .await;
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28")
    );
    c.send(
        "DELETE",
        "/apis/apps/v1/namespaces/apps/deployments/good",
        Some("application/json"),
        &json!({"propagationPolicy": "Foreground"}),
        DEV_TOKEN,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, pods) = c
        .get("/api/v1/namespaces/apps/pods?labelSelector=app%3Dgood")
        .await;
    assert_eq!(pods["items"], json!([]), "{pods:#}");
    let (s, _) = c
        .get("/apis/apps/v1/namespaces/apps/deployments/good")
        .await;
    assert_eq!(s, 404, "the foreground deletion finished");
}

#[tokio::test]
async fn the_autoscaler_owns_replicas_and_load_balancers_get_addresses() {
    let c = cluster_with(Config::default()).await;
    c.send(
        "POST",
        "/api/v1/namespaces",
        Some("application/json"),
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
        DEV_TOKEN,
    )
    .await;
    let mut deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
    c.apply(
        "/apis/apps/v1/namespaces/apps/deployments/api",
        "genesis",
        deployment.clone(),
    )
    .await;
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "minReplicas": 3, "maxReplicas": 10}});
    let (s, _) = c
        .apply(
            "/apis/autoscaling/v2/namespaces/apps/horizontalpodautoscalers/api",
            "genesis",
            hpa,
        )
        .await;
    assert_eq!(s, 201);
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]}});
    c.apply("/api/v1/namespaces/apps/services/api", "genesis", svc)
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, d) = c.get("/apis/apps/v1/namespaces/apps/deployments/api").await;
    assert_eq!(
        d["spec"]["replicas"], 3,
        "the autoscaler raised replicas to its minimum"
    );
    // Re-applying without replicas leaves the autoscaler's value alone.
    deployment["spec"]
        .as_object_mut()
        .unwrap()
        .remove("replicas");
    let (s, d) = c
        .apply(
            "/apis/apps/v1/namespaces/apps/deployments/api",
            "genesis",
            deployment,
        )
        .await;
    assert_eq!(s, 200, "{d:#}");
    assert_eq!(d["spec"]["replicas"], 3);
    let (_, svc) = c.get("/api/v1/namespaces/apps/services/api").await;
    assert!(
        svc["status"]["loadBalancer"]["ingress"][0]["ip"].is_string(),
        "{svc:#}"
    );
}

#[tokio::test]
async fn deleting_a_namespace_removes_what_is_inside() {
    let c = cluster_with(Config::default()).await;
    c.send(
        "POST",
        "/api/v1/namespaces",
        Some("application/json"),
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}),
        DEV_TOKEN,
    )
    .await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}});
    let (s, _) = c
        .send(
            "POST",
            "/api/v1/namespaces/gone/configmaps",
            Some("application/json"),
            &cm,
            DEV_TOKEN,
        )
        .await;
    assert_eq!(s, 201);
    let (s, ns) = c
        .send(
            "DELETE",
            "/api/v1/namespaces/gone",
            None,
            &Json::Null,
            DEV_TOKEN,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(ns["status"]["phase"], "Terminating");
    let (s, refused) = c
        .send(
            "POST",
            "/api/v1/namespaces/gone/configmaps",
            Some("application/json"),
            &cm,
            DEV_TOKEN,
        )
        .await;
    assert_eq!(s, 403, "{refused:#}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(c.get("/api/v1/namespaces/gone/configmaps/cfg").await.0, 404);
    assert_eq!(c.get("/api/v1/namespaces/gone").await.0, 404);
}

/// kubectl against the simulated cluster: create, server-side apply, get,
/// scale, a conflict, delete.
#[tokio::test]
async fn kubectl_works_against_a_simulated_cluster() {
    let c = cluster_with(Config::default()).await;
    let kubectl = Kubectl::new(&c);
    let dir = kubectl.dir.clone();
    std::fs::write(
        dir.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: golden\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: golden\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers:\n      - name: api\n        image: nginx:1.27\n        resources: {requests: {cpu: 1000m}}\n",
    )
    .unwrap();
    let out = kubectl.run(&["create", "-f", "ns.yaml"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl
        .run(&["apply", "--server-side", "-f", "deploy.yaml"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("serverside-applied"));
    // kubectl's tables, with the columns a real server gives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = kubectl
        .run(&["get", "deployments,pods,namespaces", "-n", "golden"])
        .await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "deployment.apps/api",
        "2/2",
        "RESTARTS",
        "Running",
        "pod/api-",
    ] {
        assert!(table.contains(expected), "{expected:?} missing:\n{table}");
    }
    let out = kubectl
        .run(&["get", "deployment", "api", "-n", "golden", "-o", "json"])
        .await;
    let d: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "1"
    );
    let out = kubectl
        .run(&["scale", "deployment/api", "-n", "golden", "--replicas=4"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl
        .run(&["apply", "--server-side", "-f", "deploy.yaml"])
        .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("conflict"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl
        .run(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            "deploy.yaml",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl
        .run(&["get", "deployments", "-n", "golden", "-o", "name"])
        .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "deployment.apps/api"
    );
    let out = kubectl.run(&["delete", "-f", "deploy.yaml"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl
        .run(&["get", "deployments", "-n", "golden", "-o", "name"])
        .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "");
}

/// kubectl with a kubeconfig for one simulated cluster, in a directory of
/// its own.
struct Kubectl {
    dir: PathBuf,
}

impl Kubectl {
    fn new(c: &Cluster) -> Kubectl {
        let kubectl = std::process::Command::new("kubectl")
            .arg("version")
            .arg("--client")
            .output();
        assert!(
            kubectl.is_ok_and(|o| o.status.success()),
            "kubectl must be installed for this test (see the README's setup)"
        );
        let dir = tempfile_dir();
        std::fs::write(dir.join("ca.pem"), &c.ca_pem).unwrap();
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: https://{}\n    certificate-authority: {}\nusers:\n- name: sim\n  user:\n    token: {DEV_TOKEN}\ncontexts:\n- name: sim\n  context: {{cluster: sim, user: sim}}\ncurrent-context: sim\n",
            c.endpoint,
            dir.join("ca.pem").display()
        );
        std::fs::write(dir.join("kubeconfig"), kubeconfig).unwrap();
        Kubectl { dir }
    }

    async fn run(&self, args: &[&str]) -> std::process::Output {
        let dir = self.dir.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("kubectl")
                .args(&args)
                .env("KUBECONFIG", dir.join("kubeconfig"))
                .current_dir(&dir)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }

    /// Runs kubectl and fails the test with its error when it fails;
    /// returns what it printed.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A user's first kubectl commands: the typed generators (sent as
/// protobuf), `kubectl rollout status` and `kubectl wait` (list, then
/// watch until the deployment is available), and a rollout that fails.
#[tokio::test]
async fn kubectl_generators_rollout_status_and_wait_work() {
    let c = cluster_with(Config {
        rollout_time: Duration::from_secs(2),
        progress_deadline_cap: Some(Duration::from_secs(3)),
        ..Config::default()
    })
    .await;
    let kubectl = Kubectl::new(&c);
    kubectl.ok(&["create", "namespace", "golden"]).await;
    kubectl
        .ok(&["-n", "golden", "create", "serviceaccount", "runner"])
        .await;
    kubectl
        .ok(&[
            "-n",
            "golden",
            "create",
            "configmap",
            "settings",
            "--from-literal=MODE=fast",
        ])
        .await;
    kubectl
        .ok(&[
            "-n",
            "golden",
            "create",
            "secret",
            "generic",
            "db",
            "--from-literal=password=s3cret",
        ])
        .await;
    let data = kubectl
        .ok(&[
            "-n",
            "golden",
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.MODE}",
        ])
        .await;
    assert_eq!(data, "fast");
    let secret = kubectl
        .ok(&[
            "-n",
            "golden",
            "get",
            "secret",
            "db",
            "-o",
            "jsonpath={.data.password}",
        ])
        .await;
    assert_eq!(secret, "czNjcmV0");

    for (name, image) in [
        ("api", "nginx:1.27"),
        ("broken", "registry.example/api:broken"),
    ] {
        std::fs::write(
            kubectl.dir.join(format!("{name}.yaml")),
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: golden\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n"),
        )
        .unwrap();
        kubectl
            .ok(&["apply", "--server-side", "-f", &format!("{name}.yaml")])
            .await;
    }
    let started = std::time::Instant::now();
    let status = kubectl
        .ok(&[
            "-n",
            "golden",
            "rollout",
            "status",
            "deployment/api",
            "--timeout=30s",
        ])
        .await;
    assert!(status.contains("successfully rolled out"), "{status}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "rollout status waited for the rollout (watching), not {:?}",
        started.elapsed()
    );
    let waited = kubectl
        .ok(&[
            "-n",
            "golden",
            "wait",
            "--for=condition=Available",
            "deployment/api",
            "--timeout=30s",
        ])
        .await;
    assert!(waited.contains("condition met"), "{waited}");
    let failed = kubectl
        .run(&[
            "-n",
            "golden",
            "rollout",
            "status",
            "deployment/broken",
            "--timeout=30s",
        ])
        .await;
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("exceeded its progress deadline"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    // What genesis-sim cannot decode is refused as the encoding, by name.
    let refused = kubectl
        .run(&[
            "-n",
            "golden",
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
        ])
        .await;
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("apps/v1 Deployment"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "genesis-sim-kubectl-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn control_api_changes_kubernetes_objects_behind_the_appliers_back() {
    let c = cluster_with(Config::default()).await;
    c.send(
        "POST",
        "/api/v1/namespaces",
        Some("application/json"),
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
        DEV_TOKEN,
    )
    .await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"mode": "fast"}});
    let (s, _) = c
        .apply(
            "/api/v1/namespaces/apps/configmaps/cfg",
            "genesis",
            cm.clone(),
        )
        .await;
    assert_eq!(s, 201);
    let control = c.running.urls.control.clone();
    let cluster = "projects/p/locations/us-central1/clusters/c";
    let resp = reqwest::Client::new()
        .patch(format!(
            "{control}/_sim/kube?cluster={cluster}&path=/api/v1/namespaces/apps/configmaps/cfg"
        ))
        .json(&json!({"data": {"mode": "slow"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, got) = c.get("/api/v1/namespaces/apps/configmaps/cfg").await;
    assert_eq!(got["data"]["mode"], "slow");
    let managers: Vec<&str> = got["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["manager"].as_str().unwrap())
        .collect();
    assert!(managers.contains(&"behind-your-back"), "{managers:?}");
    // Re-applying the configuration conflicts with the other manager's edit.
    let (s, _) = c
        .apply("/api/v1/namespaces/apps/configmaps/cfg", "genesis", cm)
        .await;
    assert_eq!(s, 409);
    let resp = reqwest::Client::new()
        .delete(format!(
            "{control}/_sim/kube?cluster={cluster}&path=/api/v1/namespaces/apps/configmaps/cfg"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(c.get("/api/v1/namespaces/apps/configmaps/cfg").await.0, 404);
}

#[tokio::test]
async fn faults_reach_the_kubernetes_face() {
    let c = cluster_with(Config::default()).await;
    let control = c.running.urls.control.clone();
    reqwest::Client::new()
        .post(format!("{control}/_sim/faults"))
        .json(&json!({"api": "kube", "method": "get namespaces", "status": 503, "retry_after": 1, "count": 1}))
        .send()
        .await
        .unwrap();
    let (s, body) = c.get("/api/v1/namespaces").await;
    assert_eq!(s, 503);
    assert_eq!(body["kind"], "Status");
    assert_eq!(c.get("/api/v1/namespaces").await.0, 200);
}

/// `--state-file`: a restarted simulator has its clusters, repositories and
/// Kubernetes objects back, on the same endpoints with the same CAs.
#[tokio::test]
async fn the_state_file_survives_a_restart() {
    let dir = tempfile_dir();
    let file = dir.join("state.json");
    let _ = std::fs::remove_file(&file);
    let config = Config {
        state_file: Some(file.clone()),
        ..Config::default()
    };
    let c = cluster_with(config.clone()).await;
    c.send(
        "POST",
        "/api/v1/namespaces",
        Some("application/json"),
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kept"}}),
        DEV_TOKEN,
    )
    .await;
    let (endpoint, ca) = (c.endpoint.clone(), c.ca_pem.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let running = genesis_sim::start(config).await.unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let cluster: Json = http
        .get(format!(
            "{}/v1/projects/p/locations/us-central1/clusters/c",
            running.urls.gke
        ))
        .bearer_auth(DEV_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cluster["status"], "RUNNING");
    assert_eq!(cluster["endpoint"], endpoint, "the same endpoint");
    let ns = http
        .get(format!("https://{endpoint}/api/v1/namespaces/kept"))
        .bearer_auth(DEV_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ns.status(),
        200,
        "the namespace is back, served with the same CA"
    );
    running.shutdown();
}

/// CustomResourceDefinitions registered at runtime, as a real API server
/// serves them: established, in discovery and OpenAPI, their resources
/// pruned to the schema, validated with its messages, with a status
/// subresource, and gone with their definition.
#[tokio::test]
async fn custom_resource_definitions_are_served_at_runtime() {
    let c = cluster_with(Config::default()).await;
    let kubectl = Kubectl::new(&c);
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/custom");
    for file in ["virtualservice-crd.yaml", "reviews.yaml"] {
        std::fs::copy(here.join(file), kubectl.dir.join(file)).unwrap();
    }
    kubectl.ok(&["create", "namespace", "golden"]).await;
    let (code, _) = c
        .get("/apis/networking.istio.io/v1/namespaces/golden/virtualservices")
        .await;
    assert_eq!(code, 404, "not served before its definition");

    kubectl
        .ok(&["apply", "--server-side", "-f", "virtualservice-crd.yaml"])
        .await;
    kubectl
        .ok(&[
            "wait",
            "--for=condition=Established",
            "crd/virtualservices.networking.istio.io",
            "--timeout=10s",
        ])
        .await;
    let (_, crd) = c
        .get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/virtualservices.networking.istio.io")
        .await;
    assert_eq!(crd["spec"]["names"]["listKind"], "VirtualServiceList");
    assert_eq!(crd["spec"]["names"]["singular"], "virtualservice");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "VirtualService");

    // Discovery and OpenAPI, as kubectl reads them.
    let resources = kubectl
        .ok(&["api-resources", "--api-group=networking.istio.io"])
        .await;
    assert!(
        resources.contains("virtualservices") && resources.contains("vs"),
        "{resources}"
    );
    let (code, doc) = c.get("/openapi/v3/apis/networking.istio.io/v1").await;
    assert_eq!(code, 200);
    assert!(
        doc["components"]["schemas"]["io.istio.networking.v1.VirtualService"]["properties"]["spec"]
            .is_object(),
        "{doc}"
    );

    // Server-side apply refuses fields the schema does not declare, in
    // the words of the real server's structured-merge-diff; a create
    // (without strict validation) prunes them.
    // (Without kubectl's own validation: the server's answer is the test.)
    let refused = kubectl
        .run(&[
            "apply",
            "--server-side",
            "--validate=false",
            "-f",
            "reviews.yaml",
        ])
        .await;
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("Error from server: failed to create typed patch object (golden/reviews; networking.istio.io/v1, Kind=VirtualService): .spec.http[0].unknownSetting: field not declared in schema"),
        "{said}"
    );
    kubectl
        .ok(&["create", "--validate=false", "-f", "reviews.yaml"])
        .await;
    let vs: Json = serde_json::from_str(
        &kubectl
            .ok(&["-n", "golden", "get", "vs", "reviews", "-o", "json"])
            .await,
    )
    .unwrap();
    let route = &vs["spec"]["http"][0];
    assert!(route["unknownSetting"].is_null(), "pruned: {vs}");
    assert_eq!(route["route"][1]["weight"], 10);
    assert_eq!(vs["metadata"]["generation"], 1);
    let (_, stored) = c
        .get("/apis/networking.istio.io/v1/namespaces/golden/virtualservices/reviews")
        .await;
    let managed = &stored["metadata"]["managedFields"][0];
    assert_eq!(managed["manager"], "kubectl-create", "{stored}");
    assert!(
        managed["fieldsV1"]["f:spec"]["f:hosts"].is_object(),
        "{managed}"
    );
    // Applied without the undeclared field, kubectl takes it over.
    std::fs::write(
        kubectl.dir.join("reviews.yaml"),
        std::fs::read_to_string(here.join("reviews.yaml"))
            .unwrap()
            .replace("    unknownSetting: dropped by the schema\n", ""),
    )
    .unwrap();
    // kubectl validates through the server (the PATCH operation's
    // fieldValidation parameter in the OpenAPI document tells it so).
    kubectl
        .ok(&["apply", "--server-side", "-f", "reviews.yaml"])
        .await;
    let (_, stored) = c
        .get("/apis/networking.istio.io/v1/namespaces/golden/virtualservices/reviews")
        .await;
    let managers: Vec<&Json> = stored["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["manager"])
        .collect();
    assert!(managers.contains(&&json!("kubectl")), "{managers:?}");

    // The schema's types, required fields and bounds, in the server's words.
    let wrong = json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "wrong", "namespace": "golden"},
        "spec": {"http": [{"route": [{"destination": {"host": "reviews", "port": {"number": 70000}}, "weight": "ten"}]}]},
    });
    let (code, status) = c
        .send(
            "POST",
            "/apis/networking.istio.io/v1/namespaces/golden/virtualservices",
            Some("application/json"),
            &wrong,
            DEV_TOKEN,
        )
        .await;
    assert_eq!(code, 422, "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    for said in [
        "VirtualService.networking.istio.io \"wrong\" is invalid: [",
        "spec.hosts: Required value",
        "spec.http[0].route[0].weight: Invalid value: \"string\": spec.http[0].route[0].weight in body must be of type integer: \"string\"",
        "spec.http[0].route[0].destination.port.number: Invalid value: 70000: spec.http[0].route[0].destination.port.number in body should be less than or equal to 65535",
    ] {
        assert!(message.contains(said), "{said} in {message}");
    }

    // Status through its subresource only.
    kubectl
        .ok(&[
            "-n",
            "golden",
            "patch",
            "vs",
            "reviews",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"observedGeneration":1}}"#,
        ])
        .await;
    let (_, vs) = c
        .get("/apis/networking.istio.io/v1/namespaces/golden/virtualservices/reviews")
        .await;
    assert_eq!(vs["status"]["observedGeneration"], 1);
    assert_eq!(vs["metadata"]["generation"], 1, "status is not the spec");

    // Its resources go with the definition.
    kubectl
        .ok(&["delete", "crd", "virtualservices.networking.istio.io"])
        .await;
    let (code, _) = c
        .get("/apis/networking.istio.io/v1/namespaces/golden/virtualservices/reviews")
        .await;
    assert_eq!(code, 404);
    let gone = kubectl.run(&["-n", "golden", "get", "vs"]).await;
    assert!(!gone.status.success());
}
