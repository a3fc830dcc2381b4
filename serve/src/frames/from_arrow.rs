//! Arrow IPC file -> frame, reading what Grafana's SDKs write (both the
//! v0.97-era files with a `name` field key and current ones with `tstype`),
//! so that frames can be checked by round trip and shown by tools.

use std::io::Cursor;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_ipc::reader::FileReader;
use arrow_schema::{DataType, Field as ArrowField, SchemaRef, TimeUnit};
use serde_json::Value;

use super::FrameError;
use crate::wit::frames::{Field, Frame, Values, VarBytes};

/// Decodes one Arrow IPC file (one frame; several record batches are
/// concatenated, as Grafana's reader does).
///
/// # Errors
/// When the bytes are not an Arrow file, or hold a type Grafana cannot read.
pub fn from_arrow(bytes: &[u8]) -> Result<Frame, FrameError> {
    let (schema, batches) = read_batches(bytes)?;
    let batch = arrow_select::concat::concat_batches(&schema, &batches)?;
    let metadata = schema.metadata();
    let fields = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| field_from_arrow(field, column.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Frame {
        name: metadata.get("name").cloned().unwrap_or_default(),
        ref_id: metadata.get("refId").cloned().unwrap_or_default(),
        meta: metadata.get("meta").cloned(),
        fields,
    })
}

/// Reads the schema and every record batch of an Arrow IPC file, with
/// arrow's validation of the data. arrow-ipc does not bounds-check every
/// buffer of a malformed file and panics on some; such a panic is caught
/// here and becomes an error, so that guest-made bytes can never take a
/// call's task down.
fn read_batches(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>), FrameError> {
    check_declared_sizes(bytes)?;
    let read = || {
        let reader = FileReader::try_new(Cursor::new(bytes), None)?;
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<RecordBatch>, _>>()?;
        Ok((schema, batches))
    };
    std::panic::catch_unwind(read).unwrap_or_else(|_| Err(FrameError::MalformedArrow))
}

/// Refuses a file whose footer or batches declare more than its bytes can
/// hold, before the Arrow reader allocates for them: it allocates each
/// block's declared size before reading it (a 10 KB file declaring a 4 GB
/// block made it allocate 4 GB), each batch's declared row count, and
/// decodes every block the footer lists (a 400 KB file listing its one
/// batch 6,000 times made it decode 1.5 GB). So blocks must lie within the
/// file without overlapping, and the rows of all batches together must fit
/// the file: every type Grafana reads takes at least a bit per row. What
/// decoding allocates is then bounded by the file's own size. A file too
/// broken to be read this way is left to the reader, which refuses it.
fn check_declared_sizes(bytes: &[u8]) -> Result<(), FrameError> {
    let Some(footer) = footer(bytes) else {
        return Ok(());
    };
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let max_rows = size.saturating_mul(8);
    let blocks = footer.recordBatches().into_iter().flatten();
    let dictionaries = footer.dictionaries().into_iter().flatten();
    let mut extents = Vec::new();
    let mut rows = 0_i64;
    for block in blocks.chain(dictionaries) {
        let extent = block_extent(block).filter(|(_, end)| *end <= size);
        extents.push(extent.ok_or(FrameError::MalformedArrow)?);
        rows = rows.saturating_add(declared_rows(bytes, block, max_rows)?);
        if rows > max_rows {
            return Err(FrameError::MalformedArrow);
        }
    }
    extents.sort_unstable();
    let overlapping = extents.windows(2).any(|pair| pair[1].0 < pair[0].1);
    if overlapping {
        return Err(FrameError::MalformedArrow);
    }
    Ok(())
}

/// Where a block starts and ends in the file, when its parts are sane.
fn block_extent(block: &arrow_ipc::Block) -> Option<(i64, i64)> {
    let parts = [block.metaDataLength().into(), block.bodyLength()];
    let start = block.offset();
    let end = parts.iter().try_fold(start, |end, &part| {
        (part >= 0).then(|| end.checked_add(part)).flatten()
    });
    end.filter(|_| start >= 0).map(|end| (start, end))
}

/// The rows a block's batch declares (0 for a block whose message cannot
/// be read here), after checking that none of its nodes declares more than
/// `max_rows`.
fn declared_rows(bytes: &[u8], block: &arrow_ipc::Block, max_rows: i64) -> Result<i64, FrameError> {
    let Some(message) = message_at(bytes, block.offset(), block.metaDataLength()) else {
        return Ok(0);
    };
    let batch = message
        .header_as_record_batch()
        .or_else(|| message.header_as_dictionary_batch()?.data());
    let Some(batch) = batch else { return Ok(0) };
    let node_rows = batch
        .nodes()
        .into_iter()
        .flatten()
        .map(arrow_ipc::FieldNode::length);
    let mut declared = std::iter::once(batch.length()).chain(node_rows);
    if declared.any(|rows| !(0..=max_rows).contains(&rows)) {
        return Err(FrameError::MalformedArrow);
    }
    Ok(batch.length())
}

