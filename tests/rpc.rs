//! The tfplugin6 RPCs as Terraform calls them, over the wire: decoding,
//! planning, replacement, deletion protection, import and state upgrade.

use genesis::framework::types::Type;
use genesis::framework::value::Value;
use genesis::protocol::codec::{decode_msgpack, encode_msgpack};
use genesis::protocol::generated::tfplugin6::{self as pb, provider_client::ProviderClient};
use genesis::resources::{cluster, workload};
use tonic::transport::Channel;

use crate::support::{Plugin, client_cert, provider_client, start};

async fn client() -> (Plugin, ProviderClient<Channel>) {
    let cert = client_cert();
    let plugin = start(&[("PLUGIN_CLIENT_CERT", &cert.pem)]);
    let client = provider_client(&plugin, &cert).await;
    (plugin, client)
}

/// An object of the given type with every attribute null but those set.
fn object(ty: &Type, set: &[(&str, Value)]) -> Value {
    let Type::Object(attrs) = ty else {
        panic!("not an object type")
    };
    let mut v = Value::Object(attrs.keys().map(|k| (k.clone(), Value::Null)).collect());
    for (k, val) in set {
        assert!(attrs.contains_key(*k), "no attribute {k}");
        v.set_attr(k, val.clone());
    }
    v
}

fn dv(value: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: encode_msgpack(value, ty),
        json: Vec::new(),
    })
}

fn errors(diags: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .collect()
}

fn path_names(path: &pb::AttributePath) -> Vec<String> {
    path.steps
        .iter()
        .map(|s| match &s.selector {
            Some(pb::attribute_path::step::Selector::AttributeName(n)) => n.clone(),
            Some(pb::attribute_path::step::Selector::ElementKeyString(k)) => format!("[{k:?}]"),
            Some(pb::attribute_path::step::Selector::ElementKeyInt(i)) => format!("[{i}]"),
            None => String::new(),
        })
        .collect()
}

async fn configure(client: &mut ProviderClient<Channel>) {
    let ty = genesis::provider::schema().value_type();
    let config = object(
        &ty,
        &[("project", "p".into()), ("region", "us-central1".into())],
    );
    let resp = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&config, &ty),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&resp.diagnostics).is_empty(),
        "{:?}",
        resp.diagnostics
    );
}

async fn plan(
    client: &mut ProviderClient<Channel>,
    type_name: &str,
    ty: &Type,
    prior: &Value,
    config: &Value,
) -> (Value, pb::plan_resource_change::Response) {
    // Terraform's proposed new state: the configuration, with prior values
    // for computed attributes the configuration leaves out.
    let mut proposed = config.clone();
    if let (Value::Object(p), Value::Object(prior)) = (&mut proposed, prior) {
        for (k, v) in p.iter_mut() {
            if v.is_null() {
                *v = prior.get(k).cloned().unwrap_or(Value::Null);
            }
        }
    }
    let resp = client
        .plan_resource_change(pb::PlanResourceChange::request(
            type_name, ty, prior, &proposed, config,
        ))
        .await
        .unwrap()
        .into_inner();
    let planned = decode_msgpack(&resp.planned_state.as_ref().unwrap().msgpack, ty).unwrap();
    (planned, resp)
}

trait PlanRequest {
    fn request(
        type_name: &str,
        ty: &Type,
        prior: &Value,
        proposed: &Value,
        config: &Value,
    ) -> pb::plan_resource_change::Request;
}

impl PlanRequest for pb::PlanResourceChange {
    fn request(
        type_name: &str,
        ty: &Type,
        prior: &Value,
        proposed: &Value,
        config: &Value,
    ) -> pb::plan_resource_change::Request {
        pb::plan_resource_change::Request {
            type_name: type_name.into(),
            prior_state: dv(prior, ty),
            proposed_new_state: dv(proposed, ty),
            config: dv(config, ty),
            ..Default::default()
        }
    }
}

#[tokio::test]
async fn malformed_values_get_a_diagnostic_not_a_crash() {
    let (mut plugin, mut client) = client().await;
    for garbage in [
        vec![0xc1],
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        vec![0x81, 0xa4, b'n', b'o', b'p', b'e', 0xc0],
        vec![],
    ] {
        let resp = client
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: "genesis_cluster".into(),
                config: Some(pb::DynamicValue {
                    msgpack: garbage.clone(),
                    json: Vec::new(),
                }),
                client_capabilities: None,
            })
            .await
            .unwrap()
            .into_inner();
        if !garbage.is_empty() {
            assert_eq!(
                errors(&resp.diagnostics).len(),
                1,
                "{garbage:?}: {:?}",
                resp.diagnostics
            );
        }
    }
    assert!(
        plugin.child.try_wait().unwrap().is_none(),
        "the provider is still running"
    );
}

