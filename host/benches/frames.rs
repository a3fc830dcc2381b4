//! The frame path at scale: a frame of N rows (time, nullable float64,
//! string) built in a guest component, lowered across the boundary and
//! encoded as an Arrow IPC file by the host, against the same frame built
//! and encoded natively in the host. Prints medians of several runs.
//!
//! Run: `cargo bench -p grafana-wasm-host --bench frames [-- ROWS...]`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use grafana_wasm_serve::frames::to_arrow;
use grafana_wasm_serve::rpc::{Incoming, Rpc};
use grafana_wasm_serve::runtime::Runtime;
use grafana_wasm_serve::wit::frames::{Field, Frame, FrameData, Values, VarBytes};
use grafana_wasm_serve::wit::handlers::data;
use grafana_wasm_serve::wit::types::{
    DataQuery, FrameFormat, PluginContext, QueryDataRequest, TimeRange,
};

const RUNS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn field(name: &str, values: Values, validity: Vec<u8>) -> Field {
    Field {
        name: name.into(),
        values,
        nullable: !validity.is_empty(),
        validity,
        labels: None,
        config: None,
    }
}

/// The guest's frame, built natively with the contract's types.
fn native_frame(rows: usize) -> Frame {
    let start_ns = 1_700_000_000_000_000_000_i64;
    let times = (0..rows)
        .map(|i| start_ns + i as i64 * 1_000_000_000)
        .collect();
    let values = (0..rows)
        .map(|i| if i % 10 == 0 { 0.0 } else { i as f64 * 0.5 })
        .collect();
    let mut validity = vec![0u8; rows.div_ceil(8)];
    for i in (0..rows).filter(|i| i % 10 != 0) {
        validity[i / 8] |= 1 << (i % 8);
    }
    let mut offsets = Vec::with_capacity(rows + 1);
    let mut data = Vec::new();
    offsets.push(0);
    for i in 0..rows {
        data.extend_from_slice(format!("series-{}", i % 10).as_bytes());
        offsets.push(data.len() as u32);
    }
    Frame {
        name: "generated".into(),
        ref_id: String::new(),
        meta: None,
        fields: vec![
            field("time", Values::Time(times), Vec::new()),
            field("value", Values::Float64(values), validity),
            field(
                "series",
                Values::String(VarBytes { offsets, data }),
                Vec::new(),
            ),
        ],
    }
}

fn request(rows: usize) -> QueryDataRequest {
    QueryDataRequest {
        plugin_context: PluginContext {
            org_id: 1,
            plugin_id: "bench".into(),
            plugin_version: String::new(),
            user: None,
            app_instance_settings: None,
            data_source_instance_settings: None,
            grafana_config: Vec::new(),
            user_agent: String::new(),
            api_version: String::new(),
            namespace: String::new(),
        },
        headers: Vec::new(),
        queries: vec![DataQuery {
            ref_id: "A".into(),
            query_type: String::new(),
            max_data_points: 0,
            interval_ms: 0,
            time_range: TimeRange {
                from_ms: 0,
                to_ms: 0,
            },
            json: format!(r#"{{"generate":{rows}}}"#).into_bytes(),
        }],
        format: FrameFormat::Arrow,
    }
}

/// One guest call: (the frame, guest build time, whole call time).
async fn guest_frame(runtime: &Arc<Runtime>, rows: usize) -> (Frame, Duration, Duration) {
    let mut req = request(rows);
    let scope = runtime
        .scope_withholding_secrets(&Incoming::internal(Rpc::QueryData), &mut req.plugin_context);
    let started = Instant::now();
    let mut response = runtime
        .unary::<data::GuestIndices, _>(scope, |guest, store| {
            Box::pin(async move { guest.call_query_data(store, &req).await })
        })
        .await
        .expect("guest call");
    let call = started.elapsed();
    let (_, mut answer) = response.responses.pop().expect("a response");
    let Some(FrameData::Columnar(frame)) = answer.frames.pop() else {
        panic!("a columnar frame")
    };
    let meta: serde_json::Value = serde_json::from_str(frame.meta.as_deref().unwrap()).unwrap();
    let build = Duration::from_nanos(meta["custom"]["guestBuildNs"].as_u64().unwrap());
    (frame, build, call)
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e6
}

fn main() {
    let rows_list: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows_list = if rows_list.is_empty() {
        vec![1_000, 100_000, 1_000_000]
    } else {
        rows_list
    };
    let (tokio, runtime) = common::runtime(grafana_wasm_test_artifacts::FRAME_ECHO);

    println!(
        "| rows | Arrow bytes | native build | native encode | encode MB/s | guest build | crossing | host encode | path total | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for rows in rows_list {
        let (mut native_build, mut native_encode) = (Vec::new(), Vec::new());
        let (mut guest_build, mut crossing, mut host_encode, mut totals) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut size = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let frame = native_frame(rows);
            native_build.push(started.elapsed());
            let started = Instant::now();
            size = to_arrow(frame, "A").unwrap().len();
            native_encode.push(started.elapsed());

            let (frame, build, call) = tokio.block_on(guest_frame(&runtime, rows));
            let started = Instant::now();
            to_arrow(frame, "A").unwrap();
            let encode = started.elapsed();
            guest_build.push(build);
            crossing.push(call.saturating_sub(build));
            host_encode.push(encode);
            totals.push(call + encode);
        }
        let (nb, ne) = (median(native_build), median(native_encode));
        let (gb, cr, he, total) = (
            median(guest_build),
            median(crossing),
            median(host_encode),
            median(totals),
        );
        println!(
            "| {rows} | {size} | {nb:.2?} | {ne:.2?} | {:.0} | {gb:.2?} | {cr:.2?} | {he:.2?} | {total:.2?} | {:.2}x |",
            mb_per_s(size, ne),
            total.as_secs_f64() / (nb + ne).as_secs_f64(),
        );
    }
}
