//! WIT frame -> Arrow IPC file, one file per frame, as Grafana decodes it
//! with arrow-go's `ipc.NewFileReader`.
//!
//! Buffers are moved into Arrow arrays without copying, except string/JSON
//! offsets (u32 in the contract, i32 in Arrow's Utf8/Binary layout).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampNanosecondType,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, PrimitiveArray, RecordBatch,
    RecordBatchOptions, StringArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{Field, Schema};
use serde_json::{Map, Value};

use super::{FrameError, check_object, rows_of};
use crate::wit::frames::{Field as WitField, Frame, Values, VarBytes};

/// Encodes `frame` as an Arrow IPC file. `fallback_ref_id` (the response's
/// key) is written when the frame names no refId, as the Go SDK does.
///
/// # Errors
/// A [`FrameError`] naming the field or metadata at fault.
pub fn to_arrow(frame: Frame, fallback_ref_id: &str) -> Result<Vec<u8>, FrameError> {
    let rows = rows_of(&frame)?;
    let mut fields = Vec::with_capacity(frame.fields.len());
    let mut columns = Vec::with_capacity(frame.fields.len());
    for field in frame.fields {
        let (arrow_field, column) = encode_field(field, rows)?;
        fields.push(arrow_field);
        columns.push(column);
    }
    let ref_id = if frame.ref_id.is_empty() {
        fallback_ref_id.to_owned()
    } else {
        frame.ref_id
    };
    let mut metadata = HashMap::from([
        ("name".to_owned(), frame.name),
        ("refId".to_owned(), ref_id),
    ]);
    if let Some(meta) = frame.meta {
        check_object("frame meta", &meta)?;
        metadata.insert("meta".to_owned(), meta);
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?;
    let mut writer = FileWriter::try_new(Vec::new(), &schema)?;
    writer.write(&batch)?;
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// The Grafana type name stored as the field's `tstype` metadata.
fn ts_type(values: &Values) -> &'static str {
    match values {
        Values::String(_) => "string",
        Values::Bool(_) => "boolean",
        Values::Time(_) => "time",
        Values::Json(_) => "other",
        Values::Enum(_) => "enum",
        _ => "number",
    }
}

fn encode_field(field: WitField, rows: usize) -> Result<(Field, ArrayRef), FrameError> {
    let invalid = |reason: String| FrameError::InvalidField {
        field: field.name.clone(),
        reason,
    };
    let nulls = validity(field.validity, rows, field.nullable).map_err(invalid)?;
    let mut metadata = HashMap::from([("tstype".to_owned(), ts_type(&field.values).to_owned())]);
    if let Some(labels) = field.labels {
        let labels: Map<String, Value> = labels
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        metadata.insert("labels".to_owned(), Value::Object(labels).to_string());
    }
    if let Some(config) = field.config {
        check_object(&format!("config of field {:?}", field.name), &config)?;
        metadata.insert("config".to_owned(), config);
    }
    let column = column(field.values, nulls).map_err(invalid)?;
    let arrow_field =
        Field::new(field.name, column.data_type().clone(), field.nullable).with_metadata(metadata);
    Ok((arrow_field, column))
}

/// The validity bitmap as Arrow nulls. Non-nullable fields must have none.
fn validity(bitmap: Vec<u8>, rows: usize, nullable: bool) -> Result<Option<NullBuffer>, String> {
    if bitmap.is_empty() {
        return Ok(None);
    }
    if bitmap.len() * 8 < rows {
        return Err(format!(
            "validity bitmap has {} bytes, {rows} rows need {}",
            bitmap.len(),
            rows.div_ceil(8)
        ));
    }
    let nulls = NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(bitmap), 0, rows));
    if nulls.null_count() > 0 && !nullable {
        return Err(format!(
            "has {} nulls but is not nullable",
            nulls.null_count()
        ));
    }
    Ok(Some(nulls))
}

fn primitive<T: ArrowPrimitiveType>(
    values: Vec<T::Native>,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef, String> {
    PrimitiveArray::<T>::try_new(ScalarBuffer::from(values), nulls)
        .map(|a| Arc::new(a) as ArrayRef)
        .map_err(|e| e.to_string())
}

/// Arrow's i32 offsets from the contract's u32 ones, checked so that Arrow
/// never panics on them.
fn offsets(bytes: &VarBytes) -> Result<OffsetBuffer<i32>, String> {
    if bytes.offsets.is_empty() {
        return Err("offsets must hold at least one entry (0)".into());
    }
    if bytes.offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err("offsets must not decrease".into());
    }
    let last = *bytes.offsets.last().unwrap_or(&0) as usize;
    if last > bytes.data.len() {
        return Err(format!(
            "offsets point past the {} data bytes",
            bytes.data.len()
        ));
    }
    let converted = bytes
        .offsets
        .iter()
        .map(|&o| i32::try_from(o).map_err(|_| format!("offset {o} exceeds Arrow's 2 GiB limit")))
        .collect::<Result<Vec<i32>, String>>()?;
    Ok(OffsetBuffer::new(ScalarBuffer::from(converted)))
}

