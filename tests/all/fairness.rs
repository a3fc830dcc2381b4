//! One plugin's misbehaviour never takes what the others need, through the
//! real binary: a datasource's flood of calls holds only its share of the
//! call slots; streams are capped and idle instances make room before a
//! call is refused; no capacity is `RESOURCE_EXHAUSTED` and never backs a
//! datasource off; a failing health check is a health result; guest log
//! floods are cut down and counted; rejected stream packets are logged and
//! counted.

use grafana_wasm_client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;
use tonic::Code;

use crate::support::*;

/// Launches `component` with `GF_PLUGIN_<KEY>` overrides.
async fn launch_with(component: &str, overrides: &[(&str, &str)]) -> PluginProcess {
    let mut command = host_command(component);
    for (key, value) in overrides {
        command.env(format!("GF_PLUGIN_{}", key.to_uppercase()), value);
    }
    PluginProcess::launch(command)
        .await
        .expect("launching the host")
}

/// The test context for datasource `uid`.
fn context_of(uid: &str) -> pb::PluginContext {
    let mut ctx = context();
    ctx.data_source_instance_settings.as_mut().unwrap().uid = uid.into();
    ctx
}

/// A query of the sandbox probe `args` for datasource `uid`.
fn probe_query(uid: &str, args: Value) -> pb::QueryDataRequest {
    let mut request = query_request(vec![query("A", &args.to_string(), 1_000)]);
    request.plugin_context = Some(context_of(uid));
    request
}

/// The value of `metric` with `labels` in a scrape, 0 when absent.
async fn metric(plugin: &PluginProcess, name: &str, labels: &[(&str, &str)]) -> f64 {
    metric_value(&scrape_metrics(plugin).await, name, labels).unwrap_or(0.0)
}

/// Waits until `count` guest calls are running.
async fn until_running(plugin: &PluginProcess, count: f64) {
    let what = format!("{count} guest calls running");
    eventually(&what, || async { calls_in_flight(plugin).await >= count }).await;
}

#[tokio::test]
async fn a_flood_of_one_datasource_leaves_slots_to_another() {
    let plugin = launch_with(
        SANDBOX,
        &[
            ("max_concurrent_calls", "2"),
            ("datasource_call_share", "0.5"),
            ("query_timeout_seconds", "20"),
        ],
    )
    .await;
    let flood: Vec<_> = (0..3)
        .map(|_| {
            let mut data = plugin.data();
            tokio::spawn(async move {
                data.query_data(probe_query("flood", json!({"probe": "loop"})))
                    .await
            })
        })
        .collect();
    until_running(&plugin, 1.0).await;
    // Without shares, the flood would hold both slots until its deadline.
    let answer = plugin
        .data()
        .query_data(probe_query("calm", json!({"probe": "alloc"})))
        .await;
    assert!(answer.is_ok(), "{answer:?}");
    assert!(
        flood.iter().all(|call| !call.is_finished()),
        "the other datasource answered while the flood spun"
    );
}

/// A RunStream of the protocol guest (which sends one packet, then waits
/// until cancelled) for datasource `uid`.
fn stream_request(uid: &str) -> pb::RunStreamRequest {
    let mut request = run_stream_request("ready");
    request.plugin_context = Some(context_of(uid));
    request
}

/// Opens a stream for datasource `uid` and waits for its first packet: its
/// guest runs and holds an instance.
async fn open_stream(plugin: &PluginProcess, uid: &str) -> tonic::Streaming<pb::StreamPacket> {
    running_stream_of(plugin, stream_request(uid)).await
}

/// The refusal of a stream for datasource `uid`.
async fn refused_stream(plugin: &PluginProcess, uid: &str) -> tonic::Status {
    let stream = plugin.stream().run_stream(stream_request(uid)).await;
    match stream {
        Err(status) => status,
        Ok(stream) => match stream.into_inner().next().await {
            Some(Err(status)) => status,
            other => panic!("the stream was not refused: {other:?}"),
        },
    }
}

/// The status of a QueryData of the protocol guest for datasource `uid`.
async fn query_status(plugin: &PluginProcess, uid: &str) -> Result<(), tonic::Status> {
    let mut request = query_request(vec![query("A", "{}", 1_000)]);
    request.plugin_context = Some(context_of(uid));
    plugin.data().query_data(request).await.map(drop)
}

#[tokio::test]
async fn streams_are_capped_per_datasource_and_in_all() {
    let plugin = launch_with(
        PROTOCOL,
        &[("max_streams", "3"), ("max_streams_per_datasource", "2")],
    )
    .await;
    let _a1 = open_stream(&plugin, "a").await;
    let _a2 = open_stream(&plugin, "a").await;
    let refused = refused_stream(&plugin, "a").await;
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("max_streams_per_datasource"),
        "{}",
        refused.message()
    );
    let _b = open_stream(&plugin, "b").await;
    let refused = refused_stream(&plugin, "c").await;
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("max_streams"),
        "{}",
        refused.message()
    );
    assert_serving(&plugin).await;
}

