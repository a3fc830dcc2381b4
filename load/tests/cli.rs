//! The load generator's command line: help, and a clear refusal of a
//! command that cannot run. (The host's soak test drives it for real.)

use std::process::Command;

const LOAD: &str = env!("CARGO_BIN_EXE_grafana-wasm-load");

#[test]
fn help_lists_every_rpc() {
    let output = Command::new(LOAD).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for rpc in ["query", "resource", "health", "metrics", "mixed"] {
        assert!(help.contains(rpc), "{rpc} missing from\n{help}");
    }
}

#[test]
fn a_plugin_that_cannot_be_launched_fails_with_its_path() {
    let output = Command::new(LOAD)
        .args(["--duration", "1", "--", "/nonexistent/gpx_plugin"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/gpx_plugin"), "{stderr}");
}
