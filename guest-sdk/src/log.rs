//! Structured logging into Grafana's plugin log, like the Go SDK's
//! `backend.Logger`: a message plus key/value pairs.
//!
//! ```
//! grafana_wasm_sdk::log::info("query done", &[("refId", "A"), ("rows", "100")]);
//! ```
//!
//! Inside the host, entries go to Grafana's log with the plugin's id; in
//! native builds (unit tests) they are printed to stderr.

/// Log levels, least severe first.
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

/// Logs `message` at `level` with key/value `fields`.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    imp::log(level, message, fields);
}

/// Logs at trace level.
pub fn trace(message: &str, fields: &[(&str, &str)]) {
    log(Level::Trace, message, fields);
}

/// Logs at debug level.
pub fn debug(message: &str, fields: &[(&str, &str)]) {
    log(Level::Debug, message, fields);
}

/// Logs at info level.
pub fn info(message: &str, fields: &[(&str, &str)]) {
    log(Level::Info, message, fields);
}

/// Logs at warn level.
pub fn warn(message: &str, fields: &[(&str, &str)]) {
    log(Level::Warn, message, fields);
}

/// Logs at error level.
pub fn error(message: &str, fields: &[(&str, &str)]) {
    log(Level::Error, message, fields);
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
    use crate::bindings::grafana::plugin::log as host;

    pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
        let level = match level {
            Level::Trace => host::Level::Trace,
            Level::Debug => host::Level::Debug,
            Level::Info => host::Level::Info,
            Level::Warn => host::Level::Warn,
            Level::Error => host::Level::Error,
        };
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        host::log(level, message, &fields);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Level;

    pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
        eprintln!("[{level:?}] {message} {fields:?}");
    }
}
