//! WASI 0.2: clocks, randomness, stdout and stderr (into the host log),
//! and the files and variables the sandbox grants
//! ([`WasiGrants`](crate::sandbox::wasi::WasiGrants)); nothing else.

use wasmtime::component::Linker;
use wasmtime_wasi::{WasiCtxView, WasiView};

use super::GuestState;

/// Adds WASI 0.2 to the linker.
///
/// # Errors
/// Only if the host's own definitions conflict.
pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)
}

/// Every WASI host call reaches the resource table through this view,
/// which first bounds the table by what the memory cap leaves.
impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.bound_resources();
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
