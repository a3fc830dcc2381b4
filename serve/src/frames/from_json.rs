//! Frame JSON -> frame: the inverse of [`super::to_json`], accepting the
//! type-name aliases Grafana's reader accepts (`int`, `double`, `boolean`,
//! `time`, `json`, `*T` for nullable).

use serde_json::Value;

use super::FrameError;
use crate::wit::frames::{Field, Frame, Values, VarBytes};

/// Parses one Frame JSON object.
///
/// # Errors
/// When the JSON is not a frame, or a value does not fit its field type.
pub fn from_json(json: &str) -> Result<Frame, FrameError> {
    let value: Value = serde_json::from_str(json).map_err(|e| FrameError::Json(e.to_string()))?;
    frame_from_value(&value)
}

/// Builds a frame from parsed Frame JSON.
///
/// # Errors
/// See [`from_json`].
pub fn frame_from_value(value: &Value) -> Result<Frame, FrameError> {
    let schema = &value["schema"];
    let data = &value["data"];
    let fields = match &schema["fields"] {
        Value::Array(fields) => fields.as_slice(),
        Value::Null => &[],
        _ => return Err(FrameError::Json("schema.fields must be an array".into())),
    };
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            field_from_value(
                field,
                &data["values"][i],
                &data["entities"][i],
                &data["nanos"][i],
            )
            .map_err(|reason| FrameError::InvalidField {
                field: field["name"].as_str().unwrap_or_default().to_owned(),
                reason,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Frame {
        name: string(&schema["name"]),
        ref_id: string(&schema["refId"]),
        meta: (!schema["meta"].is_null()).then(|| schema["meta"].to_string()),
        fields,
    })
}

fn string(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn field_from_value(
    field: &Value,
    cells: &Value,
    entities: &Value,
    nanos: &Value,
) -> Result<Field, String> {
    let type_name = field["typeInfo"]["frame"]
        .as_str()
        .ok_or("typeInfo.frame is missing")?;
    let (type_name, star) = match type_name.strip_prefix('*') {
        Some(inner) => (inner, true),
        None => (type_name, false),
    };
    let nullable = star || field["typeInfo"]["nullable"].as_bool().unwrap_or(false);
    let cells = match cells {
        Value::Array(cells) => cells.as_slice(),
        Value::Null => &[],
        _ => return Err("values must be an array".into()),
    };
    let (values, validity) = column(type_name, cells, entities, nanos)?;
    if !nullable && !validity.is_empty() {
        return Err("has nulls but is not nullable".into());
    }
    let labels = match &field["labels"] {
        Value::Object(map) => Some(
            map.iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        v.as_str()
                            .ok_or(format!("label {k:?} is not a string"))?
                            .to_owned(),
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
        Value::Null => None,
        _ => return Err("labels must be an object".into()),
    };
    Ok(Field {
        name: string(&field["name"]),
        values,
        nullable,
        validity,
        labels,
        config: (!field["config"].is_null()).then(|| field["config"].to_string()),
    })
}

/// Parses cells into values plus a validity bitmap (empty without nulls).
fn cells_as<T: Default>(
    cells: &[Value],
    parse: impl Fn(&Value) -> Option<T>,
) -> Result<(Vec<T>, Vec<Option<()>>), String> {
    let mut values = Vec::with_capacity(cells.len());
    let mut present = Vec::with_capacity(cells.len());
    for (row, cell) in cells.iter().enumerate() {
        if cell.is_null() {
            values.push(T::default());
            present.push(None);
        } else {
            values.push(
                parse(cell)
                    .ok_or_else(|| format!("row {row}: {cell} does not fit the field type"))?,
            );
            present.push(Some(()));
        }
    }
    Ok((values, present))
}

fn bitmap(present: &[Option<()>]) -> Vec<u8> {
    if present.iter().all(Option::is_some) {
        return Vec::new();
    }
    let mut bits = vec![0u8; present.len().div_ceil(8)];
    for (i, p) in present.iter().enumerate() {
        if p.is_some() {
            bits[i / 8] |= 1 << (i % 8);
        }
    }
    bits
}

fn int<T: TryFrom<i64> + TryFrom<u64>>(cell: &Value) -> Option<T> {
    cell.as_i64()
        .and_then(|v| T::try_from(v).ok())
        .or_else(|| cell.as_u64().and_then(|v| T::try_from(v).ok()))
}

/// Marks NaN/Inf/NegInf rows (listed in `entities`) as present with their
/// special value.
fn apply_entities(values: &mut [f64], present: &mut [Option<()>], entities: &Value) {
    for (key, special) in [
        ("NaN", f64::NAN),
        ("Inf", f64::INFINITY),
        ("NegInf", f64::NEG_INFINITY),
    ] {
        for row in entities[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
        {
            if let (Some(v), Some(p)) =
                (values.get_mut(row as usize), present.get_mut(row as usize))
            {
                *v = special;
                *p = Some(());
            }
        }
    }
}

fn column(
    type_name: &str,
    cells: &[Value],
    entities: &Value,
    nanos: &Value,
) -> Result<(Values, Vec<u8>), String> {
    macro_rules! ints {
        ($variant:ident) => {{
            let (v, p) = cells_as(cells, int)?;
            (Values::$variant(v), p)
        }};
    }
    let (values, present) = match type_name {
        "int8" => ints!(Int8),
        "int16" => ints!(Int16),
        "int32" | "int" => ints!(Int32),
        "int64" => ints!(Int64),
        "uint8" => ints!(Uint8),
        "uint16" => ints!(Uint16),
        "uint32" => ints!(Uint32),
        "uint64" => ints!(Uint64),
        "enum" => ints!(Enum),
        "float32" | "float" | "float64" | "double" => {
            let (mut v, mut p) = cells_as(cells, Value::as_f64)?;
            apply_entities(&mut v, &mut p, entities);
            if type_name.starts_with("float3") || type_name == "float" {
                (
                    Values::Float32(v.into_iter().map(|x| x as f32).collect()),
                    p,
                )
            } else {
                (Values::Float64(v), p)
            }
        }
        "bool" | "boolean" => {
            let (v, p) = cells_as(cells, Value::as_bool)?;
            (Values::Bool(v), p)
        }
        "time.Time" | "time" => {
            let (mut v, p) = cells_as(cells, Value::as_i64)?;
            for (row, ms) in v.iter_mut().enumerate() {
                let extra = nanos[row].as_i64().unwrap_or(0);
                *ms = ms
                    .checked_mul(1_000_000)
                    .and_then(|ns| ns.checked_add(extra))
                    .ok_or_else(|| {
                        format!(
                            "time {ms} ms (+{extra} ns) is outside nanosecond timestamps (years 1677 to 2262)"
                        )
                    })?;
            }
            (Values::Time(v), p)
        }
        "string" => {
            let (v, p) = cells_as(cells, |c| c.as_str().map(str::to_owned))?;
            (Values::String(var_bytes(v.iter().map(String::as_bytes))), p)
        }
        "json.RawMessage" | "json" => {
            let raw: Vec<Vec<u8>> = cells.iter().map(|c| c.to_string().into_bytes()).collect();
            let p = cells.iter().map(|c| (!c.is_null()).then_some(())).collect();
            (
                Values::Json(var_bytes(raw.iter().map(std::vec::Vec::as_slice))),
                p,
            )
        }
        other => return Err(format!("unknown field type {other:?}")),
    };
    Ok((values, bitmap(&present)))
}

fn var_bytes<'a>(values: impl Iterator<Item = &'a [u8]>) -> VarBytes {
    let mut offsets = vec![0u32];
    let mut data = Vec::new();
    for value in values {
        data.extend_from_slice(value);
        offsets.push(data.len() as u32);
    }
    VarBytes { offsets, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `frame_json` fuzz target: times beyond the range of
    /// nanosecond timestamps were saturated, silently changing them.
    #[test]
    fn times_beyond_nanosecond_timestamps_are_refused() {
        let frame = |ms: i64, nanos: i64| {
            format!(
                r#"{{"schema":{{"fields":[{{"name":"t","type":"time","typeInfo":{{"frame":"time.Time"}}}}]}},"data":{{"values":[[{ms}]],"nanos":[[{nanos}]]}}}}"#
            )
        };
        assert!(from_json(&frame(1_700_000_000_000, 5)).is_ok());
        let err = from_json(&frame(-9_223_372_036_855, 224_192)).unwrap_err();
        assert!(
            err.to_string().contains("outside nanosecond timestamps"),
            "{err}"
        );
        assert!(from_json(&frame(9_223_372_036_854, 775_808)).is_err());
        let regression =
            include_str!("../../../fuzz/regressions/frame_json/time-out-of-range.json");
        assert!(from_json(regression).is_err());
    }
}
