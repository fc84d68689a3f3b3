//! go-plugin's AutoMTLS. Terraform generates a client certificate and passes
//! it in `PLUGIN_CLIENT_CERT`; the plugin makes a fresh certificate of its
//! own, prints it in the handshake line, and accepts only connections that
//! present exactly Terraform's certificate.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// Why mutual TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `PLUGIN_CLIENT_CERT` held no PEM certificate
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate")]
    ClientCertificate,
    /// the server certificate could not be generated
    #[error("generating the server certificate")]
    Generate(#[source] rcgen::Error),
    /// rustls refused the configuration
    #[error("configuring TLS")]
    Config(#[source] rustls::Error),
}

/// The server side of AutoMTLS.
pub struct AutoMtls {
    /// DER of the server certificate, for the handshake line.
    pub server_certificate: Vec<u8>,
    pub acceptor: TlsAcceptor,
}

/// The handshake runs on ring, not aws-lc (the provider's other TLS):
/// aws-lc seeds its random number generator from CPU jitter on first use,
/// which cost most of the plugin's start (`cargo bench --bench provider`);
/// ring reads the kernel's getrandom.
pub fn auto_mtls(client_cert_pem: &str) -> Result<AutoMtls, TlsError> {
    let client_cert = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|_| TlsError::ClientCertificate)?;
    let (cert, key) = server_certificate()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedClientCertificate {
        expected: client_cert.into_owned(),
        // Terraform's certificate is ECDSA P-521 (go-plugin's choice),
        // which ring cannot verify; verifying needs no random numbers.
        algorithms: rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![cert.clone()], key)
        .map_err(TlsError::Config)?;
    // gRPC clients insist on HTTP/2 being negotiated through ALPN.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(AutoMtls {
        server_certificate: cert.to_vec(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// A self-signed certificate for `localhost`, the name go-plugin's client
/// verifies, valid from a little before now.
fn server_certificate() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    };
    let key = RingKey::generate().map_err(TlsError::Generate)?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_string()]).map_err(TlsError::Generate)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "terraform-provider-genesis");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = std::time::SystemTime::now();
    params.not_before = (now - std::time::Duration::from_secs(30)).into();
    params.not_after = (now + std::time::Duration::from_secs(30 * 24 * 3600)).into();
    let cert = params.self_signed(&key).map_err(TlsError::Generate)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8));
    Ok((cert.der().clone(), key))
}

/// An ECDSA P-256 key made and used with ring, for rcgen to sign the
/// handshake's certificate with.
struct RingKey {
    pair: ring::signature::EcdsaKeyPair,
    pkcs8: Vec<u8>,
    rng: ring::rand::SystemRandom,
}

impl RingKey {
    fn generate() -> Result<RingKey, rcgen::Error> {
        use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| rcgen::Error::RingUnspecified)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|e| rcgen::Error::RingKeyRejected(e.to_string()))?;
        Ok(RingKey {
            pair,
            pkcs8: pkcs8.as_ref().to_vec(),
            rng,
        })
    }
}

impl rcgen::PublicKeyData for RingKey {
    fn der_bytes(&self) -> &[u8] {
        use ring::signature::KeyPair as _;
        self.pair.public_key().as_ref()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for RingKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.pair
            .sign(&self.rng, msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| rcgen::Error::RingUnspecified)
    }
}

/// Accepts exactly one client certificate: the one Terraform handed us.
/// go-plugin's certificate is self-signed and marked as a CA, which WebPKI
/// path building refuses as an end entity, so we pin it instead; the
/// handshake signature is still verified against its key.
#[derive(Debug)]
struct PinnedClientCertificate {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCertificate {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A connection from Terraform, plain or TLS.
pub enum PluginStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl tonic::transport::server::Connected for PluginStream {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PluginStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PluginStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginStream::Plain(s) => Pin::new(s).poll_flush(cx),
            PluginStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PluginStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Installs the crypto provider used by every TLS configuration.
pub fn install_crypto_provider() {
    let _ = CryptoProvider::install_default(rustls::crypto::aws_lc_rs::default_provider());
}
