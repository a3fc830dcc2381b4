//! The plugin protocol's RPCs as one type: admission, deadlines, metrics
//! labels and error messages all name the RPC they are about, and what
//! differs between RPCs (a stream holds its instance while Grafana
//! watches it) is decided here, not by comparing strings.

use std::time::Duration;

use crate::traces::Span;

/// An RPC as it arrives from Grafana: which one, the deadline Grafana set,
/// and the span the call runs in (continuing Grafana's trace).
pub struct Incoming {
    /// The RPC.
    pub rpc: Rpc,
    /// The deadline Grafana set, if any.
    pub requested: Option<Duration>,
    /// The RPC's span; it ends when this is dropped.
    pub span: Span,
}

impl Incoming {
    /// A call the host makes of its own accord: no deadline, no trace.
    pub fn internal(rpc: Rpc) -> Self {
        Self {
            rpc,
            requested: None,
            span: Span::none(),
        }
    }
}

/// An RPC of the plugin protocol that reaches the guest, by its protobuf
/// method name (the name in metrics labels, logs and error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rpc {
    /// `Data.QueryData`.
    QueryData,
    /// `Data.QueryChunkedData`.
    QueryChunkedData,
    /// `Resource.CallResource`.
    CallResource,
    /// `Diagnostics.CheckHealth`.
    CheckHealth,
    /// `Diagnostics.CollectMetrics`.
    CollectMetrics,
    /// `Stream.SubscribeStream`.
    SubscribeStream,
    /// `Stream.PublishStream`.
    PublishStream,
    /// `Stream.RunStream`.
    RunStream,
    /// `AdmissionControl.ValidateAdmission`.
    ValidateAdmission,
    /// `AdmissionControl.MutateAdmission`.
    MutateAdmission,
    /// `ResourceConversion.ConvertObjects`.
    ConvertObjects,
}

impl Rpc {
    /// The protobuf method name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::QueryData => "QueryData",
            Self::QueryChunkedData => "QueryChunkedData",
            Self::CallResource => "CallResource",
            Self::CheckHealth => "CheckHealth",
            Self::CollectMetrics => "CollectMetrics",
            Self::SubscribeStream => "SubscribeStream",
            Self::PublishStream => "PublishStream",
            Self::RunStream => "RunStream",
            Self::ValidateAdmission => "ValidateAdmission",
            Self::MutateAdmission => "MutateAdmission",
            Self::ConvertObjects => "ConvertObjects",
        }
    }

    /// The Go SDK's name of the endpoint (`backend.Endpoint*`), in span
    /// names and the `endpoint` label of `grafana_plugin_request_total`.
    pub const fn endpoint(self) -> &'static str {
        match self {
            Self::QueryData => "queryData",
            Self::QueryChunkedData => "queryChunkedData",
            Self::CallResource => "callResource",
            Self::CheckHealth => "checkHealth",
            Self::CollectMetrics => "collectMetrics",
            Self::SubscribeStream => "subscribeStream",
            Self::PublishStream => "publishStream",
            Self::RunStream => "runStream",
            Self::ValidateAdmission => "validateAdmission",
            Self::MutateAdmission => "mutateAdmission",
            Self::ConvertObjects => "convertObjects",
        }
    }

    /// The gRPC service serving it.
    pub const fn service(self) -> &'static str {
        match self {
            Self::QueryData | Self::QueryChunkedData => "pluginv2.Data",
            Self::CallResource => "pluginv2.Resource",
            Self::CheckHealth | Self::CollectMetrics => "pluginv2.Diagnostics",
            Self::SubscribeStream | Self::PublishStream | Self::RunStream => "pluginv2.Stream",
            Self::ValidateAdmission | Self::MutateAdmission => "pluginv2.AdmissionControl",
            Self::ConvertObjects => "pluginv2.ResourceConversion",
        }
    }

    /// Whether the call lasts as long as Grafana watches it: it holds an
    /// instance without a call slot, has no deadline of its own, and ends
    /// when its version of the component is replaced.
    pub const fn is_stream(self) -> bool {
        matches!(self, Self::RunStream)
    }
}

impl std::fmt::Display for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a request ended, as the Go SDK's middlewares label it
/// (`request_status` on spans, `status` on `grafana_plugin_request_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// Answered without error.
    Ok,
    /// Grafana gave up on it before it was answered.
    Cancelled,
    /// Answered with an error (for QueryData: any query's).
    Error,
}

impl RequestStatus {
    /// The label value.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Cancelled => "cancelled",
            Self::Error => "error",
        }
    }
}

/// Who is to blame for a failed request (`status_source`): the plugin,
/// unless it said the service it called failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSource {
    /// The plugin (the default).
    Plugin,
    /// The service the plugin called.
    Downstream,
}

impl StatusSource {
    /// The label value.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Plugin => "plugin",
            Self::Downstream => "downstream",
        }
    }
}
