//! Queries: the `QueryDataHandler` and its request and response types.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

use super::{Error, PluginContext, StringMap};
use crate::data::{Frame, times_ending_at};

/// Answers queries from panels, Explore and alert rules: the one handler
/// every datasource needs (Go: `backend.QueryDataHandler`).
///
/// # Examples
///
/// A handler is plain Rust, so unit-test it natively by calling it with a
/// request built from `Default`:
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::backend::*;
/// use grafana_wasm_sdk::data::{Field, FieldValues, Frame, VALUE_FIELD_NAME};
///
/// #[derive(serde::Deserialize)]
/// struct Query { constant: f64 }
///
/// struct Constant;
///
/// impl Constant {
///     fn query(&self, q: &DataQuery) -> DataResponse {
///         let model: Query = match q.model() {
///             Ok(model) => model,
///             Err(err) => return DataResponse::bad_request(err),
///         };
///         let times = q.time_range.evenly_spaced(3);
///         let values = Field::new(VALUE_FIELD_NAME, vec![model.constant; times.len()]);
///         DataResponse::frames(vec![Frame::time_series("constant", times, values)])
///     }
/// }
///
/// impl QueryDataHandler for Constant {
///     fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
///         let mut response = QueryDataResponse::new();
///         for q in &req.queries {
///             response.insert(q.ref_id.clone(), self.query(q));
///         }
///         Ok(response)
///     }
/// }
///
/// // The unit test:
/// let req = QueryDataRequest {
///     queries: vec![
///         DataQuery {
///             ref_id: "A".into(),
///             json: br#"{"constant": 4.2}"#.to_vec(),
///             time_range: TimeRange { from: UNIX_EPOCH, to: UNIX_EPOCH + Duration::from_secs(60) },
///             ..DataQuery::default()
///         },
///         DataQuery { ref_id: "B".into(), json: b"{}".to_vec(), ..DataQuery::default() },
///     ],
///     ..QueryDataRequest::default()
/// };
/// let response = Constant.query_data(req)?;
///
/// let a = &response.responses["A"];
/// assert_eq!(a.frames[0].fields[1].values, FieldValues::Float64(vec![4.2; 3]));
/// let b = &response.responses["B"];
/// assert_eq!(b.status_code(), 400);
/// assert!(b.error.as_ref().unwrap().message.contains("missing field `constant`"));
/// # Ok::<(), Error>(())
/// ```
pub trait QueryDataHandler {
    /// Handles all queries of one request (one datasource) and returns one
    /// response per `ref_id`. A failed query goes into its own
    /// [`DataResponse::error`]; an `Err` fails the whole request.
    ///
    /// # Errors
    /// An error that fails every query of the request.
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error>;
}

/// Any function or closure taking a [`QueryDataRequest`] is a
/// [`QueryDataHandler`] (Go: `backend.QueryDataHandlerFunc`): handy for small
/// plugins and for stubs in tests.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// let echo_ref_ids = |req: QueryDataRequest| -> Result<QueryDataResponse, Error> {
///     let mut response = QueryDataResponse::new();
///     for q in req.queries {
///         response.insert(q.ref_id, DataResponse::default());
///     }
///     Ok(response)
/// };
/// let opts = ServeOpts { query_data_handler: Some(Rc::new(echo_ref_ids)), ..ServeOpts::default() };
///
/// let req = QueryDataRequest {
///     queries: vec![DataQuery { ref_id: "A".into(), ..DataQuery::default() }],
///     ..QueryDataRequest::default()
/// };
/// let response = opts.query_data_handler.unwrap().query_data(req)?;
/// assert!(response.responses.contains_key("A"));
/// # Ok::<(), Error>(())
/// ```
impl<F: Fn(QueryDataRequest) -> Result<QueryDataResponse, Error>> QueryDataHandler for F {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        self(req)
    }
}

