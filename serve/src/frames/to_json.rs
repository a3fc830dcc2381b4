//! Frame JSON, as grafana-plugin-sdk-go's `data.FrameToJSON` writes it and
//! Grafana sends it to the browser (protocol.md §4.6):
//!
//! ```json
//! {"schema":{"name":…,"refId":…,"meta":{…},"fields":[{"name":…,"type":…,"typeInfo":{"frame":…,"nullable":true},"labels":{…},"config":{…}}]},
//!  "data":{"values":[[…]],"entities":[null,{"NaN":[0],"Inf":[1],"NegInf":[2]}],"nanos":[[0,740991],null]}}
//! ```
//!
//! Times are epoch milliseconds with the sub-millisecond rest in `nanos`;
//! NaN and ±Inf are `null` values listed in `entities`.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{FrameError, check_object, rows_of};
use crate::wit::frames::{Field, Frame, FrameData, FrameInclude, Values, VarBytes};

/// Which parts of the frame to write (the Go SDK's `FrameInclude`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    /// Schema and data.
    All,
    /// Only the schema (first message of a streamed frame).
    SchemaOnly,
    /// Only the data (later messages of a streamed frame).
    DataOnly,
}

/// A guest's frame, columnar or Arrow IPC, as Frame JSON with the parts
/// `include` says; `ref_id` fills in a missing refId.
///
/// # Errors
/// When the frame is invalid.
pub fn data_json(data: FrameData, ref_id: &str, include: Include) -> Result<Vec<u8>, FrameError> {
    let mut frame = match data {
        FrameData::Columnar(frame) => frame,
        FrameData::ArrowIpc(bytes) => super::from_arrow(&bytes)?,
    };
    if frame.ref_id.is_empty() {
        ref_id.clone_into(&mut frame.ref_id);
    }
    to_json(&frame, include).map(String::into_bytes)
}

/// A frame sent on a live stream: Frame JSON with the parts the guest
/// asked for (Go's `SendFrame`).
///
/// # Errors
/// When the frame is invalid.
pub fn stream_json(data: FrameData, include: FrameInclude) -> Result<Vec<u8>, FrameError> {
    let include = match include {
        FrameInclude::All => Include::All,
        FrameInclude::DataOnly => Include::DataOnly,
        FrameInclude::SchemaOnly => Include::SchemaOnly,
    };
    data_json(data, "", include)
}

/// Writes `frame` as Frame JSON.
///
/// # Errors
/// When fields differ in length, or values, meta or config are invalid.
pub fn to_json(frame: &Frame, include: Include) -> Result<String, FrameError> {
    let rows = rows_of(frame)?;
    let mut out = String::from("{");
    if include != Include::DataOnly {
        out.push_str("\"schema\":");
        write_schema(&mut out, frame)?;
    }
    if include != Include::SchemaOnly {
        if include == Include::All {
            out.push(',');
        }
        out.push_str("\"data\":");
        write_data(&mut out, frame, rows)?;
    }
    out.push('}');
    Ok(out)
}

fn push_string(out: &mut String, s: &str) {
    out.push_str(&Value::String(s.to_owned()).to_string());
}

/// Go SDK type names (`typeInfo.frame`) and Grafana field types (`type`).
fn type_names(values: &Values) -> (&'static str, &'static str) {
    match values {
        Values::Int8(_) => ("int8", "number"),
        Values::Int16(_) => ("int16", "number"),
        Values::Int32(_) => ("int32", "number"),
        Values::Int64(_) => ("int64", "number"),
        Values::Uint8(_) => ("uint8", "number"),
        Values::Uint16(_) => ("uint16", "number"),
        Values::Uint32(_) => ("uint32", "number"),
        Values::Uint64(_) => ("uint64", "number"),
        Values::Float32(_) => ("float32", "number"),
        Values::Float64(_) => ("float64", "number"),
        Values::String(_) => ("string", "string"),
        Values::Bool(_) => ("bool", "boolean"),
        Values::Time(_) => ("time.Time", "time"),
        Values::Json(_) => ("json.RawMessage", "other"),
        Values::Enum(_) => ("enum", "enum"),
    }
}

fn write_schema(out: &mut String, frame: &Frame) -> Result<(), FrameError> {
    out.push('{');
    if !frame.name.is_empty() {
        out.push_str("\"name\":");
        push_string(out, &frame.name);
        out.push(',');
    }
    if !frame.ref_id.is_empty() {
        out.push_str("\"refId\":");
        push_string(out, &frame.ref_id);
        out.push(',');
    }
    if let Some(meta) = &frame.meta {
        check_object("frame meta", meta)?;
        out.push_str("\"meta\":");
        out.push_str(meta);
        out.push(',');
    }
    out.push_str("\"fields\":[");
    for (i, field) in frame.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field_schema(out, field)?;
    }
    out.push_str("]}");
    Ok(())
}

fn write_field_schema(out: &mut String, field: &Field) -> Result<(), FrameError> {
    let (frame_type, ts_type) = type_names(&field.values);
    out.push('{');
    if !field.name.is_empty() {
        out.push_str("\"name\":");
        push_string(out, &field.name);
        out.push(',');
    }
    let _ = write!(
        out,
        "\"type\":\"{ts_type}\",\"typeInfo\":{{\"frame\":\"{frame_type}\""
    );
    if field.nullable {
        out.push_str(",\"nullable\":true");
    }
    out.push('}');
    if let Some(labels) = &field.labels {
        let labels: Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let _ = write!(out, ",\"labels\":{}", Value::Object(labels));
    }
    if let Some(config) = &field.config {
        check_object(&format!("config of field {:?}", field.name), config)?;
        out.push_str(",\"config\":");
        out.push_str(config);
    }
    out.push('}');
    Ok(())
}

