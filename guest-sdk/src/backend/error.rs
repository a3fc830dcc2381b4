//! Errors a handler returns, labelled with who is to blame as Grafana
//! expects (the Go SDK's `PluginError` / `DownstreamError`).
//!
//! Grafana counts plugin errors against the plugin's reliability and
//! downstream errors against the system the plugin talks to, so label
//! failures of the datasource's API as downstream.

use std::fmt;
use std::io;

/// Who is to blame for an error.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::ErrorSource;
///
/// assert_eq!(ErrorSource::default(), ErrorSource::Plugin);
/// assert_eq!(ErrorSource::Downstream.to_string(), "downstream");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorSource {
    /// The plugin itself.
    #[default]
    Plugin,
    /// A system the plugin depends on (the datasource's API, ...).
    Downstream,
}

impl ErrorSource {
    /// Who is to blame for a downstream HTTP answer with `status`, as the
    /// Go SDK's `ErrorSourceFromHTTPStatus` decides: statuses that mean the
    /// plugin sent a request the server cannot serve (405, 406, 412, 413,
    /// 414, 416, 417, 426, 431, 501) are the plugin's, every other is the
    /// downstream system's.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::ErrorSource;
    ///
    /// assert_eq!(ErrorSource::from_http_status(503), ErrorSource::Downstream);
    /// assert_eq!(ErrorSource::from_http_status(401), ErrorSource::Downstream);
    /// assert_eq!(ErrorSource::from_http_status(405), ErrorSource::Plugin);
    /// ```
    pub fn from_http_status(status: u16) -> Self {
        match status {
            405 | 406 | 412 | 413 | 414 | 416 | 417 | 426 | 431 | 501 => Self::Plugin,
            _ => Self::Downstream,
        }
    }
}

impl fmt::Display for ErrorSource {
    /// Grafana's name of the source: `plugin` or `downstream`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plugin => "plugin",
            Self::Downstream => "downstream",
        })
    }
}

/// An error returned by a handler or attached to one query's response.
///
/// Plain strings and `serde_json` errors convert into plugin errors, so `?`
/// works on them; I/O errors become downstream errors when they are network
/// failures (timeouts, refused or reset connections), like the Go SDK's
/// `IsDownstreamHTTPError`.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{Error, ErrorSource};
///
/// fn parse(body: &str) -> Result<serde_json::Value, Error> {
///     Ok(serde_json::from_str(body)?)
/// }
///
/// let err = parse("{").unwrap_err();
/// assert!(err.is_plugin());
///
/// let err = Error::downstream("503 Service Unavailable").with_context("GET /api/query");
/// assert_eq!(err.to_string(), "GET /api/query: 503 Service Unavailable");
/// assert_eq!(err.source, ErrorSource::Downstream);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub message: String,
    /// Who is to blame.
    pub source: ErrorSource,
}

impl Error {
    /// An error of `source` saying `message`, for when the source is
    /// computed, e.g. with [`ErrorSource::from_http_status`].
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::{Error, ErrorSource};
    ///
    /// let status = 429;
    /// let err = Error::new(ErrorSource::from_http_status(status), format!("the API answered {status}"));
    /// assert!(err.is_downstream());
    /// ```
    pub fn new(source: ErrorSource, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source,
        }
    }

    /// An error of the plugin itself (Go: `PluginError`): bugs, invalid
    /// queries or settings, anything the plugin's author should look at.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = grafana_wasm_sdk::backend::Error::plugin("unknown query type \"foo\"");
    /// assert!(err.is_plugin());
    /// ```
    pub fn plugin(message: impl Into<String>) -> Self {
        Self::new(ErrorSource::Plugin, message)
    }

    /// An error of a downstream system, like the Go SDK's `DownstreamError`:
    /// the datasource's API failed or answered an error.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = grafana_wasm_sdk::backend::Error::downstream("connection refused");
    /// assert!(err.is_downstream());
    /// ```
    pub fn downstream(message: impl Into<String>) -> Self {
        Self::new(ErrorSource::Downstream, message)
    }

    /// Whether a downstream system is to blame (Go: `IsDownstreamError`).
    pub fn is_downstream(&self) -> bool {
        self.source == ErrorSource::Downstream
    }

    /// Whether the plugin is to blame.
    pub fn is_plugin(&self) -> bool {
        self.source == ErrorSource::Plugin
    }

    /// The error with `context` in front of its message (`context: message`),
    /// keeping its source: say what the plugin was doing when a lower-level
    /// error surfaced.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::Error;
    ///
    /// let err = Error::downstream("timed out").with_context("query A");
    /// assert_eq!(err.message, "query A: timed out");
    /// assert!(err.is_downstream());
    /// ```
    pub fn with_context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self::plugin(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self::plugin(message)
    }
}

impl From<serde_json::Error> for Error {
    /// JSON the plugin cannot read or write is the plugin's problem; wrap
    /// it with [`Error::downstream`] when an API answered malformed JSON.
    fn from(err: serde_json::Error) -> Self {
        Self::plugin(err.to_string())
    }
}

impl From<io::Error> for Error {
    /// Network failures (timeouts, refused, reset or aborted connections,
    /// unreachable hosts) are downstream errors; other I/O errors are the
    /// plugin's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use grafana_wasm_sdk::backend::Error;
    ///
    /// assert!(Error::from(io::Error::from(io::ErrorKind::TimedOut)).is_downstream());
    /// assert!(Error::from(io::Error::other("bad buffer")).is_plugin());
    /// ```
    fn from(err: io::Error) -> Self {
        let source = match err.kind() {
            io::ErrorKind::TimedOut
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable => ErrorSource::Downstream,
            _ => ErrorSource::Plugin,
        };
        Self::new(source, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_blame_the_plugin_only_for_requests_it_got_wrong() {
        for status in [400, 401, 403, 404, 429, 500, 502, 503, 504] {
            assert_eq!(
                ErrorSource::from_http_status(status),
                ErrorSource::Downstream,
                "{status}"
            );
        }
        for status in [405, 406, 412, 413, 414, 416, 417, 426, 431, 501] {
            assert_eq!(
                ErrorSource::from_http_status(status),
                ErrorSource::Plugin,
                "{status}"
            );
        }
    }

    #[test]
    fn io_errors_are_downstream_when_the_network_failed() {
        let refused = Error::from(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "db:5432 refused",
        ));
        assert_eq!(refused, Error::downstream("db:5432 refused"));
        assert!(Error::from(io::Error::from(io::ErrorKind::InvalidData)).is_plugin());
    }

    #[test]
    fn context_keeps_the_source() {
        let err = Error::plugin("bad")
            .with_context("decoding")
            .with_context("query B");
        assert_eq!(err, Error::plugin("query B: decoding: bad"));
    }
}
