//! Structured logging into Grafana's plugin log, like the Go SDK's `log`
//! package: a message plus key/value pairs.
//!
//! Two ways to log: the free functions ([`info`], [`warn`], ...) for
//! one-off entries with string values, and a [`Logger`] carrying context
//! key/values (the request's org and datasource, a component name, ...)
//! into every entry, with values of any `Display` type.
//!
//! ```
//! use grafana_wasm_sdk::log::{self, Logger};
//!
//! log::info("query done", &[("refId", "A"), ("rows", "100")]);
//!
//! let logger = Logger::new().with("component", "cache");
//! logger.debug("cache hit", &[("key", &"series:cpu"), ("ageMs", &12)]);
//! ```
//!
//! Inside the host, entries go to Grafana's log with the plugin's id; in
//! native builds (unit tests) they are printed to stderr.

mod logger;

pub use logger::Logger;

/// Log levels, least severe first. Grafana's configured level decides which
/// entries it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Developer diagnostics.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected, recovered from.
    Warn,
    /// A failure.
    Error,
}

/// Logs `message` at `level` with key/value `fields`: the level chosen at
/// run time, where the per-level functions fix it.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::log::{self, Level};
///
/// let slow = true;
/// let level = if slow { Level::Warn } else { Level::Debug };
/// log::log(level, "query finished", &[("durationMs", "5300")]);
/// ```
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    imp::write(level, message, &fields);
}

/// Logs at trace level: step-by-step detail, usually filtered out.
pub fn trace(message: &str, fields: &[(&str, &str)]) {
    log(Level::Trace, message, fields);
}

/// Logs at debug level: diagnostics for the plugin's developers.
///
/// # Examples
///
/// ```
/// let count = 3;
/// grafana_wasm_sdk::log::debug("queries answered", &[("count", &count.to_string())]);
/// ```
pub fn debug(message: &str, fields: &[(&str, &str)]) {
    log(Level::Debug, message, fields);
}

/// Logs at info level: normal operation worth recording.
///
/// # Examples
///
/// ```
/// grafana_wasm_sdk::log::info("health check", &[]);
/// ```
pub fn info(message: &str, fields: &[(&str, &str)]) {
    log(Level::Info, message, fields);
}

/// Logs at warn level: something unexpected that the plugin recovered from.
pub fn warn(message: &str, fields: &[(&str, &str)]) {
    log(Level::Warn, message, fields);
}

/// Logs at error level: a failure an operator should look at.
///
/// # Examples
///
/// ```
/// let err = grafana_wasm_sdk::backend::Error::downstream("connection refused");
/// grafana_wasm_sdk::log::error("query failed", &[("error", &err.to_string())]);
/// ```
pub fn error(message: &str, fields: &[(&str, &str)]) {
    log(Level::Error, message, fields);
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
    use crate::bindings::grafana::plugin::log as host;

    pub fn write(level: Level, message: &str, fields: &[(String, String)]) {
        let level = match level {
            Level::Trace => host::Level::Trace,
            Level::Debug => host::Level::Debug,
            Level::Info => host::Level::Info,
            Level::Warn => host::Level::Warn,
            Level::Error => host::Level::Error,
        };
        host::log(level, message, fields);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Level;

    pub fn write(level: Level, message: &str, fields: &[(String, String)]) {
        eprintln!("[{level:?}] {message} {fields:?}");
    }
}
