//! Hostile or broken input from Grafana's side and odd frames from a guest:
//! each gets a clear error (or a correct answer) and the host keeps serving.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut};
use grafana_wasm_proto::pluginv2 as pb;
use grafana_wasm_serve::frames::from_arrow;
use serde_json::json;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::support::*;

const TO_MS: i64 = 1_700_000_000_000;

/// Raw protobuf bytes on the wire, to send what no generated client would.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Self::Error> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

#[tokio::test]
async fn invalid_utf8_in_a_string_field_is_refused_cleanly() {
    let plugin = launch(RANDOM_WALK).await;
    let mut grpc = tonic::client::Grpc::new(plugin.channel());
    grpc.ready().await.unwrap();
    // CheckHealthRequest { pluginContext (1) { pluginId (2): 0xff 0xfe } }
    let body = vec![0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe];
    let path = "/pluginv2.Diagnostics/CheckHealth".parse().unwrap();
    let refused = grpc
        .unary(tonic::Request::new(body), path, RawCodec)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Internal, "{refused:?}");
    assert!(
        refused.message().contains("decode"),
        "{}",
        refused.message()
    );
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_broken_query_fails_alone_whatever_its_json() {
    let plugin = launch(RANDOM_WALK).await;
    let mut invalid_utf8 = query("A", "", TO_MS);
    invalid_utf8.json = vec![b'{', 0xff, 0xfe, b'}'];
    let nested = "[".repeat(100_000);
    let request = query_request(vec![
        invalid_utf8,
        query("B", &nested, TO_MS),
        query("C", r#"{"points":3}"#, TO_MS),
    ]);
    let response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    for ref_id in ["A", "B"] {
        let answer = &response.responses[ref_id];
        assert_eq!(answer.status, 400, "{ref_id}: {answer:?}");
        assert!(
            answer.error.contains("invalid query JSON"),
            "{}",
            answer.error
        );
    }
    assert_eq!(response.responses["C"].status, 200);
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_enum_values_and_an_empty_context_are_answered() {
    let plugin = launch(RANDOM_WALK).await;
    let mut request = query_request(vec![query("A", r#"{"points":2}"#, TO_MS)]);
    request.format = 99;
    request.plugin_context = None;
    let response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.responses["A"].status, 200,
        "unknown formats mean Arrow"
    );
    assert_eq!(
        decode_frame(&response.responses["A"].frames[0]).1[0].num_rows(),
        2
    );

    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status(), pb::check_health_response::HealthStatus::Ok);
    let subscribed = plugin
        .stream()
        .subscribe_stream(pb::SubscribeStreamRequest {
            path: "walk".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        subscribed.status,
        pb::subscribe_stream_response::Status::Ok as i32
    );
    plugin.shutdown().await.unwrap();

    let protocol = launch(PROTOCOL).await;
    let admission = protocol
        .admission()
        .validate_admission(pb::AdmissionRequest {
            operation: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        admission.code(),
        tonic::Code::InvalidArgument,
        "{admission:?}"
    );
    assert_serving(&protocol).await;
    protocol.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_datasource_plugin_called_without_datasource_settings_says_so() {
    let plugin = launch(HTTP_JSON).await;
    let mut request = query_request(vec![query("A", r#"{"path":"/"}"#, TO_MS)]);
    request
        .plugin_context
        .as_mut()
        .unwrap()
        .data_source_instance_settings = None;
    let refused = plugin.data().query_data(request).await.unwrap_err();
    assert!(
        refused.message().contains("no datasource settings"),
        "{refused:?}"
    );
    // Still serving (its health check needs settings too, so scrape).
    scrape_metrics(&plugin).await;
    plugin.shutdown().await.unwrap();
}

/// Frame-echo builds exactly the frame `spec` describes.
async fn echoed(
    plugin: &grafana_wasm_client::PluginProcess,
    spec: serde_json::Value,
) -> pb::DataResponse {
    let request = query_request(vec![query("A", &json!({ "spec": spec }).to_string(), 0)]);
    let mut response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    response.responses.remove("A").unwrap()
}

#[tokio::test]
async fn zero_field_zero_row_and_heavily_labelled_frames_encode() {
    let plugin = launch(FRAME_ECHO).await;
    let empty = echoed(&plugin, json!({ "name": "empty", "fields": [] })).await;
    assert_eq!(empty.error, "");
    assert!(from_arrow(&empty.frames[0]).unwrap().fields.is_empty());

    let no_rows = echoed(
        &plugin,
        json!({ "name": "no-rows", "fields": [
            { "name": "time", "type": "time", "nullable": false, "values": [] },
            { "name": "value", "type": "float64", "nullable": true, "values": [] },
        ]}),
    )
    .await;
    assert_eq!(no_rows.error, "");
    let (schema, batches) = decode_frame(&no_rows.frames[0]);
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(
        batches
            .iter()
            .map(arrow_array::RecordBatch::num_rows)
            .sum::<usize>(),
        0
    );

    let labels: BTreeMap<String, String> = (0..10_000)
        .map(|i| (format!("label_{i}"), "x".repeat(20)))
        .collect();
    let labelled = echoed(
        &plugin,
        json!({ "name": "labelled", "fields": [
            { "name": "value", "type": "float64", "nullable": false, "values": [1.0], "labels": labels },
        ]}),
    )
    .await;
    assert_eq!(labelled.error, "");
    let decoded = from_arrow(&labelled.frames[0]).unwrap();
    assert_eq!(decoded.fields[0].labels.as_ref().unwrap().len(), 10_000);
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}
