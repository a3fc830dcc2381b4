//! The gRPC server metrics a Go SDK plugin exposes (go-grpc-middleware's
//! Prometheus provider, with the handling-time histogram the SDK turns
//! on): the same names, help, labels and buckets, unprefixed.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Labels of every family: `grpc_type`, `grpc_service`, `grpc_method`.
const LABELS: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];

/// The families.
pub struct GrpcServer {
    started: IntCounterVec,
    handled: IntCounterVec,
    received: IntCounterVec,
    sent: IntCounterVec,
    handling: HistogramVec,
}

/// One RPC being served, its labels resolved.
#[derive(Clone)]
pub struct GrpcCall {
    labels: [String; 3],
}

impl GrpcServer {
    /// Registers the families in `registry`.
    ///
    /// # Errors
    /// Only on conflicting registrations, a programming error.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let family = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(family.clone()))?;
            Ok::<_, prometheus::Error>(family)
        };
        let with_code = [LABELS[0], LABELS[1], LABELS[2], "grpc_code"];
        let handling = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            )
            .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
            &LABELS,
        )?;
        registry.register(Box::new(handling.clone()))?;
        Ok(Self {
            started: counter(
                "grpc_server_started_total",
                "Total number of RPCs started on the server.",
                &LABELS,
            )?,
            handled: counter(
                "grpc_server_handled_total",
                "Total number of RPCs completed on the server, regardless of success or failure.",
                &with_code,
            )?,
            received: counter(
                "grpc_server_msg_received_total",
                "Total number of RPC stream messages received on the server.",
                &LABELS,
            )?,
            sent: counter(
                "grpc_server_msg_sent_total",
                "Total number of gRPC stream messages sent by the server.",
                &LABELS,
            )?,
            handling,
        })
    }

    /// An RPC of `path` (`/package.Service/Method`) started, its request
    /// received.
    pub fn started(&self, path: &str) -> GrpcCall {
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("unknown", "unknown"));
        let call = GrpcCall {
            labels: [
                kind(service, method).to_owned(),
                service.to_owned(),
                method.to_owned(),
            ],
        };
        let labels = call.labels();
        self.started.with_label_values(&labels).inc();
        self.received.with_label_values(&labels).inc();
        call
    }

    /// The server sent `count` messages of `call`.
    pub fn sent(&self, call: &GrpcCall, count: u64) {
        self.sent.with_label_values(&call.labels()).inc_by(count);
    }

    /// `call` ended with the gRPC status `code`, `elapsed` after it started.
    pub fn handled(&self, call: &GrpcCall, code: i32, elapsed: Duration) {
        let [kind, service, method] = call.labels();
        self.handled
            .with_label_values(&[kind, service, method, code_name(code)])
            .inc();
        self.handling
            .with_label_values(&[kind, service, method])
            .observe(elapsed.as_secs_f64());
    }
}

impl GrpcCall {
    fn labels(&self) -> [&str; 3] {
        [&self.labels[0], &self.labels[1], &self.labels[2]]
    }
}

/// `grpc_type` of the methods the host serves (all others are unary).
fn kind(service: &str, method: &str) -> &'static str {
    match (service, method) {
        ("pluginv2.Resource", "CallResource")
        | ("pluginv2.Stream", "RunStream")
        | ("pluginv2.Data", "QueryChunkedData")
        | ("grpc.health.v1.Health", "Watch")
        | ("plugin.GRPCStdio", "StreamStdio") => "server_stream",
        ("plugin.GRPCBroker", "StartStream") => "bidi_stream",
        _ => "unary",
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
