//! The host's own metrics, in Prometheus text format, merged into the
//! plugin's CollectMetrics answer (Grafana scrapes it at
//! `/api/plugins/<id>/metrics`): calls by RPC and outcome, call latency,
//! traps, timeouts, live instances, guest linear memory, the component's
//! identity, and the process's own resource use; what each datasource
//! costs ([`datasource`]); and the request counter a Go SDK plugin
//! and its gRPC server expose ([`grpc_server`]), so that dashboards made
//! for Go plugins work unchanged.

pub mod datasource;
pub mod grpc_server;

use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::rpc::{RequestStatus, Rpc, StatusSource};
pub use datasource::Account;

/// The host's metric families.
pub struct Metrics {
    /// The host's families, prefixed `grafana_wasm_`.
    registry: Registry,
    /// The standard, unprefixed families: `process_*`, the Go SDK's
    /// `grafana_plugin_request_total` and its gRPC server's `grpc_server_*`.
    unprefixed: Registry,
    plugin_requests: IntCounterVec,
    grpc: grpc_server::GrpcServer,
    datasources: datasource::Datasources,
    calls: IntCounterVec,
    duration: HistogramVec,
    traps: IntCounterVec,
    timeouts: IntCounterVec,
    instances: IntGauge,
    in_flight: IntGauge,
    memory: IntGauge,
    component: IntGaugeVec,
    loaded_at: IntGauge,
    loads: IntCounterVec,
    log_dropped: IntCounterVec,
    /// Lines the log writer had dropped at the last scrape.
    queue_dropped_seen: std::sync::atomic::AtomicU64,
    packets_rejected: IntCounterVec,
}

