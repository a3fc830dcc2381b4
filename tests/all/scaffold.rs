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

/// Runs `new` with `args`, which must succeed.
fn new(args: &[&str]) {
    let output = Command::new(HOST).arg("new").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_new_plugin_builds_passes_its_test_and_answers_through_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("hello-ds");
    // Without --sdk-path: the SDK of the tree this host was built from.
    new(&[crate_dir.to_str().unwrap()]);
    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let sdk = Path::new(SDK).canonicalize().unwrap();
    assert!(
        cargo_toml.contains(&format!("path = {:?}", sdk.display().to_string())),
        "{cargo_toml}"
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
        &["build", "--quiet", "--release", "--target", "wasm32-wasip2"],
    );
    let component = Path::new(TARGET).join("wasm32-wasip2/release/hello_ds.wasm");
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
    let module = std::fs::read_to_string(out.join("myorg-hello-ds-datasource/module.js")).unwrap();
    assert!(
        module.contains(r#"/*grafana-wasm:editors*/{"type":"datasource","http":true,"query":{"default":{"count":10}"#),
        "the scaffold's editors.json is baked into its frontend"
    );

    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(standalone_watch_rebuilds_on_save(&crate_dir, dir.path()));
}

/// `--standalone --watch`: the developer's loop. The host builds the crate,
/// serves it to Grafana's copy of the plugin, and swaps in a new build
/// after a source file is saved.
async fn standalone_watch_rebuilds_on_save(crate_dir: &Path, scratch: &Path) {
    use grafana_wasm_client::PluginProcess;
    // Grafana's copy of the plugin: a directory with its plugin.json.
    let plugin_dir = scratch.join("plugin");
    std::fs::create_dir(&plugin_dir).unwrap();
    std::fs::copy(
        crate_dir.join("plugin.json"),
        plugin_dir.join("plugin.json"),
    )
    .unwrap();
    let log = scratch.join("standalone.log");
    let id = "myorg-hello-ds-datasource";
    let mut standalone = tokio::process::Command::new(HOST)
        .args([
            "--standalone",
            "--log-format",
            "text",
            "--plugin-id",
            id,
            "--watch",
        ])
        .arg(crate_dir)
        .arg("--plugin-dir")
        .arg(&plugin_dir)
        .env("CARGO_TARGET_DIR", TARGET)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let address_file = plugin_dir.join("standalone.txt");
    let until = |what: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        let what = what.to_owned();
        move || {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}; the host logged:\n{}",
                logged()
            );
        }
    };
    let in_time = until("the standalone host did not start");
    while !address_file.exists() {
        in_time();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let address = std::fs::read_to_string(&address_file).unwrap();

    // Grafana's copy, told the address by the environment variable.
    let mut pointer = tokio::process::Command::new(HOST);
    pointer
        .env_clear()
        .env("GF_PLUGIN_GRPC_ADDRESS_MYORG_HELLO_DS_DATASOURCE", &address)
        .args(["--plugin-id", id]);
    let pointer = PluginProcess::launch(pointer).await.unwrap();
    let message = || async { check_health(&pointer).await.unwrap().message };
    assert_eq!(message().await, "plugin is working");

    // Readable log lines, not hclog JSON, for the person at the terminal.
    assert!(logged().contains(" INFO  "), "{}", logged());

    // A compile error is shown as the compiler reports it, and the
    // running version keeps serving.
    let source = crate_dir.join("src/lib.rs");
    let original = std::fs::read_to_string(&source).unwrap();
    std::fs::write(
        &source,
        original.replace("Ok(response)", "Ok(response_typo)"),
    )
    .unwrap();
    let in_time = until("the failed rebuild was not reported");
    while !logged().contains("rebuild failed") {
        in_time();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = logged();
    assert!(
        log.contains("error[E0425]") && log.contains("response_typo"),
        "the compiler's own message: {log}"
    );
    assert_eq!(message().await, "plugin is working");

    let edited = original.replace("plugin is working", "plugin was rebuilt");
    std::fs::write(&source, edited).unwrap();
    let in_time = until("the edit was not rebuilt and swapped in");
    while message().await != "plugin was rebuilt" {
        in_time();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let pid = standalone.id().unwrap().to_string();
    let stopped = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(stopped.success());
    assert!(standalone.wait().await.unwrap().success(), "{}", logged());
    assert!(!address_file.exists());
}

#[test]
fn a_new_app_serves_its_resource_through_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("hello-ui");
    new(&[
        crate_dir.to_str().unwrap(),
        "--template",
        "app",
        "--sdk-path",
        SDK,
    ]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(crate_dir.join("plugin.json")).unwrap()).unwrap();
    assert_eq!(manifest["type"], "app");
    assert_eq!(manifest["id"], "myorg-hello-ui-app");
    cargo(&crate_dir, &["test", "--quiet"]);
    cargo(
        &crate_dir,
        &["build", "--quiet", "--release", "--target", "wasm32-wasip2"],
    );
    let component = Path::new(TARGET).join("wasm32-wasip2/release/hello_ui.wasm");
    let answer = Command::new(HOST)
        .current_dir(&crate_dir)
        .args(["call", "--component", component.to_str().unwrap()])
        .args([
            "--settings",
            r#"{"jsonData":{"greeting":"Hi"}}"#,
            "resource",
            "hello",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&answer.stdout);
    assert!(
        answer.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&answer.stderr)
    );
    // plugin.json in the current directory says it is an app: the
    // settings are the app's.
    assert!(stdout.contains(r#""message":"Hi, Grafana!""#), "{stdout}");
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
