//! Opening one outgoing connection: resolve the host, keep the addresses
//! the policy permits, connect to the first that answers (with
//! `TCP_NODELAY`), then TLS with the connector's configuration. Every
//! connection a pool opens comes from here, so a reused connection was
//! checked when it was opened.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use wasmtime_wasi_http::p2::bindings::http::types::{DnsErrorPayload, ErrorCode};

use super::policy::AddressPolicy;
use super::settings::{Origin, TlsSettings};
use super::tls;

tokio::task_local! {
    /// When the request being sent must have its connection: its
    /// `connect-timeout`, within the exchange's deadline.
    pub static CONNECT_DEADLINE: Instant;
}

/// Opens connections to permitted addresses with one set of TLS settings.
#[derive(Clone)]
pub struct Connector {
    addresses: Arc<AddressPolicy>,
    tls: Arc<LazyTls>,
    /// Bounds a connection no request waits for (one a pool finishes
    /// opening after its request found another).
    timeout: Duration,
}

/// TLS settings and the client configuration built from them at the first
/// HTTPS connection (reading the machine's trust store is not start-up
/// work, and a plain-HTTP datasource never needs it).
struct LazyTls {
    settings: TlsSettings,
    config: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl Connector {
    /// Connections to `addresses` with `settings` (an unusable TLS setting
    /// fails each HTTPS connection, naming the setting).
    pub fn new(addresses: Arc<AddressPolicy>, settings: &TlsSettings, timeout: Duration) -> Self {
        Self {
            addresses,
            tls: Arc::new(LazyTls {
                settings: settings.clone(),
                config: OnceLock::new(),
            }),
            timeout,
        }
    }

    async fn open(self, uri: http::Uri, deadline: Instant) -> Result<TokioIo<Link>, ErrorCode> {
        let origin = uri
            .authority()
            .and_then(|authority| Origin::new(uri.scheme(), authority))
            .ok_or(ErrorCode::HttpRequestUriInvalid)?;
        let addresses = resolve(&origin, deadline).await?;
        let addresses = self
            .addresses
            .permitted(&origin.host, &addresses)
            .map_err(|refusal| {
                tracing::warn!(reason = %refusal, "outgoing HTTP request refused");
                ErrorCode::DestinationIpProhibited
            })?;
        let opened = async {
            let tcp = connect(&addresses, origin.port).await?;
            if origin.https {
                let stream = self.handshake_tls(tcp, &origin).await?;
                Ok(Link(Box::new(stream)))
            } else {
                Ok(Link(Box::new(tcp)))
            }
        };
        tokio::time::timeout_at(deadline, opened)
            .await
            .map_err(|_| ErrorCode::ConnectionTimeout)?
            .map(TokioIo::new)
    }

    async fn handshake_tls(
        &self,
        tcp: TcpStream,
        origin: &Origin,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ErrorCode> {
        let built = self
            .tls
            .config
            .get_or_init(|| tls::client_config(&self.tls.settings).map(Arc::new));
        let config = built.clone().map_err(|message| {
            tracing::warn!(error = %message, "the datasource's TLS settings are unusable");
            ErrorCode::InternalError(Some(message))
        })?;
        let name = self
            .tls
            .settings
            .server_name
            .as_deref()
            .unwrap_or(&origin.host);
        let name = ServerName::try_from(name.to_owned()).map_err(|_| {
            ErrorCode::InternalError(Some(format!("{name:?} is not a valid TLS server name")))
        })?;
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|err| {
                let message = format!("TLS handshake with {origin} failed: {err}");
                tracing::warn!(error = %message, "outgoing HTTPS connection refused");
                ErrorCode::InternalError(Some(message))
            })
    }
}

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<Link>;
    type Error = ErrorCode;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<Link>, ErrorCode>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ErrorCode>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let deadline = CONNECT_DEADLINE
            .try_with(|deadline| *deadline)
            .unwrap_or_else(|_| Instant::now() + self.timeout);
        Box::pin(self.clone().open(uri, deadline))
    }
}

/// The addresses of the origin's host.
async fn resolve(origin: &Origin, deadline: Instant) -> Result<Vec<IpAddr>, ErrorCode> {
    if let Ok(address) = origin.host.parse::<IpAddr>() {
        return Ok(vec![address]);
    }
    let lookup = tokio::net::lookup_host((origin.host.as_str(), origin.port));
    let resolved = tokio::time::timeout_at(deadline, lookup)
        .await
        .map_err(|_| ErrorCode::DnsTimeout)?
        .map_err(|err| {
            ErrorCode::DnsError(DnsErrorPayload {
                rcode: Some(err.to_string()),
                info_code: None,
            })
        })?;
    Ok(resolved.map(|address| address.ip()).collect())
}

/// A connection to the first of `addresses` that answers.
async fn connect(addresses: &[IpAddr], port: u16) -> Result<TcpStream, ErrorCode> {
    let mut last = ErrorCode::DestinationNotFound;
    for address in addresses {
        match TcpStream::connect(SocketAddr::new(*address, port)).await {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(|err| refused(&err))?;
                return Ok(stream);
            }
            Err(err) => last = refused(&err),
        }
    }
    Err(last)
}

/// A connection failure as the guest sees it (wasmtime's default for
/// connect errors), logged with its cause.
fn refused(err: &io::Error) -> ErrorCode {
    if err.kind() != io::ErrorKind::ConnectionRefused {
        tracing::debug!(error = %err, "outgoing connection failed");
    }
    ErrorCode::ConnectionRefused
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// An open connection, plain or TLS.
pub struct Link(Box<dyn Stream>);

impl Link {
    fn stream(self: Pin<&mut Self>) -> Pin<&mut dyn Stream> {
        Pin::new(&mut *self.get_mut().0)
    }
}

impl Connection for Link {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }
}
