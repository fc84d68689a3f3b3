//! The go-plugin handshake and the server Terraform connects to: the
//! provider service plus go-plugin's side services (health, controller,
//! stdio), served over AutoMTLS when Terraform asks for it.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::generated::plugin::StdioData;
use super::generated::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use super::generated::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};
use super::generated::tfplugin6::provider_server::ProviderServer as ProviderGrpcServer;
use super::service::ProviderService;
use super::tls::{PluginStream, auto_mtls};
use crate::framework::server::ProviderServer;

/// The environment variable and value Terraform sets when it starts a plugin.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// The only plugin protocol major version this provider speaks.
pub const PROTOCOL_VERSION: u32 = 6;

/// The registry address this provider is published under.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/genesis-platform/genesis";

/// Why the plugin could not start serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// started by hand rather than by Terraform
    #[error(
        "this binary is a Terraform plugin: it is not meant to be run directly.\n\
         Terraform starts it when a configuration uses the genesis provider (see the README).\n\
         To attach a debugger, run it with --debug and export the TF_REATTACH_PROVIDERS it prints."
    )]
    NotStartedByTerraform,
    /// Terraform offered no protocol version this plugin speaks
    #[error(
        "Terraform offered plugin protocol versions {0:?}, but this provider speaks only version 6; use Terraform 1.0 or later"
    )]
    ProtocolVersion(String),
    /// PLUGIN_MIN_PORT / PLUGIN_MAX_PORT are malformed or leave no free port
    #[error("{0}")]
    Port(String),
    /// AutoMTLS could not be set up
    #[error("setting up mutual TLS with Terraform")]
    Tls(#[source] super::tls::TlsError),
    /// the gRPC server failed
    #[error("serving gRPC")]
    Transport(#[source] tonic::transport::Error),
    #[error("writing the handshake line")]
    Io(#[source] std::io::Error),
}

/// How the plugin was started.
pub enum Mode {
    /// Started by Terraform: check the cookie, print the handshake line.
    Plugin,
    /// `--debug`: serve without a cookie and print `TF_REATTACH_PROVIDERS`.
    Debug,
}

/// Serves until Terraform asks the plugin to shut down.
pub async fn serve(
    server: Arc<ProviderServer>,
    mode: Mode,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(), ServeError> {
    if matches!(mode, Mode::Plugin) {
        if env(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(ServeError::NotStartedByTerraform);
        }
        if let Some(versions) = env("PLUGIN_PROTOCOL_VERSIONS")
            && !versions
                .split(',')
                .any(|v| v.trim() == PROTOCOL_VERSION.to_string())
        {
            return Err(ServeError::ProtocolVersion(versions));
        }
    }
    let listener = listen(env("PLUGIN_MIN_PORT"), env("PLUGIN_MAX_PORT")).await?;
    let addr = listener.local_addr().map_err(ServeError::Io)?;
    let tls = match (&mode, env("PLUGIN_CLIENT_CERT")) {
        (Mode::Plugin, Some(pem)) if !pem.is_empty() => {
            Some(auto_mtls(&pem).map_err(ServeError::Tls)?)
        }
        _ => None,
    };
    tracing::debug!(tls = tls.is_some(), "configured transport");
    let certificate = tls
        .as_ref()
        .map(|t| base64::engine::general_purpose::STANDARD_NO_PAD.encode(&t.server_certificate))
        .unwrap_or_default();

    let shutdown = CancellationToken::new();
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let connections = accept(listener, tls.map(|t| t.acceptor), shutdown.clone());
    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(Stdio {
            shutdown: shutdown.clone(),
        }))
        .add_service(
            ProviderGrpcServer::new(ProviderService::new(server.clone()))
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
        );

    match mode {
        Mode::Plugin => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "1|{PROTOCOL_VERSION}|tcp|{addr}|grpc|{certificate}")
                .map_err(ServeError::Io)?;
            stdout.flush().map_err(ServeError::Io)?;
        }
        Mode::Debug => print_reattach(addr),
    }
    tracing::info!(%addr, "plugin serving");

    tokio::spawn(ignore_interrupts(shutdown.clone()));

    let result = router
        .serve_with_incoming_shutdown(connections, {
            let shutdown = shutdown.clone();
            async move { shutdown.cancelled().await }
        })
        .await
        .map_err(ServeError::Transport);
    server.stop();
    result
}

