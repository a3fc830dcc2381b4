//! A missing or invalid component: the host still starts, logs a clear
//! error, and fails every call with a clear gRPC status.

use grafana_wasm_proto::pluginv2 as pb;
use tonic::Code;

use crate::support::*;

/// CheckHealth's message, asserting that it reports an error (as Grafana
/// shows it on the datasource's page).
async fn unhealthy_message(plugin: &grafana_wasm_client::PluginProcess) -> String {
    let health = check_health(plugin).await.unwrap();
    assert_eq!(
        health.status(),
        pb::check_health_response::HealthStatus::Error
    );
    health.message
}

async fn assert_every_call_fails(component: &str, expected: &str) {
    let plugin = launch(component).await;
    let query = plugin
        .data()
        .query_data(query_request(vec![query("A", "{}", 1)]))
        .await;
    let err = query.expect_err("no component, no answer");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains(expected), "{}", err.message());
    assert!(
        err.message().contains(component),
        "names the file: {}",
        err.message()
    );
    let health = unhealthy_message(&plugin).await;
    assert!(health.contains(expected), "{health}");
    let metrics = scrape_metrics(&plugin).await;
    let failed_loads = metric_value(
        &metrics,
        "grafana_wasm_component_loads_total",
        &[("outcome", "failed")],
    );
    assert_eq!(
        failed_loads,
        Some(1.0),
        "scrapes still answer, with the failed load counted"
    );
    let clear = |entries: &[serde_json::Value]| {
        entries.iter().any(|e| {
            e["@level"] == "error" && e["error"].as_str().is_some_and(|m| m.contains(expected))
        })
    };
    let entries = log_entries_when(&plugin, clear).await;
    assert!(clear(&entries), "a clear error in the log");
    let (status, by_itself) = plugin.shutdown().await.unwrap();
    assert!(by_itself && status.success());
}

#[tokio::test]
async fn a_missing_component_fails_every_call_with_a_clear_status() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.wasm");
    assert_every_call_fails(path.to_str().unwrap(), "cannot read component").await;
}

#[tokio::test]
async fn garbage_and_core_modules_are_rejected_with_a_clear_status() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"definitely not wasm").unwrap();
    assert_every_call_fails(
        garbage.to_str().unwrap(),
        "is not a valid WebAssembly component",
    )
    .await;

    // A core module (version 1 header) is wasm but not a component.
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    assert_every_call_fails(
        core.to_str().unwrap(),
        "is not a valid WebAssembly component",
    )
    .await;
}

/// The health message and the QueryData error of a host whose sandbox
/// configuration is invalid; the host keeps serving.
async fn config_errors(command: tokio::process::Command) -> (String, tonic::Status) {
    let plugin = grafana_wasm_client::PluginProcess::launch(command)
        .await
        .unwrap();
    let health = unhealthy_message(&plugin).await;
    let err = plugin
        .data()
        .query_data(query_request(vec![query("A", "{}", 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let invalid = |entries: &[serde_json::Value]| {
        entries.iter().any(|e| {
            e["@level"] == "error"
                && e["error"]
                    .as_str()
                    .is_some_and(|m| m.contains("invalid sandbox configuration"))
        })
    };
    let logged = invalid(&log_entries_when(&plugin, invalid).await);
    assert!(logged, "a clear error in the log");
    (health, err)
}

#[tokio::test]
async fn an_invalid_sandbox_file_next_to_the_component_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("plugin.wasm");
    std::fs::copy(SANDBOX, &component).unwrap();
    std::fs::write(
        dir.path().join("sandbox.toml"),
        "max_memory_mb = \"lots\"\n",
    )
    .unwrap();
    let (health, err) = config_errors(host_command(component.to_str().unwrap())).await;
    for message in [health.as_str(), err.message()] {
        assert!(
            message.contains("sandbox.toml") && message.contains("max_memory_mb"),
            "names the file and the key: {message}"
        );
    }
}

#[tokio::test]
async fn an_invalid_operator_override_is_reported_not_fatal() {
    let mut command = host_command(SANDBOX);
    command.env("GF_PLUGIN_MAX_CONCURRENT_CALLS", "many");
    let (health, _) = config_errors(command).await;
    assert!(
        health.contains("GF_PLUGIN_MAX_CONCURRENT_CALLS") && health.contains("many"),
        "{health}"
    );
}
