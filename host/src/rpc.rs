//! The plugin protocol's RPCs as one type: admission, deadlines, metrics
//! labels and error messages all name the RPC they are about, and what
//! differs between RPCs (a stream holds its instance while Grafana
//! watches it) is decided here, not by comparing strings.

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
