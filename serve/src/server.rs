//! Serving as Grafana's child process: go-plugin start-up (cookie, version,
//! Unix socket, handshake line), the gRPC server, and shutdown; and serving
//! in standalone (debug) mode on TCP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixListener;
use tokio_stream::Stream;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::{Connected, TcpIncoming};
use tonic_health::ServingStatus;

use crate::grpc;
use crate::metrics::Metrics;
use crate::runtime::{Runtime, RuntimeSettings};
use crate::sandbox::{ConfigError, SandboxConfig};
use crate::standalone;
use grafana_wasm_client::handshake::{self, Address, Negotiation};

/// Everything between `Shutdown` and exit: guests stopped, idle instances
/// disposed of, connections closed. Grafana kills the process 2 s after
/// asking; the host exits within 1 s whatever the guests do.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(800);

/// The part of [`SHUTDOWN_BUDGET`] for stopping guest calls and disposing
/// of idle instances.
const GUEST_SHUTDOWN_BUDGET: Duration = Duration::from_millis(600);

/// After the guests have stopped: how long the spans still queued may take
/// to reach the collector (the rest of the exit's second).
const TRACE_FLUSH_BUDGET: Duration = Duration::from_millis(150);

/// How often the host looks whether the process that launched it is gone.
const PARENT_POLL: Duration = Duration::from_millis(100);

/// Streams Grafana may cancel before the server has picked them up, at
/// once, before the connection is closed as an attack (h2 allows 20, its
/// defence against "rapid reset" floods). Grafana is the only peer, on a
/// private socket, and a dashboard closing many live panels cancels that
/// many streams at once: losing the connection would fail every call.
const PENDING_RESET_STREAMS: usize = 10_000;

/// Where and what to serve.
#[derive(Debug)]
pub struct ServeConfig {
    /// The plugin component.
    pub component: PathBuf,
    /// The plugin's directory (the executable's): where `plugin.json` is,
    /// and where standalone mode announces itself.
    pub plugin_dir: PathBuf,
    /// The sandbox configuration, or why it is unusable (then every call
    /// answers with that error).
    pub sandbox: Result<SandboxConfig, ConfigError>,
    /// The plugin's identity and the compiled-component cache.
    pub runtime: RuntimeSettings,
}

/// Serves until Grafana calls `GRPCController/Shutdown`. The caller has
/// checked the magic cookie. When a standalone host serves this plugin
/// (see [`crate::standalone`]), points Grafana at it instead.
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
    let env = |name: &str| std::env::var(name).ok();
    if let Some(address) = standalone::locate(&config.plugin_dir, &config.runtime.plugin_id, env) {
        return standalone::point_at(&address, negotiation.version()).await;
    }

    let shutdown = CancellationToken::new();
    watch_parent(shutdown.clone())?;
    stop_on_termination(shutdown.clone())?;
    let (routes, runtime) = start(config, shutdown.clone(), Controller::Grafana).await?;
    let (listener, socket) = bind_socket(&socket_dir())?;
    let address = Address::Unix(socket.display().to_string());
    handshake::announce(&handshake::handshake_line(negotiation.version(), &address))
        .context("writing the handshake line to stdout")?;
    tracing::info!(socket = %socket.display(), "plugin host serving");
    run(
        routes,
        &runtime,
        UnixListenerStream::new(listener),
        shutdown,
    )
    .await
}

/// Serves in standalone (debug) mode on TCP (`listen`, else a free port on
/// loopback) until SIGINT or SIGTERM, announcing the address in the plugin
/// directory so that the copy Grafana launches points Grafana here.
///
/// # Errors
/// Fails when the plugin directory has no `plugin.json` naming the
/// executable (the copies to stop), the address cannot be bound, the files
/// cannot be written or the server cannot run.
pub async fn serve_standalone(
    config: ServeConfig,
    listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let executable = standalone::plugin_executable(&config.plugin_dir)?;
    let listen = listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let incoming = TcpIncoming::bind(listen)
        .with_context(|| format!("listening on {listen}"))?
        .with_nodelay(Some(true));
    let address = incoming
        .local_addr()
        .context("the listening address")?
        .to_string();
    let shutdown = CancellationToken::new();
    let dir = config.plugin_dir.clone();
    let (routes, runtime) = start(config, shutdown.clone(), Controller::Standalone).await?;
    let announcement = standalone::Announcement::write(&dir, &address)?;
    let stopped = standalone::stop_other_copies(&executable);
    tracing::info!(
        address,
        dir = %dir.display(),
        restarted = stopped,
        "standalone host serving; Grafana's copy of the plugin now points here"
    );
    stop_on_signals(shutdown.clone())?;
    let outcome = run(routes, &runtime, incoming, shutdown).await;
    drop(announcement);
    standalone::stop_other_copies(&executable);
    outcome
}

