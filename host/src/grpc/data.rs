//! `pluginv2.Data`: QueryData and QueryChunkedData.

use std::sync::Arc;

use grafana_wasm_proto::pluginv2 as pb;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::pump::{self, Forward, Outgoing};
use crate::convert::{from_proto, to_proto};
use crate::runtime::bindings::handlers::{chunked_data, data};
use crate::runtime::bindings::types::DataChunk;
use crate::runtime::{CallError, Outbox, Runtime};

/// Serves the `Data` service.
pub struct DataService {
    runtime: Arc<Runtime>,
}

impl DataService {
    /// A data service calling into `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }
}

#[tonic::async_trait]
impl pb::data_server::Data for DataService {
    async fn query_data(
        &self,
        request: Request<pb::QueryDataRequest>,
    ) -> Result<Response<pb::QueryDataResponse>, Status> {
        let request = from_proto::query_data_request(request.into_inner());
        let response = self
            .runtime
            .unary::<data::GuestIndices, _>("QueryData", |guest, store| {
                Box::pin(async move { guest.call_query_data(store, &request).await })
            })
            .await?;
        Ok(Response::new(to_proto::query_data_response(response)))
    }

    type QueryChunkedDataStream = Outgoing<pb::QueryChunkedDataResponse>;

    async fn query_chunked_data(
        &self,
        request: Request<pb::QueryChunkedDataRequest>,
    ) -> Result<Response<Self::QueryChunkedDataStream>, Status> {
        let request = from_proto::query_chunked_data_request(request.into_inner());
        let (sender, from_guest) = mpsc::channel(pump::CAPACITY);
        let outbox = Outbox {
            chunks: Some(sender),
            ..Outbox::default()
        };
        let runtime = self.runtime.clone();
        let limit = Some(runtime.call_timeout());
        let call = async move {
            runtime
                .call::<chunked_data::GuestIndices, _>(
                    "QueryChunkedData",
                    outbox,
                    limit,
                    |guest, store| {
                        Box::pin(
                            async move { guest.call_query_chunked_data(store, &request).await },
                        )
                    },
                )
                .await
        };
        Ok(Response::new(pump::pump(from_guest, call, Chunks)))
    }
}

/// Forwards data chunks; a plugin without the handler answers one chunk
/// with status 501, as a Go SDK plugin does.
struct Chunks;

impl Forward<DataChunk, pb::QueryChunkedDataResponse> for Chunks {
    fn forward(
        &mut self,
        chunk: DataChunk,
    ) -> Option<Result<pb::QueryChunkedDataResponse, Status>> {
        Some(Ok(to_proto::data_chunk(chunk)))
    }

    fn finish(
        self,
        outcome: Result<(), CallError>,
        sent: usize,
    ) -> Option<Result<pb::QueryChunkedDataResponse, Status>> {
        match outcome {
            Ok(()) => None,
            Err(CallError::Unimplemented) if sent == 0 => Some(Ok(pb::QueryChunkedDataResponse {
                status: 501,
                error: "QueryChunkedData is not implemented by this plugin".into(),
                format: pb::DataFrameFormat::Arrow.into(),
                ..Default::default()
            })),
            Err(err) => Some(Err(err.into())),
        }
    }
}
