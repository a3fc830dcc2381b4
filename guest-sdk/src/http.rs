//! Outgoing HTTP, in the spirit of the Go SDK's `httpclient`: a small
//! blocking client over `wasi:http`.
//!
//! The host governs every request: it only lets through requests to the
//! datasource's own URL and to hosts the operator granted, and it applies
//! the datasource's HTTP settings (basic auth, custom headers, TLS client
//! certificate and CA, timeout) to requests to the datasource's URL. So a
//! plugin calls its API without handling credentials:
//!
//! ```no_run
//! # use grafana_wasm_sdk::backend::DataSourceInstanceSettings;
//! # fn f(settings: &DataSourceInstanceSettings) -> Result<(), grafana_wasm_sdk::http::HttpError> {
//! let client = settings.http_client();
//! let response = client.get("/api/health").send()?;
//! if response.status == 200 {
//!     let body: serde_json::Value = response.json()?;
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a request produced no response. Converts into a
/// [`backend::Error`](crate::backend::Error) with the right source, so `?`
/// works in handlers.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::Error;
/// use grafana_wasm_sdk::http::HttpError;
///
/// let timeout = HttpError { message: "GET http://api/: timed out".into(), refused: false };
/// assert!(Error::from(timeout).is_downstream());
///
/// let refused = HttpError { message: "GET http://other/: refused by the sandbox".into(), refused: true };
/// assert!(Error::from(refused).is_plugin());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// What went wrong, naming the URL.
    pub message: String,
    /// Whether the sandbox refused the request (host not allowed, address
    /// forbidden), as opposed to the network or the server failing.
    pub refused: bool,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for crate::backend::Error {
    /// Failed requests are the downstream service's fault, except refusals
    /// by the sandbox, which are the plugin's (or its configuration's).
    fn from(err: HttpError) -> Self {
        if err.refused {
            crate::backend::Error::plugin(err.message)
        } else {
            crate::backend::Error::downstream(err.message)
        }
    }
}

