//! An example datasource built with grafana-wasm-sdk.
//!
//! * CheckHealth: OK, message `ok`.
//! * QueryData: per query a frame `random-walk` with `time` (one point per
//!   second, the last at the range's end) and `value` (`i * 0.5`); the point
//!   count is the query's `points` (default 100, at most 10,000,000).
//! * CallResource: `echo` returns the request body as JSON; other paths 404.
//! * CollectMetrics: counters of this instance's work.
//! * Streams: `walk` sends 5 packets 100 ms apart, then idles until Grafana
//!   cancels; publishing to `walk` echoes the data.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grafana_wasm_sdk::backend::*;
use grafana_wasm_sdk::data::{Field, Frame, UnixNanos, unix_nanos};
use grafana_wasm_sdk::log;
use serde::Deserialize;

/// Points per query when the query does not say.
pub const DEFAULT_POINTS: i64 = 100;
/// The most points one query may ask for.
pub const MAX_POINTS: i64 = 10_000_000;

/// The query model sent by the frontend.
#[derive(Debug, Deserialize)]
struct Query {
    points: Option<i64>,
}

/// The datasource and its counters.
#[derive(Default)]
pub struct RandomWalk {
    queries: Cell<u64>,
    points: Cell<u64>,
    resource_calls: Cell<u64>,
    stream_packets: Cell<u64>,
}

impl RandomWalk {
    fn walk(&self, query: &DataQuery) -> DataResponse {
        let points = match query.model::<Query>() {
            Ok(q) => q.points.unwrap_or(DEFAULT_POINTS),
            Err(err) => return DataResponse::error(err).with_status(400),
        };
        if !(0..=MAX_POINTS).contains(&points) {
            return DataResponse::error(format!(
                "points must be between 0 and {MAX_POINTS}, got {points}"
            ))
            .with_status(400);
        }
        let n = points as usize;
        let end = query.time_range.to;
        // Times as nanoseconds: no per-point time arithmetic in the guest.
        let end = unix_nanos(end);
        let times: Vec<UnixNanos> = (0..n as i64)
            .map(|i| UnixNanos(end - (n as i64 - 1 - i) * 1_000_000_000))
            .collect();
        let values: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
        self.queries.set(self.queries.get() + 1);
        self.points.set(self.points.get() + n as u64);
        DataResponse::frames(vec![
            Frame::new("random-walk")
                .with_field(Field::new("time", times))
                .with_field(Field::new("value", values)),
        ])
    }
}

impl QueryDataHandler for RandomWalk {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        let mut response = QueryDataResponse::new();
        for query in &req.queries {
            response.insert(query.ref_id.clone(), self.walk(query));
        }
        log::debug(
            "queries answered",
            &[("count", &req.queries.len().to_string())],
        );
        Ok(response)
    }
}

impl CheckHealthHandler for RandomWalk {
    fn check_health(&self, _: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        log::info("health check", &[]);
        Ok(CheckHealthResult::ok("ok"))
    }
}

impl CallResourceHandler for RandomWalk {
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        self.resource_calls.set(self.resource_calls.get() + 1);
        if req.path != "echo" {
            let body = serde_json::json!({ "error": format!("no resource {:?}", req.path) });
            return sender.send(CallResourceResponse::json(404, &body));
        }
        sender.send(CallResourceResponse {
            status: 200,
            headers: [(
                "content-type".to_owned(),
                vec!["application/json".to_owned()],
            )]
            .into(),
            body: req.body,
        })
    }
}

impl CollectMetricsHandler for RandomWalk {
    fn collect_metrics(&self, _: CollectMetricsRequest) -> Result<CollectMetricsResult, Error> {
        let mut text = String::new();
        for (name, value) in [
            ("randomwalk_queries_total", self.queries.get()),
            ("randomwalk_points_total", self.points.get()),
            ("randomwalk_resource_calls_total", self.resource_calls.get()),
            ("randomwalk_stream_packets_total", self.stream_packets.get()),
        ] {
            text.push_str(&format!("# TYPE {name} counter\n{name} {value}\n"));
        }
        Ok(CollectMetricsResult {
            prometheus_metrics: text.into_bytes(),
        })
    }
}

