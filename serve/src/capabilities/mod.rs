//! What a guest may call in the host, one module per capability. Each adds
//! its imports to the linker, holds its part of an instance's state, and is
//! prepared before a call and cleared after it; [`GuestState`], the data of
//! an instance's store, is their sum. A capability is added or removed in
//! its module, in [`GuestState`] and in [`add_to_linker`], nowhere else.
//!
//! - [`logging`]: `grafana:plugin/log`, lines into the host log;
//! - [`senders`]: the resource, stream and chunk senders of streamed
//!   answers;
//! - [`wasi`]: WASI 0.2, with the sandbox's grants;
//! - [`http`]: `wasi:http` outgoing requests, governed by the sandbox.
//!
//! [`memory`] holds the one cap they share: linear memory, host resources
//! and queued messages together. What each capability allows is the
//! sandbox's to say (`crate::sandbox`); these modules only wire it in.

pub mod http;
pub mod logging;
mod memory;
mod packet;
pub mod senders;
pub mod wasi;

use std::sync::Arc;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtx;

use memory::MAX_COMPONENT_HANDLES;
pub use memory::MAX_TABLE_ELEMENTS;
pub use senders::{Outbox, Queued};

use crate::metrics::{Account, Metrics};
use crate::sandbox::Sandbox;
use crate::sandbox::http::{CallHttp, OutboundHttp};
use crate::sandbox::logs::GuestLog;

/// Adds every capability's imports to the linker.
///
/// # Errors
/// Only if the host's own definitions conflict, a programming error.
pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    wasi::add_to_linker(linker)?;
    http::add_to_linker(linker)?;
    logging::add_to_linker(linker)?;
    senders::add_to_linker(linker)
}

/// The state of one guest instance: its capabilities, the resource table
/// they share, and its memory cap.
pub struct GuestState {
    wasi: WasiCtx,
    http: http::Http,
    logging: logging::Logging,
    senders: senders::Senders,
    table: ResourceTable,
    /// Memory and table caps, enforced by the store's limiter.
    limits: memory::GuestLimiter,
    plugin_id: Arc<str>,
}

/// What one call hands the capabilities.
pub struct CallSetup {
    /// Where its streamed messages go.
    pub outbox: Outbox,
    /// What its outgoing requests need to know.
    pub http: CallHttp,
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
        let max_memory = sandbox.config.max_memory_bytes();
        let log = GuestLog::new(
            plugin_id.clone(),
            sandbox.config.log_lines_per_second,
            metrics.clone(),
        );
        Ok(Self {
            wasi: sandbox.wasi.context(&log)?,
            http: http::Http::new(OutboundHttp::new(sandbox.http.clone())),
            logging: logging::Logging { log },
            senders: senders::Senders::new(max_memory),
            table: ResourceTable::new(),
            limits: memory::GuestLimiter::new(max_memory, metrics, account),
            plugin_id: plugin_id.clone(),
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
        let max_memory = self.limits.max_memory();
        let mut store = Store::new(engine, self);
        store.limiter(|state| state);
        store.set_hostcall_fuel(max_memory);
        store.set_max_component_handles(MAX_COMPONENT_HANDLES);
        store
    }

    /// Gets every capability ready for a call.
    pub fn prepare(&mut self, call: CallSetup) {
        self.senders.prepare(call.outbox);
        self.logging.prepare(call.http.trace.trace_id());
        self.http.prepare(call.http);
    }

    /// Undoes [`GuestState::prepare`] once the call is over: its channels
    /// close, nothing of it is kept, dropped log lines are reported.
    pub fn clear(&mut self) {
        self.senders.clear();
        self.http.clear();
        self.logging.clear();
    }
}
