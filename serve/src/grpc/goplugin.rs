//! hashicorp go-plugin's side services. Grafana calls `Shutdown` when it
//! stops the plugin and opens the stdio and broker streams once after
//! connecting; it uses neither stream, so they stay open and silent until
//! shutdown.

use std::pin::Pin;

use futures_util::{Stream, StreamExt, stream};
use grafana_wasm_proto::goplugin as gp;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// A stream that yields nothing and ends at shutdown.
type Silent<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn silent_until<T: Send + 'static>(shutdown: CancellationToken) -> Silent<T> {
    Box::pin(
        stream::once(async move { shutdown.cancelled_owned().await })
            .filter_map(|()| async { None }),
    )
}

/// `plugin.GRPCController`: `Shutdown` stops the server and the process.
pub struct Controller {
    shutdown: CancellationToken,
}

impl Controller {
    /// A controller cancelling `shutdown`.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<gp::Empty>) -> Result<Response<gp::Empty>, Status> {
        tracing::info!("shutdown requested by the host");
        self.shutdown.cancel();
        Ok(Response::new(gp::Empty {}))
    }
}

/// `plugin.GRPCStdio`: the host never receives anything here, because the
/// host process never writes guest output to its own stdout/stderr pipes
/// outside the log.
pub struct Stdio {
    shutdown: CancellationToken,
}

impl Stdio {
    /// A stdio service whose stream ends at `shutdown`.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl gp::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = Silent<gp::StdioData>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}

/// `plugin.GRPCBroker`: accepted and ignored; Grafana brokers no
/// connections.
pub struct Broker {
    shutdown: CancellationToken,
}

impl Broker {
    /// A broker whose stream ends at `shutdown`.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl gp::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = Silent<gp::ConnInfo>;

    async fn start_stream(
        &self,
        request: Request<Streaming<gp::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut incoming = request.into_inner();
        tokio::spawn(async move {
            while let Some(Ok(info)) = incoming.next().await {
                tracing::debug!(service_id = info.service_id, "ignoring broker message");
            }
        });
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}
