//! Protobuf bytes from Grafana, decoded as each request message and
//! converted to what the guest receives: never a panic, whatever the bytes.
#![no_main]

use grafana_wasm_serve::convert::from_proto;
use grafana_wasm_proto::pluginv2 as pb;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|input: &[u8]| {
    let Some((&kind, bytes)) = input.split_first() else {
        return;
    };
    match kind % 8 {
        0 => drop(pb::QueryDataRequest::decode(bytes).map(from_proto::query_data_request)),
        1 => drop(
            pb::QueryChunkedDataRequest::decode(bytes).map(from_proto::query_chunked_data_request),
        ),
        2 => drop(pb::CallResourceRequest::decode(bytes).map(from_proto::call_resource_request)),
        3 => drop(pb::CheckHealthRequest::decode(bytes).map(from_proto::check_health_request)),
        4 => {
            drop(pb::CollectMetricsRequest::decode(bytes).map(from_proto::collect_metrics_request))
        }
        5 => drop(pb::RunStreamRequest::decode(bytes).map(from_proto::run_stream_request)),
        6 => drop(pb::AdmissionRequest::decode(bytes).map(from_proto::admission_request)),
        _ => drop(pb::ConversionRequest::decode(bytes).map(from_proto::conversion_request)),
    }
});
