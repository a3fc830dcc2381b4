//! Health checks ("Save & test" on a datasource's settings page) and the
//! plugin's own metrics.

use super::{Error, PluginContext, StringMap};

/// Health of the plugin or datasource, as shown after "Save & test".
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

/// A health check ("Save & test"), carrying the settings to check.
/// `Default` gives an empty request, handy in native tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckHealthRequest {
    /// Who asks, with the settings to check.
    pub plugin_context: PluginContext,
    /// Forwarded HTTP headers.
    pub headers: StringMap,
}

/// The outcome of a health check: the status and a message for the user,
/// plus optional JSON details.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{CheckHealthResult, HealthStatus};
///
/// let result = CheckHealthResult {
///     json_details: br#"{"verboseMessage": "TLS handshake failed"}"#.to_vec(),
///     ..CheckHealthResult::error("cannot reach the API")
/// };
/// assert_eq!(result.status, HealthStatus::Error);
/// ```
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
    /// A healthy result with `message`, e.g. "Data source is working".
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::{CheckHealthResult, HealthStatus};
    ///
    /// let result = CheckHealthResult::ok("Data source is working");
    /// assert_eq!((result.status, result.message.as_str()), (HealthStatus::Ok, "Data source is working"));
    /// ```
    pub fn ok(message: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Ok,
            message: message.into(),
            json_details: Vec::new(),
        }
    }

    /// An unhealthy result with `message` telling the user what to fix.
    /// Prefer it to an `Err` for expected failures: the user sees the
    /// message as written.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::{CheckHealthResult, HealthStatus};
    ///
    /// assert_eq!(CheckHealthResult::error("invalid API key").status, HealthStatus::Error);
    /// ```
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Error,
            message: message.into(),
            json_details: Vec::new(),
        }
    }
}

/// Checks whether the plugin (or the datasource it is configured for) works
/// (Go: `backend.CheckHealthHandler`).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::*;
///
/// struct Api;
///
/// impl CheckHealthHandler for Api {
///     fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
///         let Some(ds) = req.plugin_context.data_source_instance_settings else {
///             return Ok(CheckHealthResult::error("no datasource settings"));
///         };
///         if ds.url.is_empty() {
///             return Ok(CheckHealthResult::error("set the API URL"));
///         }
///         Ok(CheckHealthResult::ok("Data source is working"))
///     }
/// }
///
/// // The unit test:
/// let req = CheckHealthRequest {
///     plugin_context: PluginContext {
///         data_source_instance_settings: Some(DataSourceInstanceSettings::default()),
///         ..PluginContext::default()
///     },
///     ..CheckHealthRequest::default()
/// };
/// assert_eq!(Api.check_health(req)?.message, "set the API URL");
/// # Ok::<(), Error>(())
/// ```
pub trait CheckHealthHandler {
    /// Runs the check.
    ///
    /// # Errors
    /// An error Grafana reports as a failed check.
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error>;
}

/// Any function or closure taking a [`CheckHealthRequest`] is a
/// [`CheckHealthHandler`] (Go: `backend.CheckHealthHandlerFunc`).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// let always_ok = |_: CheckHealthRequest| Ok(CheckHealthResult::ok("ok"));
/// let opts = ServeOpts { check_health_handler: Some(Rc::new(always_ok)), ..ServeOpts::default() };
/// let result = opts.check_health_handler.unwrap().check_health(CheckHealthRequest::default())?;
/// assert_eq!(result.status, HealthStatus::Ok);
/// # Ok::<(), Error>(())
/// ```
impl<F: Fn(CheckHealthRequest) -> Result<CheckHealthResult, Error>> CheckHealthHandler for F {
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        self(req)
    }
}

/// A metrics scrape. `Default` gives an empty request, handy in native
/// tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectMetricsRequest {
    /// Who asks (usually only the plugin id).
    pub plugin_context: PluginContext,
}

/// Metrics in Prometheus text exposition format, which Grafana serves at
/// `/metrics/plugins/<plugin id>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CollectMetricsResult {
    /// The exposition text.
    pub prometheus_metrics: Vec<u8>,
}

/// Reports the plugin's own metrics (Go: `backend.CollectMetricsHandler`),
/// e.g. counters of queries served.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use grafana_wasm_sdk::backend::*;
///
/// struct Counted { queries: Cell<u64> }
///
/// impl CollectMetricsHandler for Counted {
///     fn collect_metrics(&self, _: CollectMetricsRequest) -> Result<CollectMetricsResult, Error> {
///         let text = format!("# TYPE queries_total counter\nqueries_total {}\n", self.queries.get());
///         Ok(CollectMetricsResult { prometheus_metrics: text.into_bytes() })
///     }
/// }
///
/// let plugin = Counted { queries: Cell::new(3) };
/// let result = plugin.collect_metrics(CollectMetricsRequest::default())?;
/// assert!(String::from_utf8_lossy(&result.prometheus_metrics).contains("queries_total 3"));
/// # Ok::<(), Error>(())
/// ```
pub trait CollectMetricsHandler {
    /// Collects the metrics.
    ///
    /// # Errors
    /// An error failing the scrape.
    fn collect_metrics(&self, req: CollectMetricsRequest) -> Result<CollectMetricsResult, Error>;
}

/// Any function or closure taking a [`CollectMetricsRequest`] is a
/// [`CollectMetricsHandler`] (Go: `backend.CollectMetricsHandlerFunc`).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// let metrics = |_: CollectMetricsRequest| {
///     Ok(CollectMetricsResult { prometheus_metrics: b"up 1\n".to_vec() })
/// };
/// let opts = ServeOpts { collect_metrics_handler: Some(Rc::new(metrics)), ..ServeOpts::default() };
/// let result = opts.collect_metrics_handler.unwrap().collect_metrics(CollectMetricsRequest::default())?;
/// assert_eq!(result.prometheus_metrics, b"up 1\n");
/// # Ok::<(), Error>(())
/// ```
impl<F: Fn(CollectMetricsRequest) -> Result<CollectMetricsResult, Error>> CollectMetricsHandler
    for F
{
    fn collect_metrics(&self, req: CollectMetricsRequest) -> Result<CollectMetricsResult, Error> {
        self(req)
    }
}
