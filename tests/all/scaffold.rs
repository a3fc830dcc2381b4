//! `grafana-wasm-host new`: the scaffold builds, passes its own test, and
//! answers through the host.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// The repository's SDK, which the scaffold depends on by path here.
const SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk");
/// Where the scaffold's builds go, kept between runs.
const TARGET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/scaffold");

/// Cargo (the toolchain running these tests) in `dir`, with nothing of the
/// outer build leaking in.
fn cargo(dir: &Path, args: &[&str]) {
    let status = Command::new(env!("CARGO"))
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", TARGET)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .unwrap();
    assert!(status.success(), "cargo {args:?} in the scaffold failed");
}

#[test]
fn a_new_plugin_builds_passes_its_test_and_answers_through_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("hello-ds");
    let output = Command::new(HOST)
        .args(["new", crate_dir.to_str().unwrap(), "--sdk-path", SDK])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "plugin.json",
        "sandbox.toml",
        "rust-toolchain.toml",
    ] {
        assert!(crate_dir.join(file).is_file(), "{file} missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(crate_dir.join("plugin.json")).unwrap()).unwrap();
    assert_eq!(manifest["id"], "myorg-hello-ds-datasource");
    assert_eq!(manifest["executable"], "gpx_hello_ds");
    assert_eq!(manifest["backend"], true);

    cargo(&crate_dir, &["test", "--quiet"]);
    cargo(
        &crate_dir,
        &["build", "--quiet", "--target", "wasm32-wasip2"],
    );
    let component = Path::new(TARGET).join("wasm32-wasip2/debug/hello_ds.wasm");
    let answer = Command::new(HOST)
        .args([
            "call",
            "--component",
            component.to_str().unwrap(),
            "query",
            "--query",
            r#"{"count":2}"#,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&answer.stdout);
    assert!(
        answer.status.success(),
        "{}",
        String::from_utf8_lossy(&answer.stderr)
    );
    assert!(
        stdout.contains("frame \"values\"") && stdout.contains("| 1.0   |"),
        "{stdout}"
    );

    // The sandbox file it ships is valid, and so is the package.
    let out = dir.path().join("dist");
    let packaged = Command::new(HOST)
        .current_dir(&crate_dir)
        .args([
            "package",
            "--component",
            component.to_str().unwrap(),
            "--plugin-json",
            "plugin.json",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        packaged.status.success(),
        "{}",
        String::from_utf8_lossy(&packaged.stderr)
    );
    assert!(out.join("myorg-hello-ds-datasource/sandbox.toml").is_file());
}

#[test]
fn new_refuses_existing_directories_and_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let existing = Command::new(HOST)
        .args(["new", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!existing.status.success());
    assert!(String::from_utf8_lossy(&existing.stderr).contains("already exists"));
    let bad = dir.path().join("1bad name");
    let named = Command::new(HOST)
        .args(["new", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!named.status.success());
    assert!(String::from_utf8_lossy(&named.stderr).contains("not a valid crate name"));
}
