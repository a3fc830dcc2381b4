//! Hot swap, through the real host: the component file is replaced while
//! clients keep calling, as a deploy tool would replace it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use grafana_wasm_client::PluginProcess;
use serde_json::Value;
use tempfile::TempDir;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::*;

/// The host's log line for a rejected version.
const REJECTED: &str = "new plugin component version rejected; the running version keeps serving";

/// Serves a copy of `source` as `plugin.wasm` in a directory of its own.
async fn serve_copy(source: &str) -> (TempDir, PathBuf, PluginProcess) {
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("plugin.wasm");
    std::fs::copy(source, &component).unwrap();
    let plugin = launch(component.to_str().unwrap()).await;
    (dir, component, plugin)
}

/// Replaces `component` with `bytes` as deploy tools do: write a temporary
/// file next to it, then rename it over.
fn deploy(component: &Path, bytes: &[u8]) {
    let staging = component.with_extension("staging");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, component).unwrap();
}

/// The name of the frame answering `{}`: `random-walk` from the
/// random-walk example, `probe` from the sandbox probe.
async fn answered_by(plugin: &PluginProcess) -> Result<String, tonic::Status> {
    let response = plugin
        .data()
        .query_data(query_request(vec![query("A", "{}", 1_000)]))
        .await?
        .into_inner();
    let (schema, _) = decode_frame(&response.responses["A"].frames[0]);
    Ok(schema.metadata()["name"].clone())
}

/// Clients calling QueryData in a loop until stopped; each returns every
/// answer (frame name or error).
fn callers(
    plugin: &Arc<PluginProcess>,
    count: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Result<String, tonic::Status>>>> {
    (0..count)
        .map(|_| {
            let (plugin, stop) = (plugin.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    answers.push(answered_by(&plugin).await);
                }
                answers
            })
        })
        .collect()
}

async fn wait_for_log(plugin: &PluginProcess, message: &str, count: usize) {
    let what = format!("{count} log lines {message:?}");
    eventually_within(&what, Duration::from_secs(20), || async {
        let seen = log_entries(plugin)
            .iter()
            .filter(|e| e["@message"] == message)
            .count();
        seen >= count
    })
    .await;
}

async fn health_details(plugin: &PluginProcess) -> Value {
    let health = check_health(plugin).await.unwrap();
    serde_json::from_slice(&health.json_details).unwrap()
}

#[tokio::test]
async fn a_new_version_replaces_the_old_under_load_without_a_failed_call() {
    let (_dir, component, plugin) = serve_copy(RANDOM_WALK).await;
    let plugin = Arc::new(plugin);
    let stop = Arc::new(AtomicBool::new(false));
    let clients = callers(&plugin, 4, &stop);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = Instant::now();
    deploy(&component, &std::fs::read(SANDBOX).unwrap());
    while answered_by(&plugin).await.unwrap() != "probe" {
        assert!(
            written.elapsed() < Duration::from_secs(20),
            "the new version never answered"
        );
    }
    // Calls that start once the new version answered all reach it.
    for _ in 0..20 {
        assert_eq!(answered_by(&plugin).await.unwrap(), "probe");
    }
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    let failed: Vec<_> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert!(failed.is_empty(), "no call failed: {failed:?}");
    assert!(
        answers.len() > 20,
        "the clients kept calling: {}",
        answers.len()
    );
    let names: std::collections::HashSet<_> = answers.into_iter().map(Result::unwrap).collect();
    assert!(
        names.iter().all(|n| n == "random-walk" || n == "probe"),
        "{names:?}"
    );
    let details = health_details(&plugin).await;
    let sha = &details["grafanaWasm"]["component"]["sha256"];
    assert_eq!(sha.as_str().unwrap().len(), 64, "{details}");
    wait_for_log(&plugin, "new plugin component version swapped in", 1).await;
}

