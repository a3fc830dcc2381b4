//! An example datasource in the spirit of Grafana's TestData, built with
//! grafana-wasm-sdk.
//!
//! * QueryData: the scenario named by the query's `scenarioId` (see
//!   [`scenarios::SCENARIOS`]): random walks, CSV content, a static table.
//!   A query that fails gets its own error; the others still answer.
//! * CallResource: `GET scenarios` lists the scenarios for the query editor.
//! * Streams: `random-walk` sends one point every 500 ms as frame JSON
//!   (schema first, then data only) until Grafana cancels.
//! * CheckHealth: OK. CollectMetrics: queries per scenario, stream points.

pub mod scenarios;
pub mod walk;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grafana_wasm_sdk::backend::*;
use grafana_wasm_sdk::data::{Field, Frame, FrameInclude};
use grafana_wasm_sdk::log;

use walk::{Walk, WalkShape};

/// The stream path a panel subscribes to.
pub const STREAM_PATH: &str = "random-walk";
/// Time between two streamed points.
const STREAM_TICK: Duration = Duration::from_millis(500);

/// The datasource and its counters.
#[derive(Default)]
pub struct TestData {
    queries: RefCell<BTreeMap<&'static str, u64>>,
    stream_points: Cell<u64>,
}

impl TestData {
    fn answer(&self, query: &DataQuery) -> DataResponse {
        match scenarios::run(query) {
            Ok((scenario, frames)) => {
                *self.queries.borrow_mut().entry(scenario).or_default() += 1;
                DataResponse::frames(frames)
            }
            Err(err) => DataResponse::error(err).with_status(400),
        }
    }
}

impl QueryDataHandler for TestData {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        let mut response = QueryDataResponse::new();
        for query in &req.queries {
            response.insert(query.ref_id.clone(), self.answer(query));
        }
        Ok(response)
    }
}

impl CheckHealthHandler for TestData {
    fn check_health(&self, _: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        Ok(CheckHealthResult::ok("Data source is working"))
    }
}

impl CallResourceHandler for TestData {
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        let router = ResourceRouter::new().get("scenarios", |_| {
            Ok(CallResourceResponse::json(
                200,
                &serde_json::json!(scenarios::SCENARIOS),
            ))
        });
        sender.send(router.answer(&req)?)
    }
}

impl CollectMetricsHandler for TestData {
    fn collect_metrics(&self, _: CollectMetricsRequest) -> Result<CollectMetricsResult, Error> {
        let mut text = String::from("# TYPE testdata_queries_total counter\n");
        for (scenario, count) in self.queries.borrow().iter() {
            text.push_str(&format!(
                "testdata_queries_total{{scenario=\"{scenario}\"}} {count}\n"
            ));
        }
        text.push_str(&format!(
            "# TYPE testdata_stream_points_total counter\ntestdata_stream_points_total {}\n",
            self.stream_points.get()
        ));
        Ok(CollectMetricsResult {
            prometheus_metrics: text.into_bytes(),
        })
    }
}

impl StreamHandler for TestData {
    fn subscribe_stream(
        &self,
        req: SubscribeStreamRequest,
    ) -> Result<SubscribeStreamResponse, Error> {
        let status = if req.path == STREAM_PATH {
            StreamStatus::Ok
        } else {
            StreamStatus::NotFound
        };
        Ok(SubscribeStreamResponse {
            status,
            data: Vec::new(),
        })
    }

    fn publish_stream(&self, _: PublishStreamRequest) -> Result<PublishStreamResponse, Error> {
        Ok(PublishStreamResponse {
            status: StreamStatus::PermissionDenied,
            data: Vec::new(),
        })
    }

    fn run_stream(
        &self,
        req: RunStreamRequest,
        sender: &mut dyn StreamPacketSender,
    ) -> Result<(), Error> {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut walk = Walk::new(WalkShape::default(), seed);
        let mut parts = FrameInclude::All;
        loop {
            let frame = Frame::new("random-walk")
                .with_field(Field::new("time", vec![SystemTime::now()]))
                .with_field(Field::new("value", vec![walk.step()]));
            let sent = sender
                .send_frame(frame, parts)
                .and_then(|()| sender.wait(STREAM_TICK));
            if sent.is_err() {
                log::debug("stream ended", &[("path", &req.path)]);
                return Ok(());
            }
            self.stream_points.set(self.stream_points.get() + 1);
            parts = FrameInclude::DataOnly;
        }
    }
}

fn serve_opts() -> ServeOpts {
    let ds = Rc::new(TestData::default());
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

    #[test]
    fn a_failing_query_does_not_fail_its_siblings() {
        let req = QueryDataRequest {
            queries: vec![
                DataQuery {
                    ref_id: "A".into(),
                    json: br#"{"scenarioId":"table_static"}"#.to_vec(),
                    ..DataQuery::default()
                },
                DataQuery {
                    ref_id: "B".into(),
                    json: br#"{"scenarioId":"nope"}"#.to_vec(),
                    ..DataQuery::default()
                },
            ],
            ..QueryDataRequest::default()
        };
        let ds = TestData::default();
        let response = ds.query_data(req).unwrap();
        assert_eq!(response.responses["A"].frames[0].rows(), 3);
        assert_eq!(response.responses["B"].status, Some(400));
        let metrics = ds
            .collect_metrics(CollectMetricsRequest::default())
            .unwrap();
        let text = String::from_utf8(metrics.prometheus_metrics).unwrap();
        assert!(text.contains("testdata_queries_total{scenario=\"table_static\"} 1"));
    }

    #[test]
    fn only_the_random_walk_stream_exists() {
        let subscribe = |path: &str| {
            TestData::default()
                .subscribe_stream(SubscribeStreamRequest {
                    path: path.into(),
                    ..SubscribeStreamRequest::default()
                })
                .unwrap()
                .status
        };
        assert_eq!(subscribe(STREAM_PATH), StreamStatus::Ok);
        assert_eq!(subscribe("other"), StreamStatus::NotFound);
    }
}
