//! Data frames as Grafana reads them (protocol.md §4): the guest's columnar
//! frames encoded as Arrow IPC files with the schema metadata
//! grafana-plugin-sdk-go writes, or as Frame JSON; and decoded back from
//! both, so round trips can be checked and tools can show frames.

mod from_arrow;
mod from_json;
mod to_arrow;
mod to_json;

pub use from_arrow::{check_arrow, from_arrow};
pub use from_json::{frame_from_value, from_json};
pub use to_arrow::to_arrow;
pub use to_json::{Include, data_json, stream_json, to_json};

use serde_json::Value;

use crate::wit::frames::{Field, Frame, FrameData, Values};

/// Why a frame cannot be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A field's length differs from the frame's first field.
    #[error("field {field:?} has {got} rows, expected {expected} like the first field")]
    LengthMismatch {
        /// Field name.
        field: String,
        /// Rows of the first field.
        expected: usize,
        /// Rows of this field.
        got: usize,
    },
    /// A field's values or validity bitmap are malformed.
    #[error("field {field:?}: {reason}")]
    InvalidField {
        /// Field name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Frame meta, field config or labels are not what Grafana accepts.
    #[error("{what} must be a JSON object: {reason}")]
    InvalidMetadata {
        /// Which metadata.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// Frame JSON that is not a frame.
    #[error("invalid frame JSON: {0}")]
    Json(String),
    /// Arrow IPC bytes so malformed that the Arrow reader gave up.
    #[error("malformed Arrow IPC data: its buffers do not fit the file")]
    MalformedArrow,
    /// Arrow rejected the data or failed to write it.
    #[error("arrow encoding failed: {0}")]
    Arrow(#[from] ::arrow_schema::ArrowError),
}

/// Number of values in a column.
pub fn values_len(values: &Values) -> usize {
    match values {
        Values::Int8(v) => v.len(),
        Values::Int16(v) => v.len(),
        Values::Int32(v) => v.len(),
        Values::Int64(v) => v.len(),
        Values::Uint8(v) => v.len(),
        Values::Uint16(v) => v.len(),
        Values::Uint32(v) => v.len(),
        Values::Uint64(v) => v.len(),
        Values::Float32(v) => v.len(),
        Values::Float64(v) => v.len(),
        Values::Bool(v) => v.len(),
        Values::Time(v) => v.len(),
        Values::Enum(v) => v.len(),
        Values::String(v) | Values::Json(v) => v.offsets.len().saturating_sub(1),
    }
}

/// Bytes a frame the guest sent takes in host memory, roughly: its
/// buffers, names, labels and metadata.
pub fn host_bytes(frame: &FrameData) -> usize {
    match frame {
        FrameData::ArrowIpc(bytes) => bytes.len(),
        FrameData::Columnar(frame) => {
            let fields: usize = frame.fields.iter().map(field_bytes).sum();
            fields
                + frame.name.len()
                + frame.ref_id.len()
                + frame.meta.as_ref().map_or(0, String::len)
        }
    }
}

fn field_bytes(field: &Field) -> usize {
    let labels: usize = field
        .labels
        .iter()
        .flatten()
        .map(|(key, value)| key.len() + value.len())
        .sum();
    let config = field.config.as_ref().map_or(0, String::len);
    field.name.len() + values_bytes(&field.values) + field.validity.len() + labels + config
}

/// Bytes of a column's values.
fn values_bytes(values: &Values) -> usize {
    let count = values_len(values);
    match values {
        Values::Int8(_) | Values::Uint8(_) | Values::Bool(_) => count,
        Values::Int16(_) | Values::Uint16(_) | Values::Enum(_) => count * 2,
        Values::Int32(_) | Values::Uint32(_) | Values::Float32(_) => count * 4,
        Values::Int64(_) | Values::Uint64(_) | Values::Float64(_) | Values::Time(_) => count * 8,
        Values::String(v) | Values::Json(v) => v.offsets.len() * 4 + v.data.len(),
    }
}

/// The frame's row count, after checking that every field has it.
///
/// # Errors
/// [`FrameError::LengthMismatch`] naming the first field that differs.
pub fn rows_of(frame: &Frame) -> Result<usize, FrameError> {
    let rows = frame.fields.first().map_or(0, |f| values_len(&f.values));
    for field in &frame.fields {
        let got = values_len(&field.values);
        if got != rows {
            return Err(FrameError::LengthMismatch {
                field: field.name.clone(),
                expected: rows,
                got,
            });
        }
    }
    Ok(rows)
}

/// Meta and config must be JSON objects: Grafana unmarshals them into
/// structs and fails the whole response otherwise.
fn check_object(what: &str, json: &str) -> Result<(), FrameError> {
    let invalid = |reason: String| FrameError::InvalidMetadata {
        what: what.to_owned(),
        reason,
    };
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(other) => Err(invalid(format!("got {}", json_kind(&other)))),
        Err(err) => Err(invalid(err.to_string())),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod golden_tests;