#[tokio::test]
async fn unknown_types_and_unoffered_features_answer_with_diagnostics() {
    let (_plugin, mut client) = client().await;
    let resp = client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "genesis_nope".into(),
            config: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&resp.diagnostics).len(), 1);
    let functions = client
        .get_functions(pb::get_functions::Request {})
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<&str> = functions.functions.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["parse_cluster_id", "parse_image", "repository_url"]);
    assert!(functions.diagnostics.is_empty());
    let call = |name: &str, argument: &[u8]| pb::call_function::Request {
        name: name.into(),
        arguments: vec![pb::DynamicValue {
            msgpack: argument.to_vec(),
            json: Vec::new(),
        }],
    };
    // A number where a string goes, and a function the provider lacks.
    let wrong = client
        .call_function(call("parse_image", &[0x2a]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wrong.error.and_then(|e| e.function_argument), Some(0));
    let missing = client
        .call_function(call("nope", &[0xa1, b'x']))
        .await
        .unwrap()
        .into_inner();
    assert!(missing.result.is_none() && missing.error.is_some());
    // A data source or an ephemeral resource the provider lacks.
    let data = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "genesis_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&data.diagnostics).len(), 1, "{data:?}");
    let ephemeral = client
        .open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: "genesis_nope".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&ephemeral.diagnostics).len(), 1, "{ephemeral:?}");
    let identities = client
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    // Every resource has an identity; a stored one (version 0) is read as
    // it is, and an unknown type's is refused with a diagnostic.
    assert_eq!(identities.identity_schemas.len(), 4);
    let pool = &identities.identity_schemas["genesis_node_pool"];
    let names: Vec<&str> = pool
        .identity_attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["cluster", "name"]);
    assert!(
        pool.identity_attributes
            .iter()
            .all(|a| a.required_for_import)
    );
    let upgraded = client
        .upgrade_resource_identity(pb::upgrade_resource_identity::Request {
            type_name: "genesis_node_pool".into(),
            version: 0,
            raw_identity: br#"{"cluster":"projects/p/locations/l/clusters/c","name":"a"}"#.to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(upgraded.diagnostics.is_empty() && upgraded.upgraded_identity.is_some());
    let refused = client
        .upgrade_resource_identity(pb::upgrade_resource_identity::Request {
            type_name: "genesis_nope".into(),
            version: 0,
            raw_identity: b"{}".to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&refused.diagnostics).len(), 1);
    let meta = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.resources.len(), 4);
    assert!(meta.server_capabilities.unwrap().plan_destroy);
}

/// An environment that comes from another resource decides the defaults
/// only once known: until then the plan shows what every environment
/// gives the same, and unknown for the rest (a default planned from "dev"
/// and applied as "prod" would be an inconsistent final plan).
#[tokio::test]
async fn an_environment_known_only_at_apply_plans_its_defaults_unknown() {
    let (_plugin, mut client) = client().await;
    configure(&mut client).await;
    let ty = cluster::value_type();
    let config = object(
        &ty,
        &[
            ("name", "c".into()),
            ("environment", Value::Unknown),
            ("enable_binary_authorization", false.into()),
        ],
    );
    let (planned, resp) = plan(&mut client, "genesis_cluster", &ty, &Value::Null, &config).await;
    assert!(
        errors(&resp.diagnostics).is_empty(),
        "{:?}",
        resp.diagnostics
    );
    for differs in [
        "deletion_protection",
        "release_channel",
        "enable_private_cluster",
        "enable_managed_prometheus",
        "master_ipv4_cidr_block",
    ] {
        assert_eq!(planned.get(differs), &Value::Unknown, "{differs}");
    }
    assert_eq!(
        planned.get("enable_binary_authorization"),
        &Value::Bool(false),
        "written, so kept"
    );
    assert_eq!(
        planned.get("network"),
        &Value::from("default"),
        "the same in every environment"
    );
}

