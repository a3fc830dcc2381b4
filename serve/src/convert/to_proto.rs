//! Answers: WIT types returned by the guest -> Grafana's protobuf messages.

use std::collections::HashMap;

use grafana_wasm_proto::pluginv2 as pb;

use crate::frames;
use crate::wit::frames::{Frame, FrameData};
use crate::wit::types as wit;

/// Grafana's name for an error source.
pub fn error_source(source: wit::ErrorSource) -> String {
    match source {
        wit::ErrorSource::Plugin => "plugin",
        wit::ErrorSource::Downstream => "downstream",
    }
    .to_owned()
}

/// The HTTP status Grafana records for a data response: the guest's when
/// valid, else 200 without and 500 with an error. Grafana itself turns a
/// status outside 100-599 into 500, so we send what it would compute.
pub fn data_status(status: Option<u16>, has_error: bool) -> i32 {
    match status {
        Some(code @ 100..=599) => i32::from(code),
        Some(_) => 500,
        None if has_error => 500,
        None => 200,
    }
}

/// The wire value of a frame format.
pub fn frame_format(format: wit::FrameFormat) -> i32 {
    match format {
        wit::FrameFormat::Arrow => pb::DataFrameFormat::Arrow.into(),
        wit::FrameFormat::Json => pb::DataFrameFormat::Json.into(),
    }
}

/// One frame as the bytes Grafana decodes, in the format it asked for: an
/// Arrow IPC file (encoded here, or passed through from the guest) or Frame
/// JSON (`include` says which parts). `ref_id` fills in a missing refId.
pub fn frame(
    frame: FrameData,
    ref_id: &str,
    format: wit::FrameFormat,
    include: frames::Include,
) -> Result<Vec<u8>, frames::FrameError> {
    match (frame, format) {
        (FrameData::Columnar(frame), wit::FrameFormat::Arrow) => frames::to_arrow(frame, ref_id),
        (FrameData::ArrowIpc(bytes), wit::FrameFormat::Arrow) => {
            frames::check_arrow(&bytes)?;
            Ok(bytes)
        }
        (data, wit::FrameFormat::Json) => frames::data_json(data, ref_id, include),
    }
}

/// An error-only data response (query failed, or its frames were invalid).
pub fn data_error(message: String, source: wit::ErrorSource, status: i32) -> pb::DataResponse {
    pb::DataResponse {
        error: message,
        error_source: error_source(source),
        status,
        ..Default::default()
    }
}

/// One query's response, frames encoded in `format`. A frame that cannot be
/// encoded turns the whole response into an error, so that Grafana never
/// receives bytes it cannot decode (which would fail every query of the
/// request).
pub fn data_response(
    ref_id: &str,
    response: wit::DataResponse,
    format: wit::FrameFormat,
) -> pb::DataResponse {
    let mut encoded = Vec::with_capacity(response.frames.len());
    for (index, f) in response.frames.into_iter().enumerate() {
        match frame(f, ref_id, format, frames::Include::All) {
            Ok(bytes) => encoded.push(bytes),
            Err(err) => {
                tracing::warn!(ref_id, frame = index, error = %err, "guest returned an invalid frame");
                return data_error(
                    format!("frame {index} of query {ref_id}: {err}"),
                    wit::ErrorSource::Plugin,
                    500,
                );
            }
        }
    }
    let has_error = response.error.is_some();
    let (error, source) = match response.error {
        Some(err) => (err.message, error_source(err.source)),
        None => (String::new(), String::new()),
    };
    pb::DataResponse {
        frames: encoded,
        error,
        json_meta: Vec::new(),
        status: data_status(response.status, has_error),
        error_source: source,
        format: frame_format(format),
    }
}

/// A QueryData response, frames encoded in the requested `format`.
pub fn query_data_response(
    response: wit::QueryDataResponse,
    format: wit::FrameFormat,
) -> pb::QueryDataResponse {
    pb::QueryDataResponse {
        responses: response
            .responses
            .into_iter()
            .map(|(ref_id, r)| {
                let converted = data_response(&ref_id, r, format);
                (ref_id, converted)
            })
            .collect(),
    }
}

/// HTTP headers as protobuf string lists.
pub fn http_headers(headers: wit::HttpHeaders) -> HashMap<String, pb::StringList> {
    headers
        .into_iter()
        .map(|(name, values)| (name, pb::StringList { values }))
        .collect()
}

/// One message of a resource answer. The status is passed as is; the
/// resource adapter validates the first message's.
pub fn call_resource_response(response: wit::CallResourceResponse) -> pb::CallResourceResponse {
    pb::CallResourceResponse {
        code: i32::from(response.status),
        headers: http_headers(response.headers),
        body: response.body,
    }
}

