//! Sending one outgoing request for a guest: resolve, check the addresses,
//! connect to a checked address, TLS with the datasource's options, HTTP/1,
//! and a response body bounded in size and time.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use super::policy::AddressPolicy;
use super::settings::{Origin, TlsSettings};

/// A response and the future that drives its connection to the end.
pub type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// How one request is sent.
pub struct Target<'a> {
    /// Where it goes (already allowed by the host check).
    pub origin: &'a Origin,
    /// Which addresses it may reach.
    pub policy: &'a AddressPolicy,
    /// TLS configuration, prepared once per set of TLS settings.
    pub tls: &'a TlsConfigs,
    /// TLS options (the datasource's, for its own origin).
    pub tls_settings: &'a TlsSettings,
    /// When the whole exchange, body included, must be over.
    pub deadline: Instant,
    /// Largest response body.
    pub max_response_bytes: u64,
}

/// Sends `request` to `target`.
///
/// # Errors
/// The `wasi:http` error the guest receives; refusals are
/// [`Error::DestinationIpProhibited`].
pub async fn send(
    target: Target<'_>,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<Sent, Error> {
    let deadline = target.deadline;
    let connect_deadline = options
        .and_then(|o| o.connect_timeout)
        .map_or(deadline, |timeout| deadline.min(Instant::now() + timeout));
    let addresses = resolve(target.origin, connect_deadline).await?;
    let addresses = target
        .policy
        .permitted(&target.origin.host, &addresses)
        .map_err(|refusal| {
            tracing::warn!(reason = %refusal, "outgoing HTTP request refused");
            Error::DestinationIpProhibited
        })?;
    let tcp = tokio::time::timeout_at(connect_deadline, connect(&addresses, target.origin.port))
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
    let stream: Box<dyn Stream> = if target.origin.https {
        let tls = tokio::time::timeout_at(
            connect_deadline,
            handshake_tls(tcp, target.origin, target.tls, target.tls_settings),
        )
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(Error::from)?;

    // Only the path goes on the request line of a direct connection.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

    let first_byte_deadline = options
        .and_then(|o| o.first_byte_timeout)
        .map_or(deadline, |timeout| deadline.min(Instant::now() + timeout));
    let mut connection = Box::pin(connection);
    let mut exchange = Box::pin(sender.send_request(request));
    // Drive the connection while waiting for the response head.
    let head = tokio::time::timeout_at(
        first_byte_deadline,
        futures_util::future::poll_fn(|cx| {
            if let Poll::Ready(result) = exchange.as_mut().poll(cx) {
                return Poll::Ready(result.map_err(Error::from));
            }
            match connection.as_mut().poll(cx) {
                Poll::Ready(Err(err)) => Poll::Ready(Err(Error::from(err))),
                _ => Poll::Pending,
            }
        }),
    )
    .await
    .map_err(|_| Error::ConnectionReadTimeout)??;
    let response = head.map(|incoming| {
        BoundedBody {
            incoming,
            remaining: target.max_response_bytes,
            limit: target.max_response_bytes,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
        }
        .boxed_unsync()
    });
    let finish = async move { connection.await.map_err(Error::from) };
    Ok((response, Box::new(finish)))
}

/// The addresses of the origin's host.
async fn resolve(origin: &Origin, deadline: Instant) -> Result<Vec<IpAddr>, Error> {
    if let Ok(address) = origin.host.parse::<IpAddr>() {
        return Ok(vec![address]);
    }
    let lookup = tokio::net::lookup_host((origin.host.as_str(), origin.port));
    let resolved = tokio::time::timeout_at(deadline, lookup)
        .await
        .map_err(|_| Error::DnsTimeout)?
        .map_err(|err| Error::DnsError {
            rcode: Some(err.to_string()),
            info_code: None,
        })?;
    Ok(resolved.map(|address| address.ip()).collect())
}

/// A connection to the first of `addresses` that answers.
async fn connect(addresses: &[IpAddr], port: u16) -> Result<TcpStream, Error> {
    let mut last = Error::DestinationNotFound;
    for address in addresses {
        match TcpStream::connect(SocketAddr::new(*address, port)).await {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(Error::Connect)?;
                return Ok(stream);
            }
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = Error::ConnectionRefused;
            }
            Err(err) => last = Error::Connect(err),
        }
    }
    Err(last)
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

