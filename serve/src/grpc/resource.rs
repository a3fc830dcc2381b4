//! `pluginv2.Resource`: CallResource, answered in one or several messages.

use std::collections::HashMap;
use std::sync::Arc;

use grafana_wasm_proto::pluginv2 as pb;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::pump::{self, Forward, Outgoing};
use crate::capabilities::Outbox;
use crate::convert::{from_proto, to_proto};
use crate::rpc::Rpc;
use crate::runtime::{CallError, Runtime};
use crate::wit::handlers::resource;
use crate::wit::types::CallResourceResponse;

/// Serves the `Resource` service.
pub struct ResourceService {
    runtime: Arc<Runtime>,
}

impl ResourceService {
    /// A resource service calling into `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }
}

#[tonic::async_trait]
impl pb::resource_server::Resource for ResourceService {
    type CallResourceStream = Outgoing<pb::CallResourceResponse>;

    async fn call_resource(
        &self,
        request: Request<pb::CallResourceRequest>,
    ) -> Result<Response<Self::CallResourceStream>, Status> {
        let incoming = super::incoming(&request, Rpc::CallResource);
        let mut request = from_proto::call_resource_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let (sender, from_guest) = mpsc::channel(pump::CAPACITY);
        let outbox = Outbox {
            resource: Some(sender),
            ..Outbox::default()
        };
        let runtime = self.runtime.clone();
        let call = async move {
            // The RPC's span lasts until the guest's answer is complete.
            let _incoming = incoming;
            runtime
                .call::<resource::GuestIndices, _>(scope, outbox, |guest, store| {
                    Box::pin(async move { guest.call_call_resource(store, &request).await })
                })
                .await
        };
        Ok(Response::new(pump::pump(
            from_guest,
            call,
            ResourceAnswer::default(),
        )))
    }
}

/// Keeps the HTTP answer well-formed: the first message must carry a valid
/// status (100-599), and an answer with no message at all becomes a 500
/// with an explanation rather than an empty stream.
#[derive(Default)]
struct ResourceAnswer {
    /// A first message went out.
    started: bool,
    /// The first message had an invalid status: the rest is dropped.
    rejected: bool,
}

/// A 500 answer explaining what the plugin did wrong.
fn internal_error(explanation: String) -> pb::CallResourceResponse {
    tracing::warn!(%explanation, "invalid resource answer from the plugin");
    let body = serde_json::json!({ "message": explanation }).to_string();
    pb::CallResourceResponse {
        code: 500,
        headers: [(
            "Content-Type".to_owned(),
            pb::StringList {
                values: vec!["application/json".to_owned()],
            },
        )]
        .into(),
        body: body.into_bytes(),
    }
}

/// The headers Grafana may pass on to the browser: a name that is not an
/// HTTP token, or a value with a control character (CR and LF would split
/// Grafana's response and let the plugin forge headers), is dropped and
/// logged, never its value (it may hold a secret).
fn valid_headers(headers: HashMap<String, pb::StringList>) -> HashMap<String, pb::StringList> {
    headers
        .into_iter()
        .filter_map(|(name, mut list)| {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                tracing::warn!(header = ?name, "the plugin's resource answer has an invalid header name; header dropped");
                return None;
            }
            let before = list.values.len();
            list.values
                .retain(|value| http::HeaderValue::from_str(value).is_ok());
            if list.values.len() < before {
                tracing::warn!(header = %name, dropped = before - list.values.len(), "the plugin's resource answer has header values with control characters; values dropped");
            }
            (!list.values.is_empty()).then_some((name, list))
        })
        .collect()
}

impl Forward<CallResourceResponse, pb::CallResourceResponse> for ResourceAnswer {
    fn forward(
        &mut self,
        message: CallResourceResponse,
    ) -> Option<Result<pb::CallResourceResponse, Status>> {
        if self.rejected {
            return None;
        }
        if !self.started {
            self.started = true;
            // Only the first message's status counts; Grafana ignores later ones.
            if !(100..=599).contains(&message.status) {
                self.rejected = true;
                return Some(Ok(internal_error(format!(
                    "the plugin answered with HTTP status {}, outside 100-599",
                    message.status
                ))));
            }
        }
        let mut response = to_proto::call_resource_response(message);
        response.headers = valid_headers(std::mem::take(&mut response.headers));
        Some(Ok(response))
    }

    fn finish(
        self,
        outcome: Result<(), CallError>,
        sent: usize,
    ) -> Option<Result<pb::CallResourceResponse, Status>> {
        match (outcome, sent) {
            (Ok(()), 0) => Some(Ok(internal_error(
                "the plugin's resource handler returned without sending a response".into(),
            ))),
            (Ok(()), _) => None,
            (Err(err), _) => Some(Err(err.into())),
        }
    }
}