/// The time range of a query: the dashboard's or Explore's picker, or an
/// alert rule's window, resolved to absolute times.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::backend::TimeRange;
///
/// let range = TimeRange { from: UNIX_EPOCH, to: UNIX_EPOCH + Duration::from_secs(3600) };
/// assert_eq!(range.duration(), Duration::from_secs(3600));
/// assert_eq!(range.evenly_spaced(61)[1], UNIX_EPOCH + Duration::from_secs(60));
/// ```
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
    /// `to - from` (zero when reversed): the span to fill with points.
    pub fn duration(&self) -> Duration {
        self.to.duration_since(self.from).unwrap_or_default()
    }

    /// `count` evenly spaced times across the range, ascending, the last at
    /// `to` and the first at `from` (the spacing is rounded down to the
    /// nanosecond, so the first may fall up to `count - 1` ns after
    /// `from`): the time field of a series with a fixed number of points,
    /// such as `max_data_points`. A single point lies at `to`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use grafana_wasm_sdk::backend::TimeRange;
    ///
    /// let range = TimeRange { from: UNIX_EPOCH, to: UNIX_EPOCH + Duration::from_secs(20) };
    /// let secs: Vec<u64> = range
    ///     .evenly_spaced(3)
    ///     .iter()
    ///     .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
    ///     .collect();
    /// assert_eq!(secs, [0, 10, 20]);
    /// ```
    pub fn evenly_spaced(&self, count: usize) -> Vec<SystemTime> {
        let gaps = u32::try_from(count.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .max(1);
        times_ending_at(self.to, count, self.duration() / gaps)
    }

    /// Times `step` apart, ascending, from the end of the range back to no
    /// earlier than its start: the time field of a series sampled every
    /// `step`, such as a query's `interval`. A zero step gives `to` alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use grafana_wasm_sdk::backend::TimeRange;
    ///
    /// let range = TimeRange { from: UNIX_EPOCH, to: UNIX_EPOCH + Duration::from_secs(25) };
    /// let times = range.every(Duration::from_secs(10));
    /// assert_eq!(times, [5, 15, 25].map(|s| UNIX_EPOCH + Duration::from_secs(s)));
    /// ```
    pub fn every(&self, step: Duration) -> Vec<SystemTime> {
        let count = match self.duration().as_nanos().checked_div(step.as_nanos()) {
            Some(steps) => usize::try_from(steps)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
            None => 1,
        };
        times_ending_at(self.to, count, step)
    }
}

/// One query of a request, as the query editor saved it plus what Grafana
/// adds (time range, interval, point budget). `Default` gives an empty
/// query, handy in native tests.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use grafana_wasm_sdk::backend::DataQuery;
///
/// let query = DataQuery {
///     ref_id: "A".into(),
///     max_data_points: 100,
///     interval: Duration::from_secs(15),
///     json: br#"{"metric": "cpu"}"#.to_vec(),
///     ..DataQuery::default()
/// };
/// let model: serde_json::Value = query.model()?;
/// assert_eq!(model["metric"], "cpu");
/// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
/// ```
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
    /// The query JSON parsed into your query model, so handlers work with
    /// a typed struct instead of raw JSON. The JSON also holds Grafana's
    /// own keys (`refId`, `datasource`, ...); serde ignores unknown keys
    /// unless the model denies them.
    ///
    /// # Errors
    /// A plugin error naming the mismatch when the JSON does not match `T`;
    /// answer it with [`DataResponse::bad_request`].
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataQuery;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Query { expr: String }
    ///
    /// let query = DataQuery { json: br#"{"refId":"A","expr":"up"}"#.to_vec(), ..DataQuery::default() };
    /// assert_eq!(query.model::<Query>()?.expr, "up");
    ///
    /// let bad = DataQuery { json: b"{}".to_vec(), ..DataQuery::default() };
    /// assert!(bad.model::<Query>().unwrap_err().message.starts_with("invalid query JSON"));
    /// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
    /// ```
    pub fn model<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.json)
            .map_err(|e| Error::plugin(format!("invalid query JSON: {e}")))
    }
}

/// How Grafana asked for frames to be encoded. Plugins build frames the
/// same way either way; the host encodes them, so this is informational.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameFormat {
    /// Arrow IPC files (every Grafana version).
    #[default]
    Arrow,
    /// Frame JSON (newer Grafana, on request).
    Json,
}

