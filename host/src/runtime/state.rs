//! What a store holds for one guest instance, and the host functions the
//! guest imports (logging and the senders of streamed answers).

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::logging;
use crate::metrics::{Account, Metrics};
use crate::sandbox::Sandbox;
use crate::sandbox::http::OutboundHttp;
use crate::sandbox::logs::GuestLog;
use crate::wit::grafana::plugin::{chunk_sender, frames, log, resource_sender, stream_sender};
use crate::wit::types::{self, CallResourceResponse, DataChunk, SendError};

/// Table elements an instance may have (function tables of guests compiled
/// from Rust or C hold a few hundred to a few thousand, an interpreter's
/// tens of thousands).
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Host memory charged for each resource a guest holds in the host's table
/// (`wasi:http` fields, requests, bodies, streams, pollables, ...): at
/// least what the largest of them can hold. A fields resource is capped at
/// [`FIELD_SIZE_LIMIT`] and an outgoing body buffers one
/// [`BODY_CHUNK_SIZE`](crate::sandbox::http::BODY_CHUNK_SIZE) chunk; the rest hold less.
pub const RESOURCE_CHARGE: usize = 64 * 1024;

/// Resources every instance may hold whatever its memory use, so that a
/// guest using all its memory can still read its clock and write a log
/// (this many × [`RESOURCE_CHARGE`] is the fixed margin per instance).
pub const FREE_RESOURCES: usize = 32;

/// In-memory size of one `wasi:http` fields resource (headers or
/// trailers): four times what proxies accept on the wire.
pub const FIELD_SIZE_LIMIT: usize = 32 * 1024;

/// Component-model handles a store may hold (host resources passed to the
/// guest and the guest's own resources).
pub const MAX_COMPONENT_HANDLES: usize = 20_000;

/// Caps a guest's linear memory and tables, and accounts for its memory
/// and its existence in the host's metrics, and in its datasource's.
pub struct GuestLimiter {
    max_memory: usize,
    memory: usize,
    metrics: Arc<Metrics>,
    account: Arc<Account>,
}

impl GuestLimiter {
    fn new(max_memory: usize, metrics: Arc<Metrics>, account: Arc<Account>) -> Self {
        metrics.add_instances(1);
        account.add_instances(1);
        Self {
            max_memory,
            memory: 0,
            metrics,
            account,
        }
    }

    /// Guest linear memory grew (or, negative, was released).
    fn add_memory(&self, delta: i64) {
        self.metrics.add_memory(delta);
        self.account.add_memory(delta);
    }

    /// The memory cap less the guest's linear memory: what its host-side
    /// resources may still take.
    fn unused(&self) -> usize {
        self.max_memory.saturating_sub(self.memory)
    }
}

impl Drop for GuestLimiter {
    fn drop(&mut self) {
        self.add_memory(-(self.memory as i64));
        self.metrics.add_instances(-1);
        self.account.add_instances(-1);
    }
}

/// Where the messages of the call in progress go. Each streamed RPC sets
/// its own sender before calling the guest and clears it afterwards, which
/// closes the channel.
#[derive(Default)]
pub struct Outbox {
    /// Messages of a resource call.
    pub resource: Option<mpsc::Sender<Queued<CallResourceResponse>>>,
    /// Packets of a running stream.
    pub stream: Option<mpsc::Sender<Queued<Vec<u8>>>>,
    /// Chunks of a chunked query.
    pub chunks: Option<mpsc::Sender<Queued<DataChunk>>>,
}

/// A message a guest sent, holding its share of the instance's queue
/// budget until Grafana's connection takes it.
pub struct Queued<T> {
    /// The message.
    pub message: T,
    /// Released when dropped.
    pub charge: OwnedSemaphorePermit,
}

/// What a message sent by a guest takes in host memory, roughly.
pub trait HostSize {
    /// Its size in bytes.
    fn host_size(&self) -> usize;
}

impl HostSize for Vec<u8> {
    fn host_size(&self) -> usize {
        self.len()
    }
}

impl HostSize for CallResourceResponse {
    fn host_size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, values)| name.len() + values.iter().map(String::len).sum::<usize>())
            .sum();
        headers + self.body.len()
    }
}

impl HostSize for DataChunk {
    fn host_size(&self) -> usize {
        let frame = self.frame.as_ref().map_or(0, crate::frames::host_bytes);
        self.ref_id.len() + self.frame_id.len() + frame
    }
}

/// Messages a guest's instance has sent and Grafana has not yet taken
/// count against its memory cap with its linear memory and host
/// resources; a guest sending more waits (its `send` blocks), as it does
/// for a slow reader. Counted in KiB.
struct QueueBudget {
    permits: Arc<Semaphore>,
    kib: u32,
}

impl QueueBudget {
    fn new(max_memory: usize) -> Self {
        let kib = u32::try_from(max_memory / 1024).unwrap_or(u32::MAX).max(1);
        Self {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
        }
    }

