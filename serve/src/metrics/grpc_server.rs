//! The gRPC server metrics a Go SDK plugin exposes (go-grpc-middleware's
//! Prometheus provider, with the handling-time histogram the SDK turns
//! on): the same names, help, labels and buckets, unprefixed.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

use super::registered;

/// Labels of every family: `grpc_type`, `grpc_service`, `grpc_method`.
const LABELS: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];

/// Every method the host serves: service, method, `grpc_type`. Calls of
/// any other path are counted as `unknown`, so that no client can add
/// label values.
const METHODS: [(&str, &str, &str); 17] = [
    ("pluginv2.Data", "QueryData", "unary"),
    ("pluginv2.Data", "QueryChunkedData", "server_stream"),
    ("pluginv2.Resource", "CallResource", "server_stream"),
    ("pluginv2.Diagnostics", "CheckHealth", "unary"),
    ("pluginv2.Diagnostics", "CollectMetrics", "unary"),
    ("pluginv2.Stream", "SubscribeStream", "unary"),
    ("pluginv2.Stream", "PublishStream", "unary"),
    ("pluginv2.Stream", "RunStream", "server_stream"),
    ("pluginv2.AdmissionControl", "ValidateAdmission", "unary"),
    ("pluginv2.AdmissionControl", "MutateAdmission", "unary"),
    ("pluginv2.ResourceConversion", "ConvertObjects", "unary"),
    ("grpc.health.v1.Health", "Check", "unary"),
    ("grpc.health.v1.Health", "Watch", "server_stream"),
    ("plugin.GRPCStdio", "StreamStdio", "server_stream"),
    ("plugin.GRPCBroker", "StartStream", "bidi_stream"),
    ("plugin.GRPCController", "Shutdown", "unary"),
    ("unknown", "unknown", "unary"),
];

/// The families, and each method's series resolved once.
pub struct GrpcServer {
    handled: IntCounterVec,
    methods: Vec<Arc<GrpcCall>>,
}

/// One method's series: what an RPC of it counts into.
pub struct GrpcCall {
    labels: [&'static str; 3],
    started: IntCounter,
    received: IntCounter,
    sent: IntCounter,
    handling: Histogram,
}

impl GrpcServer {
    /// Registers the families in `registry`.
    ///
    /// # Errors
    /// Only on conflicting registrations, a programming error.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            registered(registry, IntCounterVec::new(Opts::new(name, help), labels)?)
        };
        let with_code = [LABELS[0], LABELS[1], LABELS[2], "grpc_code"];
        let handling = registered(
            registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "grpc_server_handling_seconds",
                    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
                )
                .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
                &LABELS,
            )?,
        )?;
        let started = counter(
            "grpc_server_started_total",
            "Total number of RPCs started on the server.",
            &LABELS,
        )?;
        let received = counter(
            "grpc_server_msg_received_total",
            "Total number of RPC stream messages received on the server.",
            &LABELS,
        )?;
        let sent = counter(
            "grpc_server_msg_sent_total",
            "Total number of gRPC stream messages sent by the server.",
            &LABELS,
        )?;
        let methods = METHODS
            .iter()
            .map(|&(service, method, kind)| {
                let labels = [kind, service, method];
                Arc::new(GrpcCall {
                    labels,
                    started: started.with_label_values(&labels),
                    received: received.with_label_values(&labels),
                    sent: sent.with_label_values(&labels),
                    handling: handling.with_label_values(&labels),
                })
            })
            .collect();
        Ok(Self {
            handled: counter(
                "grpc_server_handled_total",
                "Total number of RPCs completed on the server, regardless of success or failure.",
                &with_code,
            )?,
            methods,
        })
    }

    /// An RPC of `path` (`/package.Service/Method`) started, its request
    /// received.
    pub fn started(&self, path: &str) -> Arc<GrpcCall> {
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or_default();
        let call = self
            .methods
            .iter()
            .find(|call| call.labels[1] == service && call.labels[2] == method)
            .or(self.methods.last())
            .expect("the unknown method's series")
            .clone();
        call.started.inc();
        call.received.inc();
        call
    }

    /// `call` ended with the gRPC status `code`, `elapsed` after it started.
    pub fn handled(&self, call: &GrpcCall, code: i32, elapsed: Duration) {
        let [kind, service, method] = call.labels;
        self.handled
            .with_label_values(&[kind, service, method, code_name(code)])
            .inc();
        call.handling.observe(elapsed.as_secs_f64());
    }
}

impl GrpcCall {
    /// The server sent `count` messages of this call.
    pub fn sent(&self, count: u64) {
        self.sent.inc_by(count);
    }
}

/// The name gRPC gives status `code` (Go's `codes.Code.String()`).
fn code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|code| NAMES.get(code))
        .copied()
        .unwrap_or("Unknown")
}
