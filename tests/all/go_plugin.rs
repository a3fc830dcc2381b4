//! Conformance with hashicorp go-plugin's own client, the library Grafana
//! launches plugins with: a Go driver (tests/go-plugin) built from Debian's
//! go-plugin package launches the host with Grafana's handshake config,
//! performs a pluginv2 call, and kills it; it also reports how go-plugin
//! parsed our stderr log lines.
//!
//! Needs `go` and Debian's `golang-github-hashicorp-go-plugin-dev`,
//! `golang-google-grpc-dev` and `golang-google-protobuf-dev` (CI installs
//! them). Without them the test is skipped, except under CI where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

const GO_LIBRARIES: &str = "/usr/share/gocode";

fn go_plugin_available() -> bool {
    let go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    go && Path::new(GO_LIBRARIES)
        .join("src/github.com/hashicorp/go-plugin")
        .exists()
}

fn build_driver(out: &Path) -> PathBuf {
    let gopath = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/go-plugin");
    let binary = out.join("conformance");
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg("conformance")
        .env("GO111MODULE", "off")
        .env("GOPATH", format!("{}:{GO_LIBRARIES}", gopath.display()))
        .env("GOCACHE", out.join("cache"))
        .status()
        .expect("running go build");
    assert!(status.success(), "building the go-plugin driver failed");
    binary
}

#[test]
fn go_plugins_client_launches_calls_and_kills_the_host() {
    if !go_plugin_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "go and the Debian go-plugin packages are required in CI"
        );
        eprintln!(
            "skipped: install golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-google-protobuf-dev"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let driver = build_driver(dir.path());
    let output = Command::new(driver)
        .args(["-plugin", HOST, "-timeout", "30s"])
        .env("GF_PLUGIN_WASM_COMPONENT", RANDOM_WALK)
        .output()
        .expect("running the driver");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "driver report {stdout:?} ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(output.status.success(), "driver failed: {report:#}");

    assert_eq!(report["protocol"], "grpc");
    assert_eq!(report["negotiated_version"], 2);
    assert_eq!(
        report["check_health"]["status"], 1,
        "CheckHealth OK: {report:#}"
    );
    assert_eq!(report["check_health"]["message"], "ok");
    assert_eq!(report["exited"], true);
    assert_eq!(
        report["graceful_exit"], true,
        "exited after Shutdown, not SIGKILL: {report:#}"
    );

    let logs = report["logs"].as_array().expect("parsed log entries");
    let find = |message: &str| logs.iter().find(|e| e["message"] == message);
    let serving = find("plugin host serving").expect("the host's info line");
    assert_eq!(serving["level"], "info");
    let guest = find("health check").expect("the guest's log line");
    assert_eq!(guest["level"], "info");
    assert_eq!(guest["fields"]["pluginId"], "random_walk");
    for entry in logs {
        let message = entry["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with('{'),
            "go-plugin could not parse a JSON log line (demoted to debug): {message}"
        );
    }
}