    /// Bytes queued now.
    fn queued(&self) -> usize {
        (self.kib as usize).saturating_sub(self.permits.available_permits()) * 1024
    }

    /// Waits until `bytes` fit beside what is queued and the `held` bytes
    /// the instance holds otherwise (a message that cannot fit at all waits
    /// for an empty queue), or the reader is gone.
    async fn charge<T>(
        &self,
        bytes: usize,
        held: usize,
        sender: &mpsc::Sender<T>,
    ) -> Result<OwnedSemaphorePermit, SendError> {
        let kib = |bytes: usize| u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        let own = kib(bytes).min(self.kib);
        let with_held = own.saturating_add(kib(held)).min(self.kib);
        let mut permit = tokio::select! {
            permit = self.permits.clone().acquire_many_owned(with_held) => {
                permit.map_err(|_| SendError::Closed)?
            }
            () = sender.closed() => return Err(SendError::Closed),
        };
        // Only the message's own share stays taken.
        drop(permit.split((with_held - own) as usize));
        Ok(permit)
    }
}

/// Per-instance state: WASI and HTTP contexts, resource limits, outbox.
pub struct GuestState {
    wasi: WasiCtx,
    http_ctx: WasiHttpCtx,
    table: ResourceTable,
    /// The `wasi:http` hooks, which know the call in progress.
    pub http: OutboundHttp,
    /// Memory and table caps, enforced by the store's limiter.
    limits: GuestLimiter,
    plugin_id: Arc<str>,
    /// Senders of the call in progress.
    pub outbox: Outbox,
    queue: QueueBudget,
    /// The instance's rate-limited access to the host log.
    pub log: Arc<GuestLog>,
}

impl GuestState {
    /// State for a new instance of plugin `plugin_id`, with the
    /// capabilities and limits `sandbox` grants, charged to `account`.
    ///
    /// # Errors
    /// A granted directory that can no longer be opened.
    pub fn new(
        plugin_id: &Arc<str>,
        sandbox: &Sandbox,
        metrics: Arc<Metrics>,
        account: Arc<Account>,
    ) -> wasmtime::Result<Self> {
        let log = GuestLog::new(
            plugin_id.clone(),
            sandbox.config.log_lines_per_second,
            metrics.clone(),
        );
        Ok(Self {
            wasi: sandbox.wasi.context(&log)?,
            http_ctx: http_context(),
            table: ResourceTable::new(),
            http: OutboundHttp::new(sandbox.http.clone()),
            limits: GuestLimiter::new(sandbox.config.max_memory_bytes(), metrics, account),
            plugin_id: plugin_id.clone(),
            outbox: Outbox::default(),
            queue: QueueBudget::new(sandbox.config.max_memory_bytes()),
            log,
        })
    }

    /// The plugin id, for logs and errors.
    pub fn plugin_id(&self) -> &Arc<str> {
        &self.plugin_id
    }

    /// A store owning this state, with the sandbox's per-store limits: the
    /// memory cap (linear memory and host resources together), what one
    /// answer or host call may make the host copy out of the guest (no more
    /// than the memory cap, so that aliased lists, many entries pointing at
    /// the same bytes, cannot multiply it) and handles. What happens at
    /// epoch ticks is the caller's to set.
    pub fn into_store(self, engine: &Engine) -> Store<GuestState> {
        let max_memory = self.limits.max_memory;
        let mut store = Store::new(engine, self);
        store.limiter(|state| state);
        store.set_hostcall_fuel(max_memory);
        store.set_max_component_handles(MAX_COMPONENT_HANDLES);
        store
    }

    /// Host memory charged for the guest's resources in the host's table.
    fn resources_charge(&mut self) -> usize {
        let held = self.table.iter_mut().count();
        held.saturating_sub(FREE_RESOURCES)
            .saturating_mul(RESOURCE_CHARGE)
    }

    /// Lets the table grow only as far as the memory cap still allows, so
    /// that linear memory and host-side resources together stay within it.
    /// Every WASI and `wasi:http` host call reaches the table through a
    /// view, and sets this first.
    fn bound_resources(&mut self) {
        let unused = self.limits.unused().saturating_sub(self.queue.queued());
        let affordable = unused / RESOURCE_CHARGE;
        self.table
            .set_max_capacity(FREE_RESOURCES.saturating_add(affordable));
    }
}

/// The memory cap covers linear memory and the host-side resources the
/// guest holds: growing memory is refused when both would exceed it.
impl ResourceLimiter for GuestState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = desired.saturating_sub(current);
        let total = self.limits.memory.saturating_add(grown);
        let resources = self.resources_charge() + self.queue.queued();
        let max = self.limits.max_memory;
        if total.saturating_add(resources) > max {
            // An error traps the guest with this message, more precise than
            // the guest's own out-of-memory abort.
            wasmtime::bail!(
                "linear memory limit exceeded: the guest asked for {total} bytes while its \
                 host resources and queued messages take {resources} bytes, the limit is {max} bytes"
            );
        }
        self.limits.memory = total;
        self.limits.add_memory(grown as i64);
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