/// All queries of one request, for one datasource: what
/// [`QueryDataHandler::query_data`] receives. `Default` gives an empty
/// request, handy in native tests.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::*;
///
/// let req = QueryDataRequest {
///     plugin_context: PluginContext { org_id: 1, ..PluginContext::default() },
///     headers: [("FromAlert".to_owned(), "true".to_owned())].into(),
///     queries: vec![DataQuery { ref_id: "A".into(), ..DataQuery::default() }],
///     ..QueryDataRequest::default()
/// };
/// assert_eq!(req.headers.get("FromAlert").map(String::as_str), Some("true"));
/// ```
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

/// The result of one query: frames, or an error with an HTTP-like status
/// (Go: `backend.DataResponse`). One query failing does not fail the
/// others of its request.
///
/// | Go SDK | here |
/// |---|---|
/// | `DataResponse{Frames: frames}` | [`DataResponse::frames`] |
/// | `FrameResponseWithError(framer, err)` | [`DataResponse::from_framer`] |
/// | `ErrorResponseWithErrorSource(err)` | [`DataResponse::error`] (the [`Error`] carries its source) |
/// | `ErrDataResponse(status, msg)` | [`DataResponse::error`]`(msg).`[`with_status`](DataResponse::with_status)`(status)`, or a named constructor such as [`DataResponse::bad_request`] |
/// | `ErrDataResponseWithSource(status, src, msg)` | [`DataResponse::error`]`(`[`Error::new`]`(src, msg)).with_status(status)` |
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{DataResponse, Error};
/// use grafana_wasm_sdk::data::{Field, Frame};
///
/// let ok = DataResponse::frames(vec![Frame::new("a").with_field(Field::new("v", vec![1_i64]))]);
/// assert_eq!(ok.status_code(), 200);
///
/// let failed = DataResponse::error(Error::downstream("the API is down")).with_status(503);
/// assert_eq!(failed.status_code(), 503);
/// assert!(failed.error.unwrap().is_downstream());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataResponse {
    /// The frames of the result.
    pub frames: Vec<Frame>,
    /// Set when the query failed.
    pub error: Option<Error>,
    /// HTTP status; default 200, or 500 with an error.
    pub status: Option<u16>,
}

/// Defines constructors of failed [`DataResponse`]s with a fixed status,
/// each documented with the Go SDK's name for its status.
macro_rules! status_constructors {
    ($($name:ident => $status:literal, $go:literal;)*) => {
        $(
            #[doc = concat!(
                "A failed response with status ", stringify!($status),
                " (Go: `backend.ErrDataResponse(backend.", $go, ", ...)`).\n\n",
                "The error keeps its source: pass an [`Error::downstream`] ",
                "when the datasource is to blame.",
            )]
            pub fn $name(error: impl Into<Error>) -> Self {
                Self::error(error).with_status($status)
            }
        )*
    };
}

impl DataResponse {
    /// A successful response with `frames`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataResponse;
    /// use grafana_wasm_sdk::data::Frame;
    ///
    /// let response = DataResponse::frames(vec![Frame::new("a"), Frame::new("b")]);
    /// assert_eq!((response.frames.len(), response.error), (2, None));
    /// ```
    pub fn frames(frames: Vec<Frame>) -> Self {
        Self {
            frames,
            ..Self::default()
        }
    }

    /// The frames of `framer`, or its error as the response's error, like
    /// the Go SDK's `FrameResponseWithError`: one line from a query result
    /// to a response.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataResponse;
    /// use grafana_wasm_sdk::data::Frame;
    ///
    /// assert_eq!(DataResponse::from_framer(Frame::new("a")).frames.len(), 1);
    /// ```
    pub fn from_framer(framer: impl crate::data::Framer) -> Self {
        match framer.frames() {
            Ok(frames) => Self::frames(frames),
            Err(err) => Self::error(err),
        }
    }

