//! Errors a handler returns, labelled with who is to blame as Grafana
//! expects (the Go SDK's `PluginError` / `DownstreamError`).

use std::fmt;

/// Who is to blame for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorSource {
    /// The plugin itself.
    #[default]
    Plugin,
    /// A system the plugin depends on (the datasource's API, ...).
    Downstream,
}

/// An error returned by a handler or attached to one query's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub message: String,
    /// Who is to blame.
    pub source: ErrorSource,
}

impl Error {
    /// An error of the plugin itself.
    pub fn plugin(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: ErrorSource::Plugin,
        }
    }

    /// An error of a downstream system, like the Go SDK's `DownstreamError`.
    pub fn downstream(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: ErrorSource::Downstream,
        }
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
    fn from(err: serde_json::Error) -> Self {
        Self::plugin(err.to_string())
    }
}