/// Per-field extras of the data section.
#[derive(Default)]
struct Extras {
    entities: Vec<Option<String>>,
    nanos: Vec<Option<String>>,
}

fn write_data(out: &mut String, frame: &Frame, rows: usize) -> Result<(), FrameError> {
    let mut extras = Extras::default();
    out.push_str("{\"values\":[");
    for (i, field) in frame.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (entities, nanos) =
            write_values(out, field, rows).map_err(|reason| FrameError::InvalidField {
                field: field.name.clone(),
                reason,
            })?;
        extras.entities.push(entities);
        extras.nanos.push(nanos);
    }
    out.push(']');
    for (key, list) in [("entities", &extras.entities), ("nanos", &extras.nanos)] {
        if list.iter().any(Option::is_some) {
            let _ = write!(out, ",\"{key}\":[");
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(item.as_deref().unwrap_or("null"));
            }
            out.push(']');
        }
    }
    out.push('}');
    Ok(())
}

fn is_valid(validity: &[u8], row: usize) -> bool {
    validity.is_empty()
        || validity
            .get(row / 8)
            .is_some_and(|b| b & (1 << (row % 8)) != 0)
}

/// Writes one column; returns its entities and nanos JSON when it has any.
fn write_values(
    out: &mut String,
    field: &Field,
    rows: usize,
) -> Result<(Option<String>, Option<String>), String> {
    if !field.validity.is_empty() && field.validity.len() * 8 < rows {
        return Err("validity bitmap is shorter than the field".into());
    }
    let valid = |row| is_valid(&field.validity, row);
    out.push('[');
    let mut entities = Entities::default();
    let mut nanos: Vec<i64> = Vec::new();
    for row in 0..rows {
        if row > 0 {
            out.push(',');
        }
        if !valid(row) {
            out.push_str("null");
            if matches!(field.values, Values::Time(_)) {
                nanos.push(0);
            }
            continue;
        }
        match &field.values {
            Values::Int8(v) => push_display(out, v[row]),
            Values::Int16(v) => push_display(out, v[row]),
            Values::Int32(v) => push_display(out, v[row]),
            Values::Int64(v) => push_display(out, v[row]),
            Values::Uint8(v) => push_display(out, v[row]),
            Values::Uint16(v) | Values::Enum(v) => push_display(out, v[row]),
            Values::Uint32(v) => push_display(out, v[row]),
            Values::Uint64(v) => push_display(out, v[row]),
            Values::Float32(v) => entities.push_float(out, row, f64::from(v[row]), |b| {
                b.format_finite(v[row]).to_owned()
            }),
            Values::Float64(v) => {
                entities.push_float(out, row, v[row], |b| b.format_finite(v[row]).to_owned());
            }
            Values::Bool(v) => out.push_str(if v[row] { "true" } else { "false" }),
            Values::Time(v) => {
                push_display(out, v[row].div_euclid(1_000_000));
                nanos.push(v[row].rem_euclid(1_000_000));
            }
            Values::String(bytes) => push_string(
                out,
                std::str::from_utf8(slice(bytes, row)?).map_err(|e| format!("row {row}: {e}"))?,
            ),
            Values::Json(bytes) => {
                let raw = slice(bytes, row)?;
                serde_json::from_slice::<serde::de::IgnoredAny>(raw)
                    .map_err(|e| format!("row {row} is not valid JSON: {e}"))?;
                out.push_str(std::str::from_utf8(raw).map_err(|e| format!("row {row}: {e}"))?);
            }
        }
    }
    out.push(']');
    let nanos = nanos.iter().any(|&n| n != 0).then(|| {
        let list: Vec<String> = nanos.iter().map(i64::to_string).collect();
        format!("[{}]", list.join(","))
    });
    Ok((entities.to_json(), nanos))
}

fn push_display(out: &mut String, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}");
}

/// Bytes of row `row` of a variable-width column, checked.
fn slice(bytes: &VarBytes, row: usize) -> Result<&[u8], String> {
    let (start, end) = (bytes.offsets.get(row), bytes.offsets.get(row + 1));
    match (start, end) {
        (Some(&s), Some(&e)) if s <= e && (e as usize) <= bytes.data.len() => {
            Ok(&bytes.data[s as usize..e as usize])
        }
        _ => Err(format!("offsets of row {row} are out of bounds")),
    }
}

/// Rows holding NaN, +Inf and -Inf in a float column.
#[derive(Default)]
struct Entities {
    nan: Vec<usize>,
    inf: Vec<usize>,
    neg_inf: Vec<usize>,
}

impl Entities {
    fn push_float(
        &mut self,
        out: &mut String,
        row: usize,
        value: f64,
        format: impl FnOnce(&mut ryu::Buffer) -> String,
    ) {
        if value.is_nan() {
            self.nan.push(row);
        } else if value == f64::INFINITY {
            self.inf.push(row);
        } else if value == f64::NEG_INFINITY {
            self.neg_inf.push(row);
        } else {
            out.push_str(&format(&mut ryu::Buffer::new()));
            return;
        }
        out.push_str("null");
    }

    fn to_json(&self) -> Option<String> {
        let mut map = Map::new();
        for (key, rows) in [
            ("NaN", &self.nan),
            ("Inf", &self.inf),
            ("NegInf", &self.neg_inf),
        ] {
            if !rows.is_empty() {
                map.insert(key.into(), rows.iter().map(|&r| Value::from(r)).collect());
            }
        }
        (!map.is_empty()).then(|| Value::Object(map).to_string())
    }
}
