//! The query scenarios, chosen by the query's `scenarioId` as in TestData.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grafana_wasm_sdk::backend::{DataQuery, Error};
use grafana_wasm_sdk::data::{Field, FieldValues, Frame};
use serde::{Deserialize, Serialize};

use crate::walk::{Walk, WalkShape};

/// A scenario, as the `scenarios` resource lists it for the query editor.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// The `scenarioId` that selects it.
    pub id: &'static str,
    /// Its name in the query editor.
    pub name: &'static str,
    /// What it returns.
    pub description: &'static str,
}

/// Every scenario; the first is the default.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "random_walk",
        name: "Random Walk",
        description: "seriesCount walks over the time range (spread, noise, min, max, startValue, seed)",
    },
    Scenario {
        id: "csv_content",
        name: "CSV Content",
        description: "the frame described by csvContent: a header row, then values; numbers, true/false, text; a `time` column in epoch milliseconds",
    },
    Scenario {
        id: "table_static",
        name: "Table Static",
        description: "a small table of text, numbers, booleans and times",
    },
];

/// Walks per query at most, and points per walk at most.
const MAX_SERIES: usize = 100;
const MAX_POINTS: usize = 100_000;

/// The query model.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Query {
    scenario_id: String,
    series_count: Option<usize>,
    seed: Option<u64>,
    csv_content: String,
    #[serde(flatten)]
    shape: WalkShape,
}

/// The scenario `query` selects (the first when it names none).
///
/// # Errors
/// An unknown scenario, invalid query JSON, or invalid scenario input.
pub fn run(query: &DataQuery) -> Result<(&'static str, Vec<Frame>), Error> {
    let model: Query = query.model()?;
    let id = if model.scenario_id.is_empty() {
        SCENARIOS[0].id
    } else {
        SCENARIOS
            .iter()
            .map(|s| s.id)
            .find(|id| *id == model.scenario_id)
            .ok_or_else(|| Error::plugin(format!("unknown scenario {:?}", model.scenario_id)))?
    };
    let frames = match id {
        "random_walk" => random_walk(query, &model)?,
        "csv_content" => vec![csv_content(&model.csv_content)?],
        _ => vec![table_static()],
    };
    Ok((id, frames))
}

/// One frame per series: `time` over the range, one point per interval
/// (at most `maxDataPoints`), the last at the range's end; `value`
/// labelled with the series number.
fn random_walk(query: &DataQuery, model: &Query) -> Result<Vec<Frame>, Error> {
    let series = model.series_count.unwrap_or(1);
    if series > MAX_SERIES {
        return Err(Error::plugin(format!(
            "seriesCount must be at most {MAX_SERIES}, got {series}"
        )));
    }
    let times = time_steps(query);
    let seed = model.seed.unwrap_or_else(|| millis(query.time_range.from));
    Ok((0..series)
        .map(|index| {
            let mut walk = Walk::new(model.shape.clone(), seed.wrapping_add(index as u64));
            let values: Vec<f64> = times.iter().map(|_| walk.step()).collect();
            Frame::new(format!("{}-series-{index}", query.ref_id))
                .with_field(Field::new("time", times.clone()))
                .with_field(
                    Field::new("value", values).with_labels([("series", index.to_string())]),
                )
        })
        .collect())
}

