//! `wasi:http/outgoing-handler`: the guest's requests, sent by the
//! sandbox's governed client ([`OutboundHttp`]) with the call's datasource
//! settings.

use wasmtime::component::Linker;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::GuestState;
use crate::sandbox::http::{CallHttp, OutboundHttp};

/// In-memory size of one `wasi:http` fields resource (headers or
/// trailers): four times what proxies accept on the wire.
pub const FIELD_SIZE_LIMIT: usize = 32 * 1024;

/// One instance's outgoing HTTP.
pub struct Http {
    ctx: WasiHttpCtx,
    /// The hooks sending each request, which know the call in progress.
    hooks: OutboundHttp,
}

impl Http {
    /// Outgoing HTTP through `hooks`, fields resources capped at
    /// [`FIELD_SIZE_LIMIT`].
    pub fn new(hooks: OutboundHttp) -> Self {
        let mut ctx = WasiHttpCtx::new();
        ctx.set_field_size_limit(FIELD_SIZE_LIMIT);
        Self { ctx, hooks }
    }

    /// The call's datasource settings, limit, span and account.
    pub fn prepare(&mut self, call: CallHttp) {
        self.hooks.call = call;
    }

    /// After a call: nothing of it is kept.
    pub fn clear(&mut self) {
        self.hooks.call = CallHttp::default();
    }
}

/// Adds `wasi:http` (without the WASI it builds on, added by
/// [`super::wasi`]) to the linker.
///
/// # Errors
/// Only if the host's own definitions conflict.
pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}

/// Every `wasi:http` host call reaches the resource table through this
/// view, which first bounds the table by what the memory cap leaves.
impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.bound_resources();
        WasiHttpCtxView {
            ctx: &mut self.http.ctx,
            table: &mut self.table,
            hooks: &mut self.http.hooks,
        }
    }
}
