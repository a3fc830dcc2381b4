//! Handler traits and request/response types, named as in
//! grafana-plugin-sdk-go's `backend` package.

mod admission;
mod config;
mod context;
mod data;
mod diagnostics;
mod error;
mod instance;
mod resource;
mod router;
#[doc(hidden)]
pub mod serve;
mod stream;

pub use admission::{
    AdmissionHandler, AdmissionOperation, AdmissionRequest, ConversionHandler, ConversionRequest,
    ConversionResponse, GroupVersionKind, MutationResponse, RawObject, StatusResult,
    ValidationResponse,
};
pub use config::{FeatureToggles, GrafanaConfig};
pub use context::{AppInstanceSettings, DataSourceInstanceSettings, PluginContext, User};
pub use data::{
    Chunk, ChunkedDataWriter, DataQuery, DataResponse, FrameFormat, QueryChunkedDataHandler,
    QueryDataHandler, QueryDataRequest, QueryDataResponse, Responses, TimeRange,
};
pub use diagnostics::{
    CheckHealthHandler, CheckHealthRequest, CheckHealthResult, CollectMetricsHandler,
    CollectMetricsRequest, CollectMetricsResult, HealthStatus,
};
pub use error::{Error, ErrorSource};
pub use instance::{InstanceDisposer, InstanceManager};
pub use resource::{
    CallResourceHandler, CallResourceRequest, CallResourceResponse, CallResourceResponseSender,
};
pub use router::ResourceRouter;
pub use serve::ServeOpts;
pub use stream::{
    PublishStreamRequest, PublishStreamResponse, RunStreamRequest, StreamHandler, StreamPacket,
    StreamPacketSender, StreamStatus, SubscribeStreamRequest, SubscribeStreamResponse,
};

/// A string-to-string map with a stable (sorted) order.
pub type StringMap = std::collections::BTreeMap<String, String>;