/// A response, its body read in full: datasource answers are parsed as a
/// whole, and the host caps their size.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::http::Response;
///
/// let response = Response {
///     status: 200,
///     headers: vec![("content-type".into(), "application/json".into())],
///     body: br#"{"status": "ok"}"#.to_vec(),
/// };
/// assert_eq!(response.header("Content-Type"), Some("application/json"));
/// let body: serde_json::Value = response.json()?;
/// assert_eq!(body["status"], "ok");
/// # Ok::<(), grafana_wasm_sdk::http::HttpError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive), e.g. to read a
    /// pagination cursor or a rate-limit reset.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced), e.g. for error messages
    /// quoting what the server said.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::http::Response;
    ///
    /// let response = Response { status: 503, headers: Vec::new(), body: b"overloaded".to_vec() };
    /// assert_eq!(response.text(), "overloaded");
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`, the usual way to read an API's
    /// answer.
    ///
    /// # Errors
    /// When the body is not JSON of type `T`; the error says why.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::http::Response;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Health { version: String }
    ///
    /// let ok = Response { status: 200, headers: Vec::new(), body: br#"{"version":"2.1"}"#.to_vec() };
    /// assert_eq!(ok.json::<Health>()?.version, "2.1");
    ///
    /// let html = Response { status: 200, headers: Vec::new(), body: b"<html>".to_vec() };
    /// assert!(html.json::<Health>().unwrap_err().message.contains("not the JSON expected"));
    /// # Ok::<(), grafana_wasm_sdk::http::HttpError>(())
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|err| HttpError {
            message: format!("the response body is not the JSON expected: {err}"),
            refused: false,
        })
    }
}

/// A request being built, then [sent](Request::send). Usually made by an
/// [`HttpClient`], which resolves paths against the datasource's URL.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use grafana_wasm_sdk::http::Request;
///
/// let request = Request::new("post", "http://api:8080/search")
///     .header("accept", "application/json")
///     .json(&serde_json::json!({ "q": "error" }))?
///     .timeout(Duration::from_secs(10));
/// assert_eq!(request.method, "POST");
/// assert_eq!(request.body, br#"{"q":"error"}"#);
/// assert!(request.headers.contains(&("content-type".into(), "application/json".into())));
/// # Ok::<(), grafana_wasm_sdk::http::HttpError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// Body to send.
    pub body: Vec<u8>,
    /// Longest wait for the response head; the host's own limit applies too.
    pub timeout: Option<Duration>,
}

impl Request {
    /// A request with `method` (any case) to the absolute `url`, for URLs
    /// outside the datasource's (which the operator must allow).
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
        }
    }

    /// Adds a header (repeat for several values).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body, as bytes or a `String`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and its content type, for APIs taking JSON queries.
    ///
    /// # Errors
    /// When `value` cannot be serialized (e.g. a map with non-string keys).
    pub fn json<T: Serialize>(self, value: &T) -> Result<Self, HttpError> {
        let body = serde_json::to_vec(value).map_err(|err| HttpError {
            message: format!("cannot serialize the request body: {err}"),
            refused: false,
        })?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Sets how long to wait for the response head, shorter than the host's
    /// limit, e.g. to fail a health check fast.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and reads the whole response.
    ///
    /// An HTTP error status (4xx, 5xx) is a response, not an error: check
    /// [`Response::status`].
    ///
    /// # Errors
    /// [`HttpError`] naming the URL: refused by the sandbox, unreachable,
    /// timed out, or a response larger than the host allows. Outside the
    /// sandbox (native tests) every request fails as refused.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use grafana_wasm_sdk::backend::Error;
    /// use grafana_wasm_sdk::http::Request;
    ///
    /// let response = Request::new("GET", "https://status.example.com/api/v2/status.json").send()?;
    /// if response.status != 200 {
    ///     return Err(Error::downstream(format!("status page answered {}", response.status)));
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn send(self) -> Result<Response, HttpError> {
        imp::send(self)
    }
}

/// A client for one base URL, usually a datasource's `url` (see
/// [`DataSourceInstanceSettings::http_client`](crate::backend::DataSourceInstanceSettings::http_client)),
/// so that handlers name API paths only.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::http::HttpClient;
///
/// let client = HttpClient::new("http://prometheus:9090");
/// let request = client.get("/api/v1/query?query=up");
/// assert_eq!(request.url, "http://prometheus:9090/api/v1/query?query=up");
/// assert_eq!(client.post("api/v1/query").method, "POST");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpClient {
    base_url: String,
}

impl HttpClient {
    /// A client resolving paths against `base_url`, for APIs other than the
    /// datasource's own URL.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
        }
    }

    /// The absolute URL of `path` (an absolute URL is kept as is), joined
    /// with exactly one slash whatever the base and path end and start with.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::http::HttpClient;
    ///
    /// let client = HttpClient::new("http://api/v1/");
    /// assert_eq!(client.url("/items"), "http://api/v1/items");
    /// assert_eq!(client.url("https://cdn/x"), "https://cdn/x");
    /// ```
    pub fn url(&self, path: &str) -> String {
        if path.contains("://") {
            return path.to_owned();
        }
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// A GET request for `path`, to send or refine.
    pub fn get(&self, path: &str) -> Request {
        Request::new("GET", self.url(path))
    }

    /// A POST request for `path`, to add a body to.
    pub fn post(&self, path: &str) -> Request {
        Request::new("POST", self.url(path))
    }

    /// A request with any method for `path` (PUT, DELETE, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::http::HttpClient;
    ///
    /// let request = HttpClient::new("http://api").request("delete", "/cache");
    /// assert_eq!((request.method.as_str(), request.url.as_str()), ("DELETE", "http://api/cache"));
    /// ```
    pub fn request(&self, method: &str, path: &str) -> Request {
        Request::new(method, self.url(path))
    }
}

/// A GET request for the absolute `url`, sent: a one-liner for simple
/// fetches from allowed hosts.
///
/// # Errors
/// See [`Request::send`].
///
/// # Examples
///
/// ```no_run
/// let body = grafana_wasm_sdk::http::get("https://api.example.com/health")?.text();
/// # Ok::<(), grafana_wasm_sdk::http::HttpError>(())
/// ```
pub fn get(url: &str) -> Result<Response, HttpError> {
    Request::new("GET", url).send()
}