/// `wasi:http` state with fields resources capped at [`FIELD_SIZE_LIMIT`].
fn http_context() -> WasiHttpCtx {
    let mut ctx = WasiHttpCtx::new();
    ctx.set_field_size_limit(FIELD_SIZE_LIMIT);
    ctx
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.bound_resources();
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.bound_resources();
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
        let map: Map<String, Value> = fields
            .into_iter()
            .map(|(key, value)| (key, Value::String(value)))
            .collect();
        self.log.write(level, &message, map);
    }
}

impl GuestState {
    /// Sends `message` on the channel `pick` chooses, waiting while the
    /// reader is slow or the message does not fit the memory cap yet.
    async fn send_queued<T: HostSize>(
        &mut self,
        pick: fn(&Outbox) -> Option<&mpsc::Sender<Queued<T>>>,
        message: T,
        what: &str,
    ) -> Result<(), SendError> {
        let held = self.limits.memory.saturating_add(self.resources_charge());
        let Some(sender) = pick(&self.outbox) else {
            return Err(SendError::Invalid(format!("no {what} is in progress")));
        };
        let charge = self.queue.charge(message.host_size(), held, sender).await?;
        sender
            .send(Queued { message, charge })
            .await
            .map_err(|_| SendError::Closed)
    }
}

impl resource_sender::Host for GuestState {
    async fn send(&mut self, response: CallResourceResponse) -> Result<(), SendError> {
        self.send_queued(|o| o.resource.as_ref(), response, "resource call")
            .await
    }
}

impl stream_sender::Host for GuestState {
    async fn send(&mut self, data: Vec<u8>) -> Result<(), SendError> {
        // Grafana rejects a packet that is not JSON and restarts the stream;
        // telling the guest right away is more useful.
        if let Err(error) = super::packet::check(&data) {
            self.log.packet_rejected("not_json", &error);
            return Err(SendError::Invalid(error));
        }
        self.send_queued(|o| o.stream.as_ref(), data, "stream")
            .await
    }

    /// Encodes the frame as Frame JSON here, as a query's frame would be.
    async fn send_frame(
        &mut self,
        frame: frames::FrameData,
        parts: frames::FrameInclude,
    ) -> Result<(), SendError> {
        let json = crate::convert::to_proto::stream_frame(frame, parts).map_err(|err| {
            let error = format!("stream frame: {err}");
            self.log.packet_rejected("invalid_frame", &error);
            SendError::Invalid(error)
        })?;
        self.send_queued(|o| o.stream.as_ref(), json, "stream")
            .await
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
        self.send_queued(|o| o.chunks.as_ref(), chunk, "chunked query")
            .await
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    const MIB: usize = 1 << 20;

    #[tokio::test]
    async fn queued_messages_share_the_memory_cap_with_what_the_instance_holds() {
        let budget = QueueBudget::new(64 * MIB);
        let (sender, _receiver) = mpsc::channel::<()>(1);
        let first = budget.charge(16 * MIB, 16 * MIB, &sender).await.unwrap();
        assert_eq!(budget.queued(), 16 * MIB, "only the message stays charged");
        let second = budget.charge(16 * MIB, 16 * MIB, &sender).await.unwrap();
        // 32 MiB queued and 16 MiB held: another 16 MiB would exceed 64.
        let third = budget.charge(32 * MIB, 16 * MIB, &sender);
        tokio::pin!(third);
        assert!(third.as_mut().now_or_never().is_none(), "the sender waits");
        drop((first, second));
        assert!(
            third.await.is_ok(),
            "and goes on once Grafana took the rest"
        );
    }

    #[tokio::test]
    async fn a_message_larger_than_the_cap_waits_for_an_empty_queue() {
        let budget = QueueBudget::new(64 * MIB);
        let (sender, _receiver) = mpsc::channel::<()>(1);
        let small = budget.charge(MIB, 0, &sender).await.unwrap();
        let huge = budget.charge(100 * MIB, 60 * MIB, &sender);
        tokio::pin!(huge);
        assert!(huge.as_mut().now_or_never().is_none());
        drop(small);
        assert!(huge.await.is_ok());
        assert_eq!(budget.queued(), 0, "released with the message");
    }

    #[tokio::test]
    async fn a_waiting_sender_stops_when_the_reader_is_gone() {
        let budget = QueueBudget::new(MIB);
        let (sender, receiver) = mpsc::channel::<()>(1);
        let _full = budget.charge(MIB, 0, &sender).await.unwrap();
        let waiting = budget.charge(MIB, 0, &sender);
        drop(receiver);
        assert!(matches!(waiting.await, Err(SendError::Closed)));
    }
}
