//! Governed outgoing HTTP: the guest's `wasi:http` requests go through
//! here, where the host
//! - refuses hosts outside the allow-list (the datasource's own URL plus the
//!   `allow_hosts` grants) and names that resolve to forbidden addresses;
//! - applies the datasource's HTTP settings to requests to its own URL, as
//!   the Go SDK's `httpclient` does: basic auth, custom headers, TLS options
//!   and timeout. Secrets are added here, so a plugin configured with
//!   `raw_secrets = false` works without ever holding them;
//! - bounds the response body in size (`http_max_response_mb`, lowered by
//!   Grafana's `GF_RESPONSE_LIMIT`) and the exchange in time.

mod connect;
mod observe;
mod policy;
mod send;
mod settings;
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::{AUTHORIZATION, HeaderName};
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

pub use policy::{AddressPolicy, Refusal};
pub use settings::{DataSourceHttp, Origin, TlsSettings};

use super::config::{SandboxConfig, seconds};
use crate::metrics::Account;
use crate::traces::CallTrace;
use connect::Connector;
use observe::{Direction, Observed};

/// The outgoing HTTP rules of a plugin, from its sandbox configuration.
#[derive(Debug)]
pub struct HttpPolicy {
    addresses: Arc<AddressPolicy>,
    /// Sends the requests that are not to a datasource's own URL, each on
    /// a connection of its own.
    unpooled: send::Client,
    timeout: Duration,
    max_response_bytes: u64,
}

impl HttpPolicy {
    /// The rules of `config`.
    ///
    /// # Errors
    /// An invalid `allow_hosts` entry, named.
    pub fn new(config: &SandboxConfig) -> Result<Self, String> {
        let addresses = Arc::new(AddressPolicy::new(
            &config.allow_hosts,
            &config.allow_addresses,
        )?);
        let timeout = seconds(config.http_timeout_seconds);
        let connector = Connector::new(addresses.clone(), &TlsSettings::default(), timeout);
        Ok(Self {
            addresses,
            unpooled: send::client(connector, 0),
            timeout,
            max_response_bytes: config.http_max_response_bytes(),
        })
    }
}

/// What a call's requests need to know about the call: the datasource
/// addressed, Grafana's response limit, the span they are made in and the
/// account they are charged to.
#[derive(Clone, Default)]
pub struct CallHttp {
    /// The datasource's HTTP settings, secrets included.
    pub datasource: Option<Arc<DataSourceHttp>>,
    /// `GF_RESPONSE_LIMIT` from the call's Grafana configuration.
    pub response_limit: Option<u64>,
    /// The span of the guest's execution: each request is a child.
    pub trace: CallTrace,
    /// The datasource's account.
    pub account: Option<Arc<Account>>,
}

/// The `wasi:http` hooks of one guest instance.
pub struct OutboundHttp {
    policy: Arc<HttpPolicy>,
    /// The call in progress.
    pub call: CallHttp,
    /// Connections the instance may have open at once.
    connections: Arc<Semaphore>,
}

/// Connections one instance may have open at once: each holds hyper's and
/// TLS's buffers (up to about 0.5 MiB) until its response is read or
/// dropped, outside the instance's memory cap.
pub const MAX_CONNECTIONS: usize = 8;