fn column(values: Values, nulls: Option<NullBuffer>) -> Result<ArrayRef, String> {
    match values {
        Values::Int8(v) => primitive::<Int8Type>(v, nulls),
        Values::Int16(v) => primitive::<Int16Type>(v, nulls),
        Values::Int32(v) => primitive::<Int32Type>(v, nulls),
        Values::Int64(v) => primitive::<Int64Type>(v, nulls),
        Values::Uint8(v) => primitive::<UInt8Type>(v, nulls),
        Values::Uint16(v) | Values::Enum(v) => primitive::<UInt16Type>(v, nulls),
        Values::Uint32(v) => primitive::<UInt32Type>(v, nulls),
        Values::Uint64(v) => primitive::<UInt64Type>(v, nulls),
        Values::Float32(v) => primitive::<Float32Type>(v, nulls),
        Values::Float64(v) => primitive::<Float64Type>(v, nulls),
        Values::Time(v) => primitive::<TimestampNanosecondType>(v, nulls),
        Values::Bool(v) => Ok(Arc::new(BooleanArray::new(
            BooleanBuffer::from(v.as_slice()),
            nulls,
        ))),
        Values::String(bytes) => {
            let offsets = offsets(&bytes)?;
            StringArray::try_new(offsets, Buffer::from_vec(bytes.data), nulls)
                .map(|a| Arc::new(a) as ArrayRef)
                .map_err(|e| e.to_string())
        }
        Values::Json(bytes) => {
            let offsets = offsets(&bytes)?;
            let array = BinaryArray::try_new(offsets, Buffer::from_vec(bytes.data), nulls)
                .map_err(|e| e.to_string())?;
            check_json_values(&array)?;
            Ok(Arc::new(array))
        }
    }
}

