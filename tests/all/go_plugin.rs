//! Grafana's own client stack as the judge: the Go module in
//! `tests/grafana-client` launches the host with hashicorp/go-plugin
//! configured as Grafana's plugin client, calls every RPC family through
//! grafana-plugin-sdk-go's generated clients and reads the answers with the
//! SDK's conversions and frame decoders. It also compares the host with the
//! Go SDK twins of random-walk and http-json (`benchmarks/go-twin`) and
//! decodes golden frames built by the SDK.
//!
//! It runs twice: with go-plugin v1.7.0 (what Grafana pins) and v1.8.0
//! (what the newest SDK requires). Needs `go`; the modules come from the Go
//! module proxy, pinned by `go.sum`. Without `go` the test is skipped,
//! except under CI where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// Where Go's own installer puts it, for machines without it on PATH.
const GO_INSTALL: &str = "/usr/local/go/bin/go";

/// The `go` command, if there is one.
fn go() -> Option<PathBuf> {
    ["go", GO_INSTALL]
        .into_iter()
        .map(PathBuf::from)
        .find(|go| runs(go, "version"))
}

/// Runs the Go module's tests with `modfile` (None: its go.mod), expecting
/// the build to use go-plugin `go_plugin`.
fn go_test(modfile: Option<&str>, go_plugin: &str) {
    let Some(go) = go() else {
        tool_present(false, "go", "https://go.dev/dl/");
        return;
    };
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/grafana-client");
    // In GOFLAGS rather than as flags, so that the go commands the tests
    // run themselves resolve the same modules.
    let mut goflags = String::from("-mod=readonly");
    if let Some(modfile) = modfile {
        goflags.push_str(&format!(" -modfile={modfile}"));
    }
    let output = Command::new(go)
        .current_dir(&module)
        .args(["test", "-count=1", "./..."])
        .env("GOFLAGS", goflags)
        .env("EXPECT_GO_PLUGIN", go_plugin)
        .env("GRAFANA_WASM_HOST", HOST)
        .env("RANDOM_WALK", RANDOM_WALK)
        .env("PROTOCOL", PROTOCOL)
        .env("FRAME_ECHO", FRAME_ECHO)
        .env("HTTP_JSON", HTTP_JSON)
        .output()
        .expect("running go test");
    assert!(
        output.status.success(),
        "go test with go-plugin {go_plugin} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn grafanas_client_stack_with_go_plugin_1_7_0() {
    go_test(Some("go-plugin-v1.7.0.mod"), "v1.7.0");
}

#[test]
fn grafanas_client_stack_with_go_plugin_1_8_0() {
    go_test(None, "v1.8.0");
}