/// Whether Grafana may stop the server through `GRPCController/Shutdown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Controller {
    /// Launched by Grafana: Shutdown stops it.
    Grafana,
    /// Run by a developer: Grafana's Shutdown (meant for the copy it
    /// launched) is not served, so the session survives plugin restarts.
    Standalone,
}

/// Loads the component and starts everything that serves it: the runtime,
/// hot reload, idle eviction and the gRPC routes (health included).
async fn start(
    config: ServeConfig,
    shutdown: CancellationToken,
    controller: Controller,
) -> anyhow::Result<(Routes, Arc<Runtime>)> {
    let env = |name: &str| std::env::var(name).ok();
    crate::traces::start_from_env(
        &config.runtime.plugin_id,
        &config.runtime.plugin_version,
        env,
    );
    let metrics = Metrics::new().context("creating the metrics registry")?;
    let runtime =
        Arc::new(Runtime::new(&config.component, config.runtime, config.sandbox, metrics).await?);
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", ServingStatus::Serving)
        .await;
    crate::reload::spawn(runtime.clone(), &config.component, shutdown.clone())?;
    spawn_eviction(runtime.clone(), shutdown.clone());
    let mut routes = grpc::routes(runtime.clone(), shutdown, controller == Controller::Grafana);
    routes.add_service(health_service);
    Ok((routes.routes(), runtime))
}

/// Serves `routes` on `incoming` until `shutdown`, then stops `runtime`'s
/// guests and closes the connections within [`SHUTDOWN_BUDGET`].
async fn run<I, IO, IE>(
    routes: Routes,
    runtime: &Runtime,
    incoming: I,
    shutdown: CancellationToken,
) -> anyhow::Result<()>
where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let server = Server::builder()
        .http2_max_pending_accept_reset_streams(Some(PENDING_RESET_STREAMS))
        .layer(crate::grpc::metered::MeteredLayer(
            runtime.metrics().clone(),
        ))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    let mut server = std::pin::pin!(server);
    // The server also watches `shutdown` and may finish in the same poll:
    // the shutdown branch goes first, so that the guests are always
    // stopped and disposed of.
    tokio::select! {
        biased;
        () = shutdown.cancelled() => {
            let closed = tokio::time::timeout(SHUTDOWN_BUDGET, &mut server);
            let ((), closed) = tokio::join!(runtime.shut_down(GUEST_SHUTDOWN_BUDGET), closed);
            crate::traces::shut_down(TRACE_FLUSH_BUDGET).await;
            match closed {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "the gRPC server failed while stopping"),
                Err(_) => tracing::warn!(budget = ?SHUTDOWN_BUDGET, "connections still open at shutdown were dropped"),
            }
        }
        result = &mut server => result.context("gRPC server failed")?,
    }
    tracing::info!("plugin host stopped");
    Ok(())
}

/// Cancels `shutdown` on SIGINT or SIGTERM (standalone mode, where the
/// developer stops the host).
fn stop_on_signals(shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupts =
        signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminations =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupts.recv() => {}
            _ = terminations.recv() => {}
        }
        tracing::info!("stopping the standalone host");
        shutdown.cancel();
    });
    Ok(())
}

/// Cancels `shutdown` on SIGTERM, as `Shutdown` does (Grafana stops its
/// plugins with `Shutdown`; a service manager or a person sends SIGTERM).
fn stop_on_termination(shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminations =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        if terminations.recv().await.is_some() {
            tracing::info!("SIGTERM: shutting down");
            shutdown.cancel();
        }
    });
    Ok(())
}

/// Cancels `shutdown` once the process that launched the host (Grafana)
/// is gone, so that no orphaned host keeps running: the host is then
/// re-parented and its parent process id changes. The pipes cannot tell
/// reliably (go-plugin hands the plugin Grafana's own stdin, and stdout is
/// written once). Polled on a thread of its own, so that it works however
/// busy the async runtime is. A host whose parent is init (Grafana as a
/// container's first process) goes with the container.
fn watch_parent(shutdown: CancellationToken) -> anyhow::Result<()> {
    let parent = rustix::process::getppid();
    if parent.is_none_or(rustix::process::Pid::is_init) {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(move || {
            while !shutdown.is_cancelled() {
                if rustix::process::getppid() != parent {
                    tracing::warn!("the process that launched the host is gone; shutting down");
                    shutdown.cancel();
                    return;
                }
                std::thread::sleep(PARENT_POLL);
            }
        })
        .context("starting the parent watch")?;
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
            tracing::debug!(count, "SIGINT ignored: Grafana stops its plugins itself");
        }
    });
    Ok(())
}
