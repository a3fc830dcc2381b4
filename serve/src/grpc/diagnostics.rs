//! `pluginv2.Diagnostics`: CheckHealth and CollectMetrics.

use std::sync::Arc;

use grafana_wasm_proto::pluginv2 as pb;
use tonic::{Request, Response, Status};

use crate::convert::{from_proto, to_proto};
use crate::rpc::Rpc;
use crate::runtime::{CallError, HealthIndices, Runtime};
use crate::wit::handlers::diagnostics;

/// Serves the `Diagnostics` service.
pub struct DiagnosticsService {
    runtime: Arc<Runtime>,
}

impl DiagnosticsService {
    /// A diagnostics service calling into `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }
}

#[tonic::async_trait]
impl pb::diagnostics_server::Diagnostics for DiagnosticsService {
    async fn check_health(
        &self,
        request: Request<pb::CheckHealthRequest>,
    ) -> Result<Response<pb::CheckHealthResponse>, Status> {
        let incoming = super::incoming(&request, Rpc::CheckHealth);
        let mut request = from_proto::check_health_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let result = self
            .runtime
            .unary::<HealthIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_check_health(store, &request).await })
            })
            .await;
        let mut response = match result {
            Ok(result) => to_proto::check_health_result(result),
            // A Go SDK plugin without a health handler answers OK.
            Err(CallError::Unimplemented) => pb::CheckHealthResponse {
                status: pb::check_health_response::HealthStatus::Ok.into(),
                ..Default::default()
            },
            // The handler's own error fails the RPC, as in the Go SDK.
            Err(err @ CallError::Failed(_)) => return Err(err.into()),
            // Grafana shows a health message to the person configuring the
            // datasource: say why the plugin cannot answer (not loaded,
            // trapped, stopped, backed off, overloaded) rather than fail
            // the RPC, which Grafana shows as "Plugin health check failed".
            Err(err) => pb::CheckHealthResponse {
                status: pb::check_health_response::HealthStatus::Error.into(),
                message: err.to_string(),
                json_details: Vec::new(),
            },
        };
        response.json_details = with_host_details(&response.json_details, self.runtime.identity());
        Ok(Response::new(response))
    }

    async fn collect_metrics(
        &self,
        request: Request<pb::CollectMetricsRequest>,
    ) -> Result<Response<pb::CollectMetricsResponse>, Status> {
        let incoming = super::incoming(&request, Rpc::CollectMetrics);
        let mut request = from_proto::collect_metrics_request(request.into_inner());
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let result = self
            .runtime
            .unary::<diagnostics::GuestIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_collect_metrics(store, &request).await })
            })
            .await;
        // The host's metrics come first; the guest's follow when it has any.
        // A failing guest does not hide the host's metrics from the scrape.
        let mut prometheus = self.runtime.metrics().text();
        match result {
            Ok(guest) => prometheus.extend(
                to_proto::collect_metrics_result(guest)
                    .metrics
                    .unwrap_or_default()
                    .prometheus,
            ),
            Err(CallError::Unimplemented) => {}
            Err(err) => {
                tracing::warn!(error = %err, "the plugin's CollectMetrics failed; answering with the host's metrics only");
            }
        }
        Ok(Response::new(pb::CollectMetricsResponse {
            metrics: Some(pb::collect_metrics_response::Payload { prometheus }),
        }))
    }
}

/// The guest's health details with the host's under `grafanaWasm`: which
/// component version serves, and the last one rejected. Details that are
/// not a JSON object are the guest's business and left alone.
fn with_host_details(guest: &[u8], host: serde_json::Value) -> Vec<u8> {
    let mut details = if guest.is_empty() {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice(guest) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return guest.to_vec(),
        }
    };
    details.insert("grafanaWasm".into(), host);
    serde_json::to_vec(&details).unwrap_or_else(|_| guest.to_vec())
}
