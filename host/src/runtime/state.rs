//! What a store holds for one guest instance, and the host functions the
//! guest imports (logging and the senders of streamed answers).

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::grafana::plugin::{chunk_sender, frames, log, resource_sender, stream_sender};
use super::bindings::types::{self, CallResourceResponse, DataChunk, SendError};
use crate::logging;
use crate::metrics::Metrics;
use crate::sandbox::Sandbox;
use crate::sandbox::http::OutboundHttp;

/// Table elements an instance may have (function tables of guests compiled
/// from Rust or C hold a few hundred to a few thousand, an interpreter's
/// tens of thousands).
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Caps a guest's linear memory and tables, and accounts for its memory
/// and its existence in the host's metrics.
pub struct GuestLimiter {
    max_memory: usize,
    memory: usize,
    metrics: Arc<Metrics>,
}

impl GuestLimiter {
    fn new(max_memory: usize, metrics: Arc<Metrics>) -> Self {
        metrics.add_instances(1);
        Self {
            max_memory,
            memory: 0,
            metrics,
        }
    }
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            // An error traps the guest with this message, more precise than
            // the guest's own out-of-memory abort.
            wasmtime::bail!(
                "linear memory limit exceeded: the guest asked for {desired} bytes, the limit is {} bytes",
                self.max_memory
            );
        }
        let grown = desired.saturating_sub(current);
        self.memory += grown;
        self.metrics.add_memory(grown as i64);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

impl Drop for GuestLimiter {
    fn drop(&mut self) {
        self.metrics.add_memory(-(self.memory as i64));
        self.metrics.add_instances(-1);
    }
}

/// Where the messages of the call in progress go. Each streamed RPC sets
/// its own sender before calling the guest and clears it afterwards, which
/// closes the channel.
#[derive(Default)]
pub struct Outbox {
    /// Messages of a resource call.
    pub resource: Option<mpsc::Sender<CallResourceResponse>>,
    /// Packets of a running stream.
    pub stream: Option<mpsc::Sender<Vec<u8>>>,
    /// Chunks of a chunked query.
    pub chunks: Option<mpsc::Sender<DataChunk>>,
}

/// Per-instance state: WASI and HTTP contexts, resource limits, outbox.
pub struct GuestState {
    wasi: WasiCtx,
    http_ctx: WasiHttpCtx,
    table: ResourceTable,
    /// The `wasi:http` hooks, which know the call in progress.
    pub http: OutboundHttp,
    /// Memory and table caps, enforced by the store's limiter.
    pub limits: GuestLimiter,
    plugin_id: Arc<str>,
    /// Senders of the call in progress.
    pub outbox: Outbox,
}

impl GuestState {
    /// State for a new instance of plugin `plugin_id`, with the
    /// capabilities and limits `sandbox` grants.
    ///
    /// # Errors
    /// A granted directory that can no longer be opened.
    pub fn new(
        plugin_id: &Arc<str>,
        sandbox: &Sandbox,
        metrics: Arc<Metrics>,
    ) -> wasmtime::Result<Self> {
        Ok(Self {
            wasi: sandbox.wasi.context()?,
            http_ctx: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            http: OutboundHttp::new(sandbox.http.clone()),
            limits: GuestLimiter::new(sandbox.config.max_memory_bytes(), metrics),
            plugin_id: plugin_id.clone(),
            outbox: Outbox::default(),
        })
    }

    /// The plugin id, for logs and errors.
    pub fn plugin_id(&self) -> &Arc<str> {
        &self.plugin_id
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http_ctx,
            table: &mut self.table,
            hooks: &mut self.http,
        }
    }
}

impl types::Host for GuestState {}
impl frames::Host for GuestState {}

impl log::Host for GuestState {
    async fn log(&mut self, level: log::Level, message: String, fields: Vec<(String, String)>) {
        let level = match level {
            log::Level::Trace => logging::Level::Trace,
            log::Level::Debug => logging::Level::Debug,
            log::Level::Info => logging::Level::Info,
            log::Level::Warn => logging::Level::Warn,
            log::Level::Error => logging::Level::Error,
        };
        let mut map: Map<String, Value> = fields
            .into_iter()
            .map(|(key, value)| (key, Value::String(value)))
            .collect();
        map.insert("pluginId".into(), Value::String(self.plugin_id.to_string()));
        logging::write(level, &message, map);
    }
}

/// Sends `message` on the call's channel, waiting while the reader is slow.
async fn send_to<T>(
    sender: Option<&mpsc::Sender<T>>,
    message: T,
    what: &str,
) -> Result<(), SendError> {
    let Some(sender) = sender else {
        return Err(SendError::Invalid(format!("no {what} is in progress")));
    };
    sender.send(message).await.map_err(|_| SendError::Closed)
}

impl resource_sender::Host for GuestState {
    async fn send(&mut self, response: CallResourceResponse) -> Result<(), SendError> {
        send_to(self.outbox.resource.as_ref(), response, "resource call").await
    }
}

impl stream_sender::Host for GuestState {
    async fn send(&mut self, data: Vec<u8>) -> Result<(), SendError> {
        // Grafana rejects a packet that is not JSON and restarts the stream;
        // telling the guest right away is more useful.
        if let Err(reason) = super::packet::check(&data) {
            tracing::warn!(%reason, "stream packet from the plugin refused");
            return Err(SendError::Invalid(reason));
        }
        send_to(self.outbox.stream.as_ref(), data, "stream").await
    }

    /// Encodes the frame as Frame JSON here, as a query's frame would be.
    async fn send_frame(
        &mut self,
        frame: frames::FrameData,
        parts: frames::FrameInclude,
    ) -> Result<(), SendError> {
        let json = crate::convert::to_proto::stream_frame(frame, parts)
            .map_err(|err| SendError::Invalid(format!("stream frame: {err}")))?;
        send_to(self.outbox.stream.as_ref(), json, "stream").await
    }

    /// Sleeps, ending early once the stream's reader is gone.
    async fn wait(&mut self, millis: u32) -> Result<(), SendError> {
        // An owned sender: the store's state must not be borrowed across
        // the await.
        let Some(sender) = self.outbox.stream.clone() else {
            return Err(SendError::Invalid("no stream is in progress".into()));
        };
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(u64::from(millis))) => Ok(()),
            () = sender.closed() => Err(SendError::Closed),
        }
    }
}

impl chunk_sender::Host for GuestState {
    async fn send(&mut self, chunk: DataChunk) -> Result<(), SendError> {
        send_to(self.outbox.chunks.as_ref(), chunk, "chunked query").await
    }
}
