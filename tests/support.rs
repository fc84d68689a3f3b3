//! Starting the provider binary as Terraform does, and a gRPC client that
//! speaks AutoMTLS to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;
use genesis::protocol::generated::tfplugin6::provider_client::ProviderClient;
use genesis::protocol::plugin::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tonic::transport::{Channel, Endpoint};

pub const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-genesis");

/// A client certificate like the one go-plugin makes for Terraform.
pub struct ClientCert {
    pub pem: String,
    pub der: CertificateDer<'static>,
    pub key: PrivatePkcs8KeyDer<'static>,
}

pub fn client_cert() -> ClientCert {
    // go-plugin's client key is ECDSA P-521.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    ClientCert {
        pem: cert.pem(),
        der: cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

/// A running plugin process and what its handshake line said.
pub struct Plugin {
    pub child: Child,
    /// `tcp` (this provider) or `unix` (go-plugin on Unix).
    pub network: String,
    pub address: String,
    pub server_cert: Option<Vec<u8>>,
    pub handshake: String,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the provider the way Terraform does.
pub fn start(extra_env: &[(&str, &str)]) -> Plugin {
    start_binary(std::path::Path::new(BINARY), extra_env)
}

/// Starts a plugin binary (this provider or a peer) the way Terraform does.
pub fn start_binary(binary: &std::path::Path, extra_env: &[(&str, &str)]) -> Plugin {
    let mut cmd = Command::new(binary);
    cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start the provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let handshake = line.trim_end().to_string();
    let parts: Vec<&str> = handshake.split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line: {handshake:?}");
    let server_cert = (!parts[5].is_empty()).then(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .expect("certificate in raw standard base64")
    });
    Plugin {
        network: parts[2].to_string(),
        address: parts[3].to_string(),
        server_cert,
        child,
        handshake,
    }
}

/// A byte stream to a plugin: TCP or a Unix socket, with or without TLS.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// A client that trusts exactly the plugin's certificate, as go-plugin does,
/// over the plugin's network (TCP, or a Unix socket as go-plugin uses).
pub async fn connect(
    plugin: &Plugin,
    client: Option<&ClientCert>,
) -> Result<Channel, tonic::transport::Error> {
    genesis::protocol::tls::install_crypto_provider();
    let tls = plugin.server_cert.clone().map(|server_cert| {
        let builder = rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedServer(CertificateDer::from(
                server_cert,
            ))));
        let mut config = match client {
            Some(c) => builder
                .with_client_auth_cert(vec![c.der.clone()], PrivateKeyDer::Pkcs8(c.key.clone_key()))
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        tokio_rustls::TlsConnector::from(Arc::new(config))
    });
    let (network, address) = (plugin.network.clone(), plugin.address.clone());
    // The URI is not used to connect: the connector below is.
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let (tls, network, address) = (tls.clone(), network.clone(), address.clone());
            async move {
                let stream: Box<dyn Io> = if network == "unix" {
                    Box::new(tokio::net::UnixStream::connect(&address).await?)
                } else {
                    Box::new(tokio::net::TcpStream::connect(&address).await?)
                };
                let stream: Box<dyn Io> = match tls {
                    Some(tls) => Box::new(
                        tls.connect(ServerName::try_from("localhost").unwrap(), stream)
                            .await?,
                    ),
                    None => stream,
                };
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
}

pub async fn provider_client(plugin: &Plugin, client: &ClientCert) -> ProviderClient<Channel> {
    ProviderClient::new(
        connect(plugin, Some(client))
            .await
            .expect("connect over mutual TLS"),
    )
}

/// Trusts exactly the certificate from the handshake line, as go-plugin's
/// client does (Go accepts a self-signed CA certificate that is itself in
/// the root pool; WebPKI would refuse it as an end entity).
#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>);

impl rustls::client::danger::ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms =
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms =
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
