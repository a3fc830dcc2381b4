//! Grafana's lifecycle, through the real binary: after `Shutdown` (or
//! SIGTERM) the host stops every guest and exits in time whatever the
//! guests do, ends streams so that Grafana runs them again, disposes of its
//! idle instances; and it exits once Grafana is gone.

use std::time::{Duration, Instant};

use grafana_wasm_client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt as _;

use crate::support::*;

/// Grafana kills a plugin 2 s after `Shutdown`; the host promises 1 s.
/// Waiting longer than this means the host did not exit in time.
const EXIT_BOUND: Duration = Duration::from_millis(1500);

/// A QueryData of the protocol guest for datasource `uid` that spins.
fn spinning_query(uid: &str) -> pb::QueryDataRequest {
    let mut request = query_request(vec![query("A", r#"{"fail":"loop"}"#, 1_000)]);
    let ds = request.plugin_context.as_mut().unwrap();
    ds.data_source_instance_settings.as_mut().unwrap().uid = uid.into();
    request
}

/// Streams kept open while the host is stopped.
struct OpenStreams {
    /// A stream whose guest waits for packets to send.
    waiting: tonic::Streaming<pb::StreamPacket>,
    /// A stream whose guest spins.
    _spinning: tonic::Streaming<pb::StreamPacket>,
}

/// The protocol guest with spinning queries of two datasources, a spinning
/// stream and a waiting one running.
async fn busy_host() -> (PluginProcess, OpenStreams) {
    let mut command = host_command(PROTOCOL);
    command.env("GF_PLUGIN_QUERY_TIMEOUT_SECONDS", "60");
    let plugin = PluginProcess::launch(command).await.unwrap();
    for uid in ["a", "b"] {
        let mut data = plugin.data();
        tokio::spawn(async move { data.query_data(spinning_query(uid)).await });
    }
    let spinning = running_stream(&plugin, "busy").await;
    let waiting = plugin
        .stream()
        .run_stream(run_stream_request("walk"))
        .await
        .unwrap()
        .into_inner();
    // Both spinning queries are running (the scrape's own call ends first).
    eventually("the spinning queries run", || async {
        calls_in_flight(&plugin).await >= 4.0
    })
    .await;
    let streams = OpenStreams {
        waiting,
        _spinning: spinning,
    };
    (plugin, streams)
}

/// Waits for the host to exit; fails when it is still running after
/// [`EXIT_BOUND`] (Grafana would have killed it soon after).
async fn assert_exits_in_time(mut plugin: PluginProcess, asked: Instant) {
    while plugin.is_running() {
        assert!(
            asked.elapsed() < EXIT_BOUND,
            "the host did not exit within {EXIT_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn shutdown_stops_spinning_guests_and_ends_streams_with_unavailable() {
    let (plugin, mut streams) = busy_host().await;
    let asked = Instant::now();
    let _ = plugin.request_shutdown().await;
    let ended = streams.waiting.next().await;
    let status = match ended {
        Some(Err(status)) => status,
        other => panic!("the stream ended with {other:?}, not an error"),
    };
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_exits_in_time(plugin, asked).await;
}

#[tokio::test]
async fn sigterm_stops_spinning_guests_and_exits() {
    let (plugin, _streams) = busy_host().await;
    let asked = Instant::now();
    let pid = plugin.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_exits_in_time(plugin, asked).await;
}

#[tokio::test]
async fn idle_instances_are_disposed_of_at_shutdown() {
    let plugin = launch(PROTOCOL).await;
    for uid in ["a", "b"] {
        let mut ctx = context();
        let ds = ctx.data_source_instance_settings.as_mut().unwrap();
        ds.uid = uid.into();
        ds.last_updated_ms = 1_000;
        let request = pb::CallResourceRequest {
            plugin_context: Some(ctx),
            path: "instance".into(),
            method: "GET".into(),
            ..Default::default()
        };
        first_resource_json(&plugin, request).await;
    }
    // Both instances are back in the idle pool.
    assert_no_calls_in_flight(&plugin).await;
    let stderr = plugin.stderr_handle();
    let (status, by_itself) = plugin.shutdown().await.unwrap();
    assert!(by_itself && status.success(), "{status}");
    // The host flushed its log before exiting; the reader may lag.
    let disposed = || {
        stderr
            .lines()
            .iter()
            .filter(|line| line.contains("instance disposed"))
            .count()
    };
    let started = Instant::now();
    while disposed() < 2 && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        disposed(),
        2,
        "each datasource's instance was disposed of: {:#?}",
        stderr.lines()
    );
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped).
fn has_ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

#[tokio::test]
async fn the_host_exits_when_its_parent_is_gone() {
    use std::io::BufRead as _;
    // An intermediate process launches the host, as Grafana would, then
    // dies without stopping it.
    let mut parent = std::process::Command::new("sh")
        .args(["-c", r#""$0" & echo "pid $!"; wait"#, HOST])
        .env_clear()
        .env("GF_PLUGIN_WASM_COMPONENT", PROTOCOL)
        .env(
            grafana_wasm_client::handshake::MAGIC_COOKIE_KEY,
            grafana_wasm_client::handshake::MAGIC_COOKIE_VALUE,
        )
        .env(grafana_wasm_client::handshake::PROTOCOL_VERSIONS_ENV, "2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(parent.stdout.take().unwrap()).lines();
    let (mut host, mut serving) = (None, false);
    while host.is_none() || !serving {
        let line = lines.next().expect("the host starts").unwrap();
        match line.strip_prefix("pid ") {
            Some(pid) => host = pid.parse::<u32>().ok(),
            None => serving |= line.starts_with("1|2|unix|"),
        }
    }
    let host = host.unwrap();
    parent.kill().unwrap();
    parent.wait().unwrap();
    let orphaned = Instant::now();
    while !has_ended(host) {
        assert!(
            orphaned.elapsed() < Duration::from_secs(5),
            "the orphaned host is still running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
