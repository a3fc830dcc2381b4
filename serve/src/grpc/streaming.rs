//! `pluginv2.Stream`: Grafana Live's subscribe, publish and run calls.

use std::sync::Arc;

use grafana_wasm_proto::pluginv2 as pb;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::pump::{self, Forward, Outgoing};
use crate::capabilities::Outbox;
use crate::convert::{from_proto, to_proto};
use crate::rpc::Rpc;
use crate::runtime::{CallError, Runtime};
use crate::wit::handlers::streaming;

/// Serves the `Stream` service.
pub struct StreamService {
    runtime: Arc<Runtime>,
    shutdown: CancellationToken,
}

impl StreamService {
    /// A stream service calling into `runtime`; running streams end at
    /// `shutdown`.
    pub fn new(runtime: Arc<Runtime>, shutdown: CancellationToken) -> Self {
        Self { runtime, shutdown }
    }
}

#[tonic::async_trait]
impl pb::stream_server::Stream for StreamService {
    async fn subscribe_stream(
        &self,
        request: Request<pb::SubscribeStreamRequest>,
    ) -> Result<Response<pb::SubscribeStreamResponse>, Status> {
        let incoming = super::incoming(&request, Rpc::SubscribeStream);
        let mut request = from_proto::subscribe_stream_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let response = self
            .runtime
            .unary::<streaming::GuestIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_subscribe_stream(store, &request).await })
            })
            .await?;
        Ok(Response::new(to_proto::subscribe_stream_response(response)))
    }

    async fn publish_stream(
        &self,
        request: Request<pb::PublishStreamRequest>,
    ) -> Result<Response<pb::PublishStreamResponse>, Status> {
        let incoming = super::incoming(&request, Rpc::PublishStream);
        let mut request = from_proto::publish_stream_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let response = self
            .runtime
            .unary::<streaming::GuestIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_publish_stream(store, &request).await })
            })
            .await?;
        Ok(Response::new(to_proto::publish_stream_response(response)))
    }

    type RunStreamStream = Outgoing<pb::StreamPacket>;

    async fn run_stream(
        &self,
        request: Request<pb::RunStreamRequest>,
    ) -> Result<Response<Self::RunStreamStream>, Status> {
        let incoming = super::incoming(&request, Rpc::RunStream);
        let mut request = from_proto::run_stream_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let (sender, from_guest) = mpsc::channel(pump::CAPACITY);
        let outbox = Outbox {
            stream: Some(sender),
            ..Outbox::default()
        };
        let runtime = self.runtime.clone();
        let shutdown = self.shutdown.clone();
        // A stream runs until Grafana cancels it: no deadline, but it ends
        // when the host shuts down, with an error so that Grafana runs it
        // again once the plugin is back (it never re-runs one that ended
        // OK).
        let call = async move {
            // The RPC's span lasts as long as the stream.
            let _incoming = incoming;
            let run = runtime.call::<streaming::GuestIndices, _>(scope, outbox, |guest, store| {
                Box::pin(async move { guest.call_run_stream(store, &request).await })
            });
            tokio::select! {
                outcome = run => outcome,
                () = shutdown.cancelled() => Err(CallError::ShuttingDown),
            }
        };
        Ok(Response::new(pump::pump(from_guest, call, Packets)))
    }
}

/// Forwards stream packets (validated as JSON by the host's `send`).
struct Packets;

impl Forward<Vec<u8>, pb::StreamPacket> for Packets {
    fn forward(&mut self, data: Vec<u8>) -> Option<Result<pb::StreamPacket, Status>> {
        Some(Ok(to_proto::stream_packet(data)))
    }

    fn finish(
        self,
        outcome: Result<(), CallError>,
        _sent: usize,
    ) -> Option<Result<pb::StreamPacket, Status>> {
        outcome.err().map(|err| Err(err.into()))
    }
}
