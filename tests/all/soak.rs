//! The short soak: the load generator drives the host with mixed calls
//! (queries, resources, health checks, metrics, streams opened and
//! cancelled) from 4 callers for about a minute. Zero errors, and resident
//! memory may not grow more than 10% after the warm-up. The long soak is
//! the same command with a longer `--duration` (BENCHMARKS.md).

use std::process::Command;

use crate::support::*;

/// The load generator, a crate of its own: built next to the host by the
/// workspace's test command.
fn load_generator() -> std::path::PathBuf {
    let path = std::path::Path::new(HOST).with_file_name("grafana-wasm-load");
    assert!(
        path.is_file(),
        "{} is not built: run the workspace's tests (cargo test --workspace), or cargo build -p grafana-wasm-load first",
        path.display()
    );
    path
}

#[test]
fn a_minute_of_mixed_load_has_no_errors_and_no_memory_growth() {
    let output = Command::new(load_generator())
        .args([
            "--rpc",
            "mixed",
            "--callers",
            "4",
            "--warmup",
            "10",
            "--duration",
            "45",
        ])
        .args([
            "--sample",
            "5",
            "--strict",
            "--max-rss-growth",
            "10",
            "--json",
        ])
        .arg("--env")
        .arg(format!("GF_PLUGIN_WASM_COMPONENT={RANDOM_WALK}"))
        .args(["--", HOST])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["errors"], 0);
    assert!(report["calls"].as_u64().unwrap() > 1000, "{report}");
    assert!(
        report["rss_samples"].as_array().unwrap().len() >= 9,
        "{report}"
    );
}
