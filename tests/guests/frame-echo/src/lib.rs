//! Builds frames with the SDK's API, as the query asks:
//!
//! * `{"spec": {"name": …, "meta": …, "fields": [{"name", "type", "nullable", "values", "labels", "config"}]}}`
//!   builds exactly that frame (`null` values are nulls; times are Unix
//!   nanoseconds; `meta` and `config` are Grafana's JSON), for property
//!   tests of the whole frame path and the Go SDK's frame goldens;
//! * `{"generate": N}` builds an N-row frame of time, nullable float64 and
//!   string fields and reports the nanoseconds it took in `meta.custom`,
//!   for benchmarks.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use grafana_wasm_sdk::backend::*;
use grafana_wasm_sdk::data::{EnumItemIndex, Field, FieldConfig, FieldValues, Frame, FrameMeta};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Query {
    spec: Option<FrameSpec>,
    generate: Option<usize>,
}

#[derive(Deserialize)]
struct FrameSpec {
    name: String,
    meta: Option<FrameMeta>,
    fields: Vec<FieldSpec>,
}

#[derive(Deserialize)]
struct FieldSpec {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    nullable: bool,
    values: Vec<Value>,
    labels: Option<BTreeMap<String, String>>,
    config: Option<FieldConfig>,
}

/// The spec's values as typed SDK values, plain or nullable.
fn values(spec: &FieldSpec) -> Result<FieldValues, Error> {
    fn column<T>(
        spec: &FieldSpec,
        parse: impl Fn(&Value) -> Option<T>,
    ) -> Result<FieldValues, Error>
    where
        FieldValues: From<Vec<T>> + From<Vec<Option<T>>>,
    {
        let parse = |v: &Value| {
            parse(v).ok_or_else(|| Error::plugin(format!("{v} is not a {}", spec.kind)))
        };
        if spec.nullable {
            let cells = spec.values.iter().map(|v| {
                if v.is_null() {
                    Ok(None)
                } else {
                    parse(v).map(Some)
                }
            });
            Ok(cells.collect::<Result<Vec<Option<T>>, _>>()?.into())
        } else {
            Ok(spec
                .values
                .iter()
                .map(parse)
                .collect::<Result<Vec<T>, _>>()?
                .into())
        }
    }
    fn int<T: TryFrom<i64> + TryFrom<u64>>(v: &Value) -> Option<T> {
        v.as_i64()
            .and_then(|i| T::try_from(i).ok())
            .or_else(|| v.as_u64().and_then(|u| T::try_from(u).ok()))
    }
    let time = |v: &Value| {
        v.as_i64()
            .map(|ns| UNIX_EPOCH + Duration::from_nanos(ns as u64))
    };
    match spec.kind.as_str() {
        "int8" => column(spec, int::<i8>),
        "int16" => column(spec, int::<i16>),
        "int32" => column(spec, int::<i32>),
        "int64" => column(spec, int::<i64>),
        "uint8" => column(spec, int::<u8>),
        "uint16" => column(spec, int::<u16>),
        "uint32" => column(spec, int::<u32>),
        "uint64" => column(spec, int::<u64>),
        "float32" => column(spec, |v| v.as_f64().map(|f| f as f32)),
        "float64" => column(spec, Value::as_f64),
        "bool" => column(spec, Value::as_bool),
        "string" => column(spec, |v| v.as_str().map(str::to_owned)),
        "time" => column(spec, time),
        "json" => column(spec, |v| Some(v.clone())),
        "enum" => column(spec, |v| int::<u16>(v).map(EnumItemIndex)),
        other => Err(Error::plugin(format!("unknown field type {other}"))),
    }
}

fn frame_from_spec(spec: FrameSpec) -> Result<Frame, Error> {
    let mut frame = Frame::new(spec.name);
    for field_spec in spec.fields {
        let mut field = Field::new(field_spec.name.clone(), values(&field_spec)?);
        if let Some(labels) = field_spec.labels {
            field = field.with_labels(labels);
        }
        if let Some(config) = field_spec.config {
            field = field.with_config(config);
        }
        frame = frame.with_field(field);
    }
    if let Some(meta) = spec.meta {
        frame = frame.with_meta(meta);
    }
    Ok(frame)
}

/// An `rows`-row frame: one point per second, every tenth value null.
fn generated(rows: usize) -> Frame {
    let started = Instant::now();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let times: Vec<SystemTime> = (0..rows)
        .map(|i| start + Duration::from_secs(i as u64))
        .collect();
    let values: Vec<Option<f64>> = (0..rows)
        .map(|i| (i % 10 != 0).then_some(i as f64 * 0.5))
        .collect();
    let series: Vec<String> = (0..rows).map(|i| format!("series-{}", i % 10)).collect();
    let mut frame = Frame::new("generated")
        .with_field(Field::new("time", times))
        .with_field(Field::new("value", values))
        .with_field(Field::new("series", series));
    frame.meta = Some(FrameMeta {
        custom: Some(serde_json::json!({ "guestBuildNs": started.elapsed().as_nanos() as u64 })),
        ..FrameMeta::default()
    });
    frame
}

struct FrameEcho;

impl QueryDataHandler for FrameEcho {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        let mut response = QueryDataResponse::new();
        for query in req.queries {
            let answer = match query.model::<Query>() {
                Ok(Query {
                    spec: Some(spec), ..
                }) => match frame_from_spec(spec) {
                    Ok(frame) => DataResponse::frames(vec![frame]),
                    Err(err) => DataResponse::error(err),
                },
                Ok(Query {
                    generate: Some(rows),
                    ..
                }) => DataResponse::frames(vec![generated(rows)]),
                Ok(_) => DataResponse::error("expected spec or generate"),
                Err(err) => DataResponse::error(err),
            };
            response.insert(query.ref_id, answer);
        }
        Ok(response)
    }
}

grafana_wasm_sdk::export_plugin!(ServeOpts {
    query_data_handler: Some(Rc::new(FrameEcho)),
    ..ServeOpts::default()
});