/// The file's footer: it ends with the footer, its length (4 bytes) and
/// the magic `ARROW1`.
fn footer(bytes: &[u8]) -> Option<arrow_ipc::Footer<'_>> {
    let end = bytes.len().checked_sub(10)?;
    let length: [u8; 4] = bytes.get(end..end + 4)?.try_into().ok()?;
    let start = end.checked_sub(usize::try_from(i32::from_le_bytes(length)).ok()?)?;
    arrow_ipc::root_as_footer(bytes.get(start..end)?).ok()
}

/// The message of a block: an optional continuation marker, its length,
/// then the flatbuffer.
fn message_at(bytes: &[u8], offset: i64, length: i32) -> Option<arrow_ipc::Message<'_>> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(length).ok()?)?;
    let block = bytes.get(start..end)?;
    let skip = if block.get(..4)? == [0xff; 4] { 4 } else { 0 };
    let prefix: [u8; 4] = block.get(skip..skip + 4)?.try_into().ok()?;
    let len = usize::try_from(i32::from_le_bytes(prefix)).ok()?;
    let flatbuffer = block.get(skip + 4..skip + 4 + len)?;
    arrow_ipc::root_as_message(flatbuffer).ok()
}

/// Checks that guest-made Arrow bytes are a file Grafana can read: the
/// footer, schema and data parse and validate, and every field has a
/// supported type. (Bytes Grafana cannot decode would fail every query of
/// the request, not only this one.)
///
/// # Errors
/// Names what Grafana would reject.
pub fn check_arrow(bytes: &[u8]) -> Result<(), FrameError> {
    let (schema, _) = read_batches(bytes)?;
    for field in schema.fields() {
        if !supported(field.data_type()) {
            return Err(FrameError::InvalidField {
                field: field.name().clone(),
                reason: format!("Grafana cannot read arrow type {}", field.data_type()),
            });
        }
    }
    Ok(())
}

/// The Arrow types Grafana's reader accepts.
fn supported(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
        Int8 | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float32
            | Float64
            | Boolean
            | Utf8
            | Utf8View
            | Binary
            | Timestamp(_, _)
    )
}

fn field_from_arrow(field: &ArrowField, column: &dyn Array) -> Result<Field, FrameError> {
    let metadata = field.metadata();
    let is_enum = metadata.get("tstype").is_some_and(|t| t == "enum");
    let values = values_from_arrow(column, is_enum).map_err(|reason| FrameError::InvalidField {
        field: field.name().clone(),
        reason,
    })?;
    let labels = match metadata.get("labels") {
        Some(json) => {
            Some(
                labels_from_json(json).map_err(|reason| FrameError::InvalidMetadata {
                    what: format!("labels of field {:?}", field.name()),
                    reason,
                })?,
            )
        }
        None => None,
    };
    let validity = match column.nulls() {
        Some(nulls) if nulls.null_count() > 0 => nulls.inner().sliced().to_vec(),
        _ => Vec::new(),
    };
    Ok(Field {
        name: field.name().clone(),
        values,
        nullable: field.is_nullable(),
        validity,
        labels,
        config: metadata.get("config").cloned(),
    })
}

/// Labels are a JSON object of strings; sorted by key.
fn labels_from_json(json: &str) -> Result<Vec<(String, String)>, String> {
    match serde_json::from_str::<Value>(json).map_err(|e| e.to_string())? {
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                other => Err(format!("label {k:?} is not a string: {other}")),
            })
            .collect(),
        other => Err(format!("not an object: {other}")),
    }
}

fn primitive<T: ArrowPrimitiveType>(column: &dyn Array) -> Vec<T::Native> {
    column.as_primitive::<T>().values().to_vec()
}

/// Rebased offsets and the bytes they cover.
fn var_bytes(offsets: &[i32], data: &[u8]) -> VarBytes {
    let first = offsets.first().copied().unwrap_or(0);
    let last = offsets.last().copied().unwrap_or(0);
    VarBytes {
        offsets: offsets.iter().map(|o| (o - first) as u32).collect(),
        data: data[first as usize..last as usize].to_vec(),
    }
}

