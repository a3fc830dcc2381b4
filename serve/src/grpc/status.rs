//! How a failed guest call is reported to Grafana as a gRPC status.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::convert::to_proto;
use crate::runtime::CallError;

/// `ErrorInfo.reason` of handler errors. Grafana only reads the
/// `errorSource` metadata (protocol.md §3.5); reason and domain are ours.
const ERROR_INFO_REASON: &str = "PLUGIN_HANDLER_ERROR";
const ERROR_INFO_DOMAIN: &str = "grafana-wasm";

impl From<CallError> for Status {
    fn from(err: CallError) -> Self {
        let message = err.to_string();
        match err {
            CallError::NotLoaded(_) => Status::new(Code::FailedPrecondition, message),
            CallError::Unimplemented => Status::new(Code::Unimplemented, message),
            // As the Go SDK: code Unknown, and who is to blame in an
            // ErrorInfo detail so that Grafana can classify the failure.
            CallError::Failed(failure) => {
                let source = to_proto::error_source(failure.source);
                let details = ErrorDetails::with_error_info(
                    ERROR_INFO_REASON,
                    ERROR_INFO_DOMAIN,
                    HashMap::from([("errorSource".to_owned(), source)]),
                );
                Status::with_error_details(Code::Unknown, message, details)
            }
            CallError::Trap { .. } => Status::new(Code::Internal, message),
            CallError::Timeout { .. } => Status::new(Code::DeadlineExceeded, message),
            CallError::Overloaded { .. } => Status::new(Code::ResourceExhausted, message),
            CallError::BackedOff { .. } | CallError::Replaced | CallError::ShuttingDown => {
                Status::new(Code::Unavailable, message)
            }
        }
    }
}
