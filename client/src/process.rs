//! A plugin process driven as Grafana drives it: launched with Grafana's
//! variables, its handshake read, called over one gRPC channel, stopped.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use grafana_wasm_proto::{goplugin as gp, pluginv2 as pb};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::handshake::{self, Address};

/// How long Grafana waits for the handshake line (go-plugin's default).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Grafana waits for the process to exit after `Shutdown`.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client with Grafana's message limits (go-plugin sets both to 2 GiB).
macro_rules! unlimited {
    ($client:expr) => {
        $client
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    };
}

/// A running plugin process and a gRPC channel to it.
pub struct PluginProcess {
    child: Child,
    channel: Channel,
    /// The handshake line the plugin printed.
    pub handshake: String,
    /// How long the plugin took from being spawned to printing its
    /// handshake line (what Grafana waits for before its first call).
    pub startup: Duration,
    /// Where it listens: a Unix socket, or TCP when the handshake points at
    /// a host in standalone mode.
    pub address: Address,
    stderr: Arc<Mutex<Vec<String>>>,
    late_stdout: Arc<Mutex<Vec<String>>>,
}

impl PluginProcess {
    /// Starts `command` with Grafana's environment (magic cookie, protocol
    /// versions) added to whatever it already has, waits for the handshake
    /// as long as Grafana does ([`START_TIMEOUT`]) and connects.
    ///
    /// # Errors
    /// Fails when the process cannot start, exits, prints something other
    /// than a valid handshake, or cannot be connected to.
    pub async fn launch(command: Command) -> anyhow::Result<Self> {
        Self::launch_within(command, START_TIMEOUT).await
    }

    /// [`PluginProcess::launch`], waiting up to `start_timeout` for the
    /// handshake (a plugin run under an emulator compiles far slower).
    ///
    /// # Errors
    /// As [`PluginProcess::launch`].
    pub async fn launch_within(
        mut command: Command,
        start_timeout: Duration,
    ) -> anyhow::Result<Self> {
        command
            .env(handshake::MAGIC_COOKIE_KEY, handshake::MAGIC_COOKIE_VALUE)
            .env(handshake::PROTOCOL_VERSIONS_ENV, "2")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned = std::time::Instant::now();
        let mut child = command.spawn().context("starting the plugin process")?;
        let stderr = collect_lines(child.stderr.take());
        let stdout = child.stdout.take().context("plugin stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(start_timeout, lines.next_line())
            .await
            .context("timeout while waiting for plugin to start")?
            .context("reading the plugin's stdout")?;
        let startup = spawned.elapsed();
        let Some(handshake) = line else {
            let status = child.wait().await?;
            bail!(
                "plugin exited before we could connect ({status}); stderr:\n{}",
                stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
            );
        };
        // Grafana discards everything after the handshake; we keep it, so
        // tests can check there is none, and keep draining so the plugin
        // never blocks on a full pipe.
        let late_stdout = Arc::new(Mutex::new(Vec::new()));
        let sink = late_stdout.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut sink) = sink.lock() {
                    sink.push(line);
                }
            }
        });
        let address = parse_handshake(&handshake)?;
        let channel = connect(&address).await?;
        Ok(Self {
            child,
            channel,
            handshake,
            startup,
            address,
            stderr,
            late_stdout,
        })
    }

    /// The gRPC channel to the plugin.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// `pluginv2.Data` client.
    pub fn data(&self) -> pb::data_client::DataClient<Channel> {
        unlimited!(pb::data_client::DataClient::new(self.channel()))
    }

    /// `pluginv2.Diagnostics` client.
    pub fn diagnostics(&self) -> pb::diagnostics_client::DiagnosticsClient<Channel> {
        unlimited!(pb::diagnostics_client::DiagnosticsClient::new(
            self.channel()
        ))
    }

    /// `pluginv2.Resource` client.
    pub fn resource(&self) -> pb::resource_client::ResourceClient<Channel> {
        unlimited!(pb::resource_client::ResourceClient::new(self.channel()))
    }

    /// `pluginv2.Stream` client.
    pub fn stream(&self) -> pb::stream_client::StreamClient<Channel> {
        unlimited!(pb::stream_client::StreamClient::new(self.channel()))
    }

    /// `pluginv2.AdmissionControl` client.
    pub fn admission(&self) -> pb::admission_control_client::AdmissionControlClient<Channel> {
        unlimited!(pb::admission_control_client::AdmissionControlClient::new(
            self.channel()
        ))
    }

    /// `pluginv2.ResourceConversion` client.
    pub fn conversion(&self) -> pb::resource_conversion_client::ResourceConversionClient<Channel> {
        unlimited!(pb::resource_conversion_client::ResourceConversionClient::new(self.channel()))
    }

    /// The stderr lines (the plugin's log) received so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr_handle().lines()
    }

    /// The plugin's stderr lines, still readable after it stopped.
    pub fn stderr_handle(&self) -> Lines {
        Lines(self.stderr.clone())
    }

    /// Lines the plugin wrote to stdout after the handshake (there should be
    /// none).
    pub fn late_stdout_lines(&self) -> Vec<String> {
        self.late_stdout
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `GRPCController/Shutdown` without waiting for the process: the
    /// request Grafana makes when it stops a plugin.
    ///
    /// # Errors
    /// The status the plugin answered with (a standalone host does not
    /// serve it).
    pub async fn request_shutdown(&self) -> Result<(), tonic::Status> {
        gp::grpc_controller_client::GrpcControllerClient::new(self.channel())
            .shutdown(gp::Empty {})
            .await
            .map(drop)
    }

    /// Stops the plugin as Grafana does: `GRPCController/Shutdown`, wait up
    /// to [`EXIT_TIMEOUT`], then kill. Returns the exit status and whether
    /// the process exited by itself.
    ///
    /// # Errors
    /// Fails only when the process cannot be waited for.
    pub async fn shutdown(mut self) -> anyhow::Result<(ExitStatus, bool)> {
        // Grafana ignores the result, and so do we.
        let _ = self.request_shutdown().await;
        drop(self.channel);
        match tokio::time::timeout(EXIT_TIMEOUT, self.child.wait()).await {
            Ok(status) => Ok((status?, true)),
            Err(_) => {
                self.child.kill().await?;
                Ok((self.child.wait().await?, false))
            }
        }
    }
}

