//! Counts every RPC the server handles as go-grpc-middleware does for a Go
//! SDK plugin (`grpc_server_*`): started when the request arrives, each
//! message sent as its frame goes out, handled with the gRPC status when
//! the answer ends (in the response head for an error, else in the
//! trailers; `Canceled` when Grafana goes away first).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf as _, Bytes};
use http_body::{Body, Frame, SizeHint};

use crate::metrics::Metrics;
use crate::metrics::grpc_server::GrpcCall;

/// The layer counting RPCs into `metrics`.
#[derive(Clone)]
pub struct MeteredLayer(pub Arc<Metrics>);

impl<S> tower::Layer<S> for MeteredLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// A service counting the RPCs `inner` handles.
#[derive(Clone)]
pub struct Metered<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B, R> tower::Service<http::Request<B>> for Metered<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Body<Data = Bytes> + Unpin,
{
    type Response = http::Response<MeteredBody<R>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let call = self.metrics.grpc().started(request.uri().path());
        let answering = self.inner.call(request);
        let metrics = self.metrics.clone();
        let started = Instant::now();
        Box::pin(async move {
            let response = answering.await?;
            let mut meter = Meter {
                metrics,
                call,
                started,
                handled: false,
                frame_left: 0,
                header: Vec::new(),
            };
            // A trailers-only answer (an error) has its status in the head.
            if let Some(code) = grpc_status(response.headers()) {
                meter.handled(code);
            }
            Ok(response.map(|inner| MeteredBody { inner, meter }))
        })
    }
}

/// The status in a `grpc-status` header or trailer.
fn grpc_status(headers: &http::HeaderMap) -> Option<i32> {
    headers.get("grpc-status")?.to_str().ok()?.parse().ok()
}

/// What one RPC's answer has done so far.
struct Meter {
    metrics: Arc<Metrics>,
    call: Arc<GrpcCall>,
    started: Instant,
    handled: bool,
    /// Bytes of the current message still to come.
    frame_left: usize,
    /// The part of a message's 5-byte prefix seen so far.
    header: Vec<u8>,
}

impl Meter {
    fn handled(&mut self, code: i32) {
        if !self.handled {
            self.handled = true;
            self.metrics
                .grpc()
                .handled(&self.call, code, self.started.elapsed());
        }
    }

    /// Counts the messages that start in `data` (each is a 5-byte prefix,
    /// its 4-byte length, then the message).
    fn count_messages(&mut self, mut data: Bytes) {
        let mut started = 0;
        while data.has_remaining() {
            if self.frame_left > 0 {
                let skip = self.frame_left.min(data.remaining());
                data.advance(skip);
                self.frame_left -= skip;
                continue;
            }
            self.header.push(data.get_u8());
            if self.header.len() == 5 {
                let length = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                self.frame_left = length as usize;
                self.header.clear();
                started += 1;
            }
        }
        if started > 0 {
            self.call.sent(started);
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        // Over before its trailers: Grafana went away.
        self.handled(1);
    }
}

/// An answer's body, its messages and status counted as they go out.
pub struct MeteredBody<B> {
    inner: B,
    meter: Meter,
}

impl<B: Body<Data = Bytes> + Unpin> Body for MeteredBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.meter.count_messages(data.clone());
            } else if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                this.meter.handled(code);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
