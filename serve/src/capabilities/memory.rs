//! The memory cap of an instance, across its capabilities: linear memory,
//! the host-side resources it holds in the host's table (each charged at
//! least what the largest can hold) and the streamed messages waiting for
//! Grafana count together against `max_memory_mb`; tables and handles have
//! caps of their own.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;

use super::GuestState;
use crate::metrics::{Account, Metrics};

/// Table elements an instance may have (function tables of guests compiled
/// from Rust or C hold a few hundred to a few thousand, an interpreter's
/// tens of thousands).
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Host memory charged for each resource a guest holds in the host's table
/// (`wasi:http` fields, requests, bodies, streams, pollables, ...): at
/// least what the largest of them can hold. A fields resource is capped at
/// [`FIELD_SIZE_LIMIT`](super::http::FIELD_SIZE_LIMIT) and an outgoing body buffers one
/// [`BODY_CHUNK_SIZE`](crate::sandbox::http::BODY_CHUNK_SIZE) chunk; the rest hold less.
pub const RESOURCE_CHARGE: usize = 64 * 1024;

/// Resources every instance may hold whatever its memory use, so that a
/// guest using all its memory can still read its clock and write a log
/// (this many × [`RESOURCE_CHARGE`] is the fixed margin per instance).
pub const FREE_RESOURCES: usize = 32;

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
    pub(super) fn new(max_memory: usize, metrics: Arc<Metrics>, account: Arc<Account>) -> Self {
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

    /// The cap.
    pub fn max_memory(&self) -> usize {
        self.max_memory
    }

    /// The guest's linear memory.
    pub(super) fn memory(&self) -> usize {
        self.memory
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

/// Host memory charged for the resources a guest holds in `table`.
pub(super) fn resources_charge(table: &mut ResourceTable) -> usize {
    let held = table.iter_mut().count();
    held.saturating_sub(FREE_RESOURCES)
        .saturating_mul(RESOURCE_CHARGE)
}

impl GuestState {
    /// Lets the table grow only as far as the memory cap still allows, so
    /// that linear memory and host-side resources together stay within it.
    /// Every WASI and `wasi:http` host call reaches the table through a
    /// view, and sets this first.
    pub(super) fn bound_resources(&mut self) {
        let unused = self.limits.unused().saturating_sub(self.senders.queued());
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
        let resources = resources_charge(&mut self.table) + self.senders.queued();
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
