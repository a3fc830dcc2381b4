//! A QueryData answer as Grafana returns it to the browser from
//! `/api/ds/query` (protocol.md §4.7):
//!
//! ```json
//! {"results":{"A":{"status":200,"frames":[<Frame JSON>]},"B":{"error":"boom","errorSource":"downstream","status":500}}}
//! ```

use grafana_wasm_proto::pluginv2 as pb;
use serde_json::{Map, Value};

use crate::frames::{self, FrameError, Include};

/// `/api/ds/query` JSON of a QueryData response, frames decoded from
/// whichever format the plugin used.
///
/// # Errors
/// When a frame cannot be decoded, which would fail the request in Grafana.
pub fn query_data_response(response: &pb::QueryDataResponse) -> Result<Value, FrameError> {
    let mut ref_ids: Vec<&String> = response.responses.keys().collect();
    ref_ids.sort();
    let mut results = Map::new();
    for ref_id in ref_ids {
        let value = data_response(&response.responses[ref_id])?;
        results.insert(ref_id.clone(), value);
    }
    Ok(serde_json::json!({ "results": results }))
}

/// One refId's entry: `error` and `errorSource` when failed, `status`
/// (200 for 0, 500 outside 100-599, as Grafana reads it), `frames` when any.
///
/// # Errors
/// When a frame cannot be decoded.
pub fn data_response(response: &pb::DataResponse) -> Result<Value, FrameError> {
    let mut entry = Map::new();
    if !response.error.is_empty() {
        entry.insert("error".into(), response.error.clone().into());
        entry.insert("errorSource".into(), response.error_source.clone().into());
    }
    let status = match response.status {
        0 => 200,
        code @ 100..=599 => code,
        _ => 500,
    };
    entry.insert("status".into(), status.into());
    if !response.frames.is_empty() {
        let frames = response
            .frames
            .iter()
            .map(|bytes| frame_json(bytes, response.format()))
            .collect::<Result<Vec<_>, _>>()?;
        entry.insert("frames".into(), Value::Array(frames));
    }
    Ok(Value::Object(entry))
}

fn frame_json(bytes: &[u8], format: pb::DataFrameFormat) -> Result<Value, FrameError> {
    let frame = match format {
        pb::DataFrameFormat::Arrow => frames::from_arrow(bytes)?,
        pb::DataFrameFormat::Json => {
            let text = std::str::from_utf8(bytes).map_err(|e| FrameError::Json(e.to_string()))?;
            frames::from_json(text)?
        }
    };
    let json = frames::to_json(&frame, Include::All)?;
    serde_json::from_str(&json).map_err(|e| FrameError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::golden_tests;

    #[test]
    fn api_json_of_a_data_response_equals_the_golden_data_responses() {
        for path in [
            "sdk-go-head/frame-custom-meta.golden.jsonc",
            "grafana/simple.golden.jsonc",
        ] {
            let golden = golden_tests::data_response(path);
            let frames = golden["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| frames::to_arrow(frames::frame_from_value(f).unwrap(), "").unwrap())
                .collect();
            let response = pb::DataResponse {
                frames,
                status: 200,
                ..Default::default()
            };
            let ours = data_response(&response).unwrap();
            assert!(
                golden_tests::json_eq(&ours, &golden),
                "{path}:\nours:   {ours}\ngolden: {golden}"
            );
        }
    }
}