    /// A failed response, with status 500 unless set with
    /// [`DataResponse::with_status`]. The error keeps its source, so a
    /// downstream error is reported as such (Go:
    /// `ErrorResponseWithErrorSource`).
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::{DataResponse, Error};
    ///
    /// let plugin = DataResponse::error("no such metric");
    /// assert_eq!(plugin.status_code(), 500);
    /// assert!(plugin.error.unwrap().is_plugin());
    ///
    /// let downstream = DataResponse::error(Error::downstream("timeout")).with_status(504);
    /// assert_eq!(downstream.status_code(), 504);
    /// ```
    pub fn error(error: impl Into<Error>) -> Self {
        Self {
            error: Some(error.into()),
            ..Self::default()
        }
    }

    status_constructors! {
        bad_request => 400, "StatusBadRequest";
        unauthorized => 401, "StatusUnauthorized";
        forbidden => 403, "StatusForbidden";
        not_found => 404, "StatusNotFound";
        too_many_requests => 429, "StatusTooManyRequests";
        internal => 500, "StatusInternal";
        not_implemented => 501, "StatusNotImplemented";
        bad_gateway => 502, "StatusBadGateway";
        timeout => 504, "StatusTimeout";
    }

    /// Sets the HTTP status, which Grafana records and shows with the
    /// query's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataResponse;
    ///
    /// assert_eq!(DataResponse::error("slow down").with_status(429).status, Some(429));
    /// ```
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The status Grafana records for this response: the one set when it is
    /// a valid HTTP status (100-599), else 500 with an error and 200
    /// without. Assert on it in tests.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataResponse;
    ///
    /// assert_eq!(DataResponse::default().status_code(), 200);
    /// assert_eq!(DataResponse::not_found("no such table").status_code(), 404);
    /// assert_eq!(DataResponse::default().with_status(42).status_code(), 500);
    /// ```
    pub fn status_code(&self) -> u16 {
        match self.status {
            Some(status @ 100..=599) => status,
            Some(_) => 500,
            None if self.error.is_some() => 500,
            None => 200,
        }
    }
}

/// Responses keyed by `ref_id`, sorted so that tests and logs see a stable
/// order.
pub type Responses = BTreeMap<String, DataResponse>;

/// The answer to a [`QueryDataRequest`]: one response per query, keyed by
/// the query's `ref_id` (Go: `backend.QueryDataResponse`).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{DataResponse, QueryDataResponse};
///
/// let mut response = QueryDataResponse::new();
/// response.insert("A", DataResponse::default());
/// response.insert("B", DataResponse::bad_request("empty query"));
/// assert_eq!(response.responses["B"].status_code(), 400);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryDataResponse {
    /// The responses.
    pub responses: Responses,
}

impl QueryDataResponse {
    /// An empty response, to [`insert`](QueryDataResponse::insert) one
    /// response per query into (Go: `backend.NewQueryDataResponse`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the response of query `ref_id`, replacing any earlier one for
    /// it.
    pub fn insert(&mut self, ref_id: impl Into<String>, response: DataResponse) {
        self.responses.insert(ref_id.into(), response);
    }
}

/// One message of a chunked answer, as collected by the native test writer
/// (`Vec<Chunk>` implements [`ChunkedDataWriter`]), so tests can assert on
/// what a [`QueryChunkedDataHandler`] wrote.
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
/// `ChunkedDataWriter`: large results reach Grafana piece by piece instead
/// of in one message held in memory. In native tests, a `Vec<Chunk>`
/// collects what is written.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{Chunk, ChunkedDataWriter, Error};
/// use grafana_wasm_sdk::data::{Field, Frame};
///
/// let mut chunks: Vec<Chunk> = Vec::new();
/// chunks.write_frame("A", "rows", Frame::new("rows").with_field(Field::new("v", vec![1_i64])))?;
/// chunks.write_error("B", 400, Error::plugin("bad query"))?;
/// assert!(matches!(&chunks[1], Chunk::Error { status: 400, .. }));
/// # Ok::<(), Error>(())
/// ```
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