/// Times over the query's range, one per interval (the range split in
/// `maxDataPoints` when Grafana sent no interval), the last at its end.
fn time_steps(query: &DataQuery) -> Vec<SystemTime> {
    let (from, to) = (query.time_range.from, query.time_range.to);
    let span = to.duration_since(from).unwrap_or_default();
    let max_points = usize::try_from(query.max_data_points)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(1000)
        .min(MAX_POINTS);
    let step = if query.interval.is_zero() {
        (span / max_points as u32).max(Duration::from_millis(1))
    } else {
        query.interval
    };
    let count = (span.as_nanos() / step.as_nanos()).min(max_points as u128 - 1) as u32 + 1;
    (0..count).rev().map(|back| to - step * back).collect()
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The frame `text` describes: a header row naming the fields, then one
/// row per line. A column is float64 when all its cells are numbers, bool
/// when all are `true`/`false`, time when it is named `time` and holds
/// epoch milliseconds, else text. Empty cells are nulls.
fn csv_content(text: &str) -> Result<Frame, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| Error::plugin(format!("csvContent: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    for (line, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| Error::plugin(format!("csvContent row {}: {e}", line + 1)))?;
        for (column, cell) in columns.iter_mut().zip(record.iter()) {
            column.push((!cell.is_empty()).then(|| cell.to_owned()));
        }
    }
    Ok(names
        .into_iter()
        .zip(columns)
        .fold(Frame::new("csv"), |frame, (name, cells)| {
            let values = typed(&name, cells);
            frame.with_field(Field::new(name, values))
        }))
}

/// The most specific type all of a column's cells fit.
fn typed(name: &str, cells: Vec<Option<String>>) -> FieldValues {
    let all = |parse: &dyn Fn(&str) -> bool| cells.iter().flatten().all(|c| parse(c));
    if name.eq_ignore_ascii_case("time") && all(&|c| c.parse::<u64>().is_ok()) {
        let time = |c: &String| UNIX_EPOCH + Duration::from_millis(c.parse().unwrap_or_default());
        cells
            .iter()
            .map(|c| c.as_ref().map(time))
            .collect::<Vec<_>>()
            .into()
    } else if all(&|c| c.parse::<f64>().is_ok()) {
        let number = |c: &String| c.parse::<f64>().unwrap_or_default();
        cells
            .iter()
            .map(|c| c.as_ref().map(number))
            .collect::<Vec<_>>()
            .into()
    } else if all(&|c| c == "true" || c == "false") {
        cells
            .iter()
            .map(|c| c.as_ref().map(|c| c == "true"))
            .collect::<Vec<_>>()
            .into()
    } else {
        cells.into()
    }
}

/// A fixed table with a column of each common type.
fn table_static() -> Frame {
    let time = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
    Frame::new("table")
        .with_field(Field::new(
            "Time",
            vec![
                time(1_700_000_000_000),
                time(1_700_000_060_000),
                time(1_700_000_120_000),
            ],
        ))
        .with_field(Field::new(
            "Message",
            vec!["up".to_owned(), "degraded".to_owned(), "down".to_owned()],
        ))
        .with_field(Field::new("Value", vec![Some(1.0), Some(0.5), None]))
        .with_field(Field::new("Healthy", vec![true, true, false]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use grafana_wasm_sdk::backend::TimeRange;

    fn query(json: &str) -> DataQuery {
        DataQuery {
            ref_id: "A".into(),
            max_data_points: 10,
            time_range: TimeRange {
                from: UNIX_EPOCH + Duration::from_secs(1000),
                to: UNIX_EPOCH + Duration::from_secs(1100),
            },
            json: json.as_bytes().to_vec(),
            ..DataQuery::default()
        }
    }

    #[test]
    fn random_walks_cover_the_range_in_max_data_points() {
        let (id, frames) = run(&query(r#"{"seriesCount":2,"seed":3}"#)).unwrap();
        assert_eq!(id, "random_walk");
        assert_eq!(frames.len(), 2);
        let FieldValues::Time(times) = &frames[0].fields[0].values else {
            panic!("a time field")
        };
        assert_eq!(times.len(), 10);
        assert_eq!(times[9], UNIX_EPOCH + Duration::from_secs(1100));
        assert_eq!(times[0], UNIX_EPOCH + Duration::from_secs(1010));
        assert_ne!(frames[0].fields[1].values, frames[1].fields[1].values);
    }

    #[test]
    fn csv_columns_get_the_most_specific_type() {
        let json = serde_json::json!({
            "scenarioId": "csv_content",
            "csvContent": "time,host,up,load\n1000,a,true,0.5\n2000,b,false,\n"
        });
        let (_, frames) = run(&query(&json.to_string())).unwrap();
        let types: Vec<&str> = frames[0]
            .fields
            .iter()
            .map(|f| f.values.type_name())
            .collect();
        assert_eq!(
            types,
            [
                "Option<SystemTime>",
                "Option<String>",
                "Option<bool>",
                "Option<f64>"
            ]
        );
        assert_eq!(
            frames[0].fields[3].values,
            FieldValues::from(vec![Some(0.5), None])
        );
    }

    #[test]
    fn bad_input_names_the_problem() {
        let unknown = run(&query(r#"{"scenarioId":"nope"}"#)).unwrap_err();
        assert!(unknown.message.contains("unknown scenario \"nope\""));
        let too_many = run(&query(r#"{"seriesCount":1000}"#)).unwrap_err();
        assert!(too_many.message.contains("seriesCount"));
        let ragged = serde_json::json!({"scenarioId": "csv_content", "csvContent": "a,b\n1,2,3\n"});
        assert!(
            run(&query(&ragged.to_string()))
                .unwrap_err()
                .message
                .contains("row 1")
        );
    }
}
