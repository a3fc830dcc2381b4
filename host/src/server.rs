//! Serving as Grafana's child process: go-plugin start-up (cookie, version,
//! Unix socket, handshake line), the gRPC server, and shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::grpc;
use crate::handshake::{self, Address, Negotiation};
use crate::metrics::Metrics;
use crate::runtime::{Runtime, RuntimeSettings};
use crate::sandbox::{ConfigError, SandboxConfig};

/// How long in-flight calls may take to finish after `Shutdown`; Grafana
/// kills the process 2 s after asking.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Where and what to serve.
#[derive(Debug)]
pub struct ServeConfig {
    /// The plugin component.
    pub component: PathBuf,
    /// The sandbox configuration, or why it is unusable (then every call
    /// answers with that error).
    pub sandbox: Result<SandboxConfig, ConfigError>,
    /// The plugin's identity and the compiled-component cache.
    pub runtime: RuntimeSettings,
}

/// Serves until Grafana calls `GRPCController/Shutdown`. The caller has
/// checked the magic cookie.
///
/// # Errors
/// Fails when the socket cannot be created or the server cannot run.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    ignore_interrupts()?;
    let offered = std::env::var(handshake::PROTOCOL_VERSIONS_ENV).ok();
    let negotiation = handshake::negotiate(offered.as_deref());
    if let Negotiation::Fallback { offered, .. } = &negotiation {
        tracing::warn!(offered = ?offered, "the host did not offer protocol version 2; answering 2 anyway");
    }

    let metrics = Metrics::new().context("creating the metrics registry")?;
    let runtime =
        Arc::new(Runtime::new(&config.component, config.runtime, config.sandbox, metrics).await?);
    let (listener, socket) = bind_socket(&socket_dir())?;
    let shutdown = CancellationToken::new();
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", ServingStatus::Serving)
        .await;
    crate::reload::spawn(runtime.clone(), &config.component, shutdown.clone())?;
    spawn_eviction(runtime.clone(), shutdown.clone());
    let mut routes = grpc::routes(runtime, shutdown.clone());
    routes.add_service(health_service);

    let address = Address::Unix(socket.display().to_string());
    handshake::announce(&handshake::handshake_line(negotiation.version(), &address))
        .context("writing the handshake line to stdout")?;
    tracing::info!(socket = %socket.display(), "plugin host serving");

    let server = Server::builder()
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(
            UnixListenerStream::new(listener),
            shutdown.clone().cancelled_owned(),
        );
    let mut server = std::pin::pin!(server);
    tokio::select! {
        result = &mut server => result.context("gRPC server failed")?,
        () = shutdown.cancelled() => {
            if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "calls still running at shutdown were abandoned");
            }
        }
    }
    tracing::info!("plugin host stopped");
    Ok(())
}

/// Disposes of idle guest instances now and then, until `shutdown`.
fn spawn_eviction(runtime: Arc<Runtime>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(runtime.eviction_interval());
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => runtime.evict_idle(),
            }
        }
    });
}

/// `PLUGIN_UNIX_SOCKET_DIR`, or the system's temporary directory.
fn socket_dir() -> PathBuf {
    std::env::var_os(handshake::UNIX_SOCKET_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

/// A socket removed from disk when dropped.
struct SocketPath(tempfile::TempPath);

impl std::ops::Deref for SocketPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

/// Listens on a fresh `plugin*` Unix socket in `dir`, as go-plugin does.
fn bind_socket(dir: &Path) -> anyhow::Result<(UnixListener, SocketPath)> {
    let named = tempfile::Builder::new()
        .prefix("plugin")
        .make_in(dir, |path| UnixListener::bind(path))
        .with_context(|| format!("creating a Unix socket in {}", dir.display()))?;
    let (listener, path) = named.into_parts();
    Ok((listener, SocketPath(path)))
}

/// Ignores SIGINT as a go-plugin server does: a Ctrl-C in Grafana's terminal
/// reaches the whole process group, and Grafana stops its plugins itself.
fn ignore_interrupts() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupts =
        signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        let mut count = 0u64;
        while interrupts.recv().await.is_some() {
            count += 1;
            tracing::trace!(count, "ignoring SIGINT");
        }
    });
    Ok(())
}