#[tokio::test]
async fn broken_versions_are_rejected_and_the_old_one_keeps_serving() {
    let (_dir, component, plugin) = serve_copy(RANDOM_WALK).await;
    let plugin = Arc::new(plugin);
    let stop = Arc::new(AtomicBool::new(false));
    let clients = callers(&plugin, 3, &stop);
    let broken: [(&str, Vec<u8>); 3] = [
        ("corrupt", b"not wasm at all".to_vec()),
        ("core module", b"\0asm\x01\0\0\0".to_vec()),
        ("wrong world", std::fs::read(WRONG_WORLD).unwrap()),
    ];
    for (n, (what, bytes)) in broken.iter().enumerate() {
        deploy(&component, bytes);
        wait_for_log(&plugin, REJECTED, n + 1).await;
        let details = health_details(&plugin).await;
        let reason = details["grafanaWasm"]["rejected"]["reason"]
            .as_str()
            .unwrap_or_default();
        assert!(reason.contains("plugin.wasm"), "{what}: {details}");
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        for answer in client.await.unwrap() {
            assert_eq!(
                answer.unwrap(),
                "random-walk",
                "the old version answered every call"
            );
        }
    }
    let metrics = scrape_metrics(&plugin).await;
    let rejected = metric_value(
        &metrics,
        "grafana_wasm_component_loads_total",
        &[("outcome", "rejected")],
    );
    assert_eq!(rejected, Some(3.0));
}

#[tokio::test]
async fn a_version_failing_its_self_check_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("plugin.wasm");
    std::fs::copy(RANDOM_WALK, &component).unwrap();
    let mut command = host_command(component.to_str().unwrap());
    command
        .env("GF_PLUGIN_ALLOW_ENV", "PROBE_FAIL_SELF_CHECK")
        .env("PROBE_FAIL_SELF_CHECK", "bad data");
    let plugin = PluginProcess::launch(command).await.unwrap();
    deploy(&component, &std::fs::read(SANDBOX).unwrap());
    wait_for_log(&plugin, REJECTED, 1).await;
    let details = health_details(&plugin).await;
    let reason = details["grafanaWasm"]["rejected"]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("failed its self-check: failing on purpose: bad data"),
        "{reason}"
    );
    assert_eq!(answered_by(&plugin).await.unwrap(), "random-walk");
}

#[tokio::test]
async fn a_version_failing_its_health_check_where_the_old_passes_is_rejected() {
    let (_dir, component, plugin) = serve_copy(RANDOM_WALK).await;
    // A datasource in use: its settings are what the gate checks.
    answered_by(&plugin).await.unwrap();
    deploy(&component, &std::fs::read(PROTOCOL).unwrap());
    wait_for_log(&plugin, REJECTED, 1).await;
    let details = health_details(&plugin).await;
    let reason = details["grafanaWasm"]["rejected"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("health check fails for ds-uid"), "{reason}");
    assert_eq!(answered_by(&plugin).await.unwrap(), "random-walk");
}

#[tokio::test]
async fn streams_of_the_old_version_end_so_that_grafana_restarts_them() {
    let (_dir, component, plugin) = serve_copy(RANDOM_WALK).await;
    let mut stream = running_stream(&plugin, "walk").await;
    deploy(&component, &std::fs::read(SANDBOX).unwrap());
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                Some(Err(status)) => return status,
                None => panic!("the stream ended without an error: Grafana would not restart it"),
            }
        }
    })
    .await
    .expect("the old version's stream ended");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("replaced"), "{}", ended.message());
}

#[tokio::test]
async fn sighup_reloads_and_sigusr2_restores_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("plugin.wasm");
    std::fs::copy(RANDOM_WALK, &component).unwrap();
    let plugin = launch(component.to_str().unwrap()).await;
    let signal = |name: &str| {
        let pid = plugin.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    };
    deploy(&component, &std::fs::read(SANDBOX).unwrap());
    wait_for_log(&plugin, "new plugin component version swapped in", 1).await;
    assert_eq!(answered_by(&plugin).await.unwrap(), "probe");
    signal("-USR2");
    wait_for_log(&plugin, "previous plugin component version restored", 1).await;
    assert_eq!(answered_by(&plugin).await.unwrap(), "random-walk");
    // SIGHUP reloads the file, which still holds the probe.
    signal("-HUP");
    wait_for_log(&plugin, "new plugin component version swapped in", 2).await;
    assert_eq!(answered_by(&plugin).await.unwrap(), "probe");
}