impl StreamHandler for RandomWalk {
    fn subscribe_stream(
        &self,
        req: SubscribeStreamRequest,
    ) -> Result<SubscribeStreamResponse, Error> {
        let status = if req.path == "walk" {
            StreamStatus::Ok
        } else {
            StreamStatus::NotFound
        };
        Ok(SubscribeStreamResponse {
            status,
            data: Vec::new(),
        })
    }

    fn publish_stream(&self, req: PublishStreamRequest) -> Result<PublishStreamResponse, Error> {
        if req.path != "walk" {
            return Ok(PublishStreamResponse {
                status: StreamStatus::NotFound,
                data: Vec::new(),
            });
        }
        Ok(PublishStreamResponse {
            status: StreamStatus::Ok,
            data: req.data,
        })
    }

    fn run_stream(
        &self,
        _: RunStreamRequest,
        sender: &mut dyn StreamPacketSender,
    ) -> Result<(), Error> {
        for seq in 0..5u32 {
            let time = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            let packet =
                serde_json::json!({ "seq": seq, "time": time, "value": f64::from(seq) * 0.5 });
            let sent = sender.send(packet.to_string().into_bytes());
            if sent.is_ok() {
                self.stream_packets.set(self.stream_packets.get() + 1);
            }
            if sent
                .and_then(|()| sender.wait(Duration::from_millis(100)))
                .is_err()
            {
                log::info("stream cancelled", &[("seq", &seq.to_string())]);
                return Ok(());
            }
        }
        // Idle until Grafana cancels the stream.
        while sender.wait(Duration::from_secs(1)).is_ok() {}
        log::info("stream cancelled", &[]);
        Ok(())
    }
}

fn serve_opts() -> ServeOpts {
    let ds = Rc::new(RandomWalk::default());
    ServeOpts {
        query_data_handler: Some(ds.clone()),
        check_health_handler: Some(ds.clone()),
        collect_metrics_handler: Some(ds.clone()),
        call_resource_handler: Some(ds.clone()),
        stream_handler: Some(ds),
        ..ServeOpts::default()
    }
}

grafana_wasm_sdk::export_plugin!(serve_opts());

#[cfg(test)]
mod tests {
    use super::*;
    use grafana_wasm_sdk::data::FieldValues;

    fn query(json: &str) -> DataQuery {
        DataQuery {
            ref_id: "A".into(),
            query_type: String::new(),
            max_data_points: 0,
            interval: Duration::ZERO,
            time_range: TimeRange {
                from: UNIX_EPOCH,
                to: UNIX_EPOCH + Duration::from_secs(1000),
            },
            json: json.as_bytes().to_vec(),
        }
    }

    #[test]
    fn walk_ends_at_the_range_end() {
        let response = RandomWalk::default().walk(&query(r#"{"points":3}"#));
        let frame = &response.frames[0];
        assert_eq!(frame.rows(), 3);
        let FieldValues::UnixTime(times) = &frame.fields[0].values else {
            panic!("time field expected")
        };
        assert_eq!(
            SystemTime::from(*times.last().unwrap()),
            UNIX_EPOCH + Duration::from_secs(1000)
        );
        assert_eq!(
            frame.fields[1].values,
            FieldValues::Float64(vec![0.0, 0.5, 1.0])
        );
    }

    #[test]
    fn too_many_points_fail_the_query() {
        let response = RandomWalk::default().walk(&query(r#"{"points":10000001}"#));
        assert!(response.error.is_some());
        assert_eq!(response.status, Some(400));
    }

    #[test]
    fn echo_returns_the_body() {
        let mut sent: Vec<CallResourceResponse> = Vec::new();
        let req = CallResourceRequest {
            plugin_context: PluginContext::default(),
            path: "echo".into(),
            method: "POST".into(),
            url: "echo".into(),
            headers: Default::default(),
            body: b"{\"a\":1}".to_vec(),
        };
        RandomWalk::default().call_resource(req, &mut sent).unwrap();
        assert_eq!(sent[0].status, 200);
        assert_eq!(sent[0].body, b"{\"a\":1}");
    }
}
