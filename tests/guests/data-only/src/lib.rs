//! A plugin exporting only `grafana:plugin/data`, written directly against
//! the WIT contract. A query whose JSON contains `"panic"` traps the guest.

wit_bindgen::generate!({
    inline: "
        package test:data-only;
        world data-only {
            include grafana:plugin/imports@0.1.0;
            export grafana:plugin/data@0.1.0;
        }
    ",
    path: "../../../wit",
    world: "test:data-only/data-only",
    generate_all,
});

use exports::grafana::plugin::data::Guest;
use grafana::plugin::frames::{Field, Frame, FrameData, Values};
use grafana::plugin::log;
use grafana::plugin::types::{DataResponse, HandlerError, QueryDataRequest, QueryDataResponse};

struct DataOnly;

impl Guest for DataOnly {
    fn query_data(request: QueryDataRequest) -> Result<QueryDataResponse, HandlerError> {
        let mut responses = Vec::new();
        for query in request.queries {
            if String::from_utf8_lossy(&query.json).contains("\"panic\"") {
                panic!("query {} asked to panic", query.ref_id);
            }
            log::log(
                log::Level::Warn,
                "raw query",
                &[("refId".into(), query.ref_id.clone())],
            );
            let frame = Frame {
                name: "raw".into(),
                ref_id: String::new(),
                meta: None,
                fields: vec![Field {
                    name: "n".into(),
                    values: Values::Int64(vec![1, 2, 3]),
                    nullable: false,
                    validity: Vec::new(),
                    labels: None,
                    config: None,
                }],
            };
            let response = DataResponse {
                frames: vec![FrameData::Columnar(frame)],
                error: None,
                status: None,
            };
            responses.push((query.ref_id, response));
        }
        Ok(QueryDataResponse { responses })
    }
}

export!(DataOnly);
