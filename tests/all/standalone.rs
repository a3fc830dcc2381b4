//! Standalone (debug) mode: a host started by hand serves on TCP, and the
//! copy Grafana launches points Grafana at it, as with the Go SDK.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use grafana_wasm_client::PluginProcess;
use grafana_wasm_client::handshake::Address;
use grafana_wasm_proto::pluginv2 as pb;

use crate::support::*;

/// The random-walk example's plugin.json.
const PLUGIN_JSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../example-plugins/random-walk/plugin.json"
);

/// A plugin directory as Grafana has it: the host (a hard link, so that
/// its executable path is in the directory), plugin.json and plugin.wasm.
fn plugin_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let executable = dir.path().join("gpx_randomwalk_linux_amd64");
    std::fs::hard_link(HOST, &executable).unwrap();
    std::fs::copy(PLUGIN_JSON, dir.path().join("plugin.json")).unwrap();
    std::fs::copy(RANDOM_WALK, dir.path().join("plugin.wasm")).unwrap();
    (dir, executable)
}

/// Launches the plugin's executable as Grafana does.
async fn grafana_launches(executable: &Path) -> PluginProcess {
    let mut command = tokio::process::Command::new(executable);
    command.env_clear();
    PluginProcess::launch(command).await.unwrap()
}

/// Waits up to 30 s for `path` to exist (or not).
async fn wait_for(path: &Path, exists: bool) {
    let what = format!("{} exists: {exists}", path.display());
    eventually_within(&what, Duration::from_secs(30), || async {
        path.exists() == exists
    })
    .await;
}

/// Waits up to 5 s for `plugin` to have exited.
async fn wait_exited(plugin: &mut PluginProcess) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while plugin.is_running() {
        assert!(Instant::now() < deadline, "the process still runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn grafana_reaches_a_standalone_host_through_the_copy_it_launches() {
    let (dir, executable) = plugin_dir();
    let mut before = grafana_launches(&executable).await;
    assert!(matches!(before.address, Address::Unix(_)));

    let mut standalone = start_standalone(&executable, &[]);
    let address_file = dir.path().join("standalone.txt");
    wait_for(&address_file, true).await;
    let address = std::fs::read_to_string(&address_file).unwrap();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let pid = std::fs::read_to_string(dir.path().join("pid.txt")).unwrap();
    assert_eq!(pid, standalone.id().unwrap().to_string());
    // Grafana's copy is stopped, so that Grafana launches it again.
    wait_exited(&mut before).await;

    let pointer = grafana_launches(&executable).await;
    assert_eq!(pointer.handshake, format!("1|2|tcp|{address}|grpc|"));
    let health = check_health(&pointer).await.unwrap();
    assert_eq!(health.status(), pb::check_health_response::HealthStatus::Ok);
    let response = pointer
        .data()
        .query_data(query_request(vec![query("A", r#"{"points":3}"#, 3_000)]))
        .await
        .unwrap()
        .into_inner();
    assert!(response.responses["A"].error.is_empty());
    // Grafana's Shutdown is meant for the copy it launched: the standalone
    // host does not serve it, and keeps serving.
    let refused = pointer.request_shutdown().await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unimplemented);
    assert_serving(&pointer).await;

    // Ctrl-C stops the standalone host: it removes its files and stops the
    // pointer, and Grafana's next launch serves by itself again.
    let pid = standalone.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), standalone.wait())
        .await
        .expect("the standalone host exits after SIGINT")
        .unwrap();
    assert!(exit.success(), "{exit}");
    assert!(!address_file.exists() && !dir.path().join("pid.txt").exists());
    let mut pointer = pointer;
    wait_exited(&mut pointer).await;
    let after = grafana_launches(&executable).await;
    assert!(matches!(after.address, Address::Unix(_)));
    assert_serving(&after).await;
}

#[tokio::test]
async fn a_stale_address_file_is_ignored() {
    let (dir, executable) = plugin_dir();
    std::fs::write(dir.path().join("standalone.txt"), "127.0.0.1:1").unwrap();
    // No process has a PID beyond the kernel's maximum.
    std::fs::write(dir.path().join("pid.txt"), "2147483647").unwrap();
    let plugin = grafana_launches(&executable).await;
    assert!(matches!(plugin.address, Address::Unix(_)));
    assert_serving(&plugin).await;
}

/// Starts the standalone host from `executable`, with `args`.
fn start_standalone(executable: &Path, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(executable)
        .arg("--standalone")
        .args(args)
        .env_clear()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn only_the_plugins_own_executable_is_stopped() {
    let (dir, executable) = plugin_dir();
    // Another program in the same directory, and the host under another
    // name there: neither is the executable plugin.json names.
    let tool = dir.path().join("some-tool");
    std::fs::copy("/bin/sleep", &tool).unwrap();
    let mut bystander = tokio::process::Command::new(&tool)
        .arg("600")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let renamed = dir.path().join("gpx_randomwalk_backup");
    std::fs::hard_link(HOST, &renamed).unwrap();
    let mut other_host = grafana_launches(&renamed).await;
    let mut grafanas_copy = grafana_launches(&executable).await;

    let _standalone = start_standalone(&executable, &[]);
    wait_for(&dir.path().join("standalone.txt"), true).await;
    wait_exited(&mut grafanas_copy).await;
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "another program of the plugin directory keeps running"
    );
    assert!(other_host.is_running(), "so does another executable");
    assert_serving(&other_host).await;
}

#[tokio::test]
async fn without_a_plugin_json_standalone_mode_refuses_to_guess() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::copy(RANDOM_WALK, dir.path().join("plugin.wasm")).unwrap();
    let plugin_dir = dir.path().to_str().unwrap();
    let standalone = start_standalone(Path::new(HOST), &["--plugin-dir", plugin_dir]);
    let output = tokio::time::timeout(Duration::from_secs(30), standalone.wait_with_output())
        .await
        .expect("the host exits")
        .unwrap();
    assert!(!output.status.success(), "{}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("plugin.json") && stderr.contains("standalone mode needs"),
        "{stderr}"
    );
    assert!(!dir.path().join("standalone.txt").exists());
}
