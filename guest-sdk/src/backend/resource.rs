//! HTTP-style resource calls from the plugin's frontend.

use std::collections::BTreeMap;

use super::{Error, PluginContext};

/// HTTP headers: one name, several values.
pub type Headers = BTreeMap<String, Vec<String>>;

/// A resource call. `Default` gives an empty request, handy in native
/// tests.
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

/// One message of a resource answer.
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
    /// A plain-text answer.
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

    /// A JSON answer.
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
/// `CallResourceResponseSender`.
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

/// Handles resource calls.
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
