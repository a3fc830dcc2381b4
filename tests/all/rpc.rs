//! Every pluginv2 RPC through the example datasource.

use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampNanosecondType};
use arrow_schema::{DataType, TimeUnit};
use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::*;

const TO_MS: i64 = 1_700_000_000_000;

#[tokio::test]
async fn check_health_answers_ok() {
    let plugin = launch(RANDOM_WALK).await;
    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            plugin_context: Some(context()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status(), pb::check_health_response::HealthStatus::Ok);
    assert_eq!(health.message, "ok");
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn query_data_returns_arrow_frames_and_a_failing_query_fails_alone() {
    let plugin = launch(RANDOM_WALK).await;
    let response = plugin
        .data()
        .query_data(query_request(vec![
            query("A", r#"{"points":4}"#, TO_MS),
            query("B", r#"{"points":10000001}"#, TO_MS),
        ]))
        .await
        .unwrap()
        .into_inner();

    let a = &response.responses["A"];
    assert_eq!((a.status, a.error.as_str()), (200, ""));
    assert_eq!(a.format(), pb::DataFrameFormat::Arrow);
    assert_eq!(a.frames.len(), 1);
    let (schema, batches) = decode_frame(&a.frames[0]);
    assert_eq!(schema.metadata()["name"], "random-walk");
    assert_eq!(
        schema.metadata()["refId"],
        "A",
        "refId filled from the response key"
    );
    let time = schema.field(0);
    assert_eq!(time.name(), "time");
    assert_eq!(
        time.data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, None)
    );
    assert!(!time.is_nullable());
    assert_eq!(time.metadata()["tstype"], "time");
    assert_eq!(schema.field(1).data_type(), &DataType::Float64);
    assert_eq!(schema.field(1).metadata()["tstype"], "number");
    let batch = &batches[0];
    let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
    assert_eq!(times.len(), 4);
    assert_eq!(
        times.value(3),
        TO_MS * 1_000_000,
        "last point at the range end"
    );
    assert_eq!(times.value(3) - times.value(2), 1_000_000_000);
    let values = batch.column(1).as_primitive::<Float64Type>();
    assert_eq!(values.values().to_vec(), vec![0.0, 0.5, 1.0, 1.5]);

    let b = &response.responses["B"];
    assert!(b.frames.is_empty());
    assert!(b.error.contains("points must be between"), "{}", b.error);
    assert_eq!((b.status, b.error_source.as_str()), (400, "plugin"));
    plugin.shutdown().await.unwrap();
}

async fn resource(
    plugin: &grafana_wasm_client::PluginProcess,
    path: &str,
    body: Vec<u8>,
) -> (i32, Vec<u8>, usize) {
    let mut stream = plugin
        .resource()
        .call_resource(pb::CallResourceRequest {
            plugin_context: Some(context()),
            path: path.into(),
            method: "POST".into(),
            url: format!("{path}?x=1"),
            body,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (mut code, mut body, mut messages) = (0, Vec::new(), 0);
    while let Some(message) = stream.next().await {
        let message = message.unwrap();
        if messages == 0 {
            code = message.code;
        }
        messages += 1;
        body.extend(message.body);
    }
    (code, body, messages)
}

#[tokio::test]
async fn call_resource_echoes_and_unknown_paths_are_404() {
    let plugin = launch(RANDOM_WALK).await;
    let (code, body, _) = resource(&plugin, "echo", br#"{"hello":1}"#.to_vec()).await;
    assert_eq!((code, body.as_slice()), (200, br#"{"hello":1}"#.as_slice()));
    let (code, body, _) = resource(&plugin, "nope", Vec::new()).await;
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&body).contains("no resource"));
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn requests_up_to_16_mib_are_accepted_and_larger_ones_refused() {
    let plugin = launch(RANDOM_WALK).await;
    let big = vec![b'x'; 15 << 20];
    let (code, body, _) = resource(&plugin, "echo", big).await;
    assert_eq!((code, body.len()), (200, 15 << 20));

    let too_big = vec![b'x'; 17 << 20];
    let err = plugin
        .resource()
        .call_resource(pb::CallResourceRequest {
            path: "echo".into(),
            body: too_big,
            ..Default::default()
        })
        .await
        .expect_err("over the receive limit");
    assert!(
        matches!(err.code(), Code::ResourceExhausted | Code::OutOfRange),
        "{err:?}"
    );
    // The host keeps serving.
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn streams_subscribe_publish_and_run_until_cancelled() {
    let plugin = launch(RANDOM_WALK).await;
    let subscribe = |path: &str| pb::SubscribeStreamRequest {
        plugin_context: Some(context()),
        path: path.into(),
        ..Default::default()
    };
    let ok = plugin
        .stream()
        .subscribe_stream(subscribe("walk"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.status(), pb::subscribe_stream_response::Status::Ok);
    let missing = plugin
        .stream()
        .subscribe_stream(subscribe("other"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        missing.status(),
        pb::subscribe_stream_response::Status::NotFound
    );

    let published = plugin
        .stream()
        .publish_stream(pb::PublishStreamRequest {
            plugin_context: Some(context()),
            path: "walk".into(),
            data: br#"{"v":1}"#.to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(published.status(), pb::publish_stream_response::Status::Ok);
    assert_eq!(published.data, br#"{"v":1}"#);

    let mut packets = plugin
        .stream()
        .run_stream(run_stream_request("walk"))
        .await
        .unwrap()
        .into_inner();
    for seq in 0..5 {
        let packet = tokio::time::timeout(Duration::from_secs(5), packets.next())
            .await
            .expect("a packet every 100 ms")
            .expect("stream open")
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&packet.data).expect("packets are JSON");
        assert_eq!(json["seq"], seq);
    }
    // The guest now idles; cancelling must stop it and leave the host serving.
    drop(packets);
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn collect_metrics_merges_the_hosts_metrics_with_the_guests_and_they_move() {
    let plugin = launch(RANDOM_WALK).await;
    let before = scrape_metrics(&plugin).await;
    let families = metric_families(&before);
    for family in [
        "grafana_wasm_calls_total",
        "grafana_wasm_instances",
        "grafana_wasm_guest_memory_bytes",
        "grafana_wasm_component_info",
        "process_resident_memory_bytes",
        "randomwalk_queries_total",
    ] {
        assert!(
            families.iter().any(|f| f == family),
            "{family} missing from {families:?}"
        );
    }
    let sha256: String = {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(std::fs::read(RANDOM_WALK).unwrap());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    };
    let identity = metric_value(
        &before,
        "grafana_wasm_component_info",
        &[("sha256", &sha256), ("path", RANDOM_WALK)],
    );
    assert_eq!(identity, Some(1.0), "the component's identity is exported");
    let loaded_at = metric_value(
        &before,
        "grafana_wasm_component_loaded_timestamp_seconds",
        &[],
    );
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        loaded_at.is_some_and(|t| (now - 600.0..=now + 1.0).contains(&t)),
        "its load time too: {loaded_at:?}"
    );
    assert_eq!(
        metric_value(
            &before,
            "grafana_wasm_component_loads_total",
            &[("outcome", "ok")]
        ),
        Some(1.0)
    );
    let ok_queries = |text: &str| {
        metric_value(
            text,
            "grafana_wasm_calls_total",
            &[("rpc", "QueryData"), ("outcome", "ok")],
        )
        .unwrap_or(0.0)
    };
    plugin
        .data()
        .query_data(query_request(vec![query("A", "{}", TO_MS)]))
        .await
        .unwrap();
    let after = scrape_metrics(&plugin).await;
    assert_eq!(ok_queries(&after), ok_queries(&before) + 1.0, "{after}");
    let scrapes = metric_value(
        &after,
        "grafana_wasm_calls_total",
        &[("rpc", "CollectMetrics"), ("outcome", "ok")],
    );
    // The host's text is gathered after the guest answered: each scrape
    // counts its own guest call.
    assert_eq!(scrapes, Some(2.0));
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn handlers_the_sdk_plugin_left_out_answer_like_the_go_sdk() {
    let plugin = launch(RANDOM_WALK).await;
    let admission = plugin
        .admission()
        .validate_admission(pb::AdmissionRequest::default())
        .await;
    assert_eq!(admission.unwrap_err().code(), Code::Unimplemented);
    let conversion = plugin
        .conversion()
        .convert_objects(pb::ConversionRequest::default())
        .await;
    assert_eq!(conversion.unwrap_err().code(), Code::Unimplemented);
    let mut chunks = plugin
        .data()
        .query_chunked_data(pb::QueryChunkedDataRequest::default())
        .await
        .unwrap()
        .into_inner();
    let chunk = chunks.next().await.unwrap().unwrap();
    assert_eq!(
        chunk.status, 501,
        "a Go SDK plugin without a chunked handler answers 501"
    );
    assert!(chunks.next().await.is_none());
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn query_data_honours_the_json_frame_format() {
    let plugin = launch(RANDOM_WALK).await;
    let mut request = query_request(vec![query("A", r#"{"points":2}"#, TO_MS)]);
    request.format = pb::DataFrameFormat::Json.into();
    let response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    let a = &response.responses["A"];
    assert_eq!(a.format(), pb::DataFrameFormat::Json);
    let frame: serde_json::Value = serde_json::from_slice(&a.frames[0]).expect("Frame JSON");
    assert_eq!(frame["schema"]["refId"], "A");
    assert_eq!(
        frame["schema"]["fields"][0]["typeInfo"]["frame"],
        "time.Time"
    );
    assert_eq!(frame["data"]["values"][0][1], TO_MS);
    assert_eq!(frame["data"]["values"][1], serde_json::json!([0.0, 0.5]));
    plugin.shutdown().await.unwrap();
}

/// `@timestamp` of the `nth` log entry with `message`, waiting for it.
async fn logged_at(
    plugin: &grafana_wasm_client::PluginProcess,
    message: &str,
    nth: usize,
) -> chrono::DateTime<chrono::FixedOffset> {
    for _ in 0..200 {
        let entries = log_entries(plugin);
        if let Some(entry) = entries.iter().filter(|e| e["@message"] == message).nth(nth) {
            return chrono::DateTime::parse_from_rfc3339(entry["@timestamp"].as_str().unwrap())
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no log entry {message:?} #{nth}");
}

#[tokio::test]
async fn a_cancelled_stream_is_seen_by_the_guest_within_100_ms() {
    let plugin = launch(RANDOM_WALK).await;
    // Cancel once while packets flow, once while the guest idles.
    for (round, (packets, pause)) in [(2, 0), (5, 300)].into_iter().enumerate() {
        let mut stream = plugin
            .stream()
            .run_stream(run_stream_request("walk"))
            .await
            .unwrap()
            .into_inner();
        for _ in 0..packets {
            stream.next().await.unwrap().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(pause)).await;
        drop(stream);
        let cancelled = logged_at(&plugin, "call cancelled by Grafana", round).await;
        let seen = logged_at(&plugin, "stream cancelled", round).await;
        let delay = seen - cancelled;
        assert!(
            delay >= chrono::TimeDelta::zero() && delay < chrono::TimeDelta::milliseconds(100),
            "round {round}: the guest saw the cancellation after {delay}"
        );
    }
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn many_streams_do_not_block_queries_and_stop_when_cancelled() {
    let plugin = launch(RANDOM_WALK).await;
    let mut streams = Vec::new();
    for _ in 0..8 {
        streams.push(running_stream(&plugin, "walk").await);
    }
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let response = plugin
            .data()
            .query_data(query_request(vec![query("A", "{}", TO_MS)]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.responses["A"].status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a query waited {:?}",
            started.elapsed()
        );
    }
    drop(streams);
    assert_no_calls_in_flight(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn guest_state_lives_per_datasource_and_settings_version() {
    let plugin = launch(RANDOM_WALK).await;
    let with_datasource = |uid: &str, updated_ms: i64| {
        let mut ctx = context();
        let ds = ctx.data_source_instance_settings.as_mut().unwrap();
        ds.uid = uid.into();
        ds.last_updated_ms = updated_ms;
        ctx
    };
    let queries_counted = |ctx: pb::PluginContext| {
        let plugin = &plugin;
        async move {
            let metrics = plugin
                .diagnostics()
                .collect_metrics(pb::CollectMetricsRequest {
                    plugin_context: Some(ctx),
                })
                .await
                .unwrap()
                .into_inner();
            let text = String::from_utf8(metrics.metrics.unwrap().prometheus).unwrap();
            metric_value(&text, "randomwalk_queries_total", &[]).unwrap()
        }
    };
    for _ in 0..2 {
        let mut request = query_request(vec![query("A", "{}", TO_MS)]);
        request.plugin_context = Some(with_datasource("a", 1));
        plugin.data().query_data(request).await.unwrap();
    }
    assert_eq!(
        queries_counted(with_datasource("a", 1)).await,
        2.0,
        "state kept between calls of one datasource"
    );
    assert_eq!(
        queries_counted(with_datasource("b", 1)).await,
        0.0,
        "another datasource never sees it"
    );
    assert_eq!(
        queries_counted(with_datasource("a", 2)).await,
        0.0,
        "new settings, new instance"
    );
    plugin.shutdown().await.unwrap();
}
