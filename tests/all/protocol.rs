//! What each RPC carries to the guest and back, and how every kind of
//! failure reaches Grafana, through the SDK-built `tests/guests/protocol`.

use std::collections::HashMap;

use grafana_wasm_proto::pluginv2 as pb;
use grafana_wasm_serve::frames::from_arrow;
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::*;

/// A context with every newer field set.
fn full_context() -> pb::PluginContext {
    let mut ctx = context();
    ctx.plugin_version = "1.2.3".into();
    ctx.user_agent = "Grafana/12.0.0 (linux; amd64)".into();
    ctx.api_version = "v0alpha1".into();
    ctx.namespace = "stacks-7".into();
    ctx.grafana_config = HashMap::from([
        ("GF_APP_URL".to_owned(), "http://grafana.test/".to_owned()),
        ("GF_CONCURRENT_QUERY_COUNT".to_owned(), "7".to_owned()),
        (
            "GF_INSTANCE_FEATURE_TOGGLES_ENABLE".to_owned(),
            "alpha,beta".to_owned(),
        ),
    ]);
    let ds = ctx.data_source_instance_settings.as_mut().unwrap();
    ds.url = "https://api.test".into();
    ds.basic_auth_user = "bob".into();
    ds.json_data = br#"{"timeout":5}"#.to_vec();
    ds.decrypted_secure_json_data = HashMap::from([("token".to_owned(), "s3cret".to_owned())]);
    ds.api_version = "v1".into();
    ctx
}

fn expected_context() -> Value {
    json!({
        "orgId": 1, "pluginId": "test-ds", "pluginVersion": "1.2.3",
        "userAgent": "Grafana/12.0.0 (linux; amd64)", "apiVersion": "v0alpha1", "namespace": "stacks-7",
        "user": {"login": "admin", "role": "Admin"},
        "datasource": {"uid": "ds-uid", "url": "https://api.test", "basicAuthUser": "bob",
            "jsonData": {"timeout": 5}, "secure": {"token": "s3cret"}, "apiVersion": "v1"},
        "app": null, "appUrl": "http://grafana.test/", "concurrentQueryCount": 7,
        "featureToggles": ["alpha", "beta"],
    })
}

async fn resource(
    plugin: &grafana_wasm_client::PluginProcess,
    request: pb::CallResourceRequest,
) -> Vec<Result<pb::CallResourceResponse, tonic::Status>> {
    let stream = plugin
        .resource()
        .call_resource(request)
        .await
        .unwrap()
        .into_inner();
    stream.collect().await
}

