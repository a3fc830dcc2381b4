//! Shared set-up: launching the host with a component, requests, decoding.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_schema::Schema;
use grafana_wasm_host::client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;

/// The host binary under test.
pub const HOST: &str = env!("CARGO_BIN_EXE_grafana-wasm-host");

pub use grafana_wasm_test_artifacts::{
    DATA_ONLY, FRAME_ECHO, FUTURE_CONTRACT, HELLO_APP, HTTP_JSON, PROTOCOL, RANDOM_WALK, SANDBOX,
    TESTDATA, WRONG_WORLD,
};

/// The host command serving `component`, with a clean environment apart
/// from what Grafana would pass.
pub fn host_command(component: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(HOST);
    command
        .env_clear()
        .env("GF_PLUGIN_WASM_COMPONENT", component)
        .env("GF_PLUGIN_LOG_LEVEL", "debug");
    command
}

/// Launches the host serving `component` as Grafana does.
pub async fn launch(component: &str) -> PluginProcess {
    PluginProcess::launch(host_command(component))
        .await
        .expect("launching the host")
}

/// A datasource plugin context.
pub fn context() -> pb::PluginContext {
    pb::PluginContext {
        org_id: 1,
        plugin_id: "test-ds".into(),
        user: Some(pb::User {
            login: "admin".into(),
            role: "Admin".into(),
            ..Default::default()
        }),
        data_source_instance_settings: Some(pb::DataSourceInstanceSettings {
            id: 7,
            uid: "ds-uid".into(),
            name: "Test".into(),
            json_data: b"{}".to_vec(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A query over `[from_ms, to_ms]` with `json`.
pub fn query(ref_id: &str, json: &str, to_ms: i64) -> pb::DataQuery {
    pb::DataQuery {
        ref_id: ref_id.into(),
        time_range: Some(pb::TimeRange {
            from_epoch_ms: to_ms - 3_600_000,
            to_epoch_ms: to_ms,
        }),
        json: json.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// A QueryData request for `queries`.
pub fn query_request(queries: Vec<pb::DataQuery>) -> pb::QueryDataRequest {
    pb::QueryDataRequest {
        plugin_context: Some(context()),
        queries,
        ..Default::default()
    }
}

/// Decodes one Arrow IPC file frame as Grafana does (file format only).
pub fn decode_frame(bytes: &[u8]) -> (Arc<Schema>, Vec<RecordBatch>) {
    assert!(
        bytes.starts_with(b"ARROW1"),
        "frames must be Arrow IPC files"
    );
    let reader = FileReader::try_new(std::io::Cursor::new(bytes), None).expect("arrow file");
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .expect("record batches");
    (schema, batches)
}

/// The host's stderr lines parsed as JSON objects.
pub fn log_entries(plugin: &PluginProcess) -> Vec<serde_json::Value> {
    plugin
        .stderr_lines()
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("log line {line:?} is not JSON: {e}"))
        })
        .collect()
}

/// The status code of a server-streamed call that fails, whether the error
/// comes with the response headers or as the stream's first item.
pub async fn streamed_error_code<T>(
    call: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>,
) -> tonic::Code {
    use tokio_stream::StreamExt;
    match call {
        Ok(stream) => match stream.into_inner().next().await {
            Some(Err(status)) => status.code(),
            other => panic!("expected an error, got {:?}", other.map(|r| r.is_ok())),
        },
        Err(status) => status.code(),
    }
}

/// A RunStream request for `path` in the test context.
pub fn run_stream_request(path: &str) -> pb::RunStreamRequest {
    pb::RunStreamRequest {
        plugin_context: Some(context()),
        path: path.into(),
        ..Default::default()
    }
}

/// Names of the metric families in a Prometheus text exposition, which must
/// parse.
pub fn metric_families(text: &str) -> Vec<String> {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("valid Prometheus text");
    let mut names: Vec<String> = scrape.samples.into_iter().map(|s| s.metric).collect();
    names.dedup();
    names
}

/// The value of the sample `metric` whose labels include `labels`.
pub fn metric_value(text: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).ok()?;
    scrape
        .samples
        .into_iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

/// A CollectMetrics scrape, as Prometheus text.
pub async fn scrape_metrics(plugin: &PluginProcess) -> String {
    let metrics = plugin
        .diagnostics()
        .collect_metrics(pb::CollectMetricsRequest {
            plugin_context: Some(context()),
        })
        .await
        .expect("CollectMetrics answers")
        .into_inner();
    String::from_utf8(metrics.metrics.unwrap_or_default().prometheus).expect("UTF-8 metrics")
}

/// A CheckHealth without plugin context, as Grafana's health endpoint of
/// the plugin sends it.
pub async fn check_health(
    plugin: &PluginProcess,
) -> Result<pb::CheckHealthResponse, tonic::Status> {
    plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

/// The JSON body of the first message of a resource call.
pub async fn first_resource_json(
    plugin: &PluginProcess,
    request: pb::CallResourceRequest,
) -> serde_json::Value {
    use tokio_stream::StreamExt;
    let mut stream = plugin
        .resource()
        .call_resource(request)
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    serde_json::from_slice(&first.body).unwrap()
}

/// A RunStream of `path` in the test context, once its first packet came.
pub async fn running_stream(
    plugin: &PluginProcess,
    path: &str,
) -> tonic::Streaming<pb::StreamPacket> {
    use tokio_stream::StreamExt;
    let mut stream = plugin
        .stream()
        .run_stream(run_stream_request(path))
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();
    stream
}

/// Asserts that the host still answers: a health check succeeds.
pub async fn assert_serving(plugin: &PluginProcess) {
    let health = check_health(plugin).await;
    assert!(health.is_ok(), "the host keeps serving: {health:?}");
}

/// Runs the host binary with `args` (a CLI subcommand), as a person would.
pub fn run_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(HOST)
        .args(args)
        .output()
        .expect("running the host binary")
}

/// The standard output of a successful CLI run; fails the test with the
/// standard error otherwise.
pub fn cli_stdout(args: &[&str]) -> String {
    let output = run_cli(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Go's names for this machine's OS and architecture, as in executable names.
pub fn go_platform() -> (&'static str, &'static str) {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => ("linux", "amd64"),
        ("linux", "aarch64") => ("linux", "arm64"),
        other => panic!("add the Go names of {other:?}"),
    }
}

/// Asserts that within 2 s no guest call is running any more (the scrape's
/// own call has ended when its text is built): no guest work outlives its
/// caller.
pub async fn assert_no_calls_in_flight(plugin: &PluginProcess) {
    let mut running = f64::NAN;
    for _ in 0..100 {
        let text = scrape_metrics(plugin).await;
        running = metric_value(&text, "grafana_wasm_calls_in_flight", &[]).unwrap();
        if running == 0.0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{running} guest calls still running after their callers left");
}
