//! Fairness under a hostile neighbour, through the real host binary: the
//! latency of a healthy datasource's CheckHealth while 0, 1, 2 and
//! `max_concurrent_calls` (32) guest calls of another datasource spin
//! until their 1 s deadline (and are started again), and how far past
//! their deadline the spinning calls are answered. Prints a Markdown table.
//!
//! Run: `cargo bench -p grafana-wasm-host --bench fairness [-- CHECKS]`
//! (CHECKS health checks per row, 300 by default; about 20 s in all).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grafana_wasm_client::{PluginProcess, admin_context};
use grafana_wasm_proto::pluginv2 as pb;

/// The spinning calls' deadline (`query_timeout_seconds`).
const DEADLINE: Duration = Duration::from_secs(1);

fn datasource(uid: &str) -> Option<pb::DataSourceInstanceSettings> {
    Some(pb::DataSourceInstanceSettings {
        uid: uid.into(),
        json_data: b"{}".to_vec(),
        ..Default::default()
    })
}

async fn launch() -> PluginProcess {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_grafana-wasm-host"));
    command
        .env_clear()
        .env(
            "GF_PLUGIN_WASM_COMPONENT",
            grafana_wasm_test_artifacts::SANDBOX,
        )
        .env("GF_PLUGIN_LOG_LEVEL", "warn")
        .env("GF_PLUGIN_QUERY_TIMEOUT_SECONDS", "1")
        // Spinning every call is the point: never back off.
        .env("GF_PLUGIN_TRAP_BACKOFF_AFTER", "0");
    PluginProcess::launch(command)
        .await
        .expect("launching the host")
}

/// Spins QueryData calls of datasource "flood" until aborted, recording
/// how long past [`DEADLINE`] each was answered.
fn spinner(
    plugin: &PluginProcess,
    overshoots: Arc<Mutex<Vec<Duration>>>,
) -> tokio::task::JoinHandle<()> {
    let mut data = plugin.data();
    tokio::spawn(async move {
        loop {
            let request = pb::QueryDataRequest {
                plugin_context: Some(admin_context("bench", datasource("flood"))),
                queries: vec![pb::DataQuery {
                    ref_id: "A".into(),
                    json: br#"{"probe":"loop"}"#.to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let started = Instant::now();
            let answer = data.query_data(request).await;
            assert_eq!(
                answer.expect_err("a spinning call is stopped").code(),
                tonic::Code::DeadlineExceeded
            );
            overshoots
                .lock()
                .unwrap()
                .push(started.elapsed().saturating_sub(DEADLINE));
        }
    })
}

/// `checks` sequential CheckHealth calls of datasource "calm".
async fn health_latencies(plugin: &PluginProcess, checks: usize) -> Vec<Duration> {
    let mut diagnostics = plugin.diagnostics();
    let mut latencies = Vec::with_capacity(checks);
    for _ in 0..checks {
        let request = pb::CheckHealthRequest {
            plugin_context: Some(admin_context("bench", datasource("calm"))),
            headers: Default::default(),
        };
        let started = Instant::now();
        diagnostics.check_health(request).await.expect("healthy");
        latencies.push(started.elapsed());
    }
    latencies
}

fn at(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p) as usize]
}

#[tokio::main]
async fn main() {
    let checks: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let plugin = launch().await;
    println!(
        "| spinning calls of another datasource | CheckHealth p50 | p99 | max | spinning calls answered | past their deadline p50 | p99 | max |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for spinning in [0, 1, 2, 32] {
        let overshoots = Arc::new(Mutex::new(Vec::new()));
        let spinners: Vec<_> = (0..spinning)
            .map(|_| spinner(&plugin, overshoots.clone()))
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut latencies = health_latencies(&plugin, checks).await;
        // Enough deadlines to measure.
        if spinning > 0 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        for spinner in &spinners {
            spinner.abort();
        }
        let mut overshoots = std::mem::take(&mut *overshoots.lock().unwrap());
        let past = if overshoots.is_empty() {
            "| - | - | - | -".to_owned()
        } else {
            format!(
                "| {} | {:.1?} | {:.1?} | {:.1?}",
                overshoots.len(),
                at(&mut overshoots, 0.5),
                at(&mut overshoots, 0.99),
                at(&mut overshoots, 1.0)
            )
        };
        println!(
            "| {spinning} | {:.1?} | {:.1?} | {:.1?} {past} |",
            at(&mut latencies, 0.5),
            at(&mut latencies, 0.99),
            at(&mut latencies, 1.0),
        );
        // Let the aborted calls' guests be stopped before the next row.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    plugin.shutdown().await.unwrap();
}