/// The parts of an absolute URL `wasi:http` wants.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct UrlParts<'a> {
    https: bool,
    authority: &'a str,
    path_and_query: String,
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn split_url(url: &str) -> Result<UrlParts<'_>, HttpError> {
    let invalid = || HttpError {
        message: format!("{url:?} is not an absolute http or https URL"),
        refused: false,
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(invalid()),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() {
        return Err(invalid());
    }
    Ok(UrlParts {
        https,
        authority,
        path_and_query: match path.starts_with('/') {
            true => path.to_owned(),
            false => format!("/{path}"),
        },
    })
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions,
        Scheme,
    };
    use wasip2::io::streams::StreamError;

    use super::{HttpError, Request, Response, split_url};

    /// Largest chunk `blocking-write-and-flush` accepts.
    const WRITE_CHUNK: usize = 4096;
    /// Bytes asked for per read.
    const READ_CHUNK: u64 = 64 << 10;

    pub fn send(request: Request) -> Result<Response, HttpError> {
        let url = request.url.clone();
        let fail = |message: String| HttpError {
            message: format!("{} {url}: {message}", request.method),
            refused: false,
        };
        let parts = split_url(&url)?;
        let headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone().into_bytes()))
            .collect();
        let fields =
            Fields::from_list(&headers).map_err(|err| fail(format!("invalid header: {err:?}")))?;
        let outgoing = OutgoingRequest::new(fields);
        let method = match request.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_owned()),
        };
        let scheme = if parts.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let set = outgoing.set_method(&method).is_ok()
            && outgoing.set_scheme(Some(&scheme)).is_ok()
            && outgoing.set_authority(Some(parts.authority)).is_ok()
            && outgoing
                .set_path_with_query(Some(&parts.path_and_query))
                .is_ok();
        if !set {
            return Err(fail("the request line is invalid".into()));
        }
        let body = outgoing
            .body()
            .map_err(|()| fail("no request body".into()))?;
        let options = request.timeout.map(|timeout| {
            let options = RequestOptions::new();
            let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
            let _ = options.set_first_byte_timeout(Some(nanos));
            options
        });
        let pending = outgoing_handler::handle(outgoing, options)
            .map_err(|code| error(&request.method, &url, &code))?;
        {
            let stream = body
                .write()
                .map_err(|()| fail("no request body stream".into()))?;
            for chunk in request.body.chunks(WRITE_CHUNK) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|err| fail(format!("sending the body failed: {err:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|code| error(&request.method, &url, &code))?;
        pending.subscribe().block();
        let incoming = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(error(&request.method, &url, &code)),
            _ => return Err(fail("no response".into())),
        };
        let status = incoming.status();
        let headers = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let body = incoming
            .consume()
            .map_err(|()| fail("no response body".into()))?;
        let bytes = read_all(&body).map_err(|err| match err {
            StreamError::LastOperationFailed(e) => {
                fail(format!("reading the body failed: {}", e.to_debug_string()))
            }
            StreamError::Closed => fail("the body ended early".into()),
        });
        // The trailers future tells why a body was cut short.
        let trailers = IncomingBody::finish(body);
        trailers.subscribe().block();
        if let Some(Ok(Err(code))) = trailers.get() {
            return Err(error(&request.method, &url, &code));
        }
        Ok(Response {
            status,
            headers,
            body: bytes?,
        })
    }

    fn read_all(body: &IncomingBody) -> Result<Vec<u8>, StreamError> {
        let stream = body.stream().map_err(|()| StreamError::Closed)?;
        let mut bytes = Vec::new();
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => return Ok(bytes),
                Err(err) => return Err(err),
            }
        }
    }

    /// A message saying what the host's error code means for this request.
    fn error(method: &str, url: &str, code: &ErrorCode) -> HttpError {
        let (refused, reason) = match code {
            ErrorCode::HttpRequestDenied => (
                true,
                "refused by the sandbox: the host is neither the datasource's URL nor granted in allow_hosts".to_owned(),
            ),
            ErrorCode::DestinationIpProhibited => (
                true,
                "refused by the sandbox: the host resolves to a loopback, link-local or metadata address (grant it with allow_addresses)".to_owned(),
            ),
            ErrorCode::HttpResponseBodySize(limit) => (
                false,
                format!("the response is larger than the host allows ({} bytes)", limit.unwrap_or_default()),
            ),
            ErrorCode::InternalError(Some(message)) => (false, message.clone()),
            other => (false, format!("{other:?}")),
        };
        HttpError {
            message: format!("{method} {url}: {reason}"),
            refused,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{HttpError, Request, Response};

    /// Outside the sandbox there is no host to send through: tests of
    /// handlers that call out should put the call behind a trait.
    pub fn send(request: Request) -> Result<Response, HttpError> {
        Err(HttpError {
            message: format!(
                "{} {}: outgoing HTTP is only available inside the grafana-wasm sandbox",
                request.method, request.url
            ),
            refused: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_the_base_url() {
        let client = HttpClient::new("http://localhost:9090/prefix/");
        assert_eq!(client.url("/api/v1"), "http://localhost:9090/prefix/api/v1");
        assert_eq!(client.url("api"), "http://localhost:9090/prefix/api");
        assert_eq!(client.url("https://other/x"), "https://other/x");
    }

    #[test]
    fn urls_split_into_what_wasi_http_wants() {
        let parts = split_url("https://example.com:8443/a/b?c=d").unwrap();
        assert!(parts.https);
        assert_eq!(parts.authority, "example.com:8443");
        assert_eq!(parts.path_and_query, "/a/b?c=d");
        assert_eq!(split_url("http://h?x=1").unwrap().path_and_query, "/?x=1");
        assert_eq!(split_url("http://h").unwrap().path_and_query, "/");
        assert!(split_url("ftp://h/").is_err());
        assert!(split_url("/relative").is_err());
        assert!(split_url("http:///x").is_err());
    }
}