async fn handshake_tls(
    tcp: TcpStream,
    origin: &Origin,
    configs: &TlsConfigs,
    settings: &TlsSettings,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let config = configs.get(settings).map_err(|message| {
        tracing::warn!(error = %message, "the datasource's TLS settings are unusable");
        Error::InternalError(Some(message))
    })?;
    let name = settings.server_name.as_deref().unwrap_or(&origin.host);
    let name = ServerName::try_from(name.to_owned()).map_err(|_| {
        Error::InternalError(Some(format!("{name:?} is not a valid TLS server name")))
    })?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|err| {
            let message = format!("TLS handshake with {origin} failed: {err}");
            tracing::warn!(error = %message, "outgoing HTTPS connection refused");
            Error::InternalError(Some(message))
        })
}

/// Most TLS configurations kept: one per datasource settings version in
/// use, as the host's known instances.
const MAX_TLS_CONFIGS: usize = 256;

/// TLS client configurations, each built once per set of TLS settings
/// (parsing PEM and copying the trust store is not per request).
#[derive(Default)]
pub struct TlsConfigs {
    prepared: Mutex<HashMap<TlsSettings, Result<Arc<rustls::ClientConfig>, String>>>,
}

impl std::fmt::Debug for TlsConfigs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfigs").finish_non_exhaustive()
    }
}

impl TlsConfigs {
    /// The configuration for `settings`, built on first use.
    ///
    /// # Errors
    /// The setting at fault, named.
    pub fn get(&self, settings: &TlsSettings) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut prepared = self.prepared.lock().expect("TLS configurations lock");
        if let Some(config) = prepared.get(settings) {
            return config.clone();
        }
        let config = client_config(settings).map(Arc::new);
        if prepared.len() >= MAX_TLS_CONFIGS {
            prepared.clear();
        }
        prepared.insert(settings.clone(), config.clone());
        config
    }
}

/// The trust store of this machine, read once: the system's certificates
/// (or `SSL_CERT_FILE` / `SSL_CERT_DIR`, which Grafana passes on, as Go
/// reads them), else, on a machine without any, the bundled web roots.
fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for err in &found.errors {
            tracing::warn!(error = %err, "cannot read some of the system's CA certificates");
        }
        let mut roots = rustls::RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        if ignored > 0 {
            tracing::warn!(ignored, "unusable system CA certificates ignored");
        }
        if added == 0 {
            tracing::warn!("no system CA certificates found; trusting the bundled web roots");
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        roots
    })
}

/// A rustls configuration trusting the system's store plus the
/// datasource's CA, with its client certificate, and no verification when
/// it skips it.
fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?;
    let builder = if settings.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        let mut roots = system_roots().clone();
        if let Some(pem) = &settings.ca_cert {
            let before = roots.len();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert =
                    cert.map_err(|err| format!("tlsCACert is not a PEM certificate: {err}"))?;
                roots
                    .add(cert)
                    .map_err(|err| format!("tlsCACert is not usable: {err}"))?;
            }
            if roots.len() == before {
                return Err("tlsCACert holds no PEM certificate".into());
            }
        }
        builder.with_root_certificates(roots)
    };
    match &settings.client_cert {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| format!("tlsClientCert is not a PEM certificate: {err}"))?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|err| format!("tlsClientKey is not a PEM private key: {err}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|err| format!("tlsClientCert and tlsClientKey do not match: {err}"))
        }
    }
}

/// `tlsSkipVerify`: accepts any server certificate, still checking that
/// the handshake signatures are well formed.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A response body that fails once it is larger than the limit or still
/// arriving after the deadline.
struct BoundedBody {
    incoming: Incoming,
    remaining: u64,
    limit: u64,
    deadline: Pin<Box<Sleep>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_tls_settings_name_the_setting_at_fault() {
        let bad_ca = TlsSettings {
            ca_cert: Some("not a certificate".into()),
            ..TlsSettings::default()
        };
        let err = client_config(&bad_ca).unwrap_err();
        assert!(err.contains("tlsCACert"), "{err}");
        let bad_client = TlsSettings {
            client_cert: Some(("no cert".into(), "no key".into())),
            ..TlsSettings::default()
        };
        let err = client_config(&bad_client).unwrap_err();
        assert!(err.contains("tlsClientKey"), "{err}");
    }

    #[test]
    fn skipping_verification_builds_a_configuration() {
        let skip = TlsSettings {
            skip_verify: true,
            server_name: Some("internal".into()),
            ..TlsSettings::default()
        };
        assert!(client_config(&skip).is_ok());
    }
}
