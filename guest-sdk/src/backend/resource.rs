//! HTTP-style resource calls from the plugin's frontend: the plugin's own
//! small HTTP API under `/api/datasources/uid/<uid>/resources/` (or
//! `/api/plugins/<id>/resources/`), for query editor options and the like.

use std::collections::BTreeMap;

use super::{Error, PluginContext};

/// HTTP headers: one name, several values, as Go's `http.Header`.
pub type Headers = BTreeMap<String, Vec<String>>;

/// A resource call: an HTTP request to the plugin, with the plugin context
/// (Go: `backend.CallResourceRequest`). `Default` gives an empty request,
/// handy in native tests.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::CallResourceRequest;
///
/// let req = CallResourceRequest {
///     method: "POST".into(),
///     path: "query/validate".into(),
///     body: br#"{"expr": "up"}"#.to_vec(),
///     ..CallResourceRequest::default()
/// };
/// let body: serde_json::Value = serde_json::from_slice(&req.body)?;
/// assert_eq!(body["expr"], "up");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallResourceRequest {
    /// Who asks.
    pub plugin_context: PluginContext,
    /// The path after `/resources/`, without a leading slash.
    pub path: String,
    /// HTTP method.
    pub method: String,
    /// Path and query string.
    pub url: String,
    /// Request headers.
    pub headers: Headers,
    /// Request body.
    pub body: Vec<u8>,
}

/// One message of a resource answer: status, headers and (a piece of) the
/// body (Go: `backend.CallResourceResponse`). Build common answers with
/// [`CallResourceResponse::text`] and [`CallResourceResponse::json`].
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::CallResourceResponse;
///
/// let csv = CallResourceResponse {
///     status: 200,
///     headers: [("Content-Type".to_owned(), vec!["text/csv".to_owned()])].into(),
///     body: b"a,b\n1,2\n".to_vec(),
/// };
/// assert_eq!(csv.headers["Content-Type"], ["text/csv"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallResourceResponse {
    /// HTTP status (only the first message's counts).
    pub status: u16,
    /// Headers (only the first message's count).
    pub headers: Headers,
    /// A piece of the body.
    pub body: Vec<u8>,
}

impl CallResourceResponse {
    /// A plain-text answer with `status`, for messages and simple values.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::CallResourceResponse;
    ///
    /// let response = CallResourceResponse::text(404, "no such metric");
    /// assert_eq!(response.status, 404);
    /// assert_eq!(response.body, b"no such metric");
    /// assert_eq!(response.headers["Content-Type"], ["text/plain; charset=utf-8"]);
    /// ```
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: [(
                "Content-Type".to_owned(),
                vec!["text/plain; charset=utf-8".to_owned()],
            )]
            .into(),
            body: body.into().into_bytes(),
        }
    }

    /// A JSON answer with `status`: what query editors usually fetch.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::CallResourceResponse;
    /// use serde_json::json;
    ///
    /// let response = CallResourceResponse::json(200, &json!({"metrics": ["cpu", "mem"]}));
    /// assert_eq!(response.headers["Content-Type"], ["application/json"]);
    /// let body: serde_json::Value = serde_json::from_slice(&response.body)?;
    /// assert_eq!(body["metrics"][1], "mem");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: [(
                "Content-Type".to_owned(),
                vec!["application/json".to_owned()],
            )]
            .into(),
            body: body.to_string().into_bytes(),
        }
    }
}

/// Sends the messages of a resource answer, as the Go SDK's
/// `CallResourceResponseSender`: an answer may be streamed in several
/// messages. In native tests, a `Vec<CallResourceResponse>` collects them.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{CallResourceResponse, CallResourceResponseSender};
///
/// let mut sent: Vec<CallResourceResponse> = Vec::new();
/// sent.send(CallResourceResponse::text(200, "part 1"))?;
/// sent.send(CallResourceResponse { body: b"part 2".to_vec(), ..CallResourceResponse::default() })?;
/// assert_eq!(sent.len(), 2);
/// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
/// ```
pub trait CallResourceResponseSender {
    /// Sends one message. The first one carries the status and headers.
    ///
    /// # Errors
    /// When Grafana is gone or the message is invalid.
    fn send(&mut self, response: CallResourceResponse) -> Result<(), Error>;
}

impl CallResourceResponseSender for Vec<CallResourceResponse> {
    /// Collects messages: handy in native tests.
    fn send(&mut self, response: CallResourceResponse) -> Result<(), Error> {
        self.push(response);
        Ok(())
    }
}

/// Handles resource calls (Go: `backend.CallResourceHandler`). For routing
/// by method and path, use a [`ResourceRouter`](super::ResourceRouter).
///
/// # Examples
///
/// A handler is plain Rust, so unit-test it natively by calling it with a
/// `Vec` collecting what it sends:
///
/// ```
/// use grafana_wasm_sdk::backend::*;
///
/// struct Metrics;
///
/// impl CallResourceHandler for Metrics {
///     fn call_resource(
///         &self,
///         req: CallResourceRequest,
///         sender: &mut dyn CallResourceResponseSender,
///     ) -> Result<(), Error> {
///         let response = match req.path.as_str() {
///             "metrics" => CallResourceResponse::json(200, &serde_json::json!(["cpu", "mem"])),
///             other => CallResourceResponse::text(404, format!("no resource {other}")),
///         };
///         sender.send(response)
///     }
/// }
///
/// // The unit test:
/// let mut sent: Vec<CallResourceResponse> = Vec::new();
/// let req = CallResourceRequest { method: "GET".into(), path: "metrics".into(), ..CallResourceRequest::default() };
/// Metrics.call_resource(req, &mut sent)?;
/// assert_eq!(sent[0].status, 200);
/// assert_eq!(sent[0].body, br#"["cpu","mem"]"#);
///
/// let mut sent: Vec<CallResourceResponse> = Vec::new();
/// let req = CallResourceRequest { path: "nope".into(), ..CallResourceRequest::default() };
/// Metrics.call_resource(req, &mut sent)?;
/// assert_eq!(sent[0].status, 404);
/// # Ok::<(), Error>(())
/// ```
pub trait CallResourceHandler {
    /// Answers `req` through `sender`, in one or several messages.
    ///
    /// # Errors
    /// An error failing the call.
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error>;
}

/// Any function or closure taking a request and a sender is a
/// [`CallResourceHandler`] (Go: `backend.CallResourceHandlerFunc`). Name
/// the sender's type in the closure's parameters so that it accepts any
/// sender.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// let echo = |req: CallResourceRequest, sender: &mut dyn CallResourceResponseSender| {
///     sender.send(CallResourceResponse::text(200, String::from_utf8_lossy(&req.body)))
/// };
/// let opts = ServeOpts { call_resource_handler: Some(Rc::new(echo)), ..ServeOpts::default() };
///
/// let mut sent: Vec<CallResourceResponse> = Vec::new();
/// let req = CallResourceRequest { body: b"hi".to_vec(), ..CallResourceRequest::default() };
/// opts.call_resource_handler.unwrap().call_resource(req, &mut sent)?;
/// assert_eq!(sent[0].body, b"hi");
/// # Ok::<(), Error>(())
/// ```
impl<F> CallResourceHandler for F
where
    F: Fn(CallResourceRequest, &mut dyn CallResourceResponseSender) -> Result<(), Error>,
{
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        self(req, sender)
    }
}
