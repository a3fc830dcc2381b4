//! `pluginv2.Data`: QueryData and QueryChunkedData.

use std::collections::HashSet;
use std::sync::Arc;

use grafana_wasm_proto::pluginv2 as pb;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::pump::{self, Forward, Outgoing};
use crate::capabilities::Outbox;
use crate::convert::{from_proto, to_proto};
use crate::frames::Include;
use crate::rpc::Rpc;
use crate::runtime::{CallError, Runtime};
use crate::wit::handlers::{chunked_data, data};
use crate::wit::types::{DataChunk, FrameFormat};

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
        let incoming = super::incoming(&request, Rpc::QueryData);
        let mut request = from_proto::query_data_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let format = request.format;
        let response = self
            .runtime
            .unary::<data::GuestIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_query_data(store, &request).await })
            })
            .await?;
        let _encoding = incoming.span.stage("encode");
        Ok(Response::new(to_proto::query_data_response(
            response, format,
        )))
    }

    type QueryChunkedDataStream = Outgoing<pb::QueryChunkedDataResponse>;

    async fn query_chunked_data(
        &self,
        request: Request<pb::QueryChunkedDataRequest>,
    ) -> Result<Response<Self::QueryChunkedDataStream>, Status> {
        let incoming = super::incoming(&request, Rpc::QueryChunkedData);
        let mut request = from_proto::query_chunked_data_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let chunks = Chunks::new(request.format);
        let (sender, from_guest) = mpsc::channel(pump::CAPACITY);
        let outbox = Outbox {
            chunks: Some(sender),
            ..Outbox::default()
        };
        let runtime = self.runtime.clone();
        let call = async move {
            // The RPC's span lasts until the last chunk.
            let _incoming = incoming;
            runtime
                .call::<chunked_data::GuestIndices, _>(scope, outbox, |guest, store| {
                    Box::pin(async move { guest.call_query_chunked_data(store, &request).await })
                })
                .await
        };
        Ok(Response::new(pump::pump(from_guest, call, chunks)))
    }
}

/// Forwards data chunks in the requested format: in JSON, the first chunk
/// of each frame carries its schema and later ones only rows. A plugin
/// without the handler answers one chunk with status 501, as a Go SDK
/// plugin does.
struct Chunks {
    format: FrameFormat,
    /// (refId, frameId) of frames whose first chunk went out.
    started: HashSet<(String, String)>,
}

impl Chunks {
    fn new(format: FrameFormat) -> Self {
        Self {
            format,
            started: HashSet::new(),
        }
    }
}

impl Forward<DataChunk, pb::QueryChunkedDataResponse> for Chunks {
    fn forward(
        &mut self,
        chunk: DataChunk,
    ) -> Option<Result<pb::QueryChunkedDataResponse, Status>> {
        let first = self
            .started
            .insert((chunk.ref_id.clone(), chunk.frame_id.clone()));
        let include = if first {
            Include::All
        } else {
            Include::DataOnly
        };
        Some(Ok(to_proto::data_chunk(chunk, self.format, include)))
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
