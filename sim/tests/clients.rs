//! genesis-sim driven by the official clients, unmodified: google-cloud-rust
//! for GKE and Artifact Registry, kube-rs for the Kubernetes face. What
//! these accept is what the provider's back ends will send.

#![allow(deprecated)] // Cluster.initialNodeCount: GKE still takes it, and so must the simulator.

use std::time::Duration;

use genesis_sim::{Config, DEV_TOKEN};
use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use google_cloud_lro::Poller;
use http::{Extensions, HeaderMap, HeaderValue};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

/// A fixed bearer token, as GOOGLE_OAUTH_ACCESS_TOKEN gives the provider.
#[derive(Debug)]
struct Token(&'static str);

impl CredentialsProvider for Token {
    async fn headers(
        &self,
        _: Extensions,
    ) -> Result<CacheableResource<HeaderMap>, google_cloud_auth::errors::CredentialsError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", self.0)).unwrap(),
        );
        Ok(CacheableResource::New {
            entity_tag: EntityTag::new(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        Some("googleapis.com".into())
    }
}

#[tokio::test]
async fn google_cloud_rust_drives_the_gke_face() {
    use google_cloud_container_v1::client::ClusterManager;
    use google_cloud_container_v1::model::{Cluster, NodePool, NodePoolAutoscaling, cluster};
    let sim = genesis_sim::start(Config::default()).await.unwrap();
    let gke = ClusterManager::builder()
        .with_endpoint(&sim.urls.gke)
        .with_credentials(Credentials::from(Token(DEV_TOKEN)))
        .build()
        .await
        .unwrap();
    let parent = "projects/p/locations/us-central1";
    let op = gke
        .create_cluster()
        .set_parent(parent)
        .set_cluster(Cluster::new().set_name("c").set_initial_node_count(1))
        .send()
        .await
        .unwrap();
    assert_eq!(
        op.operation_type,
        google_cloud_container_v1::model::operation::Type::CreateCluster
    );
    let name = format!("{parent}/clusters/c");
    let c = gke.get_cluster().set_name(&name).send().await.unwrap();
    assert_eq!(c.status, cluster::Status::Running);
    assert!(!c.endpoint.is_empty());
    gke.create_node_pool()
        .set_parent(&name)
        .set_node_pool(
            NodePool::new()
                .set_name("agents")
                .set_initial_node_count(2)
                .set_autoscaling(
                    NodePoolAutoscaling::new()
                        .set_enabled(true)
                        .set_min_node_count(1)
                        .set_max_node_count(5),
                ),
        )
        .send()
        .await
        .unwrap();
    let pools = gke
        .list_node_pools()
        .set_parent(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(pools.node_pools.len(), 2);
    let err = gke
        .create_cluster()
        .set_parent(parent)
        .set_cluster(Cluster::new().set_name("c").set_initial_node_count(1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.http_status_code(), Some(409), "{err}");
    let missing = gke
        .get_cluster()
        .set_name(format!("{parent}/clusters/nope"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.http_status_code(), Some(404));
    gke.delete_cluster().set_name(&name).send().await.unwrap();
    let listed = gke.list_clusters().set_parent(parent).send().await.unwrap();
    assert!(listed.clusters.is_empty());
    sim.shutdown();
}

#[tokio::test]
async fn google_cloud_rust_drives_the_artifact_registry_face() {
    use google_cloud_artifactregistry_v1::client::ArtifactRegistry;
    use google_cloud_artifactregistry_v1::model::{
        CleanupPolicy, CleanupPolicyCondition, Repository, cleanup_policy, repository,
    };
    let sim = genesis_sim::start(Config {
        operation_time: Duration::from_millis(100),
        ..Config::default()
    })
    .await
    .unwrap();
    let registry = ArtifactRegistry::builder()
        .with_endpoint(&sim.urls.artifact_registry)
        .with_credentials(Credentials::from(Token(DEV_TOKEN)))
        .build()
        .await
        .unwrap();
    let parent = "projects/p/locations/us-central1";
    let policy = CleanupPolicy::new()
        .set_id("old")
        .set_action(cleanup_policy::Action::Delete)
        .set_condition(
            CleanupPolicyCondition::new()
                .set_older_than(google_cloud_wkt::Duration::clamp(7_776_000, 0)),
        );
    let repo = registry
        .create_repository()
        .set_parent(parent)
        .set_repository_id("images")
        .set_repository(
            Repository::new()
                .set_format(repository::Format::Docker)
                .set_description("images")
                .set_cleanup_policies([("old".to_string(), policy)]),
        )
        .poller()
        .until_done()
        .await
        .unwrap();
    assert_eq!(repo.registry_uri, "us-central1-docker.pkg.dev/p/images");
    let got = registry
        .get_repository()
        .set_name(format!("{parent}/repositories/images"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.cleanup_policies["old"].action,
        cleanup_policy::Action::Delete
    );
    registry
        .delete_repository()
        .set_name(format!("{parent}/repositories/images"))
        .poller()
        .until_done()
        .await
        .unwrap();
    let err = registry
        .get_repository()
        .set_name(format!("{parent}/repositories/images"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.http_status_code(), Some(404));
    sim.shutdown();
}

#[tokio::test]
async fn kube_rs_drives_a_simulated_cluster() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let sim = genesis_sim::start(Config::default()).await.unwrap();
    let http = reqwest::Client::new();
    http.post(format!(
        "{}/v1/projects/p/locations/us-central1/clusters",
        sim.urls.gke
    ))
    .bearer_auth(DEV_TOKEN)
    .json(&serde_json::json!({"cluster": {"name": "c", "initialNodeCount": 1}}))
    .send()
    .await
    .unwrap();
    let cluster: serde_json::Value = http
        .get(format!(
            "{}/v1/projects/p/locations/us-central1/clusters/c",
            sim.urls.gke
        ))
        .bearer_auth(DEV_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: https://{}\n    certificate-authority-data: {}\nusers:\n- name: sim\n  user:\n    token: {DEV_TOKEN}\ncontexts:\n- name: sim\n  context: {{cluster: sim, user: sim}}\ncurrent-context: sim\n",
        cluster["endpoint"].as_str().unwrap(),
        cluster["masterAuth"]["clusterCaCertificate"]
            .as_str()
            .unwrap()
    );
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "apps"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    assert!(namespaces.get_opt("missing").await.unwrap().is_none());

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "apps");
    let applied = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": "nginx:1.27", "resources": {"requests": {"cpu": "1000m"}}}]}}}
    });
    let d = deployments
        .patch(
            "api",
            &PatchParams::apply("genesis"),
            &Patch::Apply(&applied),
        )
        .await
        .unwrap();
    let requests = d.spec.template.spec.unwrap().containers[0]
        .resources
        .clone()
        .unwrap()
        .requests
        .unwrap();
    assert_eq!(requests["cpu"].0, "1", "the server's spelling");
    deployments
        .patch_scale(
            "api",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let conflict = deployments
        .patch(
            "api",
            &PatchParams::apply("genesis"),
            &Patch::Apply(&applied),
        )
        .await
        .unwrap_err();
    match conflict {
        kube::Error::Api(status) => assert_eq!(status.code, 409, "{status:?}"),
        other => panic!("expected a conflict, got {other}"),
    }
    deployments
        .delete("api", &DeleteParams::foreground())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(deployments.get_opt("api").await.unwrap().is_none());
    sim.shutdown();
}

/// The simulator's table of enum numbers agrees with the clients'.
#[test]
fn enum_numbers_match_the_clients() {
    use google_cloud_artifactregistry_v1::model as ar;
    use google_cloud_container_v1::model as gke;
    let table: std::collections::HashMap<String, std::collections::HashMap<String, i32>> =
        serde_json::from_str(include_str!("../api/enum-numbers.json")).unwrap();
    let check = |field: &str, name: Option<&str>, value: Option<i32>| {
        let (Some(name), Some(value)) = (name, value) else {
            return;
        };
        assert_eq!(table[field].get(name), Some(&value), "{field} {name}");
    };
    for c in [
        gke::monitoring_component_config::Component::Apiserver,
        gke::monitoring_component_config::Component::Pod,
        gke::monitoring_component_config::Component::Jobset,
    ] {
        check(
            "MonitoringComponentConfig.enableComponents",
            c.name(),
            c.value(),
        );
    }
    for c in [
        gke::logging_component_config::Component::Workloads,
        gke::logging_component_config::Component::KcpVpa,
    ] {
        check(
            "LoggingComponentConfig.enableComponents",
            c.name(),
            c.value(),
        );
    }
    let m = gke::binary_authorization::EvaluationMode::ProjectSingletonPolicyEnforce;
    check("BinaryAuthorization.evaluationMode", m.name(), m.value());
    let c = gke::release_channel::Channel::Extended;
    check("ReleaseChannel.channel", c.name(), c.value());
    for f in [
        ar::repository::Format::Docker,
        ar::repository::Format::Apt,
        ar::repository::Format::Python,
        ar::repository::Format::Ruby,
    ] {
        check("Repository.format", f.name(), f.value());
    }
    let t = ar::cleanup_policy_condition::TagState::Any;
    check("CleanupPolicyCondition.tagState", t.name(), t.value());
    let e = ar::repository::vulnerability_scanning_config::EnablementConfig::Disabled;
    check(
        "VulnerabilityScanningConfig.enablementConfig",
        e.name(),
        e.value(),
    );
}
