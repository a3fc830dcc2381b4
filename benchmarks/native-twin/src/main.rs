//! The random-walk datasource (`example-plugins/random-walk`) as a native
//! plugin built with grafana-plugin-sdk, answering exactly the same way:
//!
//! * CheckHealth: OK, message `ok`.
//! * QueryData: per query a frame `random-walk` with `time` (one point per
//!   second, the last at the range's end) and `value` (`i * 0.5`); the
//!   count is the query's `points` (default 100, at most 10,000,000; more
//!   fails that query).
//! * CallResource: `echo` returns the request body as JSON; other paths 404.
//! * CollectMetrics: counters of queries, points, resource calls, packets.
//! * Streams: `walk` sends 5 JSON packets 100 ms apart, then idles until
//!   cancelled; publishing to `walk` echoes the data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use grafana_plugin_sdk::{backend, data, prelude::*};
use serde::Deserialize;

const DEFAULT_POINTS: i64 = 100;
const MAX_POINTS: i64 = 10_000_000;

/// The query model.
#[derive(Debug, Default, Deserialize)]
struct Query {
    points: Option<i64>,
}

/// The plugin's counters, shared by every call.
#[derive(Debug, Default)]
struct Counters {
    queries: AtomicU64,
    points: AtomicU64,
    resource_calls: AtomicU64,
    stream_packets: AtomicU64,
}

#[derive(Clone, Debug, Default, GrafanaPlugin)]
#[grafana_plugin(plugin_type = "datasource")]
struct RandomWalk(Arc<Counters>);

#[derive(Debug, thiserror::Error)]
enum QueryError {
    #[error("points must be between 0 and {MAX_POINTS}, got {points}")]
    Points { ref_id: String, points: i64 },
    #[error("invalid frame: {source}")]
    Frame { ref_id: String, source: data::Error },
}

impl backend::DataQueryError for QueryError {
    fn ref_id(self) -> String {
        match self {
            Self::Points { ref_id, .. } | Self::Frame { ref_id, .. } => ref_id,
        }
    }

    fn status(&self) -> backend::DataQueryStatus {
        backend::DataQueryStatus::BadRequest
    }
}

impl RandomWalk {
    fn walk(&self, query: backend::DataQuery<Query>) -> Result<backend::DataResponse, QueryError> {
        let points = query.query.points.unwrap_or(DEFAULT_POINTS);
        if !(0..=MAX_POINTS).contains(&points) {
            return Err(QueryError::Points {
                ref_id: query.ref_id,
                points,
            });
        }
        let n = points as usize;
        let end = query.time_range.to;
        let times = (0..n).map(|i| end - chrono::Duration::seconds((n - 1 - i) as i64));
        let values = (0..n).map(|i| i as f64 * 0.5);
        self.0.queries.fetch_add(1, Ordering::Relaxed);
        self.0.points.fetch_add(n as u64, Ordering::Relaxed);
        let frame =
            [times.into_field("time"), values.into_field("value")].into_frame("random-walk");
        let checked = frame.check().map_err(|source| QueryError::Frame {
            ref_id: query.ref_id.clone(),
            source,
        })?;
        Ok(backend::DataResponse::new(
            query.ref_id.clone(),
            vec![checked],
        ))
    }
}

#[backend::async_trait]
impl backend::DataService for RandomWalk {
    type Query = Query;
    type QueryError = QueryError;
    type Stream = backend::BoxDataResponseStream<Self::QueryError>;

