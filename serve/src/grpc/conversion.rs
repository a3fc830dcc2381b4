//! `pluginv2.ResourceConversion`: converting app-platform resources between
//! versions.

use std::sync::Arc;

use grafana_wasm_proto::pluginv2 as pb;
use tonic::{Request, Response, Status};

use crate::convert::{from_proto, to_proto};
use crate::rpc::Rpc;
use crate::runtime::Runtime;
use crate::wit::handlers::conversion;

/// Serves the `ResourceConversion` service.
pub struct ConversionService {
    runtime: Arc<Runtime>,
}

impl ConversionService {
    /// A conversion service calling into `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }
}

#[tonic::async_trait]
impl pb::resource_conversion_server::ResourceConversion for ConversionService {
    async fn convert_objects(
        &self,
        request: Request<pb::ConversionRequest>,
    ) -> Result<Response<pb::ConversionResponse>, Status> {
        let incoming = super::incoming(&request, Rpc::ConvertObjects);
        let mut request = from_proto::conversion_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let response = self
            .runtime
            .unary::<conversion::GuestIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_convert_objects(store, &request).await })
            })
            .await?;
        Ok(Response::new(to_proto::conversion_response(response)))
    }
}
