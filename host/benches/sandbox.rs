//! The sandbox's per-call overhead: a CheckHealth call into the random-walk
//! example (whose handler does almost nothing) through the runtime, either
//! on a warm pooled instance of the datasource or on a fresh instance
//! (the datasource's settings change before every call, so the warm one is
//! dropped and a new one instantiated). Prints latency percentiles.
//!
//! Run: `cargo bench -p grafana-wasm-host --bench sandbox [-- CALLS]`.

mod common;

use std::time::{Duration, Instant};

use grafana_wasm_host::runtime::Runtime;
use grafana_wasm_host::runtime::bindings::handlers::diagnostics;
use grafana_wasm_host::runtime::bindings::types::{
    CheckHealthRequest, DataSourceInstanceSettings, PluginContext,
};

/// A health check for datasource `ds` at settings version `version`.
fn request(version: i64) -> CheckHealthRequest {
    CheckHealthRequest {
        plugin_context: PluginContext {
            org_id: 1,
            plugin_id: "bench".into(),
            plugin_version: String::new(),
            user: None,
            app_instance_settings: None,
            data_source_instance_settings: Some(DataSourceInstanceSettings {
                id: 1,
                uid: "ds".into(),
                name: "ds".into(),
                url: String::new(),
                user: String::new(),
                database: String::new(),
                basic_auth_enabled: false,
                basic_auth_user: String::new(),
                json_data: b"{}".to_vec(),
                decrypted_secure_json_data: Vec::new(),
                last_updated_ms: version,
                api_version: String::new(),
            }),
            grafana_config: Vec::new(),
            user_agent: String::new(),
            api_version: String::new(),
            namespace: String::new(),
        },
        headers: Vec::new(),
    }
}

/// One call; `version` selects the settings version (and so the instance).
async fn call(runtime: &Runtime, version: i64) -> Duration {
    let mut req = request(version);
    let started = Instant::now();
    let scope = runtime.scope("CheckHealth", &mut req.plugin_context, None);
    runtime
        .unary::<diagnostics::GuestIndices, _>(scope, |guest, store| {
            Box::pin(async move { guest.call_check_health(store, &req).await })
        })
        .await
        .expect("health check");
    started.elapsed()
}

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
