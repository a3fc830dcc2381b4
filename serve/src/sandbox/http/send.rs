//! Sending one outgoing request for a guest: over a connection its pool
//! keeps open (a datasource's own URL) or a new one (anywhere else), with
//! the exchange bounded in time and the response body in size.

use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use super::connect::{CONNECT_DEADLINE, Connector};
use super::policy::AddressPolicy;
use super::settings::TlsSettings;

/// A response, and the future wasmtime keeps beside it while the response
/// is read (always ready here: the pool drives the connection).
pub type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// Sends requests over connections opened by a [`Connector`].
pub type Client = hyper_util::client::legacy::Client<Connector, WasiBody>;

/// Idle connections a datasource keeps to its URL.
const MAX_IDLE: usize = 4;

/// How long an idle connection is kept: Go's `http.Transport` default
/// (`IdleConnTimeout`), which the Go SDK's clients use.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A client keeping up to `max_idle` connections per host for
/// [`IDLE_TIMEOUT`]. The `Host` header is the guest's, as `wasi:http` set
/// it; unstarted requests on a connection the server closed meanwhile are
/// sent again on a new one.
pub fn client(connector: Connector, max_idle: usize) -> Client {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_max_idle_per_host(max_idle)
        .set_host(false)
        .build(connector)
}

/// The connections a datasource (at one version of its settings) keeps to
/// its own URL, opened with its TLS settings, as a Go datasource keeps its
/// own `http.Client`. Requests elsewhere are not pooled: a guest allowed
/// many hosts could otherwise keep a connection open to each.
#[derive(Default)]
pub struct Pool(OnceLock<Client>);

impl Pool {
    /// The pool's client, made on first use.
    pub fn client(
        &self,
        addresses: &Arc<AddressPolicy>,
        tls: &TlsSettings,
        timeout: Duration,
    ) -> &Client {
        self.0
            .get_or_init(|| client(Connector::new(addresses.clone(), tls, timeout), MAX_IDLE))
    }
}

/// How one request is sent.
pub struct Target<'a> {
    /// The client, for the origin the request goes to (already allowed by
    /// the host check).
    pub client: &'a Client,
    /// When the whole exchange, body included, must be over.
    pub deadline: Instant,
    /// Largest response body.
    pub max_response_bytes: u64,
    /// The instance's connection slot, held until the response is read or
    /// dropped.
    pub slot: OwnedSemaphorePermit,
}

/// Sends `request` to `target`.
///
/// # Errors
/// The `wasi:http` error the guest receives; refusals are
/// [`Error::DestinationIpProhibited`].
pub async fn send(
    target: Target<'_>,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<Sent, Error> {
    let deadline = target.deadline;
    let within = |timeout: Option<Duration>| {
        timeout.map_or(deadline, |timeout| deadline.min(Instant::now() + timeout))
    };
    let connect_deadline = within(options.and_then(|o| o.connect_timeout));
    let first_byte_deadline = within(options.and_then(|o| o.first_byte_timeout));
    let exchange = CONNECT_DEADLINE.scope(connect_deadline, target.client.request(request));
    let head = tokio::time::timeout_at(first_byte_deadline, exchange)
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(|err| client_error(&err))?;
    let response = head.map(|incoming| {
        BoundedBody {
            incoming,
            remaining: target.max_response_bytes,
            limit: target.max_response_bytes,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            _slot: target.slot,
        }
        .boxed_unsync()
    });
    // The pool drives the connection; nothing is left to wait for here.
    Ok((response, Box::new(std::future::ready(Ok(())))))
}

/// The `wasi:http` error of a failed exchange: the connector's own, or a
/// protocol error (wasmtime's default for hyper's errors).
fn client_error(err: &hyper_util::client::legacy::Error) -> Error {
    let mut cause = err.source();
    while let Some(current) = cause {
        if let Some(code) = current.downcast_ref::<ErrorCode>() {
            return Error::from(code.clone());
        }
        cause = current.source();
    }
    tracing::debug!(error = ?err, "outgoing HTTP exchange failed");
    Error::HttpProtocolError
}

/// A response body that fails once it is larger than the limit or still
/// arriving after the deadline, holding its instance's connection slot.
struct BoundedBody {
    incoming: Incoming,
    remaining: u64,
    limit: u64,
    deadline: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl Body for BoundedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Error::HttpResponseTimeout)));
        }
        let frame = match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(Error::from(err)))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            let size = data.len() as u64;
            if size > self.remaining {
                let limit = self.limit;
                tracing::warn!(
                    limit,
                    "outgoing HTTP response larger than the limit; cut off"
                );
                return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(limit)))));
            }
            self.remaining -= size;
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }
}