/// Answers queries as a stream of frame chunks (experimental in Grafana):
/// for results too large to build in memory at once.
///
/// # Examples
///
/// Unit-test it natively with a `Vec<Chunk>` as the writer:
///
/// ```
/// use grafana_wasm_sdk::backend::*;
/// use grafana_wasm_sdk::data::{Field, Frame};
///
/// struct Pages;
///
/// impl QueryChunkedDataHandler for Pages {
///     fn query_chunked_data(
///         &self,
///         req: QueryDataRequest,
///         writer: &mut dyn ChunkedDataWriter,
///     ) -> Result<(), Error> {
///         for q in &req.queries {
///             for page in 0..2_i64 {
///                 let frame = Frame::new("rows").with_field(Field::new("page", vec![page]));
///                 writer.write_frame(&q.ref_id, "rows", frame)?;
///             }
///         }
///         Ok(())
///     }
/// }
///
/// let req = QueryDataRequest {
///     queries: vec![DataQuery { ref_id: "A".into(), ..DataQuery::default() }],
///     ..QueryDataRequest::default()
/// };
/// let mut chunks: Vec<Chunk> = Vec::new();
/// Pages.query_chunked_data(req, &mut chunks)?;
/// assert_eq!(chunks.len(), 2);
/// # Ok::<(), Error>(())
/// ```
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

/// Any function or closure taking a request and a writer is a
/// [`QueryChunkedDataHandler`], like [`QueryDataHandler`]'s closures. Name
/// the writer's type in the closure's parameters so that it accepts any
/// writer.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::*;
///
/// let fail_all = |req: QueryDataRequest, writer: &mut dyn ChunkedDataWriter| -> Result<(), Error> {
///     for q in &req.queries {
///         writer.write_error(&q.ref_id, 501, Error::plugin("not supported"))?;
///     }
///     Ok(())
/// };
/// let req = QueryDataRequest {
///     queries: vec![DataQuery { ref_id: "A".into(), ..DataQuery::default() }],
///     ..QueryDataRequest::default()
/// };
/// let mut chunks: Vec<Chunk> = Vec::new();
/// fail_all.query_chunked_data(req, &mut chunks)?;
/// assert!(matches!(&chunks[0], Chunk::Error { status: 501, .. }));
/// # Ok::<(), Error>(())
/// ```
impl<F> QueryChunkedDataHandler for F
where
    F: Fn(QueryDataRequest, &mut dyn ChunkedDataWriter) -> Result<(), Error>,
{
    fn query_chunked_data(
        &self,
        req: QueryDataRequest,
        writer: &mut dyn ChunkedDataWriter,
    ) -> Result<(), Error> {
        self(req, writer)
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn range(from_s: u64, to_s: u64) -> TimeRange {
        TimeRange {
            from: UNIX_EPOCH + Duration::from_secs(from_s),
            to: UNIX_EPOCH + Duration::from_secs(to_s),
        }
    }

    fn secs(times: &[SystemTime]) -> Vec<u64> {
        times
            .iter()
            .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
            .collect()
    }

    #[test]
    fn evenly_spaced_times_span_the_range() {
        assert_eq!(secs(&range(10, 40).evenly_spaced(4)), [10, 20, 30, 40]);
        assert_eq!(secs(&range(10, 40).evenly_spaced(1)), [40]);
        assert!(range(10, 40).evenly_spaced(0).is_empty());
        assert_eq!(
            secs(&range(40, 10).evenly_spaced(2)),
            [10, 10],
            "a reversed range is empty"
        );
    }

    #[test]
    fn times_every_step_stay_within_the_range() {
        let step = Duration::from_secs(10);
        assert_eq!(secs(&range(10, 40).every(step)), [10, 20, 30, 40]);
        assert_eq!(secs(&range(11, 40).every(step)), [20, 30, 40]);
        assert_eq!(secs(&range(40, 40).every(step)), [40]);
        assert_eq!(secs(&range(10, 40).every(Duration::ZERO)), [40]);
    }

    #[test]
    fn status_codes_follow_what_grafana_records() {
        assert_eq!(DataResponse::bad_request("x").status, Some(400));
        assert_eq!(DataResponse::timeout("x").status_code(), 504);
        assert_eq!(DataResponse::error("x").status_code(), 500);
        assert_eq!(DataResponse::default().status_code(), 200);
        assert_eq!(DataResponse::default().with_status(600).status_code(), 500);
        assert!(
            DataResponse::bad_gateway(Error::downstream("x"))
                .error
                .unwrap()
                .is_downstream()
        );
    }
}
