//! A component exporting only the `data` interface (written without the
//! SDK): it loads, and every missing family answers exactly as a Go SDK
//! plugin without that handler. Its traps become clean gRPC errors.

use grafana_wasm_proto::pluginv2 as pb;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn a_component_without_most_families_loads_and_answers_like_the_go_sdk() {
    let plugin = launch(DATA_ONLY).await;

    let response = plugin
        .data()
        .query_data(query_request(vec![query("A", "{}", 1_000)]))
        .await
        .expect("the exported family works")
        .into_inner();
    assert_eq!(response.responses["A"].frames.len(), 1);

    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest::default())
        .await
        .expect("no health handler: OK, as a Go SDK plugin")
        .into_inner();
    assert_eq!(health.status(), pb::check_health_response::HealthStatus::Ok);
    assert_eq!(health.message, "");

    let metrics = plugin
        .diagnostics()
        .collect_metrics(pb::CollectMetricsRequest::default())
        .await
        .expect("no metrics handler: no error")
        .into_inner();
    let text = String::from_utf8(metrics.metrics.unwrap().prometheus).unwrap();
    let families = metric_families(&text);
    assert!(
        families.iter().all(|f| {
            [
                "grafana_wasm_",
                "process_",
                "grafana_plugin_",
                "grpc_server_",
            ]
            .iter()
            .any(|prefix| f.starts_with(prefix))
        }),
        "only the host's own metrics and those of a Go SDK plugin's middleware: {families:?}"
    );

    let resource = plugin
        .resource()
        .call_resource(pb::CallResourceRequest::default())
        .await;
    let code = streamed_error_code(resource).await;
    assert_eq!(code, Code::Unimplemented, "Grafana answers 404 for this");

    let subscribe = plugin
        .stream()
        .subscribe_stream(pb::SubscribeStreamRequest::default())
        .await;
    assert_eq!(subscribe.unwrap_err().code(), Code::Unimplemented);
    let publish = plugin
        .stream()
        .publish_stream(pb::PublishStreamRequest::default())
        .await;
    assert_eq!(publish.unwrap_err().code(), Code::Unimplemented);
    let run = plugin
        .stream()
        .run_stream(pb::RunStreamRequest::default())
        .await;
    let code = streamed_error_code(run).await;
    assert_eq!(code, Code::Unimplemented);
    let admission = plugin
        .admission()
        .mutate_admission(pb::AdmissionRequest::default())
        .await;
    assert_eq!(admission.unwrap_err().code(), Code::Unimplemented);
    let conversion = plugin
        .conversion()
        .convert_objects(pb::ConversionRequest::default())
        .await;
    assert_eq!(conversion.unwrap_err().code(), Code::Unimplemented);
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_trap_becomes_an_error_naming_plugin_rpc_and_cause_and_the_next_call_works() {
    let plugin = launch(DATA_ONLY).await;
    let err = plugin
        .data()
        .query_data(query_request(vec![query("A", r#"{"panic":true}"#, 1_000)]))
        .await
        .expect_err("the guest panics");
    assert_eq!(err.code(), Code::Internal);
    let message = err.message();
    assert!(message.contains("data_only"), "names the plugin: {message}");
    assert!(message.contains("QueryData"), "names the RPC: {message}");
    assert!(
        message.contains("wasm trap") || message.contains("unreachable"),
        "names the cause: {message}"
    );

    let next = plugin
        .data()
        .query_data(query_request(vec![query("A", "{}", 1_000)]))
        .await;
    assert!(
        next.is_ok(),
        "the host keeps serving after a trap: {next:?}"
    );
    let failed = |logs: &[serde_json::Value]| {
        logs.iter()
            .any(|e| e["@level"] == "error" && e["@message"] == "guest call failed")
    };
    let raw_query = |logs: &[serde_json::Value]| {
        logs.iter().any(|e| {
            e["@level"] == "warn" && e["@message"] == "raw query" && e["pluginId"] == "data_only"
        })
    };
    let logs = log_entries_when(&plugin, |logs| failed(logs) && raw_query(logs)).await;
    assert!(failed(&logs));
    assert!(raw_query(&logs));
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_invalid_frame_fails_its_own_query_and_siblings_still_answer() {
    let plugin = launch(DATA_ONLY).await;
    for (bad, reason) in [
        ("lengths", "has 1 rows, expected 3"),
        ("json", "row 2 is not valid JSON"),
        ("arrow", "arrow"),
    ] {
        let response = plugin
            .data()
            .query_data(query_request(vec![
                query("A", &format!(r#"{{"bad":"{bad}"}}"#), 1_000),
                query("B", "{}", 1_000),
            ]))
            .await
            .expect("the request as a whole succeeds")
            .into_inner();
        let a = &response.responses["A"];
        assert!(a.frames.is_empty(), "{bad}");
        assert_eq!(
            (a.status, a.error_source.as_str()),
            (500, "plugin"),
            "{bad}"
        );
        assert!(a.error.contains(reason), "{bad}: {}", a.error);
        let b = &response.responses["B"];
        assert_eq!(
            (b.status, b.frames.len()),
            (200, 1),
            "{bad}: the sibling answers"
        );
    }
    plugin.shutdown().await.unwrap();
}

/// An Arrow file of one 50,000-row batch whose footer lists that batch
/// `times` times: small, valid block by block, and `times` × its size to
/// decode.
fn arrow_listing_its_batch(times: usize) -> Vec<u8> {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_ipc::writer::FileWriter;
    use arrow_schema::{DataType, Field, Schema};

    let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
    let column = Arc::new(Int64Array::from_iter_values(0..50_000));
    let batch = RecordBatch::try_new(schema.clone(), vec![column]).unwrap();
    let mut writer = FileWriter::try_new(Vec::new(), &schema).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    let file = writer.into_inner().unwrap();
    // The file ends with its footer, the footer's length and `ARROW1`.
    let end = file.len() - 10;
    let length = i32::from_le_bytes(file[end..end + 4].try_into().unwrap());
    let start = end - usize::try_from(length).unwrap();
    let footer = arrow_ipc::root_as_footer(&file[start..end]).unwrap();
    let block = *footer.recordBatches().unwrap().get(0);
    let mut builder = flatbuffers::FlatBufferBuilder::new();
    let schema = arrow_ipc::convert::schema_to_fb_offset(&mut builder, &schema);
    let blocks = builder.create_vector(&vec![block; times]);
    let mut footer = arrow_ipc::FooterBuilder::new(&mut builder);
    footer.add_version(arrow_ipc::MetadataVersion::V5);
    footer.add_schema(schema);
    footer.add_recordBatches(blocks);
    let footer = footer.finish();
    builder.finish(footer, None);
    let footer = builder.finished_data();
    let mut hostile = file[..start].to_vec();
    hostile.extend_from_slice(footer);
    hostile.extend_from_slice(&i32::try_from(footer.len()).unwrap().to_le_bytes());
    hostile.extend_from_slice(b"ARROW1");
    hostile
}

#[tokio::test]
async fn an_arrow_answer_listing_one_batch_many_times_is_refused_without_decoding_it() {
    let plugin = launch(DATA_ONLY).await;
    let pid = plugin.id().unwrap();
    let before = resident_kib(pid);
    let hex: String = arrow_listing_its_batch(6_000)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let response = plugin
        .data()
        .query_data(query_request(vec![
            query("A", &format!(r#"{{"arrowHex":"{hex}"}}"#), 1_000),
            query("B", "{}", 1_000),
        ]))
        .await
        .expect("the request as a whole succeeds")
        .into_inner();
    let a = &response.responses["A"];
    assert!(a.frames.is_empty());
    assert_eq!((a.status, a.error_source.as_str()), (500, "plugin"));
    assert!(a.error.contains("malformed Arrow"), "{}", a.error);
    assert_eq!(
        response.responses["B"].frames.len(),
        1,
        "the sibling answers"
    );
    let grown_kib = resident_kib(pid).saturating_sub(before);
    assert!(
        grown_kib < 200 * 1024,
        "the answer was not decoded 6,000 times: the host grew by {grown_kib} KiB"
    );
    plugin.shutdown().await.unwrap();
}