/// Every non-null value of a JSON field must parse: Grafana embeds them raw
/// in the JSON it sends to the browser.
fn check_json_values(array: &BinaryArray) -> Result<(), String> {
    for (row, value) in array.iter().enumerate() {
        if let Some(bytes) = value {
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
                .map_err(|e| format!("row {row} is not valid JSON: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt16Type;
    use arrow_ipc::reader::FileReader;
    use arrow_schema::{DataType, TimeUnit};

    use super::*;

    fn field(name: &str, values: Values) -> WitField {
        WitField {
            name: name.into(),
            values,
            nullable: false,
            validity: Vec::new(),
            labels: None,
            config: None,
        }
    }

    fn frame(fields: Vec<WitField>) -> Frame {
        Frame {
            name: "f".into(),
            ref_id: String::new(),
            meta: None,
            fields,
        }
    }

    fn decode(bytes: &[u8]) -> (Arc<Schema>, Vec<RecordBatch>) {
        assert!(
            bytes.starts_with(b"ARROW1\0\0") && bytes.ends_with(b"ARROW1"),
            "an IPC file"
        );
        let reader = FileReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let schema = reader.schema();
        (schema, reader.collect::<Result<_, _>>().unwrap())
    }

    fn var(values: &[&str]) -> VarBytes {
        let mut offsets = vec![0];
        let mut data = Vec::new();
        for v in values {
            data.extend_from_slice(v.as_bytes());
            offsets.push(data.len() as u32);
        }
        VarBytes { offsets, data }
    }

    #[test]
    fn every_type_maps_to_the_arrow_type_grafana_reads() {
        let cases = [
            (Values::Int8(vec![1]), DataType::Int8, "number"),
            (Values::Int16(vec![1]), DataType::Int16, "number"),
            (Values::Int32(vec![1]), DataType::Int32, "number"),
            (Values::Int64(vec![1]), DataType::Int64, "number"),
            (Values::Uint8(vec![1]), DataType::UInt8, "number"),
            (Values::Uint16(vec![1]), DataType::UInt16, "number"),
            (Values::Uint32(vec![1]), DataType::UInt32, "number"),
            (Values::Uint64(vec![1]), DataType::UInt64, "number"),
            (Values::Float32(vec![1.0]), DataType::Float32, "number"),
            (Values::Float64(vec![f64::NAN]), DataType::Float64, "number"),
            (Values::String(var(&["a"])), DataType::Utf8, "string"),
            (Values::Bool(vec![true]), DataType::Boolean, "boolean"),
            (
                Values::Time(vec![1]),
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                "time",
            ),
            (Values::Json(var(&["{}"])), DataType::Binary, "other"),
            (Values::Enum(vec![0]), DataType::UInt16, "enum"),
        ];
        for (values, data_type, ts_type) in cases {
            let bytes = to_arrow(frame(vec![field("x", values)]), "A").unwrap();
            let (schema, batches) = decode(&bytes);
            assert_eq!(schema.field(0).data_type(), &data_type);
            assert_eq!(schema.field(0).metadata()["tstype"], ts_type);
            assert_eq!(batches[0].num_rows(), 1);
        }
    }

    #[test]
    fn schema_metadata_labels_config_and_nulls_are_written() {
        let mut value = field("value", Values::Float64(vec![1.0, 0.0, 3.0]));
        value.nullable = true;
        value.validity = vec![0b101];
        value.labels = Some(vec![("host".into(), "a".into())]);
        value.config = Some(r#"{"unit":"ms"}"#.into());
        let mut f = frame(vec![value, field("level", Values::Enum(vec![0, 1, 0]))]);
        f.meta = Some(r#"{"executedQueryString":"q"}"#.into());
        let (schema, batches) = decode(&to_arrow(f, "B").unwrap());
        let meta = schema.metadata();
        assert_eq!((meta["name"].as_str(), meta["refId"].as_str()), ("f", "B"));
        assert_eq!(meta["meta"], r#"{"executedQueryString":"q"}"#);
        let value = schema.field(0);
        assert!(value.is_nullable());
        assert_eq!(value.metadata()["labels"], r#"{"host":"a"}"#);
        assert_eq!(value.metadata()["config"], r#"{"unit":"ms"}"#);
        assert!(!schema.field(1).is_nullable());
        assert_eq!(batches[0].column(0).null_count(), 1);
        assert!(batches[0].column(0).is_null(1));
        assert_eq!(
            batches[0].column(1).as_primitive::<UInt16Type>().value(1),
            1
        );
    }

    #[test]
    fn a_frame_ref_id_wins_over_the_response_key() {
        let mut f = frame(vec![]);
        f.ref_id = "own".into();
        let (schema, batches) = decode(&to_arrow(f, "key").unwrap());
        assert_eq!(schema.metadata()["refId"], "own");
        assert_eq!(batches[0].num_columns(), 0, "a zero-field frame is valid");
    }

    #[test]
    fn invalid_frames_are_errors_not_panics() {
        let unequal = frame(vec![
            field("a", Values::Int8(vec![1, 2])),
            field("b", Values::Int8(vec![1])),
        ]);
        assert!(matches!(
            to_arrow(unequal, "A"),
            Err(FrameError::LengthMismatch { .. })
        ));

        let bad_json = frame(vec![field("j", Values::Json(var(&["{nope"])))]);
        let err = to_arrow(bad_json, "A").unwrap_err().to_string();
        assert!(err.contains("row 0 is not valid JSON"), "{err}");

        let bad_utf8 = frame(vec![field(
            "s",
            Values::String(VarBytes {
                offsets: vec![0, 2],
                data: vec![0xff, 0xfe],
            }),
        )]);
        assert!(to_arrow(bad_utf8, "A").is_err());

        for offsets in [vec![], vec![0, 5], vec![0, 2, 1]] {
            let bad = frame(vec![field(
                "s",
                Values::String(VarBytes {
                    offsets,
                    data: b"ab".to_vec(),
                }),
            )]);
            assert!(to_arrow(bad, "A").is_err());
        }

        let mut nulls_not_allowed = field("n", Values::Int8(vec![1, 2]));
        nulls_not_allowed.validity = vec![0b01];
        let err = to_arrow(frame(vec![nulls_not_allowed]), "A")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not nullable"), "{err}");

        let mut short_bitmap = field("n", Values::Int8(vec![1; 9]));
        short_bitmap.nullable = true;
        short_bitmap.validity = vec![0xff];
        assert!(to_arrow(frame(vec![short_bitmap]), "A").is_err());

        let mut bad_meta = frame(vec![]);
        bad_meta.meta = Some("[1]".into());
        let err = to_arrow(bad_meta, "A").unwrap_err().to_string();
        assert!(err.contains("frame meta must be a JSON object"), "{err}");

        let mut bad_config = field("c", Values::Int8(vec![]));
        bad_config.config = Some("\"ms\"".into());
        assert!(to_arrow(frame(vec![bad_config]), "A").is_err());
    }
}