impl Metrics {
    /// Registers every family, plus the process collector.
    ///
    /// # Errors
    /// Only on conflicting registrations, a programming error.
    pub fn new() -> prometheus::Result<Arc<Self>> {
        let registry = Registry::new_custom(Some("grafana_wasm".into()), None)?;
        let calls = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "calls_total",
                    "Guest calls by RPC and outcome (ok, error, unimplemented, trap, timeout, not_loaded, overloaded, backed_off, replaced, shutting_down).",
                ),
                &["rpc", "outcome"],
            )?,
        )?;
        let duration = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "call_duration_seconds",
                    "Duration of guest calls, instantiation included.",
                )
                .buckets(prometheus::exponential_buckets(0.0001, 4.0, 10)?),
                &["rpc"],
            )?,
        )?;
        let traps = registered(
            &registry,
            IntCounterVec::new(
                Opts::new("guest_traps_total", "Guest calls that trapped."),
                &["rpc"],
            )?,
        )?;
        let timeouts = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "guest_timeouts_total",
                    "Guest calls stopped at their deadline.",
                ),
                &["rpc"],
            )?,
        )?;
        let instances = registered(
            &registry,
            IntGauge::new("instances", "Live guest instances.")?,
        )?;
        let in_flight = registered(
            &registry,
            IntGauge::new("calls_in_flight", "Guest calls running, streams included.")?,
        )?;
        let memory = registered(
            &registry,
            IntGauge::new(
                "guest_memory_bytes",
                "Linear memory of live guest instances.",
            )?,
        )?;
        let loads = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "component_loads_total",
                    "Component loads by outcome (ok, failed).",
                ),
                &["outcome"],
            )?,
        )?;
        let component = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "component_info",
                    "The loaded component: its SHA-256, path and declared version (value 1).",
                ),
                &["sha256", "path", "version"],
            )?,
        )?;
        let loaded_at = registered(
            &registry,
            IntGauge::new(
                "component_loaded_timestamp_seconds",
                "When the serving version of the component started serving, in Unix seconds.",
            )?,
        )?;
        let log_dropped = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "log_lines_dropped_total",
                    "Log lines dropped: a guest over its log_lines_per_second (rate_limit), or the log writer's queue full because stderr is not read fast enough (queue_full).",
                ),
                &["reason"],
            )?,
        )?;
        let packets_rejected = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "stream_packets_rejected_total",
                    "Stream packets a guest sent that the host refused: not JSON (not_json), or a frame it cannot encode (invalid_frame).",
                ),
                &["reason"],
            )?,
        )?;
        let unprefixed = Registry::new();
        unprefixed.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        // The Go SDK's metrics middleware: namespace grafana, subsystem
        // plugin, the same help and labels.
        let plugin_requests = registered(
            &unprefixed,
            IntCounterVec::new(
                Opts::new("request_total", "The total amount of plugin requests")
                    .namespace("grafana")
                    .subsystem("plugin"),
                &["endpoint", "status", "status_source"],
            )?,
        )?;
        let grpc = grpc_server::GrpcServer::new(&unprefixed)?;
        let datasources = datasource::Datasources::new(&registry)?;
        Ok(Arc::new(Self {
            registry,
            unprefixed,
            plugin_requests,
            grpc,
            datasources,
            calls,
            duration,
            traps,
            timeouts,
            instances,
            in_flight,
            memory,
            component,
            loaded_at,
            loads,
            log_dropped,
            queue_dropped_seen: std::sync::atomic::AtomicU64::new(0),
            packets_rejected,
        }))
    }

    /// Records one finished guest call, its `outcome` (`ok`, or the
    /// error's label).
    pub fn observe_call(&self, rpc: Rpc, outcome: &'static str, elapsed: Duration) {
        let rpc = rpc.name();
        self.calls.with_label_values(&[rpc, outcome]).inc();
        self.duration
            .with_label_values(&[rpc])
            .observe(elapsed.as_secs_f64());
        match outcome {
            "trap" => self.traps.with_label_values(&[rpc]).inc(),
            "timeout" => self.timeouts.with_label_values(&[rpc]).inc(),
            _ => {}
        }
    }

    /// Counts one finished request as the Go SDK does.
    pub fn observe_request(&self, rpc: Rpc, status: RequestStatus, source: StatusSource) {
        self.plugin_requests
            .with_label_values(&[rpc.endpoint(), status.name(), source.name()])
            .inc();
    }

    /// The gRPC server's families.
    pub fn grpc(&self) -> &grpc_server::GrpcServer {
        &self.grpc
    }

    /// The account of the datasource `uid` (`None`: no datasource).
    pub fn datasource(&self, uid: Option<&str>) -> Arc<Account> {
        self.datasources.account(uid)
    }

    /// A guest instance was created (+1) or dropped (-1).
    pub fn add_instances(&self, delta: i64) {
        self.instances.add(delta);
    }

    /// Counts a guest call as running until the returned guard is dropped
    /// (when the call ends, or is abandoned).
    pub fn call_started(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Guest linear memory grew (or, negative, was released).
    pub fn add_memory(&self, delta: i64) {
        self.memory.add(delta);
    }

    /// Records a loaded component and its identity.
    pub fn component_loaded(&self, sha256: &str, path: &str, version: &str) {
        self.loads.with_label_values(&["ok"]).inc();
        self.component.reset();
        self.component
            .with_label_values(&[sha256, path, version])
            .set(1);
        self.loaded_at.set(chrono::Utc::now().timestamp());
    }

    /// Records a new version of the component that failed a check and was
    /// not swapped in.
    pub fn component_rejected(&self) {
        self.loads.with_label_values(&["rejected"]).inc();
    }

    /// Records a component that failed to load.
    pub fn component_failed(&self) {
        self.loads.with_label_values(&["failed"]).inc();
    }

    /// Counts `count` log lines dropped for `reason`.
    pub fn log_lines_dropped(&self, reason: &str, count: u64) {
        self.log_dropped.with_label_values(&[reason]).inc_by(count);
    }

    /// Counts a stream packet refused for `reason`.
    pub fn stream_packet_rejected(&self, reason: &str) {
        self.packets_rejected.with_label_values(&[reason]).inc();
    }

    /// Brings the count of lines the log writer dropped up to date.
    fn count_queue_drops(&self) {
        let total = crate::logging::dropped_lines();
        let seen = self
            .queue_dropped_seen
            .fetch_max(total, std::sync::atomic::Ordering::Relaxed);
        if total > seen {
            self.log_lines_dropped("queue_full", total - seen);
        }
    }

    /// Every family in Prometheus text exposition format.
    pub fn text(&self) -> Vec<u8> {
        self.count_queue_drops();
        let mut buffer = Vec::new();
        let mut families = self.registry.gather();
        families.extend(self.unprefixed.gather());
        if let Err(err) = TextEncoder::new().encode(&families, &mut buffer) {
            tracing::warn!(error = %err, "encoding the host's metrics failed");
        }
        buffer
    }
}

/// `collector`, once registered in `registry` (the registry keeps a clone:
/// a family's clones share its series).
///
/// # Errors
/// Only on conflicting registrations, a programming error.
fn registered<C>(registry: &Registry, collector: C) -> prometheus::Result<C>
where
    C: prometheus::core::Collector + Clone + 'static,
{
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

/// A running guest call, for the `calls_in_flight` gauge.
pub struct InFlight<'a>(&'a IntGauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
