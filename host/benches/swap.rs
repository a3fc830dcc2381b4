//! Hot-swap latency: the time from the new component file being in place
//! (renamed over the old one, as deploy tools do) to the first QueryData
//! answered by the new version, through the real host binary. Measured
//! with a compiled-component cache miss (each round's component has
//! unique bytes) and hit (two versions alternate).
//!
//! Run: `cargo bench -p grafana-wasm-host --bench swap [-- ROUNDS]`.

use std::path::Path;
use std::time::{Duration, Instant};

use grafana_wasm_client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;

const HOST: &str = env!("CARGO_BIN_EXE_grafana-wasm-host");

/// The frame name of the answer to `{}`: `random-walk` or `probe`.
async fn answered_by(plugin: &PluginProcess) -> String {
    let request = pb::QueryDataRequest {
        plugin_context: Some(pb::PluginContext::default()),
        queries: vec![pb::DataQuery {
            ref_id: "A".into(),
            json: b"{}".to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    let bytes = &response.responses["A"].frames[0];
    let reader = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    reader.schema().metadata()["name"].clone()
}

/// `component` with a custom section making its bytes (and hash) unique.
fn unique(component: &[u8], round: usize) -> Vec<u8> {
    let name = b"bench-round";
    let payload = round.to_le_bytes();
    let mut bytes = component.to_vec();
    bytes.push(0); // custom section
    bytes.push((1 + name.len() + payload.len()) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(&payload);
    bytes
}

/// Puts `bytes` in place and waits for `expected` to answer.
async fn swap(plugin: &PluginProcess, path: &Path, bytes: &[u8], expected: &str) -> Duration {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, path).unwrap();
    let written = Instant::now();
    while answered_by(plugin).await != expected {}
    written.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let walk = std::fs::read(grafana_wasm_test_artifacts::RANDOM_WALK).unwrap();
    let probe = std::fs::read(grafana_wasm_test_artifacts::SANDBOX).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugin.wasm");
    std::fs::write(&path, &walk).unwrap();
    let tokio = tokio::runtime::Runtime::new().unwrap();
    tokio.block_on(async {
        let mut command = tokio::process::Command::new(HOST);
        command
            .env_clear()
            .env("GF_PLUGIN_WASM_COMPONENT", &path)
            .env("GF_PLUGIN_WASM_CACHE_DIR", dir.path().join("cache"))
            .env("GF_PLUGIN_LOG_LEVEL", "error");
        let plugin = PluginProcess::launch(command).await.unwrap();
        assert_eq!(answered_by(&plugin).await, "random-walk");
        let (mut uncached, mut cached) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            uncached.push(swap(&plugin, &path, &unique(&probe, round), "probe").await);
            uncached.push(swap(&plugin, &path, &unique(&walk, round), "random-walk").await);
        }
        // Two versions, both compiled and cached by now.
        let (probe, walk) = (unique(&probe, 0), unique(&walk, 0));
        for _ in 0..rounds {
            cached.push(swap(&plugin, &path, &probe, "probe").await);
            cached.push(swap(&plugin, &path, &walk, "random-walk").await);
        }
        println!("| compiled cache | swaps | median | slowest |");
        println!("|---|---:|---:|---:|");
        for (label, samples) in [("miss (compiled on swap)", uncached), ("hit", cached)] {
            let slowest = *samples.iter().max().unwrap();
            println!(
                "| {label} | {} | {:.0?} | {slowest:.0?} |",
                samples.len(),
                median(samples)
            );
        }
        plugin.shutdown().await.unwrap();
    });
}
