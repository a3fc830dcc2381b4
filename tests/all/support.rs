//! Shared set-up: launching the host with a component, requests, decoding.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_schema::Schema;
use grafana_wasm_client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;
use serde_json::{Value, json};

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

/// The host's log entries once `done` holds for them, waiting up to 10 s
/// (a log line may reach the test after the answer it explains); fails the
/// test otherwise.
pub async fn log_entries_when(
    plugin: &PluginProcess,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let entries = log_entries(plugin);
        if done(&entries) {
            return entries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expected log lines never came: {entries:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The first log entry with `message`, once logged.
pub async fn logged(plugin: &PluginProcess, message: &str) -> serde_json::Value {
    let with_message = |entries: &[serde_json::Value]| {
        entries
            .iter()
            .find(|entry| entry["@message"] == message)
            .cloned()
    };
    let entries = log_entries_when(plugin, |entries| with_message(entries).is_some()).await;
    with_message(&entries).expect("logged")
}

/// How many of the host's log entries have a message containing `text`.
pub fn count_logged(entries: &[serde_json::Value], text: &str) -> usize {
    entries
        .iter()
        .filter(|e| e["@message"].as_str().is_some_and(|m| m.contains(text)))
        .count()
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

/// How long a test waits for something the host does by itself (a log line,
/// a metric moving) before it fails, unless the promise under test is a
/// tighter bound: generous, for a loaded CI machine.
pub const EVENTUALLY: Duration = Duration::from_secs(30);

/// Polls `holds` every 10 ms until it is true; fails the test, naming
/// `what`, after `limit`.
pub async fn eventually_within<F>(what: &str, limit: Duration, mut holds: impl FnMut() -> F)
where
    F: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while !holds().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still not the case after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`eventually_within`] [`EVENTUALLY`].
pub async fn eventually<F>(what: &str, holds: impl FnMut() -> F)
where
    F: std::future::Future<Output = bool>,
{
    eventually_within(what, EVENTUALLY, holds).await;
}

/// A RunStream of `path` in the test context, once its first packet came.
pub async fn running_stream(
    plugin: &PluginProcess,
    path: &str,
) -> tonic::Streaming<pb::StreamPacket> {
    running_stream_of(plugin, run_stream_request(path)).await
}

/// The RunStream `request`, once its first packet came (its guest runs
/// and holds an instance); fails the test when it is refused or ends first.
pub async fn running_stream_of(
    plugin: &PluginProcess,
    request: pb::RunStreamRequest,
) -> tonic::Streaming<pb::StreamPacket> {
    use tokio_stream::StreamExt;
    let path = request.path.clone();
    let mut stream = plugin
        .stream()
        .run_stream(request)
        .await
        .unwrap_or_else(|status| panic!("stream {path} refused: {status:?}"))
        .into_inner();
    match stream.next().await {
        Some(Ok(_)) => stream,
        other => panic!("stream {path} ended before its first packet: {other:?}"),
    }
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
    stdout_of(&run_cli(args), true, args)
}

/// The standard output of a CLI run that must fail (it still prints what
/// it received: an error answer, a failed query, a 404).
pub fn cli_stdout_failing(args: &[&str]) -> String {
    stdout_of(&run_cli(args), false, args)
}

/// The standard output of `output`, after checking that the command
/// succeeded or failed as `success` says.
fn stdout_of(output: &std::process::Output, success: bool, args: &[&str]) -> String {
    assert_eq!(
        output.status.success(),
        success,
        "{args:?} exited with {}: {}",
        output.status,
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
    eventually_within(
        "no guest call running once their callers left",
        Duration::from_secs(2),
        || async { calls_in_flight(plugin).await == 0.0 },
    )
    .await;
}

/// Guest calls running, besides the scrape asking (its call ends before
/// the host reports).
pub async fn calls_in_flight(plugin: &PluginProcess) -> f64 {
    let text = scrape_metrics(plugin).await;
    metric_value(&text, "grafana_wasm_calls_in_flight", &[]).unwrap()
}

/// Resident memory of process `pid`, in KiB.
pub fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The credentials of the datasources in front of [`json_api`], as
/// Grafana sends them: basic auth `grafana` / `s3cret`.
pub const BASIC_AUTH: &str = "basic z3jhzmfuytpzm2nyzxq="; // base64("grafana:s3cret"), lowercased

/// The head of the HTTP request arriving on `socket`, lowercased.
fn request_head(socket: &mut std::net::TcpStream) -> String {
    use std::io::Read as _;
    let mut head = Vec::new();
    let mut buf = [0_u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).to_ascii_lowercase()
}

/// An HTTP server on loopback answering `{}` to everything: its port and
/// the request heads it received, lowercased.
pub fn recording_api() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            seen.lock().unwrap().push(request_head(&mut socket));
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    (port, heads)
}

/// A JSON API on 127.0.0.1 answering each GET of a `routes` path with its
/// body when the request carries `authorization` (compared lowercased),
/// 404 for other paths, 401 without it. Returns its port.
pub fn json_api(authorization: &'static str, routes: &'static [(&str, &str)]) -> u16 {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            let head = request_head(&mut socket);
            let route = routes
                .iter()
                .find(|(path, _)| head.starts_with(&format!("get {path} ")));
            let (status, body) = match route {
                _ if !head.contains(&format!("authorization: {authorization}")) => {
                    ("401 Unauthorized", "[]")
                }
                Some((_, body)) => ("200 OK", *body),
                None => ("404 Not Found", r#"{"error":"not found"}"#),
            };
            let _ = write!(
                socket,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// `call` on `component` as the datasource in front of the [`json_api`]
/// at `port`, with [`BASIC_AUTH`]'s credentials in its settings and the
/// sandbox configuration of `example-plugins/<example>`; the standard
/// output, failing the test with the standard error otherwise.
pub fn call_api_datasource(component: &str, example: &str, port: u16, args: &[&str]) -> String {
    let output = api_datasource_call(component, example, port, args);
    stdout_of(&output, true, args)
}

/// [`call_api_datasource`] for a call that must fail (an error answer).
pub fn call_api_datasource_failing(
    component: &str,
    example: &str,
    port: u16,
    args: &[&str],
) -> String {
    let output = api_datasource_call(component, example, port, args);
    stdout_of(&output, false, args)
}

fn api_datasource_call(
    component: &str,
    example: &str,
    port: u16,
    args: &[&str],
) -> std::process::Output {
    let sandbox = format!(
        "{}/../example-plugins/{example}/sandbox.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let settings = format!(
        r#"{{"url":"http://127.0.0.1:{port}","basicAuth":true,"basicAuthUser":"grafana","secureJsonData":{{"basicAuthPassword":"s3cret"}}}}"#
    );
    std::process::Command::new(HOST)
        .args(["call", "--component", component, "--settings", &settings])
        .args(args)
        .env("GF_PLUGIN_WASM_SANDBOX_CONFIG", sandbox)
        // The test API is on loopback, which the sandbox refuses unless granted.
        .env("GF_PLUGIN_ALLOW_ADDRESSES", "127.0.0.1/32")
        .output()
        .expect("running the host binary")
}

/// Launches the sandbox probe with `GF_PLUGIN_<KEY>` overrides, as an
/// operator's `[plugin.<id>]` section would set them.
pub async fn launch_probe(overrides: &[(&str, &str)]) -> PluginProcess {
    let mut command = host_command(SANDBOX);
    for (key, value) in overrides {
        command.env(format!("GF_PLUGIN_{}", key.to_uppercase()), value);
    }
    PluginProcess::launch(command)
        .await
        .expect("launching the host")
}

/// A datasource `uid` at `url`, with secrets and jsonData.
pub fn datasource(
    uid: &str,
    url: &str,
    json: Value,
    secrets: &[(&str, &str)],
) -> pb::PluginContext {
    let mut ctx = context();
    let ds = ctx.data_source_instance_settings.as_mut().unwrap();
    ds.uid = uid.into();
    ds.url = url.into();
    ds.json_data = json.to_string().into_bytes();
    ds.decrypted_secure_json_data = secrets
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ctx
}

/// Runs a probe as a query: the probe's JSON answer, or the call's status.
pub async fn query_probe(
    plugin: &PluginProcess,
    ctx: pb::PluginContext,
    args: Value,
) -> Result<Value, tonic::Status> {
    let mut request = query_request(vec![query("A", &args.to_string(), 1_000)]);
    request.plugin_context = Some(ctx);
    let response = plugin.data().query_data(request).await?.into_inner();
    let answer = &response.responses["A"];
    assert!(answer.error.is_empty(), "{}", answer.error);
    let (_, batches) = decode_frame(&answer.frames[0]);
    let column = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .expect("a string field")
        .value(0)
        .to_owned();
    Ok(serde_json::from_str(&column).unwrap())
}

/// Runs a probe as a resource call: the probe's JSON answer.
pub async fn resource_probe(plugin: &PluginProcess, ctx: pb::PluginContext, args: Value) -> Value {
    let request = pb::CallResourceRequest {
        plugin_context: Some(ctx),
        path: "probe".into(),
        method: "POST".into(),
        body: args.to_string().into_bytes(),
        ..Default::default()
    };
    first_resource_json(plugin, request).await
}

/// Fetches `path` of the datasource's own URL from inside the guest, as a
/// resource call: the probe's JSON answer.
pub async fn fetch_datasource(plugin: &PluginProcess, ctx: pb::PluginContext, path: &str) -> Value {
    resource_probe(
        plugin,
        ctx,
        json!({"probe": "fetch-datasource", "path": path}),
    )
    .await
}

/// Whether `program arg` runs and succeeds: the tool is installed.
pub fn runs(program: impl AsRef<std::ffi::OsStr>, arg: &str) -> bool {
    std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Whether a test needing `tool` may run: when it is `present`; else,
/// outside CI, the test is skipped (said on stderr, with how to `install`
/// it), and under `CI` it fails.
pub fn tool_present(present: bool, tool: &str, install: &str) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is needed in CI ({install})"
        );
        eprintln!("{tool} not found ({install}): skipped");
    }
    present
}
