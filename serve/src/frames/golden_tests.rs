//! The encoders against Grafana SDKs' golden files (`tests/golden/`).

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_schema::Schema;
use serde_json::Value;

use super::*;

fn golden(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(golden(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn arrow_parts(bytes: &[u8]) -> (Schema, RecordBatch) {
    let reader = FileReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
    let batch = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
    (schema.as_ref().clone(), batch)
}

/// JSON values equal, key order and whitespace aside, and numbers compared
/// by value (Go writes `2` where Rust writes `2.0`; both are the number 2).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn assert_json_eq(ours: &str, golden: &Value) {
    let ours: Value = serde_json::from_str(ours).expect("our output is JSON");
    if !json_eq(&ours, golden) {
        panic!("Frame JSON differs.\nours:   {ours}\ngolden: {golden}");
    }
}

#[test]
fn head_arrow_decodes_and_reencodes_to_the_same_schema_and_values() {
    let bytes = read("sdk-go-head/all_types.golden.arrow");
    let frame = from_arrow(&bytes).unwrap();
    assert_eq!(frame.fields.len(), 35);
    let ours = to_arrow(frame, "").unwrap();
    let (golden_schema, golden_batch) = arrow_parts(&bytes);
    let (our_schema, our_batch) = arrow_parts(&ours);
    assert_eq!(our_schema.metadata(), golden_schema.metadata());
    for (ours, golden) in our_schema.fields().iter().zip(golden_schema.fields()) {
        assert_eq!(ours.name(), golden.name());
        assert_eq!(
            ours.data_type(),
            golden.data_type(),
            "type of {}",
            golden.name()
        );
        assert_eq!(
            ours.is_nullable(),
            golden.is_nullable(),
            "nullability of {}",
            golden.name()
        );
        assert_eq!(
            ours.metadata(),
            golden.metadata(),
            "metadata of {}",
            golden.name()
        );
    }
    assert_eq!(our_schema.fields().len(), golden_schema.fields().len());
    for (i, (ours, golden)) in our_batch
        .columns()
        .iter()
        .zip(golden_batch.columns())
        .enumerate()
    {
        assert_eq!(ours.as_ref(), golden.as_ref(), "values of field {i}");
    }
}

#[test]
fn v0_97_arrow_keeps_its_values_and_types() {
    let bytes = read("sdk-go-v0.97.0/all_types.golden.arrow");
    let ours = to_arrow(from_arrow(&bytes).unwrap(), "").unwrap();
    let (golden_schema, golden_batch) = arrow_parts(&bytes);
    let (our_schema, our_batch) = arrow_parts(&ours);
    assert_eq!(our_schema.fields().len(), 31);
    for (ours, golden) in our_schema.fields().iter().zip(golden_schema.fields()) {
        assert_eq!(
            (ours.name(), ours.data_type(), ours.is_nullable()),
            (golden.name(), golden.data_type(), golden.is_nullable())
        );
    }
    for (ours, golden) in our_batch.columns().iter().zip(golden_batch.columns()) {
        assert_eq!(ours.as_ref(), golden.as_ref());
    }
}

#[test]
fn frame_json_of_the_head_frame_equals_the_golden_json() {
    let frame = from_arrow(&read("sdk-go-head/all_types.golden.arrow")).unwrap();
    let golden: Value = serde_json::from_slice(&read("sdk-go-head/all_types.golden.json")).unwrap();
    assert_json_eq(&to_json(&frame, Include::All).unwrap(), &golden);
}

#[test]
fn golden_frame_json_round_trips_through_json_and_arrow() {
    for path in [
        "sdk-go-head/all_types.golden.json",
        "sdk-go-v0.97.0/all_types.golden.json",
    ] {
        let text = String::from_utf8(read(path)).unwrap();
        let golden: Value = serde_json::from_str(&text).unwrap();
        let frame = from_json(&text).unwrap();
        assert_json_eq(&to_json(&frame, Include::All).unwrap(), &golden);
        let through_arrow = from_arrow(&to_arrow(frame, "").unwrap()).unwrap();
        assert_json_eq(&to_json(&through_arrow, Include::All).unwrap(), &golden);
    }
}

/// A `.jsonc` golden: `//` comment lines, then a DataResponse object.
pub(crate) fn data_response(path: &str) -> Value {
    let text = String::from_utf8(read(path)).unwrap();
    let json: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn data_response_goldens_round_trip() {
    let paths = [
        "sdk-go-head/frame-custom-meta.golden.jsonc",
        "sdk-go-head/frame-empty-custom-meta.golden.jsonc",
        "sdk-go-head/frame-json.jsonc",
        "sdk-go-head/frame-no-meta.golden.jsonc",
        "sdk-go-head/frame-non-custom-meta.golden.jsonc",
        "sdk-go-head/single-json-frame.golden.jsonc",
        "sdk-go-head/single-json-framer.golden.jsonc",
        "sdk-go-head/sample_query_results.json",
        "grafana/simple.golden.jsonc",
    ];
    for path in paths {
        let response = data_response(path);
        let frames = response["frames"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has frames"));
        assert!(!frames.is_empty(), "{path}");
        for golden in frames {
            let frame = frame_from_value(golden).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_json_eq(&to_json(&frame, Include::All).unwrap(), golden);
            let through_arrow = from_arrow(&to_arrow(frame, "").unwrap()).unwrap();
            assert_json_eq(&to_json(&through_arrow, Include::All).unwrap(), golden);
        }
    }
}

#[test]
fn include_modes_write_only_what_they_say() {
    let frame = from_json(r#"{"schema":{"name":"n","fields":[{"name":"v","type":"number","typeInfo":{"frame":"int64"}}]},"data":{"values":[[1,2]]}}"#).unwrap();
    let schema: Value =
        serde_json::from_str(&to_json(&frame, Include::SchemaOnly).unwrap()).unwrap();
    assert!(schema.get("data").is_none() && schema["schema"]["name"] == "n");
    let data: Value = serde_json::from_str(&to_json(&frame, Include::DataOnly).unwrap()).unwrap();
    assert!(data.get("schema").is_none());
    assert_eq!(data["data"]["values"], serde_json::json!([[1, 2]]));
}