/// A health status.
pub fn health_status(status: wit::HealthStatus) -> pb::check_health_response::HealthStatus {
    use pb::check_health_response::HealthStatus;
    match status {
        wit::HealthStatus::Unknown => HealthStatus::Unknown,
        wit::HealthStatus::Ok => HealthStatus::Ok,
        wit::HealthStatus::Error => HealthStatus::Error,
    }
}

/// A CheckHealth result.
pub fn check_health_result(result: wit::CheckHealthResult) -> pb::CheckHealthResponse {
    pb::CheckHealthResponse {
        status: health_status(result.status).into(),
        message: result.message,
        json_details: result.json_details,
    }
}

/// A CollectMetrics result.
pub fn collect_metrics_result(result: wit::CollectMetricsResult) -> pb::CollectMetricsResponse {
    pb::CollectMetricsResponse {
        metrics: Some(pb::collect_metrics_response::Payload {
            prometheus: result.prometheus,
        }),
    }
}

/// A SubscribeStream answer.
pub fn subscribe_stream_response(response: wit::StreamResponse) -> pb::SubscribeStreamResponse {
    use pb::subscribe_stream_response::Status;
    let status = match response.status {
        wit::StreamStatus::Ok => Status::Ok,
        wit::StreamStatus::NotFound => Status::NotFound,
        wit::StreamStatus::PermissionDenied => Status::PermissionDenied,
    };
    pb::SubscribeStreamResponse {
        status: status.into(),
        data: response.data,
    }
}

/// A PublishStream answer.
pub fn publish_stream_response(response: wit::StreamResponse) -> pb::PublishStreamResponse {
    use pb::publish_stream_response::Status;
    let status = match response.status {
        wit::StreamStatus::Ok => Status::Ok,
        wit::StreamStatus::NotFound => Status::NotFound,
        wit::StreamStatus::PermissionDenied => Status::PermissionDenied,
    };
    pb::PublishStreamResponse {
        status: status.into(),
        data: response.data,
    }
}

/// One packet of a running stream.
pub fn stream_packet(data: Vec<u8>) -> pb::StreamPacket {
    pb::StreamPacket { data }
}

/// One chunk of a chunked query answer; `include` says whether a JSON frame
/// carries its schema (first chunk of a frame) or only rows.
pub fn data_chunk(
    chunk: wit::DataChunk,
    format: wit::FrameFormat,
    include: frames::Include,
) -> pb::QueryChunkedDataResponse {
    // Error chunks still carry a valid (empty) frame: some Grafana versions
    // decode the frame before looking at the error (protocol.md §7).
    let data = chunk.frame.unwrap_or_else(|| {
        FrameData::Columnar(Frame {
            name: String::new(),
            ref_id: String::new(),
            meta: None,
            fields: Vec::new(),
        })
    });
    let frame_bytes = match frame(data, &chunk.ref_id, format, include) {
        Ok(bytes) => bytes,
        Err(err) => {
            return pb::QueryChunkedDataResponse {
                error: format!("frame {} of query {}: {err}", chunk.frame_id, chunk.ref_id),
                error_source: error_source(wit::ErrorSource::Plugin),
                status: 500,
                ref_id: chunk.ref_id,
                frame_id: chunk.frame_id,
                ..Default::default()
            };
        }
    };
    let has_error = chunk.error.is_some();
    let (error, source) = match chunk.error {
        Some(err) => (err.message, error_source(err.source)),
        None => (String::new(), String::new()),
    };
    pb::QueryChunkedDataResponse {
        ref_id: chunk.ref_id,
        frame_id: chunk.frame_id,
        frame: frame_bytes,
        error,
        status: data_status(chunk.status, has_error),
        error_source: source,
        format: frame_format(format),
    }
}

/// A Kubernetes-style status.
pub fn status_result(result: wit::StatusResult) -> pb::StatusResult {
    pb::StatusResult {
        status: result.status,
        message: result.message,
        reason: result.reason,
        code: result.code,
    }
}

/// A ValidateAdmission answer.
pub fn validation_response(response: wit::ValidationResponse) -> pb::ValidationResponse {
    pb::ValidationResponse {
        allowed: response.allowed,
        result: response.result.map(status_result),
        warnings: response.warnings,
    }
}

/// A MutateAdmission answer.
pub fn mutation_response(response: wit::MutationResponse) -> pb::MutationResponse {
    pb::MutationResponse {
        allowed: response.allowed,
        result: response.result.map(status_result),
        warnings: response.warnings,
        object_bytes: response.object_bytes,
    }
}

/// A ConvertObjects answer.
pub fn conversion_response(response: wit::ConversionResponse) -> pb::ConversionResponse {
    pb::ConversionResponse {
        uid: response.uid,
        result: response.result.map(status_result),
        objects: response
            .objects
            .into_iter()
            .map(|o| pb::RawObject {
                raw: o.raw,
                content_type: o.content_type,
            })
            .collect(),
    }
}
