//! One call of each kind, as Grafana makes it, judged as Grafana would:
//! a gRPC error, a query answered with an error, or a resource answered
//! with a status other than 200 is a failure.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grafana_wasm_client::{PluginProcess, admin_context};
use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

use crate::args::{Args, Rpc};

/// How long a stream may take to send its first packet.
const FIRST_PACKET: Duration = Duration::from_secs(5);

/// A caller's clients and the requests it repeats.
#[derive(Clone)]
pub struct Caller {
    data: pb::data_client::DataClient<Channel>,
    resource: pb::resource_client::ResourceClient<Channel>,
    diagnostics: pb::diagnostics_client::DiagnosticsClient<Channel>,
    stream: pb::stream_client::StreamClient<Channel>,
    context: pb::PluginContext,
    rpc: Rpc,
    query_json: Vec<u8>,
    stream_path: String,
}

impl Caller {
    /// Clients on `plugin`'s connection, for the calls `args` asks for;
    /// with `api`, the datasource reads that local API.
    pub fn new(plugin: &PluginProcess, args: &Args, api: Option<&str>) -> Self {
        let query_json = match api {
            Some(_) => format!(r#"{{"path":"{}"}}"#, crate::api::PATH),
            None => format!(r#"{{"points":{}}}"#, args.points),
        };
        Self {
            data: plugin.data(),
            resource: plugin.resource(),
            diagnostics: plugin.diagnostics(),
            stream: plugin.stream(),
            context: context(&args.plugin_id, api.unwrap_or_default()),
            rpc: args.rpc,
            query_json: query_json.into_bytes(),
            stream_path: args.stream_path.clone(),
        }
    }

    /// Makes call number `seq`. `--rpc mixed` takes each kind in turn.
    pub async fn call(&mut self, seq: u64) -> Result<(), String> {
        match self.rpc {
            Rpc::Query => self.query().await,
            Rpc::Resource => self.resource().await,
            Rpc::Health => self.health().await,
            Rpc::Metrics => self.metrics().await,
            Rpc::Mixed => match seq % 5 {
                0 => self.query().await,
                1 => self.resource().await,
                2 => self.health().await,
                3 => self.metrics().await,
                _ => self.stream_once().await,
            },
        }
    }

    async fn query(&mut self) -> Result<(), String> {
        let to_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64;
        let request = pb::QueryDataRequest {
            plugin_context: Some(self.context.clone()),
            queries: vec![pb::DataQuery {
                ref_id: "A".into(),
                json: self.query_json.clone(),
                time_range: Some(pb::TimeRange {
                    from_epoch_ms: to_ms - 3_600_000,
                    to_epoch_ms: to_ms,
                }),
                max_data_points: 1000,
                interval_ms: 1000,
                ..Default::default()
            }],
            ..Default::default()
        };
        let response = self.data.query_data(request).await.map_err(status)?;
        match response.into_inner().responses.get("A") {
            Some(answer) if answer.error.is_empty() && !answer.frames.is_empty() => Ok(()),
            Some(answer) => Err(format!("query failed: {:?}", answer.error)),
            None => Err("query answered without refId A".into()),
        }
    }

    async fn resource(&mut self) -> Result<(), String> {
        let request = pb::CallResourceRequest {
            plugin_context: Some(self.context.clone()),
            path: "echo".into(),
            method: "POST".into(),
            url: "echo".into(),
            body: br#"{"hello":"world"}"#.to_vec(),
            ..Default::default()
        };
        let mut answers = self
            .resource
            .call_resource(request)
            .await
            .map_err(status)?
            .into_inner();
        let first = answers.next().await.ok_or("no resource answer")?;
        let first = first.map_err(status)?;
        while answers.next().await.is_some() {}
        match first.code {
            200 => Ok(()),
            code => Err(format!("resource answered {code}")),
        }
    }

    async fn health(&mut self) -> Result<(), String> {
        let request = pb::CheckHealthRequest {
            plugin_context: Some(self.context.clone()),
            ..Default::default()
        };
        let health = self
            .diagnostics
            .check_health(request)
            .await
            .map_err(status)?
            .into_inner();
        match pb::check_health_response::HealthStatus::try_from(health.status) {
            Ok(pb::check_health_response::HealthStatus::Ok) => Ok(()),
            _ => Err(format!("health: {}", health.message)),
        }
    }

    async fn metrics(&mut self) -> Result<(), String> {
        let request = pb::CollectMetricsRequest {
            plugin_context: Some(self.context.clone()),
        };
        self.diagnostics
            .collect_metrics(request)
            .await
            .map(drop)
            .map_err(status)
    }

    /// Subscribes, runs the stream until its first packet, and cancels it
    /// (as a viewer closing the panel does).
    async fn stream_once(&mut self) -> Result<(), String> {
        let subscribe = pb::SubscribeStreamRequest {
            plugin_context: Some(self.context.clone()),
            path: self.stream_path.clone(),
            ..Default::default()
        };
        let subscribed = self
            .stream
            .subscribe_stream(subscribe)
            .await
            .map_err(status)?
            .into_inner();
        if subscribed.status != pb::subscribe_stream_response::Status::Ok as i32 {
            return Err(format!(
                "subscribe {}: status {}",
                self.stream_path, subscribed.status
            ));
        }
        let run = pb::RunStreamRequest {
            plugin_context: Some(self.context.clone()),
            path: self.stream_path.clone(),
            ..Default::default()
        };
        let mut packets = self
            .stream
            .run_stream(run)
            .await
            .map_err(status)?
            .into_inner();
        match tokio::time::timeout(FIRST_PACKET, packets.next()).await {
            Ok(Some(Ok(_))) => Ok(()),
            Ok(Some(Err(err))) => Err(status(err)),
            Ok(None) => Err("stream ended before its first packet".into()),
            Err(_) => Err("no stream packet within 5 s".into()),
        }
    }
}

fn status(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// The context of a datasource call by an admin, as Grafana sends it, for
/// a datasource at `url`.
fn context(plugin_id: &str, url: &str) -> pb::PluginContext {
    admin_context(
        plugin_id,
        Some(pb::DataSourceInstanceSettings {
            id: 1,
            uid: "load".into(),
            name: "load".into(),
            url: url.into(),
            json_data: b"{}".to_vec(),
            last_updated_ms: 1,
            ..Default::default()
        }),
    )
}