#[tokio::test]
async fn idle_instances_make_room_and_no_room_never_backs_off() {
    // Three instance slots; streams may take them all.
    let plugin = launch_with(PROTOCOL, &[("max_instances", "3"), ("max_streams", "8")]).await;
    query_status(&plugin, "idle").await.unwrap();
    let mut streams = vec![
        open_stream(&plugin, "s").await,
        open_stream(&plugin, "s").await,
    ];
    // Two streams and an idle instance hold the three slots: the idle one
    // goes, twice.
    query_status(&plugin, "other").await.unwrap();
    streams.push(open_stream(&plugin, "s").await);
    // Now the streams hold every slot: refused, more often than the
    // back-off threshold, with the reason.
    for _ in 0..4 {
        let refused = query_status(&plugin, "victim").await.unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
        assert!(
            refused.message().contains("instance slots"),
            "{}",
            refused.message()
        );
    }
    drop(streams);
    assert_no_calls_in_flight(&plugin).await;
    let after = query_status(&plugin, "victim").await;
    assert!(after.is_ok(), "not backed off: {after:?}");
}

/// A CheckHealth of the sandbox probe for datasource "a", running the
/// probe named by its `probe` header.
async fn health_probe(plugin: &PluginProcess, probe: &str) -> pb::CheckHealthResponse {
    let request = pb::CheckHealthRequest {
        plugin_context: Some(context_of("a")),
        headers: [("probe".to_owned(), probe.to_owned())].into(),
    };
    plugin
        .diagnostics()
        .check_health(request)
        .await
        .expect("a health result, not an RPC error")
        .into_inner()
}

#[tokio::test]
async fn a_trapping_or_backed_off_health_check_is_an_error_result_with_the_reason() {
    let plugin = launch_with(
        SANDBOX,
        &[("trap_backoff_after", "2"), ("health_timeout_seconds", "1")],
    )
    .await;
    let error = pb::check_health_response::HealthStatus::Error as i32;
    let trapped = health_probe(&plugin, "panic").await;
    assert_eq!(trapped.status, error);
    assert!(
        trapped.message.contains("failed in the sandbox"),
        "{}",
        trapped.message
    );
    let stopped = health_probe(&plugin, "loop").await;
    assert_eq!(stopped.status, error);
    assert!(stopped.message.contains("deadline"), "{}", stopped.message);
    let backed_off = health_probe(&plugin, "none").await;
    assert_eq!(backed_off.status, error);
    assert!(
        backed_off.message.contains("refused for another"),
        "{}",
        backed_off.message
    );
}

/// Runs the sandbox probe `args` as a resource call for datasource "a".
async fn resource_probe(plugin: &PluginProcess, args: Value) -> Value {
    let request = pb::CallResourceRequest {
        plugin_context: Some(context_of("a")),
        path: "probe".into(),
        method: "POST".into(),
        body: args.to_string().into_bytes(),
        ..Default::default()
    };
    first_resource_json(plugin, request).await
}

#[tokio::test]
async fn guest_log_floods_are_rate_limited_and_the_drops_counted() {
    let plugin = launch_with(SANDBOX, &[("log_lines_per_second", "50")]).await;
    resource_probe(&plugin, json!({"probe": "log-flood", "count": 20_000})).await;
    resource_probe(&plugin, json!({"probe": "print-flood", "count": 20_000})).await;
    let report = logged(
        &plugin,
        "guest log lines dropped: the plugin wrote more than log_lines_per_second",
    )
    .await;
    assert!(report["dropped"].as_u64().unwrap() > 0, "{report}");
    let dropped = metric(
        &plugin,
        "grafana_wasm_log_lines_dropped_total",
        &[("reason", "rate_limit")],
    )
    .await;
    assert!(dropped >= 39_000.0, "{dropped} lines dropped");
    let written = plugin
        .stderr_lines()
        .iter()
        .filter(|line| line.contains("flood"))
        .count();
    assert!(written < 1_000, "{written} flood lines reached the log");
    assert_serving(&plugin).await;
}

#[tokio::test]
async fn a_huge_log_line_is_cut_and_says_so() {
    let plugin = launch_with(SANDBOX, &[]).await;
    resource_probe(&plugin, json!({"probe": "log-big", "mb": 8})).await;
    let cut_line = || {
        plugin
            .stderr_lines()
            .into_iter()
            .find(|line| line.contains(r#""cut""#))
    };
    eventually("the cut line is logged", || async { cut_line().is_some() }).await;
    let cut = cut_line().unwrap();
    assert!(
        cut.len() <= grafana_wasm_serve::logging::MAX_LINE_BYTES,
        "{} bytes",
        cut.len()
    );
    let entry: Value = serde_json::from_str(&cut).unwrap();
    assert!(
        entry["cut"].as_str().unwrap().contains("was cut"),
        "{entry}"
    );
    assert_eq!(entry["pluginId"], "sandbox");
}

#[tokio::test]
async fn rejected_stream_packets_are_logged_and_counted() {
    let plugin = launch(PROTOCOL).await;
    let mut stream = plugin
        .stream()
        .run_stream(run_stream_request("bad-json"))
        .await
        .unwrap()
        .into_inner();
    while stream.next().await.is_some() {}
    let entry = logged(&plugin, "stream packet rejected").await;
    assert_eq!(entry["reason"], "not_json", "{entry}");
    assert_eq!(entry["@level"], "warn");
    let rejected = metric(
        &plugin,
        "grafana_wasm_stream_packets_rejected_total",
        &[("reason", "not_json")],
    )
    .await;
    assert_eq!(rejected, 1.0);
}