    async fn query_data(
        &self,
        request: backend::QueryDataRequest<Self::Query, Self>,
    ) -> Self::Stream {
        let answers: Vec<_> = request.queries.into_iter().map(|q| self.walk(q)).collect();
        Box::pin(futures_util::stream::iter(answers))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Never(String);

#[backend::async_trait]
impl backend::DiagnosticsService for RandomWalk {
    type CheckHealthError = Never;

    async fn check_health(
        &self,
        _: backend::CheckHealthRequest<Self>,
    ) -> Result<backend::CheckHealthResponse, Self::CheckHealthError> {
        Ok(backend::CheckHealthResponse::ok("ok".into()))
    }

    type CollectMetricsError = Never;

    async fn collect_metrics(
        &self,
        _: backend::CollectMetricsRequest<Self>,
    ) -> Result<backend::CollectMetricsResponse, Self::CollectMetricsError> {
        let mut text = String::new();
        for (name, counter) in [
            ("randomwalk_queries_total", &self.0.queries),
            ("randomwalk_points_total", &self.0.points),
            ("randomwalk_resource_calls_total", &self.0.resource_calls),
            ("randomwalk_stream_packets_total", &self.0.stream_packets),
        ] {
            let value = counter.load(Ordering::Relaxed);
            text.push_str(&format!("# TYPE {name} counter\n{name} {value}\n"));
        }
        Ok(backend::CollectMetricsResponse::new(Some(
            backend::MetricsPayload::prometheus(text.into_bytes()),
        )))
    }
}

#[derive(Debug, thiserror::Error)]
enum ResourceError {
    #[error("no resource {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Http(#[from] http::Error),
}

impl backend::ErrIntoHttpResponse for ResourceError {
    fn into_http_response(self) -> Result<http::Response<Bytes>, Box<dyn std::error::Error>> {
        let status = match self {
            Self::NotFound(_) => http::StatusCode::NOT_FOUND,
            Self::Http(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::to_vec(&serde_json::json!({ "error": self.to_string() }))?;
        Ok(http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(body))?)
    }
}

#[backend::async_trait]
impl backend::ResourceService for RandomWalk {
    type Error = ResourceError;
    type InitialResponse = http::Response<Bytes>;
    type Stream = backend::BoxResourceStream<Self::Error>;

    async fn call_resource(
        &self,
        r: backend::CallResourceRequest<Self>,
    ) -> Result<(Self::InitialResponse, Self::Stream), Self::Error> {
        self.0.resource_calls.fetch_add(1, Ordering::Relaxed);
        let path = r.request.uri().path().trim_start_matches('/').to_owned();
        if path != "echo" {
            return Err(ResourceError::NotFound(path));
        }
        let response = http::Response::builder()
            .status(http::StatusCode::OK)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(r.request.into_body())?;
        Ok((response, Box::pin(futures_util::stream::empty())))
    }
}

#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error("cannot encode a packet: {0}")]
    Packet(#[from] backend::ConvertToError),
}

#[backend::async_trait]
impl backend::StreamService for RandomWalk {
    type JsonValue = serde_json::Value;
    type Error = StreamError;
    type Stream = backend::BoxRunStream<Self::Error, Self::JsonValue>;

    async fn subscribe_stream(
        &self,
        request: backend::SubscribeStreamRequest<Self>,
    ) -> Result<backend::SubscribeStreamResponse, Self::Error> {
        Ok(if request.path.as_str() == "walk" {
            backend::SubscribeStreamResponse::ok(None)
        } else {
            backend::SubscribeStreamResponse::not_found()
        })
    }

    async fn run_stream(
        &self,
        _: backend::RunStreamRequest<Self>,
    ) -> Result<Self::Stream, Self::Error> {
        let counters = self.0.clone();
        Ok(Box::pin(async_stream::try_stream! {
            for seq in 0..5u32 {
                let time = chrono::Utc::now().timestamp_millis();
                let packet = serde_json::json!({ "seq": seq, "time": time, "value": f64::from(seq) * 0.5 });
                yield backend::StreamPacket::from_json(&packet)?;
                counters.stream_packets.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Idle until Grafana cancels the stream (drops it).
            std::future::pending::<()>().await;
        }))
    }

    async fn publish_stream(
        &self,
        request: backend::PublishStreamRequest<Self>,
    ) -> Result<backend::PublishStreamResponse, Self::Error> {
        Ok(if request.path.as_str() == "walk" {
            backend::PublishStreamResponse::ok(request.data)
        } else {
            backend::PublishStreamResponse::not_found(serde_json::Value::Null)
        })
    }
}

/// Serves as the SDK's `#[main]` macro does: listen on TCP, print the
/// handshake (`backend::initialize`), serve every service. With
/// `TWIN_NODELAY=1` the listening socket gets `TCP_NODELAY` before the
/// handshake is printed (so before Grafana connects), which accepted
/// connections inherit on Linux; the SDK does not set it, and Nagle's
/// algorithm then holds small answers until the client's delayed ACK
/// (about 40 ms).
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = if std::env::var("TWIN_NODELAY").is_ok_and(|v| v == "1") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        socket2::SockRef::from(&listener).set_nodelay(true)?;
        println!("1|2|tcp|{}|grpc", listener.local_addr()?);
        listener
    } else {
        backend::initialize().await?
    };
    let plugin = RandomWalk::default();
    backend::Plugin::new()
        .data_service(plugin.clone())
        .diagnostics_service(plugin.clone())
        .resource_service(plugin.clone())
        .stream_service(plugin)
        .init_subscriber(true)
        .start(listener)
        .await?;
    Ok(())
}
