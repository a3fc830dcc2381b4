//! A plugin exporting only `grafana:plugin/data`, written directly against
//! the WIT contract. A query whose JSON contains `"panic"` traps the guest;
//! `"bad":"lengths"`, `"bad":"json"` or `"bad":"arrow"` make it return a
//! frame the host must refuse; `{"arrowHex": "…"}` returns those bytes as
//! its Arrow answer, whatever they are.

wit_bindgen::generate!({
    inline: "
        package test:data-only;
        world data-only {
            include grafana:plugin/imports@0.1.1;
            export grafana:plugin/data@0.1.1;
        }
    ",
    path: "../../../wit",
    world: "test:data-only/data-only",
    generate_all,
});

use exports::grafana::plugin::data::Guest;
use grafana::plugin::frames::{Field, Frame, FrameData, Values, VarBytes};
use grafana::plugin::log;
use grafana::plugin::types::{DataResponse, HandlerError, QueryDataRequest, QueryDataResponse};

struct DataOnly;

impl Guest for DataOnly {
    fn query_data(request: QueryDataRequest) -> Result<QueryDataResponse, HandlerError> {
        let mut responses = Vec::new();
        for query in request.queries {
            let json = String::from_utf8_lossy(&query.json).into_owned();
            if json.contains("\"panic\"") {
                panic!("query {} asked to panic", query.ref_id);
            }
            let fields = [("refId".to_owned(), query.ref_id.clone())];
            log::log(log::Level::Warn, "raw query", &fields);
            let frame = if let Some(bytes) = arrow_hex(&json) {
                FrameData::ArrowIpc(bytes)
            } else if json.contains(r#""bad":"arrow""#) {
                FrameData::ArrowIpc(b"ARROW1 but not really".to_vec())
            } else {
                FrameData::Columnar(frame(&json))
            };
            let response = DataResponse {
                frames: vec![frame],
                error: None,
                status: None,
            };
            responses.push((query.ref_id, response));
        }
        Ok(QueryDataResponse { responses })
    }
}

fn column(name: &str, values: Values) -> Field {
    Field {
        name: name.into(),
        values,
        nullable: false,
        validity: Vec::new(),
        labels: None,
        config: None,
    }
}

/// The bytes of `{"arrowHex": "…"}`, if the query is that.
fn arrow_hex(json: &str) -> Option<Vec<u8>> {
    let hex = json.split(r#""arrowHex":""#).nth(1)?.split('"').next()?;
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(*pair.get(1)?)?))
        .collect()
}

/// A three-row frame, broken as the query asks.
fn frame(json: &str) -> Frame {
    let mut fields = vec![column("n", Values::Int64(vec![1, 2, 3]))];
    if json.contains(r#""bad":"lengths""#) {
        fields.push(column("short", Values::Int64(vec![1])));
    }
    if json.contains(r#""bad":"json""#) {
        let data = b"{}[]not json".to_vec();
        let offsets = vec![0, 2, 4, 12];
        fields.push(column("j", Values::Json(VarBytes { offsets, data })));
    }
    Frame {
        name: "raw".into(),
        ref_id: String::new(),
        meta: None,
        fields,
    }
}

// Exported only in the component: native linkers reject the export names.
#[cfg(target_arch = "wasm32")]
export!(DataOnly);
