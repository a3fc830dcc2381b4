//! Property test of the whole frame path: any frame the SDK can build
//! (random field types, lengths, nulls, labels) is built in a real guest
//! (`tests/guests/frame-echo`), crosses the component boundary, is encoded
//! as Arrow by the host, and decodes to exactly what was built.

use grafana_wasm_serve::frames::from_arrow;
use grafana_wasm_serve::wit::frames::{Field, Values, VarBytes};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::support::*;

/// One field: (type name, nullable, values as JSON, labels).
type FieldSpec = (
    &'static str,
    bool,
    Vec<Value>,
    Option<Vec<(String, String)>>,
);

fn cell(kind: &'static str) -> BoxedStrategy<Value> {
    match kind {
        "int8" => any::<i8>().prop_map(Value::from).boxed(),
        "int16" => any::<i16>().prop_map(Value::from).boxed(),
        "int32" => any::<i32>().prop_map(Value::from).boxed(),
        "int64" => any::<i64>().prop_map(Value::from).boxed(),
        "uint8" => any::<u8>().prop_map(Value::from).boxed(),
        "uint16" => any::<u16>().prop_map(Value::from).boxed(),
        "uint32" => any::<u32>().prop_map(Value::from).boxed(),
        "uint64" => any::<u64>().prop_map(Value::from).boxed(),
        "float32" => any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Value::from(f64::from(f)))
            .boxed(),
        "float64" => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from)
            .boxed(),
        "bool" => any::<bool>().prop_map(Value::from).boxed(),
        "string" => "\\PC{0,6}".prop_map(Value::from).boxed(),
        "time" => (0..i64::MAX).prop_map(Value::from).boxed(),
        "json" => prop_oneof![
            any::<i32>().prop_map(|i| json!(i)),
            "[a-z]{0,4}".prop_map(|s| json!({ "k": s })),
            proptest::collection::vec(any::<u8>(), 0..3).prop_map(|v| json!(v)),
        ]
        .boxed(),
        _ => (0u16..8).prop_map(Value::from).boxed(),
    }
}

const KINDS: [&str; 15] = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
    "bool", "string", "time", "json", "enum",
];

fn field(rows: usize) -> impl Strategy<Value = FieldSpec> {
    (proptest::sample::select(KINDS.to_vec()), any::<bool>()).prop_flat_map(
        move |(kind, nullable)| {
            let value = if nullable {
                proptest::option::weighted(0.7, cell(kind))
                    .prop_map(|v| v.unwrap_or(Value::Null))
                    .boxed()
            } else {
                cell(kind)
            };
            let labels = proptest::option::of(proptest::collection::vec(
                ("[a-z]{1,3}", "[a-z0-9]{0,3}"),
                0..3,
            ));
            (
                Just(kind),
                Just(nullable),
                proptest::collection::vec(value, rows),
                labels,
            )
        },
    )
}

fn frame() -> impl Strategy<Value = Vec<FieldSpec>> {
    (0usize..12).prop_flat_map(|rows| proptest::collection::vec(field(rows), 1..5))
}

fn slice(bytes: &VarBytes, row: usize) -> &[u8] {
    &bytes.data[bytes.offsets[row] as usize..bytes.offsets[row + 1] as usize]
}

/// A decoded field's rows as JSON values, `null` where invalid.
fn cells(field: &Field) -> Vec<Value> {
    let rows = grafana_wasm_serve::frames::values_len(&field.values);
    (0..rows)
        .map(|row| {
            let valid =
                field.validity.is_empty() || field.validity[row / 8] & (1 << (row % 8)) != 0;
            if !valid {
                return Value::Null;
            }
            match &field.values {
                Values::Int8(v) => v[row].into(),
                Values::Int16(v) => v[row].into(),
                Values::Int32(v) => v[row].into(),
                Values::Int64(v) => v[row].into(),
                Values::Uint8(v) => v[row].into(),
                Values::Uint16(v) | Values::Enum(v) => v[row].into(),
                Values::Uint32(v) => v[row].into(),
                Values::Uint64(v) => v[row].into(),
                Values::Float32(v) => f64::from(v[row]).into(),
                Values::Float64(v) => v[row].into(),
                Values::Bool(v) => v[row].into(),
                Values::Time(v) => v[row].into(),
                Values::String(b) => String::from_utf8(slice(b, row).to_vec()).unwrap().into(),
                Values::Json(b) => serde_json::from_slice(slice(b, row)).unwrap(),
            }
        })
        .collect()
}

#[test]
fn any_sdk_frame_survives_guest_host_arrow_and_decoding_unchanged() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let plugin = runtime.block_on(launch(FRAME_ECHO));
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let outcome = runner.run(&frame(), |fields| {
        let spec = json!({ "spec": {
            "name": "prop",
            "fields": fields.iter().enumerate().map(|(i, (kind, nullable, values, labels))| json!({
                "name": format!("f{i}"), "type": kind, "nullable": nullable, "values": values,
                "labels": labels.as_ref().map(|l| l.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<serde_json::Map<_, _>>()),
            })).collect::<Vec<_>>(),
        }});
        let request = query_request(vec![query("A", &spec.to_string(), 0)]);
        let response = runtime
            .block_on(plugin.data().query_data(request))
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .into_inner();
        let answer = &response.responses["A"];
        prop_assert_eq!(&answer.error, "");
        let frame =
            from_arrow(&answer.frames[0]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&frame.name, "prop");
        prop_assert_eq!(&frame.ref_id, "A");
        prop_assert_eq!(frame.fields.len(), fields.len());
        for (decoded, (kind, nullable, values, labels)) in frame.fields.iter().zip(&fields) {
            prop_assert_eq!(decoded.nullable, *nullable, "{}", kind);
            prop_assert_eq!(&cells(decoded), values, "{}", kind);
            let mut expected: Option<Vec<(String, String)>> = labels.as_ref().map(|l| {
                l.iter()
                    .cloned()
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_iter()
                    .collect()
            });
            // The SDK sends no labels for an empty label set.
            if expected.as_ref().is_some_and(Vec::is_empty) {
                expected = None;
            }
            prop_assert_eq!(&decoded.labels, &expected);
        }
        Ok(())
    });
    runtime.block_on(plugin.shutdown()).unwrap();
    if let Err(err) = outcome {
        panic!("{err}");
    }
}

#[tokio::test]
async fn a_million_row_frame_crosses_and_encodes() {
    let plugin = launch(FRAME_ECHO).await;
    let request = query_request(vec![query("A", r#"{"generate":1000000}"#, 0)]);
    let response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    let frame = from_arrow(&response.responses["A"].frames[0]).unwrap();
    assert_eq!(
        grafana_wasm_serve::frames::values_len(&frame.fields[0].values),
        1_000_000
    );
    assert_eq!(
        frame.fields[1].validity.len(),
        125_000,
        "nullable values carry a bitmap"
    );
    plugin.shutdown().await.unwrap();
}