fn values_from_arrow(column: &dyn Array, is_enum: bool) -> Result<Values, String> {
    Ok(match column.data_type() {
        DataType::Int8 => Values::Int8(primitive::<Int8Type>(column)),
        DataType::Int16 => Values::Int16(primitive::<Int16Type>(column)),
        DataType::Int32 => Values::Int32(primitive::<Int32Type>(column)),
        DataType::Int64 => Values::Int64(primitive::<Int64Type>(column)),
        DataType::UInt8 => Values::Uint8(primitive::<UInt8Type>(column)),
        DataType::UInt16 if is_enum => Values::Enum(primitive::<UInt16Type>(column)),
        DataType::UInt16 => Values::Uint16(primitive::<UInt16Type>(column)),
        DataType::UInt32 => Values::Uint32(primitive::<UInt32Type>(column)),
        DataType::UInt64 => Values::Uint64(primitive::<UInt64Type>(column)),
        DataType::Float32 => Values::Float32(primitive::<Float32Type>(column)),
        DataType::Float64 => Values::Float64(primitive::<Float64Type>(column)),
        DataType::Boolean => Values::Bool(column.as_boolean().values().iter().collect()),
        // Grafana reads every timestamp unit as nanoseconds; so do we.
        DataType::Timestamp(unit, _) => Values::Time(match unit {
            TimeUnit::Second => primitive::<TimestampSecondType>(column),
            TimeUnit::Millisecond => primitive::<TimestampMillisecondType>(column),
            TimeUnit::Microsecond => primitive::<TimestampMicrosecondType>(column),
            TimeUnit::Nanosecond => primitive::<TimestampNanosecondType>(column),
        }),
        DataType::Utf8 => {
            let strings = column.as_string::<i32>();
            Values::String(var_bytes(strings.value_offsets(), strings.values()))
        }
        DataType::Utf8View => {
            let strings = column.as_string_view();
            let mut offsets = vec![0u32];
            let mut data = Vec::new();
            for i in 0..strings.len() {
                if strings.is_valid(i) {
                    data.extend_from_slice(strings.value(i).as_bytes());
                }
                offsets.push(data.len() as u32);
            }
            Values::String(VarBytes { offsets, data })
        }
        DataType::Binary => {
            let binary = column.as_binary::<i32>();
            Values::Json(var_bytes(binary.value_offsets(), binary.values()))
        }
        other => {
            return Err(format!(
                "unsupported conversion from arrow to sdk type for arrow type {other}"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{LargeStringArray, RecordBatch};
    use arrow_ipc::writer::{FileWriter, StreamWriter};
    use arrow_schema::Schema;

    use super::*;

    fn file_with(column: Arc<dyn Array>) -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![ArrowField::new(
            "x",
            column.data_type().clone(),
            false,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![column]).unwrap();
        let mut writer = FileWriter::try_new(Vec::new(), &schema).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        writer.into_inner().unwrap()
    }

    #[test]
    fn types_grafana_cannot_read_are_refused() {
        let large = file_with(Arc::new(LargeStringArray::from(vec!["a"])));
        let err = check_arrow(&large).unwrap_err().to_string();
        assert!(
            err.contains("Grafana cannot read arrow type LargeUtf8"),
            "{err}"
        );
        assert!(from_arrow(&large).is_err());
    }

    #[test]
    fn an_ipc_stream_is_not_a_file() {
        let schema = Arc::new(Schema::empty());
        let mut writer = StreamWriter::try_new(Vec::new(), &schema).unwrap();
        writer.finish().unwrap();
        let stream = writer.into_inner().unwrap();
        assert!(check_arrow(&stream).is_err(), "Grafana decodes files only");
    }

    /// Found by the `arrow_ipc` fuzz target: a file whose buffer offsets
    /// lie outside it made arrow-ipc panic.
    #[test]
    fn a_file_with_buffers_outside_it_is_an_error_not_a_panic() {
        let bytes =
            include_bytes!("../../../fuzz/regressions/arrow_ipc/out-of-bounds-buffer.arrow");
        assert!(matches!(from_arrow(bytes), Err(FrameError::MalformedArrow)));
        assert!(check_arrow(bytes).is_err());
    }

    /// Found by the `arrow_ipc` fuzz target: a 10 KB file whose footer
    /// declares a 4 GB block made the Arrow reader allocate 4 GB.
    #[test]
    fn a_file_declaring_more_than_it_holds_is_refused_before_reading() {
        let bytes = include_bytes!("../../../fuzz/regressions/arrow_ipc/huge-block.arrow");
        assert!(matches!(
            check_declared_sizes(bytes),
            Err(FrameError::MalformedArrow)
        ));
        assert!(from_arrow(bytes).is_err());
    }
}