/// Terraform handles Ctrl-C itself and asks the provider to stop over gRPC;
/// as go-plugin does, the plugin eats interrupts (SIGINT, or Ctrl-C on
/// Windows' console) so that a running apply can finish its API calls and
/// save state.
async fn ignore_interrupts(stop: CancellationToken) {
    #[cfg(unix)]
    let Ok(mut interrupts) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    else {
        return;
    };
    #[cfg(windows)]
    let Ok(mut interrupts) = tokio::signal::windows::ctrl_c() else {
        return;
    };
    loop {
        tokio::select! {
            _ = interrupts.recv() => tracing::debug!("interrupt ignored: Terraform stops the provider over gRPC"),
            () = stop.cancelled() => break,
        }
    }
}

/// Binds 127.0.0.1 on the first free port in PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT,
/// or on any free port when they are unset.
async fn listen(min: Option<String>, max: Option<String>) -> Result<TcpListener, ServeError> {
    let parse = |name: &str, v: Option<String>| -> Result<u16, ServeError> {
        match v.filter(|s| !s.is_empty()) {
            None => Ok(0),
            Some(s) => s
                .trim()
                .parse()
                .map_err(|_| ServeError::Port(format!("{name}={s:?} is not a port number"))),
        }
    };
    let min = parse("PLUGIN_MIN_PORT", min)?;
    let max = parse("PLUGIN_MAX_PORT", max)?;
    if min > max {
        return Err(ServeError::Port(format!(
            "PLUGIN_MIN_PORT ({min}) is greater than PLUGIN_MAX_PORT ({max})"
        )));
    }
    for port in min..=max {
        if let Ok(listener) = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await {
            return Ok(listener);
        }
    }
    Err(ServeError::Port(format!(
        "no free port between {min} and {max} on 127.0.0.1"
    )))
}

/// Accepts connections, completing TLS handshakes off the accept loop so a
/// slow or hostile client cannot hold up others.
fn accept(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) -> ReceiverStream<Result<PluginStream, std::io::Error>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        continue;
                    }
                },
                () = shutdown.cancelled() => break,
            };
            let _ = tcp.set_nodelay(true);
            let tx = tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let stream = match tls {
                    None => PluginStream::Plain(tcp),
                    Some(acceptor) => match acceptor.accept(tcp).await {
                        Ok(s) => PluginStream::Tls(Box::new(s)),
                        Err(e) => {
                            tracing::warn!(%peer, error = %e, "refused a connection that failed mutual TLS");
                            return;
                        }
                    },
                };
                let _ = tx.send(Ok(stream)).await;
            });
        }
    });
    ReceiverStream::new(rx)
}

fn print_reattach(addr: SocketAddr) {
    let reattach = serde_json::json!({
        PROVIDER_ADDRESS: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": "tcp", "String": addr.to_string() },
        }
    });
    println!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n"
    );
    println!("\tTF_REATTACH_PROVIDERS='{reattach}'\n");
}

/// `plugin.GRPCController`: Terraform's request to shut the plugin down.
struct Controller {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _: Request<()>) -> Result<Response<()>, Status> {
        tracing::debug!("shutdown requested by Terraform");
        // Answer first, then stop, so the client sees the call succeed.
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            shutdown.cancel();
        });
        Ok(Response::new(()))
    }
}

/// `plugin.GRPCStdio`: go-plugin forwards a plugin's stdout and stderr over
/// this stream. This provider writes nothing to stdout after the handshake
/// and logs to stderr directly (Terraform reads it), so the stream stays
/// open and quiet until shutdown.
struct Stdio {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = ReceiverStream<Result<StdioData, Status>>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        let (tx, rx) = mpsc::channel(1);
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            drop(tx);
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
