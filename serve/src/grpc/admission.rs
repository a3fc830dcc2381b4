//! `pluginv2.AdmissionControl`: validation and mutation of app-platform
//! resources.

use std::sync::Arc;

use grafana_wasm_proto::pluginv2 as pb;
use tonic::{Request, Response, Status};

use crate::convert::{from_proto, to_proto};
use crate::rpc::Rpc;
use crate::runtime::Runtime;
use crate::wit::handlers::admission;
use crate::wit::types::AdmissionRequest;

/// Serves the `AdmissionControl` service.
pub struct AdmissionService {
    runtime: Arc<Runtime>,
}

impl AdmissionService {
    /// An admission service calling into `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }
}

fn admission_request(request: pb::AdmissionRequest) -> Result<AdmissionRequest, Status> {
    let operation = request.operation;
    from_proto::admission_request(request)
        .ok_or_else(|| Status::invalid_argument(format!("unknown admission operation {operation}")))
}

#[tonic::async_trait]
impl pb::admission_control_server::AdmissionControl for AdmissionService {
    async fn validate_admission(
        &self,
        request: Request<pb::AdmissionRequest>,
    ) -> Result<Response<pb::ValidationResponse>, Status> {
        let incoming = super::incoming(&request, Rpc::ValidateAdmission);
        let mut request = admission_request(request.into_inner())?;
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let response = self
            .runtime
            .unary::<admission::GuestIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_validate_admission(store, &request).await })
            })
            .await?;
        Ok(Response::new(to_proto::validation_response(response)))
    }

    async fn mutate_admission(
        &self,
        request: Request<pb::AdmissionRequest>,
    ) -> Result<Response<pb::MutationResponse>, Status> {
        let incoming = super::incoming(&request, Rpc::MutateAdmission);
        let mut request = admission_request(request.into_inner())?;
        let scope = self
            .runtime
            .scope_withholding_secrets(&incoming, &mut request.plugin_context);
        let response = self
            .runtime
            .unary::<admission::GuestIndices, _>(scope, |guest, store| {
                Box::pin(async move { guest.call_mutate_admission(store, &request).await })
            })
            .await?;
        Ok(Response::new(to_proto::mutation_response(response)))
    }
}