#[tokio::test]
async fn call_resource_receives_the_request_intact_and_streams_chunks() {
    let plugin = launch(PROTOCOL).await;
    let request = pb::CallResourceRequest {
        plugin_context: Some(full_context()),
        path: "inspect".into(),
        method: "PUT".into(),
        url: "inspect?a=1&b=%20x".into(),
        headers: HashMap::from([(
            "Accept".to_owned(),
            pb::StringList {
                values: vec!["a/b".into(), "c/d".into()],
            },
        )]),
        body: "héllo".as_bytes().to_vec(),
    };
    let messages = resource(&plugin, request).await;
    let answer = messages[0].as_ref().unwrap();
    assert_eq!(answer.code, 200);
    let echoed: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["url"], "inspect?a=1&b=%20x");
    assert_eq!(echoed["headers"]["Accept"], json!(["a/b", "c/d"]));
    assert_eq!(echoed["body"], "héllo");
    assert_eq!(echoed["context"], expected_context());

    let chunked = resource(
        &plugin,
        pb::CallResourceRequest {
            path: "chunks".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(chunked.len(), 5, "each chunk is its own message");
    let first = chunked[0].as_ref().unwrap();
    assert_eq!(
        (first.code, first.headers["X-Chunked"].values[0].as_str()),
        (200, "yes")
    );
    let body: Vec<u8> = chunked.into_iter().flat_map(|m| m.unwrap().body).collect();
    assert_eq!(body, b"part-0;part-1;part-2;part-3;part-4;");
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_resource_answers_become_clean_500s() {
    let plugin = launch(PROTOCOL).await;
    for (path, explanation) in [
        ("bad-status", "HTTP status 1000, outside 100-599"),
        ("silent", "returned without sending a response"),
    ] {
        let messages = resource(
            &plugin,
            pb::CallResourceRequest {
                path: path.into(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(messages.len(), 1, "{path}");
        let answer = messages[0].as_ref().unwrap();
        assert_eq!(answer.code, 500, "{path}");
        assert_eq!(answer.headers["Content-Type"].values, ["application/json"]);
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(explanation),
            "{path}: {body}"
        );
    }
    let messages = resource(
        &plugin,
        pb::CallResourceRequest {
            path: "fail-after".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        messages[0].as_ref().unwrap().body,
        b"partial",
        "what was sent is delivered"
    );
    let err = messages[1].as_ref().unwrap_err();
    assert_eq!(err.code(), Code::Unknown);
    assert!(
        err.message().contains("broke after the first chunk"),
        "{err:?}"
    );
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_results_and_handler_errors_map_like_the_go_sdk() {
    let plugin = launch(PROTOCOL).await;
    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            plugin_context: Some(full_context()),
            headers: HashMap::from([("http_X-Test".to_owned(), "1".to_owned())]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.status(),
        pb::check_health_response::HealthStatus::Error
    );
    assert_eq!(health.message, "down");
    let details: Value = serde_json::from_slice(&health.json_details).unwrap();
    assert_eq!(details["headers"]["http_X-Test"], "1");

    let failed = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            headers: HashMap::from([("fail".to_owned(), "1".to_owned())]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        failed.code(),
        Code::Unknown,
        "a handler error reaches Grafana as Unknown"
    );
    assert!(failed.message().contains("health check failed"));
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn query_errors_carry_status_and_source_and_every_request_field_arrives() {
    let plugin = launch(PROTOCOL).await;
    let mut inspect = query("A", r#"{"queryType":"x"}"#, 1_000);
    inspect.query_type = "range".into();
    inspect.max_data_points = 640;
    inspect.interval_ms = 15_000;
    let request = pb::QueryDataRequest {
        plugin_context: Some(full_context()),
        headers: HashMap::from([("FromAlert".to_owned(), "true".to_owned())]),
        queries: vec![inspect, query("B", r#"{"fail":"downstream"}"#, 1_000)],
        format: pb::DataFrameFormat::Arrow.into(),
    };
    let response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    let b = &response.responses["B"];
    assert_eq!(
        (b.status, b.error_source.as_str(), b.error.as_str()),
        (503, "downstream", "upstream answered 503")
    );
    let frame = from_arrow(&response.responses["A"].frames[0]).unwrap();
    let meta: Value = serde_json::from_str(frame.meta.as_deref().unwrap()).unwrap();
    let custom = &meta["custom"];
    assert_eq!(custom["format"], "Arrow");
    assert_eq!(custom["headers"]["FromAlert"], "true");
    assert_eq!(
        (
            custom["queryType"].as_str(),
            custom["maxDataPoints"].as_i64(),
            custom["intervalMs"].as_i64()
        ),
        (Some("range"), Some(640), Some(15_000))
    );
    assert_eq!(custom["context"], expected_context());

    let whole = plugin
        .data()
        .query_data(query_request(vec![query(
            "A",
            r#"{"fail":"handler"}"#,
            1_000,
        )]))
        .await
        .unwrap_err();
    assert_eq!(whole.code(), Code::Unknown);
    assert!(whole.message().contains("the handler failed"));
    assert_eq!(error_source(&whole).as_deref(), Some("plugin"));
    let downstream = plugin
        .data()
        .query_data(query_request(vec![query(
            "A",
            r#"{"fail":"handler-downstream"}"#,
            1_000,
        )]))
        .await
        .unwrap_err();
    assert_eq!(
        error_source(&downstream).as_deref(),
        Some("downstream"),
        "like the Go SDK's DownstreamError"
    );
    plugin.shutdown().await.unwrap();
}

/// The `errorSource` of a gRPC error's ErrorInfo detail, as Grafana reads it.
fn error_source(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()?
        .metadata
        .get("errorSource")
        .cloned()
}

#[tokio::test]
async fn a_guest_that_never_returns_is_stopped_at_its_deadline() {
    let mut command = host_command(PROTOCOL);
    command.env("GF_PLUGIN_QUERY_TIMEOUT_SECONDS", "0.3");
    let plugin = grafana_wasm_client::PluginProcess::launch(command)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = plugin
        .data()
        .query_data(query_request(vec![query("A", r#"{"fail":"loop"}"#, 1_000)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        err.message().contains("protocol") && err.message().contains("QueryData"),
        "{err:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "stopped at the deadline, took {:?}",
        started.elapsed()
    );
    // The host keeps serving and counts the timeout.
    let text = scrape_metrics(&plugin).await;
    assert_eq!(
        metric_value(
            &text,
            "grafana_wasm_guest_timeouts_total",
            &[("rpc", "QueryData")]
        ),
        Some(1.0)
    );
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn query_chunked_data_streams_frames_per_ref_id_and_frame_id() {
    let plugin = launch(PROTOCOL).await;
    for format in [pb::DataFrameFormat::Arrow, pb::DataFrameFormat::Json] {
        let request = pb::QueryChunkedDataRequest {
            plugin_context: Some(context()),
            queries: vec![query("A", "{}", 1_000), query("E", "{}", 1_000)],
            format: format.into(),
            ..Default::default()
        };
        let chunks: Vec<_> = plugin
            .data()
            .query_chunked_data(request)
            .await
            .unwrap()
            .into_inner()
            .collect()
            .await;
        let chunks: Vec<pb::QueryChunkedDataResponse> =
            chunks.into_iter().map(Result::unwrap).collect();
        assert_eq!(chunks.len(), 3, "{format:?}");
        for chunk in &chunks[..2] {
            assert_eq!(
                (chunk.ref_id.as_str(), chunk.frame_id.as_str(), chunk.status),
                ("A", "f1", 200)
            );
            assert_eq!(chunk.format(), format);
        }
        match format {
            pb::DataFrameFormat::Arrow => {
                let rows = from_arrow(&chunks[1].frame).unwrap();
                assert_eq!(rows.ref_id, "A");
            }
            pb::DataFrameFormat::Json => {
                let first: Value = serde_json::from_slice(&chunks[0].frame).unwrap();
                let second: Value = serde_json::from_slice(&chunks[1].frame).unwrap();
                assert!(
                    first.get("schema").is_some(),
                    "the first chunk of a frame has its schema"
                );
                assert!(second.get("schema").is_none(), "later chunks only rows");
                assert_eq!(second["data"]["values"], json!([[2, 3]]));
            }
        }
        let error = &chunks[2];
        assert_eq!(
            (
                error.ref_id.as_str(),
                error.status,
                error.error_source.as_str()
            ),
            ("E", 502, "downstream")
        );
        assert!(
            !error.frame.is_empty(),
            "error chunks carry an empty but valid frame"
        );
    }
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn stream_statuses_initial_data_and_invalid_packets() {
    let plugin = launch(PROTOCOL).await;
    let subscribe = |path: &str| pb::SubscribeStreamRequest {
        plugin_context: Some(context()),
        path: path.into(),
        data: br#"{"q":1}"#.to_vec(),
        ..Default::default()
    };
    use pb::subscribe_stream_response::Status;
    for (path, status) in [
        ("denied", Status::PermissionDenied),
        ("missing", Status::NotFound),
        ("live", Status::Ok),
    ] {
        let answer = plugin
            .stream()
            .subscribe_stream(subscribe(path))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status(), status, "{path}");
        if status == Status::Ok {
            let data: Value = serde_json::from_slice(&answer.data).unwrap();
            assert_eq!(
                data,
                json!({"initial": "live", "subscription": "{\"q\":1}"})
            );
        }
    }
    let mut packets = plugin
        .stream()
        .run_stream(run_stream_request("bad-json"))
        .await
        .unwrap()
        .into_inner();
    let err = packets.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Unknown);
    assert!(err.message().contains("not valid JSON"), "{err:?}");
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn admission_and_conversion_reach_the_guest() {
    let plugin = launch(PROTOCOL).await;
    let admission =
        |object: &[u8], operation: pb::admission_request::Operation| pb::AdmissionRequest {
            plugin_context: Some(context()),
            operation: operation.into(),
            kind: Some(pb::GroupVersionKind {
                group: "g".into(),
                version: "v1".into(),
                kind: "Widget".into(),
            }),
            object_bytes: object.to_vec(),
            old_object_bytes: Vec::new(),
        };
    use pb::admission_request::Operation;
    let refused = plugin
        .admission()
        .validate_admission(admission(b"", Operation::Create))
        .await
        .unwrap()
        .into_inner();
    assert!(!refused.allowed);
    let result = refused.result.unwrap();
    assert_eq!((result.status.as_str(), result.code), ("Failure", 422));
    assert!(result.message.contains("empty Widget refused"));
    assert_eq!(refused.warnings, ["Create"]);
    let allowed = plugin
        .admission()
        .validate_admission(admission(b"{}", Operation::Delete))
        .await
        .unwrap()
        .into_inner();
    assert!(allowed.allowed && allowed.warnings == ["Delete"]);

    let mutated = plugin
        .admission()
        .mutate_admission(admission(br#"{"a":1}"#, Operation::Update))
        .await
        .unwrap()
        .into_inner();
    let object: Value = serde_json::from_slice(&mutated.object_bytes).unwrap();
    assert_eq!(object, json!({"a": 1, "mutated": true}));

    let converted = plugin
        .conversion()
        .convert_objects(pb::ConversionRequest {
            plugin_context: Some(context()),
            uid: "req-1".into(),
            objects: vec![pb::RawObject {
                raw: br#"{"x":1}"#.to_vec(),
                content_type: "application/json".into(),
            }],
            target_version: Some(pb::GroupVersion {
                group: "g".into(),
                version: "v2".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(converted.uid, "req-1");
    let object: Value = serde_json::from_slice(&converted.objects[0].raw).unwrap();
    assert_eq!(object, json!({"x": 1, "apiVersion": "g/v2"}));
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn stream_packets_nest_as_deep_as_go_allows_and_no_deeper() {
    let plugin = launch(PROTOCOL).await;
    let first_packet = |depth: usize| {
        let plugin = &plugin;
        async move {
            plugin
                .stream()
                .run_stream(run_stream_request(&format!("nested-{depth}")))
                .await
                .unwrap()
                .into_inner()
                .next()
                .await
                .unwrap()
        }
    };
    // Deeper than serde_json's default limit of 128, up to Go's 10,000.
    for depth in [200, 10_000] {
        let packet = first_packet(depth).await.unwrap();
        assert_eq!(packet.data.len(), 2 * depth, "depth {depth}");
    }
    // Deeper is refused, however deep, without exhausting the host's stack.
    for depth in [10_001, 3_000_000] {
        let err = first_packet(depth).await.unwrap_err();
        assert_eq!(err.code(), Code::Unknown, "{err:?}");
        assert!(err.message().contains("10000 levels deep"), "{err:?}");
    }
    let refused = "stream packet rejected";
    let entries = log_entries_when(&plugin, |e| count_logged(e, refused) >= 2).await;
    assert_eq!(count_logged(&entries, refused), 2, "each refusal is logged");
    assert_serving(&plugin).await;
}

#[tokio::test]
async fn resource_headers_with_control_characters_never_reach_grafana() {
    let plugin = launch(PROTOCOL).await;
    let request = pb::CallResourceRequest {
        plugin_context: Some(context()),
        path: "bad-headers".into(),
        method: "GET".into(),
        ..Default::default()
    };
    let answer = plugin
        .resource()
        .call_resource(request)
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.code, 200);
    let headers: HashMap<&str, &[String]> = answer
        .headers
        .iter()
        .map(|(name, list)| (name.as_str(), list.values.as_slice()))
        .collect();
    assert_eq!(
        headers,
        HashMap::from([
            ("X-Good", &["kept".to_owned()][..]),
            ("X-Split", &["fine".to_owned()][..]),
        ]),
        "invalid names and values are dropped, the rest kept"
    );
    let dropped = "resource answer has";
    let entries = log_entries_when(&plugin, |e| count_logged(e, dropped) >= 3).await;
    assert_eq!(
        count_logged(&entries, dropped),
        3,
        "each dropped header is logged"
    );
    assert!(
        !plugin.stderr_lines().iter().any(|l| l.contains("forged")),
        "header values are not logged"
    );
    assert_serving(&plugin).await;
}
