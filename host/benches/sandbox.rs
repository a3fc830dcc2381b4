//! The sandbox's per-call overhead: a CheckHealth call into the random-walk
//! example (whose handler does almost nothing) through the runtime, either
//! on a warm pooled instance of the datasource or on a fresh instance
//! (the datasource's settings change before every call, so the warm one is
//! dropped and a new one instantiated). Prints latency percentiles.
//!
//! Run: `cargo bench -p grafana-wasm-host --bench sandbox [-- CALLS]`.

mod common;

use std::time::Duration;

use common::health_call as call;

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    format!("{:.1?} | {:.1?} | {:.1?}", at(0.50), at(0.95), at(0.99))
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let (tokio, runtime) = common::runtime(grafana_wasm_test_artifacts::RANDOM_WALK);
    let (pooled, fresh) = tokio.block_on(async {
        for _ in 0..1_000 {
            call(&runtime, 0).await;
        }
        let mut pooled = Vec::with_capacity(calls);
        for _ in 0..calls {
            pooled.push(call(&runtime, 0).await);
        }
        let mut fresh = Vec::with_capacity(calls);
        for version in 1..=calls as i64 {
            fresh.push(call(&runtime, version).await);
        }
        (pooled, fresh)
    });
    println!("| instance | calls | p50 | p95 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    println!("| pooled (warm) | {calls} | {} |", percentiles(pooled));
    println!(
        "| fresh (instantiated for the call) | {calls} | {} |",
        percentiles(fresh)
    );
}
