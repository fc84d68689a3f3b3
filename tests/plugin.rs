//! The plugin process: the go-plugin handshake, AutoMTLS, the side
//! services, and shutdown.

use std::process::Command;
use std::time::{Duration, Instant};

use genesis::protocol::generated::plugin::grpc_controller_client::GrpcControllerClient;
use genesis::protocol::generated::tfplugin6::get_provider_schema;

use crate::support::{BINARY, client_cert, connect, provider_client, start};

#[test]
fn run_by_hand_it_explains_itself_and_exits_non_zero() {
    let out = Command::new(BINARY)
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Terraform plugin"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn it_refuses_terraform_without_protocol_6() {
    let out = Command::new(BINARY)
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            genesis::protocol::plugin::MAGIC_COOKIE_VALUE,
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 6"));
}

#[test]
fn it_listens_within_the_port_range_terraform_gives() {
    let plugin = start(&[("PLUGIN_MIN_PORT", "23100"), ("PLUGIN_MAX_PORT", "23150")]);
    let port: u16 = plugin.address.rsplit(':').next().unwrap().parse().unwrap();
    assert!((23100..=23150).contains(&port), "{}", plugin.handshake);
    assert!(plugin.handshake.starts_with("1|6|tcp|127.0.0.1:"));
    assert!(
        plugin.handshake.ends_with("|grpc|"),
        "plaintext without a client certificate"
    );
}

#[tokio::test]
async fn mutual_tls_accepts_terraforms_certificate_only() {
    let terraform = client_cert();
    let plugin = start(&[("PLUGIN_CLIENT_CERT", &terraform.pem)]);
    assert!(
        plugin.server_cert.is_some(),
        "a certificate in the handshake line"
    );

    let mut client = provider_client(&plugin, &terraform).await;
    let schema = client
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.resource_schemas.contains_key("genesis_cluster"));

    let stranger = client_cert();
    let refused = match connect(&plugin, Some(&stranger)).await {
        Err(_) => true,
        Ok(channel) => {
            let mut c =
                genesis::protocol::generated::tfplugin6::provider_client::ProviderClient::new(
                    channel,
                );
            c.get_provider_schema(get_provider_schema::Request {})
                .await
                .is_err()
        }
    };
    assert!(refused, "a client with another certificate must be refused");
    let anonymous = match connect(&plugin, None).await {
        Err(_) => true,
        Ok(channel) => {
            let mut c =
                genesis::protocol::generated::tfplugin6::provider_client::ProviderClient::new(
                    channel,
                );
            c.get_provider_schema(get_provider_schema::Request {})
                .await
                .is_err()
        }
    };
    assert!(anonymous, "a client without a certificate must be refused");
}

#[tokio::test]
async fn health_reports_the_plugin_serving_and_shutdown_stops_it() {
    let terraform = client_cert();
    let mut plugin = start(&[("PLUGIN_CLIENT_CERT", &terraform.pem)]);
    let channel = connect(&plugin, Some(&terraform)).await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    GrpcControllerClient::new(channel)
        .shutdown(())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = plugin.child.try_wait().unwrap() {
            assert!(status.success(), "clean exit after Shutdown: {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the plugin did not exit after Shutdown"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn debug_mode_prints_reattach_settings() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(BINARY)
        .arg("--debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut found = None;
    for _ in 0..10 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
            found = Some(rest.trim_end_matches('\'').to_string());
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let json: serde_json::Value =
        serde_json::from_str(&found.expect("TF_REATTACH_PROVIDERS line")).unwrap();
    let entry = &json["registry.terraform.io/genesis-platform/genesis"];
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Addr"]["Network"], "tcp");
}