#[tokio::test]
async fn changing_the_name_replaces_and_changing_the_environment_does_not() {
    let (_plugin, mut client) = client().await;
    configure(&mut client).await;
    let ty = cluster::value_type();
    let config = object(&ty, &[("name", "c".into()), ("environment", "dev".into())]);
    let (created, resp) = plan(&mut client, "genesis_cluster", &ty, &Value::Null, &config).await;
    assert!(
        errors(&resp.diagnostics).is_empty(),
        "{:?}",
        resp.diagnostics
    );
    assert_eq!(
        created.get("project_id"),
        &Value::from("p"),
        "project from the provider"
    );
    assert_eq!(created.get("endpoint"), &Value::Unknown);

    // Pretend it was created.
    let mut prior = created.clone();
    for (k, v) in [
        ("endpoint", "https://10.0.0.1"),
        ("ca_certificate", "PEM"),
        ("status", "RUNNING"),
        ("master_version", "1.33"),
        ("self_link", "x"),
    ] {
        prior.set_attr(k, v.into());
    }

    let renamed = object(&ty, &[("name", "d".into()), ("environment", "dev".into())]);
    let (_, resp) = plan(&mut client, "genesis_cluster", &ty, &prior, &renamed).await;
    let replaced: Vec<_> = resp.requires_replace.iter().map(path_names).collect();
    assert_eq!(replaced, vec![vec!["name".to_string()]]);

    let to_prod = object(&ty, &[("name", "c".into()), ("environment", "prod".into())]);
    let (planned, resp) = plan(&mut client, "genesis_cluster", &ty, &prior, &to_prod).await;
    let replaced: Vec<_> = resp.requires_replace.iter().map(path_names).collect();
    // Going to prod turns on private nodes, which GKE cannot do in place.
    assert_eq!(
        replaced,
        vec![
            vec!["enable_private_cluster".to_string()],
            vec!["master_ipv4_cidr_block".to_string()]
        ]
    );
    assert_eq!(planned.get("deletion_protection"), &Value::Bool(true));
    assert_eq!(
        planned.get("endpoint"),
        &Value::from("https://10.0.0.1"),
        "computed values kept"
    );

    let unchanged = object(&ty, &[("name", "c".into()), ("environment", "dev".into())]);
    let (planned, resp) = plan(&mut client, "genesis_cluster", &ty, &prior, &unchanged).await;
    assert!(resp.requires_replace.is_empty());
    assert_eq!(
        planned, prior,
        "no change planned for an unchanged configuration"
    );
}

#[tokio::test]
async fn deletion_protection_stops_destroy_at_plan_time() {
    let (_plugin, mut client) = client().await;
    let ty = cluster::value_type();
    let prior = object(
        &ty,
        &[
            ("name", "prod".into()),
            ("deletion_protection", true.into()),
        ],
    );
    let resp = client
        .plan_resource_change(pb::PlanResourceChange::request(
            "genesis_cluster",
            &ty,
            &prior,
            &Value::Null,
            &Value::Null,
        ))
        .await
        .unwrap()
        .into_inner();
    let errs = errors(&resp.diagnostics);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].detail.contains("deletion_protection = false"));
    assert_eq!(
        path_names(errs[0].attribute.as_ref().unwrap()),
        vec!["deletion_protection"]
    );
}

#[tokio::test]
async fn equivalent_quantities_plan_no_change() {
    let (_plugin, mut client) = client().await;
    let ty = workload::value_type();
    let Type::Object(attrs) = &ty else {
        unreachable!()
    };
    let Type::Object(resources_ty) = &attrs["resources"] else {
        unreachable!()
    };
    let Type::Object(requests_ty) = &resources_ty["requests"] else {
        unreachable!()
    };
    let requests = |cpu: &str| {
        let mut r = Value::Object(
            requests_ty
                .keys()
                .map(|k| (k.clone(), Value::Null))
                .collect(),
        );
        r.set_attr("cpu", cpu.into());
        Value::object([("requests", r), ("limits", Value::Null)])
    };
    let base = [
        (
            "cluster",
            Value::from("projects/p/locations/us-central1/clusters/c"),
        ),
        ("name", "api".into()),
        ("image", "nginx:1.27".into()),
    ];
    let config = object(
        &ty,
        &[
            base[0].clone(),
            base[1].clone(),
            base[2].clone(),
            ("resources", requests("1")),
        ],
    );
    let (mut prior, _) = plan(&mut client, "genesis_workload", &ty, &Value::Null, &config).await;
    prior.set_attr("status", "Available".into());
    prior.set_attr("load_balancer_ip", Value::Null);
    // The state holds the API server's spelling.
    prior.set_attr("resources", requests("1000m"));
    let (planned, resp) = plan(&mut client, "genesis_workload", &ty, &prior, &config).await;
    assert!(
        errors(&resp.diagnostics).is_empty(),
        "{:?}",
        resp.diagnostics
    );
    assert_eq!(planned.get("resources"), &requests("1000m"));
    assert_eq!(planned, prior);
}

