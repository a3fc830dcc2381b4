//! An example datasource that reads an HTTP JSON API through the sandbox's
//! governed HTTP client.
//!
//! * Settings: the datasource's URL (plus basic auth and custom headers,
//!   which the host applies); `jsonData.healthPath` (default `/`).
//! * QueryData: the query `{"path": "/metrics"}` GETs that path; the answer
//!   must be a JSON array of objects; each key becomes a field (numbers as
//!   float64, booleans, everything else as text), missing values as nulls.
//! * CheckHealth: GETs `healthPath`; OK on a 2xx answer.

use std::collections::BTreeMap;
use std::rc::Rc;

use grafana_wasm_sdk::backend::*;
use grafana_wasm_sdk::data::{Field, Frame};
use serde::Deserialize;
use serde_json::Value;

/// The query model.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Query {
    /// Path (and query string) under the datasource's URL.
    path: String,
}

/// The datasource's `jsonData`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Settings {
    health_path: Option<String>,
}

/// The plugin.
pub struct HttpJson;

impl HttpJson {
    fn query(ds: &DataSourceInstanceSettings, query: &DataQuery) -> Result<Frame, Error> {
        let model: Query = query.model()?;
        let response = ds.http_client().get(&model.path).send()?;
        if !(200..300).contains(&response.status) {
            return Err(Error::downstream(format!(
                "GET {}: status {}",
                model.path, response.status
            )));
        }
        let rows: Vec<BTreeMap<String, Value>> = response.json()?;
        Ok(frame_of(&query.ref_id, &rows))
    }
}

/// A frame with one field per key of `rows`, in key order.
pub fn frame_of(name: &str, rows: &[BTreeMap<String, Value>]) -> Frame {
    let mut keys: Vec<&String> = rows.iter().flat_map(BTreeMap::keys).collect();
    keys.sort();
    keys.dedup();
    let mut frame = Frame::new(name);
    for key in keys {
        let cells: Vec<Option<&Value>> = rows.iter().map(|row| row.get(key)).collect();
        let field = if cells.iter().flatten().all(|v| v.is_number()) {
            Field::new(
                key,
                cells
                    .iter()
                    .map(|v| v.and_then(Value::as_f64))
                    .collect::<Vec<_>>(),
            )
        } else if cells.iter().flatten().all(|v| v.is_boolean()) {
            Field::new(
                key,
                cells
                    .iter()
                    .map(|v| v.and_then(Value::as_bool))
                    .collect::<Vec<_>>(),
            )
        } else {
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            Field::new(key, cells.iter().map(|v| v.map(text)).collect::<Vec<_>>())
        };
        frame = frame.with_field(field);
    }
    frame
}

fn datasource(ctx: &PluginContext) -> Result<&DataSourceInstanceSettings, Error> {
    ctx.data_source_instance_settings
        .as_ref()
        .ok_or_else(|| Error::plugin("no datasource settings"))
}

impl QueryDataHandler for HttpJson {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        let ds = datasource(&req.plugin_context)?;
        let mut response = QueryDataResponse::new();
        for query in &req.queries {
            let answer = match Self::query(ds, query) {
                Ok(frame) => DataResponse::frames(vec![frame]),
                Err(err) => DataResponse::error(err),
            };
            response.insert(query.ref_id.clone(), answer);
        }
        Ok(response)
    }
}

impl CheckHealthHandler for HttpJson {
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        let ds = datasource(&req.plugin_context)?;
        let settings: Settings = ds.json_data()?;
        let path = settings.health_path.unwrap_or_else(|| "/".into());
        Ok(match ds.http_client().get(&path).send() {
            Ok(response) if (200..300).contains(&response.status) => {
                CheckHealthResult::ok(format!("{} answered {}", ds.url, response.status))
            }
            Ok(response) => CheckHealthResult::error(format!(
                "{} answered {} to GET {path}",
                ds.url, response.status
            )),
            Err(err) => CheckHealthResult::error(err.to_string()),
        })
    }
}

grafana_wasm_sdk::export_plugin!({
    let plugin = Rc::new(HttpJson);
    ServeOpts {
        query_data_handler: Some(plugin.clone()),
        check_health_handler: Some(plugin),
        ..ServeOpts::default()
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_typed_fields_with_nulls() {
        let rows: Vec<BTreeMap<String, Value>> =
            serde_json::from_str(r#"[{"host":"a","up":true,"load":0.5},{"host":"b","load":1}]"#)
                .unwrap();
        let frame = frame_of("A", &rows);
        let names: Vec<&str> = frame.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["host", "load", "up"]);
        assert_eq!(frame.rows(), 2);
    }

    #[test]
    fn without_settings_a_query_fails_clearly() {
        let err = HttpJson
            .query_data(QueryDataRequest::default())
            .unwrap_err();
        assert!(err.message.contains("no datasource settings"));
    }
}
