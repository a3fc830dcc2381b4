//! Health checks and metrics.

use super::{Error, PluginContext, StringMap};

/// Health of the plugin or datasource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthStatus {
    /// Unknown.
    #[default]
    Unknown,
    /// Working.
    Ok,
    /// Not working.
    Error,
}

/// A health check ("Save & test").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckHealthRequest {
    /// Who asks, with the settings to check.
    pub plugin_context: PluginContext,
    /// Forwarded HTTP headers.
    pub headers: StringMap,
}

/// The outcome of a health check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckHealthResult {
    /// The status.
    pub status: HealthStatus,
    /// A message shown to the user.
    pub message: String,
    /// Empty, or a JSON object shown as details.
    pub json_details: Vec<u8>,
}

impl CheckHealthResult {
    /// A healthy result with `message`.
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Ok,
            message: message.into(),
            json_details: Vec::new(),
        }
    }

    /// An unhealthy result with `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Error,
            message: message.into(),
            json_details: Vec::new(),
        }
    }
}

/// Checks whether the plugin (or the datasource it is configured for) works.
pub trait CheckHealthHandler {
    /// Runs the check.
    ///
    /// # Errors
    /// An error Grafana reports as a failed check.
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error>;
}

impl<F: Fn(CheckHealthRequest) -> Result<CheckHealthResult, Error>> CheckHealthHandler for F {
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        self(req)
    }
}

/// A metrics scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectMetricsRequest {
    /// Who asks (usually only the plugin id).
    pub plugin_context: PluginContext,
}

/// Metrics in Prometheus text exposition format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CollectMetricsResult {
    /// The exposition text.
    pub prometheus_metrics: Vec<u8>,
}

/// Reports the plugin's own metrics.
pub trait CollectMetricsHandler {
    /// Collects the metrics.
    ///
    /// # Errors
    /// An error failing the scrape.
    fn collect_metrics(&self, req: CollectMetricsRequest) -> Result<CollectMetricsResult, Error>;
}

impl<F: Fn(CollectMetricsRequest) -> Result<CollectMetricsResult, Error>> CollectMetricsHandler
    for F
{
    fn collect_metrics(&self, req: CollectMetricsRequest) -> Result<CollectMetricsResult, Error> {
        self(req)
    }
}