impl OutboundHttp {
    /// Hooks applying `policy`, with no call in progress.
    pub fn new(policy: Arc<HttpPolicy>) -> Self {
        Self {
            policy,
            call: CallHttp::default(),
            connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Result<send::Sent, Error>> + Send> {
        let policy = self.policy.clone();
        let call = self.call.clone();
        let Ok(connection) = self.connections.clone().try_acquire_owned() else {
            tracing::warn!(
                limit = MAX_CONNECTIONS,
                "outgoing HTTP request refused: the instance has too many connections open"
            );
            return Box::new(std::future::ready(Err(Error::ConnectionLimitReached)));
        };
        Box::new(async move { dispatch(&policy, &call, request, options, connection).await })
    }

    /// One buffered chunk per outgoing body, of at most [`BODY_CHUNK_SIZE`]
    /// bytes: what a body holds in host memory stays within the charge of
    /// one resource.
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        1
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK_SIZE
    }
}

/// Largest write to an outgoing request body, buffered until sent.
pub const BODY_CHUNK_SIZE: usize = 32 * 1024;

/// Checks, completes and sends one request, logging its outcome (never
/// its headers).
async fn dispatch(
    policy: &HttpPolicy,
    call: &CallHttp,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    slot: OwnedSemaphorePermit,
) -> Result<send::Sent, Error> {
    let uri = request.uri();
    let origin = uri
        .authority()
        .and_then(|authority| Origin::new(uri.scheme(), authority))
        .ok_or(Error::HttpRequestUriInvalid)?;
    let datasource = call.datasource.as_deref();
    let ds_origin = datasource.and_then(|ds| ds.origin.as_ref());
    if let Err(refusal) = policy.addresses.check_host(&origin, ds_origin) {
        tracing::warn!(reason = %refusal, "outgoing HTTP request refused");
        return Err(Error::HttpRequestDenied);
    }
    let own = datasource.filter(|_| ds_origin == Some(&origin));
    if let Some(ds) = own {
        apply_settings(ds, request.headers_mut());
    }
    let timeout = own.and_then(|ds| ds.timeout).unwrap_or(policy.timeout);
    let client = own.map_or(&policy.unpooled, |ds| {
        ds.pool.client(&policy.addresses, &ds.tls, policy.timeout)
    });
    let target = send::Target {
        client,
        slot,
        deadline: (Instant::now() + timeout).into(),
        max_response_bytes: call
            .response_limit
            .map_or(policy.max_response_bytes, |limit| {
                limit.min(policy.max_response_bytes)
            }),
    };
    let method = request.method().clone();
    let span = call.trace.http_request(
        method.as_str(),
        &origin.host,
        origin.port,
        request.uri().path(),
    );
    span.inject(request.headers_mut());
    if let Some(account) = &call.account {
        account.http_request();
    }
    let account = call.account.clone();
    let request = request
        .map(|body| Observed::new(body, Direction::Sent, account.clone(), None).boxed_unsync());
    let started = Instant::now();
    let outcome = send::send(target, request, options).await;
    match outcome {
        Ok((response, finish)) => {
            let status = response.status().as_u16();
            tracing::debug!(%method, %origin, status, elapsed = ?started.elapsed(), "outgoing HTTP request");
            span.set("http.response.status_code", i64::from(status));
            if status >= 500 {
                span.fail(&format!("HTTP {status}"));
            }
            // The span ends once the guest is done with the body.
            let response = response.map(|body| {
                Observed::new(body, Direction::Received, account, Some(span)).boxed_unsync()
            });
            Ok((response, finish))
        }
        Err(err) => {
            tracing::warn!(%method, %origin, error = ?err, "outgoing HTTP request failed");
            span.set("error.type", format!("{err:?}"));
            span.fail(&err.to_string());
            Err(err)
        }
    }
}

/// Basic auth (unless the guest set its own Authorization) and custom
/// headers, as the Go SDK's middlewares add them.
fn apply_settings(ds: &DataSourceHttp, headers: &mut http::HeaderMap) {
    if let Some((user, password)) = &ds.basic_auth
        && !headers.contains_key(AUTHORIZATION)
    {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {token}")) {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
    }
    for (name, value) in &ds.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(mut value)) => {
                value.set_sensitive(true);
                headers.insert(name, value);
            }
            _ => {
                tracing::warn!(header = %name, "custom header of the datasource is not a valid HTTP header; skipped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;

    use futures_util::FutureExt as _;
    use http_body_util::{BodyExt as _, Empty};

    use super::*;

    /// A request to a server on loopback that accepts and never answers.
    fn request(port: u16) -> http::Request<WasiBody> {
        let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
        http::Request::get(format!("http://127.0.0.1:{port}/"))
            .body(body)
            .unwrap()
    }

    #[tokio::test]
    async fn an_instance_opens_at_most_max_connections_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = SandboxConfig {
            allow_hosts: vec!["127.0.0.1".into()],
            allow_addresses: vec!["127.0.0.1/32".parse().unwrap()],
            ..SandboxConfig::default()
        };
        let mut hooks = OutboundHttp::new(Arc::new(HttpPolicy::new(&config).unwrap()));
        let send = |hooks: &mut OutboundHttp| -> Pin<Box<dyn Future<Output = _> + Send>> {
            let unused = Box::new(std::future::ready(Ok(())));
            Box::into_pin(hooks.send_request(request(port), None, unused))
        };
        let mut open: Vec<_> = (0..MAX_CONNECTIONS).map(|_| send(&mut hooks)).collect();
        for pending in &mut open {
            assert!(pending.as_mut().now_or_never().is_none(), "connecting");
        }
        let refused = send(&mut hooks).await;
        assert!(matches!(refused, Err(Error::ConnectionLimitReached)));
        drop(open);
        let again = send(&mut hooks);
        assert!(
            !matches!(
                again.now_or_never(),
                Some(Err(Error::ConnectionLimitReached))
            ),
            "a dropped request frees its slot"
        );
    }
}