/// Lines a plugin wrote, collected as they come.
#[derive(Clone)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    /// The lines received so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// The context of a call by Grafana's admin in org 1, as Grafana sends it, for the datasource
/// `settings` (none for an app), as plugin `plugin_id`.
pub fn admin_context(
    plugin_id: &str,
    settings: Option<pb::DataSourceInstanceSettings>,
) -> pb::PluginContext {
    pb::PluginContext {
        org_id: 1,
        plugin_id: plugin_id.into(),
        user: Some(pb::User {
            login: "admin".into(),
            role: "Admin".into(),
            ..Default::default()
        }),
        data_source_instance_settings: settings,
        ..Default::default()
    }
}

/// Parses `1|2|unix|PATH|grpc|` (or `tcp|HOST:PORT`) as go-plugin's client
/// does.
///
/// # Errors
/// Fails on anything but core version 1, app version 2, unix or tcp, and
/// grpc.
pub fn parse_handshake(line: &str) -> anyhow::Result<Address> {
    let parts: Vec<&str> = line.trim().split('|').collect();
    match parts.as_slice() {
        ["1", "2", "unix", path, "grpc", ..] => Ok(Address::Unix((*path).to_owned())),
        ["1", "2", "tcp", address, "grpc", ..] => Ok(Address::Tcp((*address).to_owned())),
        _ => bail!("Unrecognized remote plugin message: {line}"),
    }
}

/// Connects with plain HTTP/2 as go-plugin dials: over the Unix socket with
/// authority `unused`, or over TCP with `TCP_NODELAY`.
async fn connect(address: &Address) -> anyhow::Result<Channel> {
    match address {
        Address::Unix(path) => {
            let socket = PathBuf::from(path);
            Endpoint::try_from("http://unused")?
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let socket = socket.clone();
                    async move { UnixStream::connect(socket).await.map(TokioIo::new) }
                }))
                .await
                .with_context(|| format!("connecting to the plugin's socket {path}"))
        }
        Address::Tcp(address) => Endpoint::try_from(format!("http://{address}"))?
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connecting to the plugin at {address}")),
    }
}

fn collect_lines(pipe: Option<tokio::process::ChildStderr>) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    if let Some(pipe) = pipe {
        let sink = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(mut sink) = sink.lock() {
                    sink.push(line);
                }
            }
        });
    }
    lines
}
