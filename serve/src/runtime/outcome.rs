//! How a guest call ended, in the terms of the Go SDK's middlewares: the
//! request status and who is to blame, for the RPC's span, the
//! `grafana_plugin_request_total` counter and the datasource's account.

use std::sync::Arc;

use super::CallError;
use crate::metrics::{Account, Metrics};
use crate::rpc::{RequestStatus, Rpc, StatusSource};
use crate::traces::CallTrace;
use crate::wit::types::{
    CheckHealthResult, CollectMetricsResult, ConversionResponse, ErrorSource, MutationResponse,
    QueryDataResponse, StreamResponse, ValidationResponse,
};

/// A handler's answer that may itself report a failure.
pub trait Answer {
    /// Who is to blame when the answer carries an error; `None` when it
    /// carries none. Most answers cannot.
    fn failure(&self) -> Option<StatusSource> {
        None
    }
}

/// Any query's error fails the request, as the Go SDK's
/// `RequestStatusFromQueryDataResponse`; it is downstream's only when every
/// failed query blames downstream.
impl Answer for QueryDataResponse {
    fn failure(&self) -> Option<StatusSource> {
        let mut errors = self
            .responses
            .iter()
            .filter_map(|(_, response)| response.error.as_ref())
            .peekable();
        errors.peek()?;
        Some(
            if errors.all(|error| matches!(error.source, ErrorSource::Downstream)) {
                StatusSource::Downstream
            } else {
                StatusSource::Plugin
            },
        )
    }
}

impl Answer for () {}
impl Answer for CheckHealthResult {}
impl Answer for CollectMetricsResult {}
impl Answer for StreamResponse {}
impl Answer for ValidationResponse {}
impl Answer for MutationResponse {}
impl Answer for ConversionResponse {}

/// The status and blame of a finished call.
pub fn of<R: Answer>(result: &Result<R, CallError>) -> (RequestStatus, StatusSource) {
    match result {
        Ok(answer) => answer
            .failure()
            .map_or((RequestStatus::Ok, StatusSource::Plugin), |source| {
                (RequestStatus::Error, source)
            }),
        Err(CallError::Failed(error)) => (RequestStatus::Error, source(error.source)),
        Err(_) => (RequestStatus::Error, StatusSource::Plugin),
    }
}

fn source(source: ErrorSource) -> StatusSource {
    match source {
        ErrorSource::Plugin => StatusSource::Plugin,
        ErrorSource::Downstream => StatusSource::Downstream,
    }
}

/// Reports a call's outcome once: on the RPC's span (`request_status`,
/// `status_source`, the error), in the Go SDK's request counter and in
/// the datasource's account. A call dropped before it ended (Grafana
/// cancelled it) is reported cancelled.
pub struct Report {
    rpc: Rpc,
    trace: CallTrace,
    account: Arc<Account>,
    metrics: Arc<Metrics>,
    done: bool,
}

impl Report {
    /// The report of a call of `rpc` for `account`, whose span is `trace`.
    pub fn new(rpc: Rpc, trace: CallTrace, account: Arc<Account>, metrics: Arc<Metrics>) -> Self {
        Self {
            rpc,
            trace,
            account,
            metrics,
            done: false,
        }
    }

    /// Reports the call's `result`.
    pub fn finish<R: Answer>(mut self, result: &Result<R, CallError>) {
        let (status, source) = of(result);
        self.record(status, source);
        if let Err(err) = result {
            self.trace.fail(&err.to_string());
        }
        self.done = true;
    }

    fn record(&self, status: RequestStatus, source: StatusSource) {
        self.metrics.observe_request(self.rpc, status, source);
        self.account.call(status == RequestStatus::Error);
        self.trace.set("request_status", status.name());
        self.trace.set("status_source", source.name());
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if !self.done {
            self.record(RequestStatus::Cancelled, StatusSource::Plugin);
        }
    }
}
