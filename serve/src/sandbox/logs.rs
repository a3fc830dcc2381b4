//! What a guest may write to the host log: its log calls, its stdout and
//! stderr, and the host's warnings about what it did wrong (rejected
//! stream packets) share one rate limit per instance, so that a guest
//! cannot flood Grafana's log. Dropped lines are counted in the metrics
//! and reported in one line once the guest may write again, at the end of
//! each call, and when the instance goes.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Map, Value};

use crate::logging::{self, Level};
use crate::metrics::Metrics;

/// One guest instance's access to the host log.
pub struct GuestLog {
    plugin_id: Arc<str>,
    limiter: DefaultDirectRateLimiter,
    per_second: u32,
    dropped: AtomicU64,
    metrics: Arc<Metrics>,
    /// The trace of the call in progress, when tracing is on.
    trace_id: Mutex<Option<String>>,
}

impl GuestLog {
    /// The log of an instance of `plugin_id`, allowed `per_second` lines
    /// a second (and a burst of as many).
    pub fn new(plugin_id: Arc<str>, per_second: u32, metrics: Arc<Metrics>) -> Arc<Self> {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        Arc::new(Self {
            plugin_id,
            limiter: RateLimiter::direct(Quota::per_second(rate)),
            per_second: rate.get(),
            dropped: AtomicU64::new(0),
            metrics,
            trace_id: Mutex::new(None),
        })
    }

    /// Writes one line of the guest's (a log call, or stdout or stderr when
    /// `fields` has `stream`), tagged with the plugin id, unless the
    /// instance is over its rate.
    pub fn write(&self, level: Level, message: &str, mut fields: Map<String, Value>) {
        if !logging::enabled(level) || !self.admit() {
            return;
        }
        fields.insert("pluginId".into(), Value::String(self.plugin_id.to_string()));
        if let Some(trace_id) = self.trace_id.lock().expect("trace id lock").as_ref() {
            fields.insert("traceId".into(), Value::String(trace_id.clone()));
        }
        logging::write(level, message, fields);
    }

    /// Tags the lines written from now on with the trace of the call in
    /// progress (`traceId`, as the Go SDK's contextual logger), or no
    /// longer.
    pub fn set_trace_id(&self, trace_id: Option<String>) {
        *self.trace_id.lock().expect("trace id lock") = trace_id;
    }

    /// Counts and logs (within the rate) a stream packet the host refused:
    /// `reason` is the metric label, `error` what the guest was told.
    pub fn packet_rejected(&self, reason: &'static str, error: &str) {
        self.metrics.stream_packet_rejected(reason);
        let mut fields = Map::new();
        fields.insert("reason".into(), reason.into());
        fields.insert("error".into(), error.into());
        self.write(Level::Warn, "stream packet rejected", fields);
    }

    /// Whether one more line may be written now; reports the lines dropped
    /// before it.
    fn admit(&self) -> bool {
        if self.limiter.check().is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.metrics.log_lines_dropped("rate_limit", 1);
            return false;
        }
        self.report_dropped();
        true
    }

    /// Logs how many lines were dropped since the last report, if any.
    pub fn report_dropped(&self) {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped == 0 {
            return;
        }
        let mut fields = Map::new();
        fields.insert("pluginId".into(), Value::String(self.plugin_id.to_string()));
        fields.insert("dropped".into(), dropped.into());
        fields.insert("linesPerSecond".into(), self.per_second.into());
        logging::write(
            Level::Warn,
            "guest log lines dropped: the plugin wrote more than log_lines_per_second",
            fields,
        );
    }
}

impl Drop for GuestLog {
    fn drop(&mut self) {
        self.report_dropped();
    }
}
