//! genesis-sim driven over HTTP as clients drive the real services: the
//! GKE and Artifact Registry faces, authentication, long-running
//! operations, every kind of fault, and the control API.

use std::time::Duration;

use genesis_sim::{Config, DEV_TOKEN, Running};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value as Json, json};

struct Sim {
    running: Running,
    http: Client,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.running.shutdown();
    }
}

async fn sim_with(config: Config) -> Sim {
    let running = genesis_sim::start(config).await.expect("start genesis-sim");
    Sim {
        running,
        http: Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    }
}

async fn sim() -> Sim {
    sim_with(Config::default()).await
}

const LOC: &str = "v1/projects/p/locations/us-central1";

impl Sim {
    async fn call(
        &self,
        base: &str,
        method: Method,
        path: &str,
        body: Option<Json>,
    ) -> (StatusCode, Json) {
        let mut req = self
            .http
            .request(method, format!("{base}/{path}"))
            .bearer_auth(DEV_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let json = resp.json().await.unwrap_or(Json::Null);
        (status, json)
    }

    async fn gke(&self, method: Method, path: &str, body: Option<Json>) -> (StatusCode, Json) {
        self.call(&self.running.urls.gke.clone(), method, path, body)
            .await
    }

    async fn registry(&self, method: Method, path: &str, body: Option<Json>) -> (StatusCode, Json) {
        self.call(
            &self.running.urls.artifact_registry.clone(),
            method,
            path,
            body,
        )
        .await
    }

    async fn control(&self, method: Method, path: &str, body: Option<Json>) -> StatusCode {
        let mut req = self
            .http
            .request(method, format!("{}/_sim/{path}", self.running.urls.control));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap().status()
    }

    async fn state(&self) -> Json {
        self.http
            .get(format!("{}/_sim/state", self.running.urls.control))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn create_cluster(&self, name: &str) -> (StatusCode, Json) {
        self.gke(
            Method::POST,
            &format!("{LOC}/clusters"),
            Some(json!({"cluster": {"name": name, "initialNodeCount": 1}})),
        )
        .await
    }
}

#[tokio::test]
async fn clusters_go_through_their_lifecycle() {
    let s = sim().await;
    let (status, op) = s.create_cluster("c1").await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["operationType"], "CREATE_CLUSTER");
    assert_eq!(op["status"], "DONE");
    let (status, cluster) = s
        .gke(Method::GET, &format!("{LOC}/clusters/c1"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(cluster["status"], "RUNNING");
    assert_eq!(cluster["nodePools"][0]["name"], "default-pool");
    assert!(cluster.get("simNodeCount").is_none());

    let (status, err) = s.create_cluster("c1").await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["status"], "ALREADY_EXISTS");

    let (status, list) = s.gke(Method::GET, &format!("{LOC}/clusters"), None).await;
    assert_eq!(status, 200);
    assert_eq!(list["clusters"].as_array().unwrap().len(), 1);
    let (_, all) = s
        .gke(Method::GET, "v1/projects/p/locations/-/clusters", None)
        .await;
    assert_eq!(all["clusters"].as_array().unwrap().len(), 1);

    let (status, op) = s
        .gke(Method::DELETE, &format!("{LOC}/clusters/c1"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(op["operationType"], "DELETE_CLUSTER");
    let (status, err) = s
        .gke(Method::GET, &format!("{LOC}/clusters/c1"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["status"], "NOT_FOUND");
    assert_eq!(s.state().await["gke"]["clusters"], json!({}));
}

#[tokio::test]
async fn gke_rules_are_enforced() {
    let s = sim().await;
    let bad_name = s.create_cluster("Bad_Name").await;
    assert_eq!(bad_name.0, 400);
    assert_eq!(bad_name.1["error"]["status"], "INVALID_ARGUMENT");

    let autopilot_with_pools = s
        .gke(
            Method::POST,
            &format!("{LOC}/clusters"),
            Some(json!({"cluster": {"name": "ap", "autopilot": {"enabled": true}, "nodePools": [{"name": "x", "initialNodeCount": 1}]}})),
        )
        .await;
    assert_eq!(autopilot_with_pools.0, 400, "{}", autopilot_with_pools.1);

    let wide_master = s
        .gke(
            Method::POST,
            &format!("{LOC}/clusters"),
            Some(json!({"cluster": {"name": "pc", "initialNodeCount": 1, "privateClusterConfig": {"enablePrivateNodes": true, "masterIpv4CidrBlock": "172.16.0.0/24"}}})),
        )
        .await;
    assert_eq!(wide_master.0, 400);
    assert!(
        wide_master.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/28")
    );

    let no_nodes = s
        .gke(
            Method::POST,
            &format!("{LOC}/clusters"),
            Some(json!({"cluster": {"name": "empty"}})),
        )
        .await;
    assert_eq!(no_nodes.0, 400);

    let (status, ap) = s
        .gke(
            Method::POST,
            &format!("{LOC}/clusters"),
            Some(json!({"cluster": {"name": "ap", "autopilot": {"enabled": true}}})),
        )
        .await;
    assert_eq!(status, 200, "{ap}");
    // Autopilot turns on Workload Identity and shielded nodes itself.
    let (_, made) = s
        .gke(Method::GET, &format!("{LOC}/clusters/ap"), None)
        .await;
    assert!(
        made["workloadIdentityConfig"]["workloadPool"]
            .as_str()
            .is_some_and(|p| p.ends_with(".svc.id.goog")),
        "{made}"
    );
    assert_eq!(made["shieldedNodes"]["enabled"], true);
    let pool_on_autopilot = s
        .gke(
            Method::POST,
            &format!("{LOC}/clusters/ap/nodePools"),
            Some(json!({"nodePool": {"name": "p", "initialNodeCount": 1}})),
        )
        .await;
    assert_eq!(pool_on_autopilot.0, 400);
    assert_eq!(
        pool_on_autopilot.1["error"]["status"],
        "FAILED_PRECONDITION"
    );
}

#[tokio::test]
async fn bodies_are_checked_against_the_discovery_document() {
    let s = sim().await;
    let (status, err) = s
        .gke(
            Method::POST,
            &format!("{LOC}/clusters"),
            Some(json!({"cluster": {"name": "c", "initialNodeCount": "three", "releaseChannel": {"channel": "FASTEST"}, "colour": "red"}})),
        )
        .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = err["error"]["details"][0]["fieldViolations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"cluster.initialNodeCount"), "{err}");
    assert!(fields.contains(&"cluster.releaseChannel.channel"), "{err}");
    assert!(fields.contains(&"cluster.colour"), "{err}");
    let (status, _) = s
        .gke(Method::GET, "v1/projects/p/unknown/thing", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthenticated() {
    let s = sim().await;
    for token in [None, Some("wrong")] {
        let mut req = s.http.get(format!("{}/{LOC}/clusters", s.running.urls.gke));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: Json = resp.json().await.unwrap();
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn operations_take_time_and_one_runs_per_cluster() {
    let s = sim_with(Config {
        operation_time: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    let (_, op) = s.create_cluster("slow").await;
    assert_eq!(op["status"], "RUNNING");
    let (_, cluster) = s
        .gke(Method::GET, &format!("{LOC}/clusters/slow"), None)
        .await;
    assert_eq!(cluster["status"], "PROVISIONING");
    let busy = s
        .gke(
            Method::POST,
            &format!("{LOC}/clusters/slow:setResourceLabels"),
            Some(json!({"resourceLabels": {"team": "a"}})),
        )
        .await;
    assert_eq!(busy.0, 400);
    assert_eq!(busy.1["error"]["status"], "FAILED_PRECONDITION");
    assert!(
        busy.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("incompatible operation")
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let name = op["name"].as_str().unwrap();
    let (_, done) = s
        .gke(Method::GET, &format!("{LOC}/operations/{name}"), None)
        .await;
    assert_eq!(done["status"], "DONE");
    let (_, cluster) = s
        .gke(Method::GET, &format!("{LOC}/clusters/slow"), None)
        .await;
    assert_eq!(cluster["status"], "RUNNING");

    let (_, op) = s
        .gke(
            Method::PUT,
            &format!("{LOC}/clusters/slow"),
            Some(json!({"update": {"desiredReleaseChannel": {"channel": "STABLE"}}})),
        )
        .await;
    assert_eq!(op["operationType"], "UPDATE_CLUSTER");
    let (_, cluster) = s
        .gke(Method::GET, &format!("{LOC}/clusters/slow"), None)
        .await;
    assert_eq!(cluster["status"], "RECONCILING");
    assert_eq!(cluster["releaseChannel"]["channel"], "STABLE");
}

#[tokio::test]
async fn node_pools_are_created_changed_and_deleted() {
    let s = sim().await;
    s.create_cluster("c").await;
    let pools = format!("{LOC}/clusters/c/nodePools");
    let (status, op) = s
        .gke(
            Method::POST,
            &pools,
            Some(json!({"nodePool": {"name": "agents", "initialNodeCount": 2,
                "config": {"machineType": "e2-standard-4", "labels": {"genesis.io/pool-type": "agent-runtime"},
                           "taints": [{"key": "genesis.io/pool-type", "value": "agent-runtime", "effect": "NO_SCHEDULE"}]},
                "autoscaling": {"enabled": true, "minNodeCount": 2, "maxNodeCount": 20}}})),
        )
        .await;
    assert_eq!(status, 200, "{op}");
    let (_, pool) = s.gke(Method::GET, &format!("{pools}/agents"), None).await;
    assert_eq!(pool["status"], "RUNNING");
    assert_eq!(pool["config"]["machineType"], "e2-standard-4");
    assert_eq!(pool["management"]["autoRepair"], true);

    let bad = s
        .gke(
            Method::POST,
            &format!("{pools}/agents:setAutoscaling"),
            Some(json!({"autoscaling": {"enabled": true, "minNodeCount": 5, "maxNodeCount": 2}})),
        )
        .await;
    assert_eq!(bad.0, 400);
    let (status, _) = s
        .gke(
            Method::POST,
            &format!("{pools}/agents:setSize"),
            Some(json!({"nodeCount": 4})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, cluster) = s.gke(Method::GET, &format!("{LOC}/clusters/c"), None).await;
    assert_eq!(
        cluster["currentNodeCount"],
        3 + 4 * 3,
        "default pool 1x3 zones, agents 4x3 zones"
    );
    let (status, _) = s
        .gke(
            Method::PUT,
            &format!("{pools}/agents"),
            Some(json!({"labels": {"labels": {"team": "ml"}}, "machineType": "e2-standard-8"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, pool) = s.gke(Method::GET, &format!("{pools}/agents"), None).await;
    assert_eq!(pool["config"]["labels"], json!({"team": "ml"}));
    assert_eq!(pool["config"]["machineType"], "e2-standard-8");

    let (status, _) = s
        .gke(Method::DELETE, &format!("{pools}/agents"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = s.gke(Method::GET, &format!("{pools}/agents"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn error_faults_answer_as_google_does_and_expire() {
    let s = sim().await;
    let rule = json!({"api": "gke", "method": "container.projects.locations.clusters.get", "status": 429, "retry_after": 2, "count": 2});
    assert_eq!(s.control(Method::POST, "faults", Some(rule)).await, 204);
    s.create_cluster("c").await;
    for _ in 0..2 {
        let resp = s
            .http
            .get(format!("{}/{LOC}/clusters/c", s.running.urls.gke))
            .bearer_auth(DEV_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "2");
        let body: Json = resp.json().await.unwrap();
        assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    }
    let (status, _) = s.gke(Method::GET, &format!("{LOC}/clusters/c"), None).await;
    assert_eq!(status, 200, "the rule expired after two requests");

    s.control(
        Method::POST,
        "faults",
        Some(json!({"api": "artifactregistry", "method": "*", "status": 503})),
    )
    .await;
    let (status, body) = s
        .registry(Method::GET, &format!("{LOC}/repositories"), None)
        .await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["status"], "UNAVAILABLE");
    assert_eq!(s.control(Method::DELETE, "faults", None).await, 204);
    let (status, _) = s
        .registry(Method::GET, &format!("{LOC}/repositories"), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn latency_is_added() {
    let s = sim().await;
    s.control(
        Method::POST,
        "faults",
        Some(json!({"api": "*", "method": "*", "latency_ms": 300, "count": 1})),
    )
    .await;
    let start = std::time::Instant::now();
    let (status, _) = s.gke(Method::GET, &format!("{LOC}/clusters"), None).await;
    assert_eq!(status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_dropped_connection_loses_the_answer_but_not_the_change() {
    let s = sim().await;
    s.control(
        Method::POST,
        "faults",
        Some(json!({"api": "gke", "method": "container.projects.locations.clusters.create", "drop_connection": true, "count": 1})),
    )
    .await;
    let result = s
        .http
        .post(format!("{}/{LOC}/clusters", s.running.urls.gke))
        .bearer_auth(DEV_TOKEN)
        .json(&json!({"cluster": {"name": "dropped", "initialNodeCount": 1}}))
        .send()
        .await;
    let failed = match result {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client must see a broken response");
    let (status, cluster) = s
        .gke(Method::GET, &format!("{LOC}/clusters/dropped"), None)
        .await;
    assert_eq!(status, 200, "the cluster was created all the same");
    assert_eq!(cluster["status"], "RUNNING");
}

#[tokio::test]
async fn failed_operations_leave_the_cluster_in_error() {
    let s = sim().await;
    s.control(Method::POST, "faults", Some(json!({"fail_operations": 1})))
        .await;
    let (status, op) = s.create_cluster("broken").await;
    assert_eq!(status, 200);
    assert_eq!(op["status"], "DONE");
    assert_eq!(op["error"]["code"], 13);
    let (_, cluster) = s
        .gke(Method::GET, &format!("{LOC}/clusters/broken"), None)
        .await;
    assert_eq!(
        cluster["status"], "ERROR",
        "the object exists, in ERROR, as on GKE"
    );
}

#[tokio::test]
async fn stuck_operations_never_finish_until_cancelled() {
    let s = sim().await;
    s.control(Method::POST, "faults", Some(json!({"stuck_operations": 1})))
        .await;
    let (_, op) = s.create_cluster("stuck").await;
    assert_eq!(op["status"], "RUNNING");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let name = op["name"].as_str().unwrap();
    let (_, again) = s
        .gke(Method::GET, &format!("{LOC}/operations/{name}"), None)
        .await;
    assert_eq!(again["status"], "RUNNING");
    let (status, _) = s
        .gke(
            Method::POST,
            &format!("{LOC}/operations/{name}:cancel"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, cancelled) = s
        .gke(Method::GET, &format!("{LOC}/operations/{name}"), None)
        .await;
    assert_eq!(cancelled["status"], "DONE");
    assert_eq!(cancelled["error"]["code"], 1);
}

#[tokio::test]
async fn repositories_with_cleanup_policies() {
    let s = sim().await;
    let repos = format!("{LOC}/repositories");
    let bad_duration = s
        .registry(
            Method::POST,
            &format!("{repos}?repositoryId=images"),
            Some(json!({"format": "DOCKER", "cleanupPolicies": {"old": {"id": "old", "action": "DELETE", "condition": {"olderThan": "90d"}}}})),
        )
        .await;
    assert_eq!(bad_duration.0, 400);
    let keep_on_delete = s
        .registry(
            Method::POST,
            &format!("{repos}?repositoryId=images"),
            Some(json!({"format": "DOCKER", "cleanupPolicies": {"k": {"id": "k", "action": "DELETE", "mostRecentVersions": {"keepCount": 5}}}})),
        )
        .await;
    assert_eq!(keep_on_delete.0, 400);
    let (status, op) = s
        .registry(
            Method::POST,
            &format!("{repos}?repositoryId=images"),
            Some(json!({"format": "DOCKER", "description": "images", "dockerConfig": {"immutableTags": true},
                "cleanupPolicies": {"old": {"id": "old", "action": "DELETE", "condition": {"olderThan": "7776000s", "tagState": "ANY"}}}})),
        )
        .await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["done"], true);
    assert_eq!(
        op["response"]["registryUri"],
        "us-central1-docker.pkg.dev/p/images"
    );
    let (status, _) = s
        .registry(
            Method::POST,
            &format!("{repos}?repositoryId=images"),
            Some(json!({"format": "DOCKER"})),
        )
        .await;
    assert_eq!(status, 409);

    let (status, repo) = s
        .registry(
            Method::PATCH,
            &format!("{repos}/images?updateMask=description,vulnerability_scanning_config"),
            Some(json!({"description": "new", "labels": {"ignored": "yes"}, "vulnerabilityScanningConfig": {"enablementConfig": "DISABLED"}})),
        )
        .await;
    assert_eq!(status, 200, "{repo}");
    assert_eq!(repo["description"], "new");
    assert!(repo["labels"].is_null(), "only the masked fields change");
    assert_eq!(
        repo["vulnerabilityScanningConfig"]["enablementState"],
        "SCANNING_DISABLED"
    );
    let (status, _) = s
        .registry(
            Method::PATCH,
            &format!("{repos}/images?updateMask=format"),
            Some(json!({"format": "NPM"})),
        )
        .await;
    assert_eq!(status, 400);

    let (status, op) = s
        .registry(Method::DELETE, &format!("{repos}/images"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(op["done"], true);
    let (status, _) = s
        .registry(Method::GET, &format!("{repos}/images"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn control_api_changes_things_behind_terraforms_back() {
    let s = sim().await;
    s.create_cluster("c").await;
    let pool = "projects/p/locations/us-central1/clusters/c/nodePools/default-pool";
    let patched = s
        .http
        .patch(format!(
            "{}/_sim/objects?name={pool}",
            s.running.urls.control
        ))
        .json(&json!({"autoscaling": {"enabled": true, "minNodeCount": 1, "maxNodeCount": 9}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let (_, p) = s
        .gke(
            Method::GET,
            &format!("{LOC}/clusters/c/nodePools/default-pool"),
            None,
        )
        .await;
    assert_eq!(p["autoscaling"]["maxNodeCount"], 9);

    let deleted = s
        .http
        .delete(format!(
            "{}/_sim/objects?name={pool}",
            s.running.urls.control
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, _) = s
        .gke(
            Method::GET,
            &format!("{LOC}/clusters/c/nodePools/default-pool"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let counts: Json = s
        .http
        .get(format!("{}/_sim/requests", s.running.urls.control))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["container.projects.locations.clusters.create"], 1);
    assert_eq!(
        counts["container.projects.locations.clusters.nodePools.get"],
        2
    );

    assert_eq!(s.control(Method::POST, "reset", None).await, 204);
    assert_eq!(s.state().await["gke"]["clusters"], json!({}));
}

#[test]
fn the_binary_prints_a_ready_line_and_documents_its_flags() {
    use std::io::{BufRead, BufReader};
    let bin = env!("CARGO_BIN_EXE_genesis-sim");
    let help = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--port", "--token", "--operation-time", "--seed"] {
        assert!(help.contains(flag), "--help documents {flag}");
    }
    let bad = std::process::Command::new(bin)
        .arg("--bogus")
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let mut child = std::process::Command::new(bin)
        .args(["--port", "0", "--token", "t1", "--token", "t2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let ready: Json = serde_json::from_str(&line).unwrap();
    for face in ["gke", "artifact_registry", "control"] {
        assert!(
            ready[face]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:"),
            "{ready}"
        );
    }
    assert_eq!(ready["token"], "t1");
}

#[test]
fn the_embedded_discovery_documents_match_shared() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/api");
    if !shared.exists() {
        return; // shared/ sits beside the repository in CI and development only.
    }
    for (file, embedded) in [
        ("container.v1.json", genesis_sim::GKE_DISCOVERY),
        (
            "artifactregistry.v1.json",
            genesis_sim::ARTIFACT_REGISTRY_DISCOVERY,
        ),
    ] {
        let original = std::fs::read_to_string(shared.join(file)).unwrap();
        assert!(
            original == embedded,
            "sim/api/{file} differs from shared/api/{file}: copy it again"
        );
    }
}