#[tokio::test]
async fn import_accepts_short_and_long_ids() {
    let (_plugin, mut client) = client().await;
    let ty = cluster::value_type();
    for id in [
        "p/us-central1-a/c",
        "projects/p/locations/us-central1-a/clusters/c",
    ] {
        let resp = client
            .import_resource_state(pb::import_resource_state::Request {
                type_name: "genesis_cluster".into(),
                id: id.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let state = decode_msgpack(
            &resp.imported_resources[0].state.as_ref().unwrap().msgpack,
            &ty,
        )
        .unwrap();
        assert_eq!(
            state.get("id"),
            &Value::from("projects/p/locations/us-central1-a/clusters/c")
        );
        assert_eq!(state.get("zone"), &Value::from("us-central1-a"));
        assert_eq!(state.get("regional_cluster"), &Value::Bool(false));
    }
    let resp = client
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "genesis_cluster".into(),
            id: "just-a-name".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&resp.diagnostics)[0]
            .detail
            .contains("PROJECT/LOCATION/NAME")
    );
}

/// UpgradeResourceState of a stored JSON state written by schema `version`.
async fn upgrade(
    client: &mut ProviderClient<Channel>,
    type_name: &str,
    version: i64,
    json: &[u8],
) -> pb::upgrade_resource_state::Response {
    client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: type_name.into(),
            version,
            raw_state: Some(pb::RawState {
                json: json.to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn stored_json_state_upgrades_to_the_current_schema() {
    let (_plugin, mut client) = client().await;
    let ty = cluster::value_type();
    let json = br#"{"id":"projects/p/locations/us-central1/clusters/c","name":"c","cloud":"gcp","regional_cluster":true,"removed_attribute":"x","monitoring_components":["SYSTEM_COMPONENTS"],"timeouts":{"create":"45m","update":null,"delete":null}}"#;
    let resp = upgrade(&mut client, "genesis_cluster", 0, json).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = decode_msgpack(&resp.upgraded_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(state.get("name"), &Value::from("c"));
    // A client that predates write-only attributes (OpenTofu 1.9,
    // Terraform 1.10) stores timeouts as ordinary values: they stay, or its
    // every plan would put them back.
    assert_eq!(state.get("timeouts").get("create"), &Value::from("45m"));
    assert_eq!(
        state.get("monitoring_components"),
        &Value::set(vec!["SYSTEM_COMPONENTS".into()])
    );

    let resp = upgrade(&mut client, "genesis_cluster", 99, json).await;
    assert!(
        errors(&resp.diagnostics)[0]
            .summary
            .contains("newer provider")
    );
}

/// A workload stored by schema version 0 held the autoscaler's minimum in
/// `replicas`; from version 1 the count is the autoscaler's alone (null),
/// so an upgraded state plans no change and generated configuration does
/// not conflict. Without autoscaling, replicas stay.
#[tokio::test]
async fn upgraded_workload_state_leaves_replicas_to_the_autoscaler() {
    let (_plugin, mut client) = client().await;
    let ty = genesis::resources::workload::value_type();
    for (json, expected) in [
        (
            &br#"{"name":"api","namespace":"apps","image":"nginx:1.27","replicas":2,"autoscaling":{"min_replicas":2,"max_replicas":6,"cpu_target":70}}"#[..],
            Value::Null,
        ),
        (
            &br#"{"name":"worker","namespace":"jobs","image":"nginx:1.27","replicas":3}"#[..],
            Value::Number(3.0),
        ),
    ] {
        let resp = upgrade(&mut client, "genesis_workload", 0, json).await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let state = decode_msgpack(&resp.upgraded_state.unwrap().msgpack, &ty).unwrap();
        assert_eq!(state.get("replicas"), &expected);
    }
}

/// The states `tests/golden/` holds, as Terraform wrote them for each
/// resource and cloud at the schema versions of release 0.1.0 (and one
/// older), upgrade to the current schemas keeping every value. A schema
/// change that drops or renames an attribute fails here until it comes
/// with a new schema version and the upgrade that carries old states over.
#[tokio::test]
async fn golden_states_upgrade_to_the_current_schemas() {
    let (_plugin, mut client) = client().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");
    for file in files {
        let golden: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let type_name = golden["type"].as_str().unwrap();
        let resource = genesis::resources::all()
            .into_iter()
            .find(|r| r.type_name() == type_name)
            .unwrap();
        let schema = resource.schema();
        let ty = schema.value_type();
        let genesis::framework::types::Type::Object(fields) = &ty else {
            panic!("{type_name}: not an object type");
        };
        let attributes = golden["attributes"].as_object().unwrap();
        for name in attributes.keys() {
            assert!(
                fields.contains_key(name),
                "{}: `{name}` is in released states but no longer in the schema: bump the schema version and upgrade old states",
                file.display()
            );
        }
        let json = serde_json::to_vec(&golden["attributes"]).unwrap();
        let resp = upgrade(
            &mut client,
            type_name,
            golden["schema_version"].as_i64().unwrap(),
            &json,
        )
        .await;
        assert!(
            resp.diagnostics.is_empty(),
            "{}: {:?}",
            file.display(),
            resp.diagnostics
        );
        let upgraded = decode_msgpack(&resp.upgraded_state.unwrap().msgpack, &ty).unwrap();
        let stored = genesis::protocol::codec::decode_json(&json, &ty).unwrap();
        let version = golden["schema_version"].as_i64().unwrap();
        for name in attributes.keys() {
            let expected = if version == 0 && type_name == "genesis_workload" && name == "replicas"
            {
                // Version 1 leaves the count to the autoscaler.
                Value::Null
            } else {
                stored.get(name).clone()
            };
            assert_eq!(
                upgraded.get(name),
                &expected,
                "{}: `{name}` changed in the upgrade",
                file.display()
            );
        }
        if type_name == "genesis_workload" && version < 2 {
            // `kind` forces replacement: older states must not plan one.
            assert_eq!(upgraded.get("kind"), &Value::from("Deployment"));
        }
        assert!(version <= schema.version, "{}", file.display());
    }
}

/// genesis-sim with `config`, and a configured provider pointed at it.
async fn against_sim(
    config: genesis_sim::Config,
) -> (genesis_sim::Running, Plugin, ProviderClient<Channel>) {
    let sim = genesis_sim::start(config).await.unwrap();
    let cert = client_cert();
    let plugin = start(&[
        ("PLUGIN_CLIENT_CERT", &cert.pem),
        ("GENESIS_GKE_ENDPOINT", &sim.urls.gke),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", &sim.urls.token),
    ]);
    let mut client = provider_client(&plugin, &cert).await;
    configure(&mut client).await;
    (sim, plugin, client)
}

/// StopProvider (Terraform's Ctrl-C) ends a wait on a long operation
/// promptly, and the apply still returns what exists.
#[tokio::test]
async fn stop_provider_cancels_a_wait_promptly() {
    let (sim, _plugin, mut client) = against_sim(genesis_sim::Config {
        operation_time: std::time::Duration::from_secs(120),
        ..genesis_sim::Config::default()
    })
    .await;
    let ty = cluster::value_type();
    let config = object(&ty, &[("name", "slow".into())]);
    let (planned, _) = plan(&mut client, "genesis_cluster", &ty, &Value::Null, &config).await;
    let mut applying = client.clone();
    let request = pb::apply_resource_change::Request {
        type_name: "genesis_cluster".into(),
        prior_state: dv(&Value::Null, &ty),
        planned_state: dv(&planned, &ty),
        config: dv(&config, &ty),
        ..Default::default()
    };
    let apply = tokio::spawn(async move { applying.apply_resource_change(request).await });
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let started = std::time::Instant::now();
    client
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap();
    let response = tokio::time::timeout(std::time::Duration::from_secs(15), apply)
        .await
        .expect("apply returns promptly")
        .unwrap()
        .unwrap()
        .into_inner();
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let errs = errors(&response.diagnostics);
    assert!(
        errs.iter().any(|d| d.detail.contains("cancelled")),
        "{:?}",
        response.diagnostics
    );
    let state = decode_msgpack(&response.new_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(
        state.get("name"),
        &Value::from("slow"),
        "the cluster that exists is returned, so Terraform keeps it"
    );
    sim.shutdown();
}

/// StopProvider during a workload's rollout: the apply returns at once
/// with the workload in state (status Progressing) and says why.
#[tokio::test]
async fn stop_provider_ends_a_rollout_wait_and_keeps_the_workload() {
    let (sim, _plugin, mut client) = against_sim(genesis_sim::Config {
        rollout_time: std::time::Duration::from_secs(300),
        ..genesis_sim::Config::default()
    })
    .await;
    let apply = |client: &ProviderClient<Channel>,
                 name: &str,
                 ty: &Type,
                 planned: &Value,
                 config: &Value| {
        let mut client = client.clone();
        let request = pb::apply_resource_change::Request {
            type_name: name.into(),
            prior_state: dv(&Value::Null, ty),
            planned_state: dv(planned, ty),
            config: dv(config, ty),
            ..Default::default()
        };
        tokio::spawn(async move { client.apply_resource_change(request).await })
    };
    let ty = cluster::value_type();
    let config = object(
        &ty,
        &[("name", "apps".into()), ("enable_autopilot", true.into())],
    );
    let (planned, _) = plan(&mut client, "genesis_cluster", &ty, &Value::Null, &config).await;
    let created = apply(&client, "genesis_cluster", &ty, &planned, &config)
        .await
        .unwrap()
        .unwrap()
        .into_inner();
    assert!(
        errors(&created.diagnostics).is_empty(),
        "{:?}",
        created.diagnostics
    );

    let ty = workload::value_type();
    let config = object(
        &ty,
        &[
            (
                "cluster",
                "projects/p/locations/us-central1/clusters/apps".into(),
            ),
            ("name", "api".into()),
            ("image", "nginx:1.27".into()),
        ],
    );
    let (planned, _) = plan(&mut client, "genesis_workload", &ty, &Value::Null, &config).await;
    let applying = apply(&client, "genesis_workload", &ty, &planned, &config);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    client
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap();
    let response = tokio::time::timeout(std::time::Duration::from_secs(15), applying)
        .await
        .expect("apply returns promptly")
        .unwrap()
        .unwrap()
        .into_inner();
    let errs = errors(&response.diagnostics);
    assert!(
        errs.iter()
            .any(|d| d.summary == "Stopped during the rollout"),
        "{:?}",
        response.diagnostics
    );
    let state = decode_msgpack(&response.new_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(state.get("status"), &Value::from("Progressing"));
    assert_eq!(state.get("name"), &Value::from("api"));
    sim.shutdown();
}

/// A provider started with `--debug` serves every run Terraform reattaches
/// to it, each configuring it again: what one run created is not the next
/// run's to keep (a destroy after an apply deletes), and one run's Ctrl-C
/// does not stop the next.
#[tokio::test]
async fn each_run_through_one_provider_process_starts_afresh() {
    let (sim, _plugin, mut client) = against_sim(genesis_sim::Config::default()).await;
    let ty = cluster::value_type();
    let config = object(
        &ty,
        &[("name", "again".into()), ("enable_autopilot", true.into())],
    );
    let (planned, _) = plan(&mut client, "genesis_cluster", &ty, &Value::Null, &config).await;
    let created = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "genesis_cluster".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: dv(&planned, &ty),
            config: dv(&config, &ty),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        errors(&created.diagnostics).is_empty(),
        "{:?}",
        created.diagnostics
    );
    let state = decode_msgpack(&created.new_state.unwrap().msgpack, &ty).unwrap();
    // The run ends with a Ctrl-C; the next run configures the provider.
    client
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap();
    configure(&mut client).await;
    let mut state = state;
    state.set_attr("deletion_protection", false.into());
    let destroyed = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "genesis_cluster".into(),
            prior_state: dv(&state, &ty),
            planned_state: dv(&Value::Null, &ty),
            config: dv(&Value::Null, &ty),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        destroyed.diagnostics.is_empty(),
        "deleted, neither kept nor stopped: {:?}",
        destroyed.diagnostics
    );
    let clusters = sim.sim.dump()["gke"]["clusters"].clone();
    assert!(
        clusters.as_object().is_none_or(|c| c.is_empty()),
        "the cluster is gone: {clusters}"
    );
    sim.shutdown();
}
