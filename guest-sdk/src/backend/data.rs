//! Queries: the `QueryDataHandler` and its request and response types.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

use super::{Error, PluginContext, StringMap};
use crate::data::Frame;

/// Answers queries from panels, Explore and alert rules.
pub trait QueryDataHandler {
    /// Handles all queries of one request (one datasource) and returns one
    /// response per `ref_id`. A failed query goes into its own
    /// [`DataResponse::error`]; an `Err` fails the whole request.
    ///
    /// # Errors
    /// An error that fails every query of the request.
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error>;
}

impl<F: Fn(QueryDataRequest) -> Result<QueryDataResponse, Error>> QueryDataHandler for F {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        self(req)
    }
}

/// The time range of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start.
    pub from: SystemTime,
    /// End.
    pub to: SystemTime,
}

impl TimeRange {
    /// `to - from` (zero when reversed).
    pub fn duration(&self) -> Duration {
        self.to.duration_since(self.from).unwrap_or_default()
    }
}

/// One query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataQuery {
    /// Unique id of the query within the request.
    pub ref_id: String,
    /// Optional query type chosen in the query editor.
    pub query_type: String,
    /// Maximum points a time series should have.
    pub max_data_points: i64,
    /// Suggested interval between points.
    pub interval: Duration,
    /// The requested time range.
    pub time_range: TimeRange,
    /// The whole query object from the frontend.
    pub json: Vec<u8>,
}

impl DataQuery {
    /// The query JSON parsed into your query model.
    ///
    /// # Errors
    /// When the JSON does not match `T`.
    pub fn model<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.json)
            .map_err(|e| Error::plugin(format!("invalid query JSON: {e}")))
    }
}

/// All queries of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryDataRequest {
    /// Who asks, for which datasource.
    pub plugin_context: PluginContext,
    /// Forwarded HTTP headers (`Authorization`, `http_X-...`, `FromAlert`).
    pub headers: StringMap,
    /// The queries.
    pub queries: Vec<DataQuery>,
}

/// The result of one query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataResponse {
    /// The frames of the result.
    pub frames: Vec<Frame>,
    /// Set when the query failed.
    pub error: Option<Error>,
    /// HTTP status; default 200, or 500 with an error.
    pub status: Option<u16>,
}

impl DataResponse {
    /// A successful response with `frames`.
    pub fn frames(frames: Vec<Frame>) -> Self {
        Self {
            frames,
            ..Self::default()
        }
    }

    /// The frames of `framer`, or its error as the response's error, like
    /// the Go SDK's `FrameResponseWithError`.
    pub fn from_framer(framer: impl crate::data::Framer) -> Self {
        match framer.frames() {
            Ok(frames) => Self::frames(frames),
            Err(err) => Self::error(err),
        }
    }

    /// A failed response.
    pub fn error(error: impl Into<Error>) -> Self {
        Self {
            error: Some(error.into()),
            ..Self::default()
        }
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// Responses keyed by `ref_id`.
pub type Responses = BTreeMap<String, DataResponse>;

/// The answer to a [`QueryDataRequest`]: one response per query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryDataResponse {
    /// The responses.
    pub responses: Responses,
}

impl QueryDataResponse {
    /// An empty response.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the response of query `ref_id`.
    pub fn insert(&mut self, ref_id: impl Into<String>, response: DataResponse) {
        self.responses.insert(ref_id.into(), response);
    }
}
