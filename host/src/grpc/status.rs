//! How a failed guest call is reported to Grafana as a gRPC status.

use tonic::{Code, Status};

use crate::runtime::CallError;

impl From<CallError> for Status {
    fn from(err: CallError) -> Self {
        let code = match &err {
            CallError::NotLoaded(_) => Code::FailedPrecondition,
            CallError::Unimplemented => Code::Unimplemented,
            // A Go SDK handler's error reaches Grafana with code Unknown.
            CallError::Failed(_) => Code::Unknown,
            CallError::Trap { .. } => Code::Internal,
            CallError::Timeout { .. } => Code::DeadlineExceeded,
        };
        Status::new(code, err.to_string())
    }
}
