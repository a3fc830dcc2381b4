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

impl Default for TimeRange {
    /// The empty range at the Unix epoch: a starting point for tests.
    fn default() -> Self {
        Self {
            from: SystemTime::UNIX_EPOCH,
            to: SystemTime::UNIX_EPOCH,
        }
    }
}

impl TimeRange {
    /// `to - from` (zero when reversed).
    pub fn duration(&self) -> Duration {
        self.to.duration_since(self.from).unwrap_or_default()
    }
}

/// One query. `Default` gives an empty query, handy in native tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// How Grafana asked for frames to be encoded. Plugins build frames the
/// same way either way; the host encodes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameFormat {
    /// Arrow IPC files (every Grafana version).
    #[default]
    Arrow,
    /// Frame JSON (newer Grafana, on request).
    Json,
}

/// All queries of one request. `Default` gives an empty request, handy in
/// native tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryDataRequest {
    /// Who asks, for which datasource.
    pub plugin_context: PluginContext,
    /// Forwarded HTTP headers (`Authorization`, `http_X-...`, `FromAlert`).
    pub headers: StringMap,
    /// The queries.
    pub queries: Vec<DataQuery>,
    /// The frame encoding Grafana asked for.
    pub format: FrameFormat,
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

/// One message of a chunked answer, as collected by the native test writer.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// Rows (and, first time, the schema) of frame `frame_id` of `ref_id`.
    Frame {
        /// The query.
        ref_id: String,
        /// The frame within the query's answer.
        frame_id: String,
        /// The rows.
        frame: Box<Frame>,
    },
    /// Query `ref_id` failed.
    Error {
        /// The query.
        ref_id: String,
        /// HTTP status.
        status: u16,
        /// What went wrong.
        error: Error,
    },
}

/// Writes a chunked answer as it is produced, like the Go SDK's
/// `ChunkedDataWriter`.
pub trait ChunkedDataWriter {
    /// Writes rows of frame `frame_id` of query `ref_id`; the first write of
    /// a frame carries its schema, later writes add rows.
    ///
    /// # Errors
    /// When Grafana is gone or the frame is invalid.
    fn write_frame(&mut self, ref_id: &str, frame_id: &str, frame: Frame) -> Result<(), Error>;

    /// Reports that query `ref_id` failed with `status`.
    ///
    /// # Errors
    /// When Grafana is gone.
    fn write_error(&mut self, ref_id: &str, status: u16, error: Error) -> Result<(), Error>;
}

impl ChunkedDataWriter for Vec<Chunk> {
    /// Collects chunks: handy in native tests.
    fn write_frame(&mut self, ref_id: &str, frame_id: &str, frame: Frame) -> Result<(), Error> {
        self.push(Chunk::Frame {
            ref_id: ref_id.to_owned(),
            frame_id: frame_id.to_owned(),
            frame: Box::new(frame),
        });
        Ok(())
    }

    fn write_error(&mut self, ref_id: &str, status: u16, error: Error) -> Result<(), Error> {
        self.push(Chunk::Error {
            ref_id: ref_id.to_owned(),
            status,
            error,
        });
        Ok(())
    }
}

/// Answers queries as a stream of frame chunks (experimental in Grafana).
pub trait QueryChunkedDataHandler {
    /// Writes the answer to every query through `writer`.
    ///
    /// # Errors
    /// An error failing the whole request.
    fn query_chunked_data(
        &self,
        req: QueryDataRequest,
        writer: &mut dyn ChunkedDataWriter,
    ) -> Result<(), Error>;
}
