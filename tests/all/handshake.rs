//! go-plugin's start-up and shutdown contract, as Grafana's client sees it.

use std::time::{Duration, Instant};

use grafana_wasm_client::PluginProcess;
use grafana_wasm_client::handshake::{Address, NOT_A_PLUGIN_MESSAGE};
use grafana_wasm_proto::goplugin as gp;
use tokio_stream::StreamExt;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::support::*;

fn run_without_grafana(cookie: Option<&str>) -> std::process::Output {
    let mut command = std::process::Command::new(HOST);
    command
        .env_clear()
        .env("GF_PLUGIN_WASM_COMPONENT", RANDOM_WALK);
    if let Some(cookie) = cookie {
        command.env("grafana_plugin_type", cookie);
    }
    command.output().expect("running the host")
}

#[test]
fn without_the_magic_cookie_it_prints_go_plugins_message_and_exits_1() {
    for cookie in [None, Some("panel"), Some("")] {
        let output = run_without_grafana(cookie);
        assert_eq!(output.status.code(), Some(1), "cookie {cookie:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            NOT_A_PLUGIN_MESSAGE
        );
        assert!(output.stdout.is_empty(), "nothing may reach stdout");
    }
}

#[tokio::test]
async fn handshake_is_the_only_stdout_line_and_the_socket_lives_in_the_socket_dir() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = host_command(RANDOM_WALK);
    command.env("PLUGIN_UNIX_SOCKET_DIR", dir.path());
    let plugin = PluginProcess::launch(command).await.unwrap();

    let expected_prefix = format!("1|2|unix|{}/plugin", dir.path().display());
    assert!(
        plugin.handshake.starts_with(&expected_prefix),
        "{}",
        plugin.handshake
    );
    assert!(plugin.handshake.ends_with("|grpc|"), "{}", plugin.handshake);
    let Address::Unix(socket) = plugin.address.clone() else {
        panic!("a Unix socket: {:?}", plugin.address)
    };
    let socket = std::path::PathBuf::from(socket);
    assert!(
        socket.exists(),
        "socket {} exists while serving",
        socket.display()
    );

    assert_serving(&plugin).await;
    assert!(
        plugin.late_stdout_lines().is_empty(),
        "stdout after the handshake: {:?}",
        plugin.late_stdout_lines()
    );

    let (status, by_itself) = plugin.shutdown().await.unwrap();
    assert!(
        by_itself && status.success(),
        "exits 0 by itself after Shutdown: {status}"
    );
    assert!(!socket.exists(), "socket removed on exit");
}

#[tokio::test]
async fn health_service_reports_plugin_serving() {
    let plugin = launch(RANDOM_WALK).await;
    let response = HealthClient::new(plugin.channel())
        .check(HealthCheckRequest {
            service: "plugin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), ServingStatus::Serving);
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn stdio_and_broker_streams_open_without_errors_and_end_at_shutdown() {
    let plugin = launch(RANDOM_WALK).await;
    let mut stdio = gp::grpc_stdio_client::GrpcStdioClient::new(plugin.channel())
        .stream_stdio(())
        .await
        .expect("StreamStdio answers")
        .into_inner();
    let mut broker = gp::grpc_broker_client::GrpcBrokerClient::new(plugin.channel())
        .start_stream(tokio_stream::pending::<gp::ConnInfo>())
        .await
        .expect("StartStream answers")
        .into_inner();
    // Both stay silent while serving.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), stdio.next())
            .await
            .is_err()
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), broker.next())
            .await
            .is_err()
    );

    let started = Instant::now();
    let (status, by_itself) = plugin.shutdown().await.unwrap();
    assert!(by_itself && status.success());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "exits within Grafana's 2 s"
    );
}

#[tokio::test]
async fn shutdown_ends_running_streams_and_exits_promptly() {
    let plugin = launch(RANDOM_WALK).await;
    let mut stream = plugin
        .stream()
        .run_stream(run_stream_request("walk"))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.next().await.is_some(), "the stream runs");
    let started = Instant::now();
    let (status, by_itself) = plugin.shutdown().await.unwrap();
    assert!(by_itself && status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sigint_is_ignored() {
    let mut plugin = launch(RANDOM_WALK).await;
    let pid = plugin.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    // Once the host says it saw the signal, it has had its chance to stop.
    logged(&plugin, "SIGINT ignored: Grafana stops its plugins itself").await;
    assert!(plugin.is_running(), "SIGINT must not stop the plugin");
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_restart_loads_the_compiled_component_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let start = || async {
        let mut command = host_command(RANDOM_WALK);
        command.env("GF_PLUGIN_WASM_CACHE_DIR", cache.path());
        let plugin = PluginProcess::launch(command).await.unwrap();
        assert_serving(&plugin).await;
        let how = |m: &str| {
            m.starts_with("component compiled") || m.starts_with("compiled component loaded")
        };
        let entries = log_entries_when(&plugin, |entries| {
            entries
                .iter()
                .any(|e| e["@message"].as_str().is_some_and(how))
        })
        .await;
        plugin.shutdown().await.unwrap();
        let load = entries
            .iter()
            .find(|e| e["@message"].as_str().is_some_and(how))
            .expect("a log line saying how the component was loaded");
        load["@message"].as_str().unwrap().to_owned()
    };
    assert_eq!(start().await, "component compiled");
    assert_eq!(start().await, "compiled component loaded from the cache");
    let files: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one entry: {files:?}");

    // A damaged entry is ignored and replaced, never trusted.
    std::fs::write(&files[0], b"not a compiled component").unwrap();
    assert_eq!(start().await, "component compiled");
    assert_eq!(start().await, "compiled component loaded from the cache");
}
