//! `grafana:plugin/log`: the guest's log calls, written to the host log
//! through the instance's rate-limited [`GuestLog`], tagged with the trace
//! of the call in progress.

use std::sync::Arc;

use serde_json::{Map, Value};
use wasmtime::component::{HasSelf, Linker};

use super::GuestState;
use crate::logging::Level;
use crate::sandbox::logs::GuestLog;
use crate::wit::grafana::plugin::log;

/// One instance's logging: its share of the host log.
pub struct Logging {
    /// Shared with the instance's stdout and stderr.
    pub log: Arc<GuestLog>,
}

impl Logging {
    /// Tags the call's lines with its trace (`None`: untraced).
    pub fn prepare(&self, trace_id: Option<String>) {
        self.log.set_trace_id(trace_id);
    }

    /// After a call: no trace, and the lines dropped meanwhile reported.
    pub fn clear(&self) {
        self.log.set_trace_id(None);
        self.log.report_dropped();
    }
}

/// Adds `log` to the linker.
///
/// # Errors
/// Only if the host's own definitions conflict.
pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    log::add_to_linker::<_, HasSelf<Logging>>(linker, |state| &mut state.logging)
}

impl log::Host for Logging {
    async fn log(&mut self, level: log::Level, message: String, fields: Vec<(String, String)>) {
        let level = match level {
            log::Level::Trace => Level::Trace,
            log::Level::Debug => Level::Debug,
            log::Level::Info => Level::Info,
            log::Level::Warn => Level::Warn,
            log::Level::Error => Level::Error,
        };
        let map: Map<String, Value> = fields
            .into_iter()
            .map(|(key, value)| (key, Value::String(value)))
            .collect();
        self.log.write(level, &message, map);
    }
}
