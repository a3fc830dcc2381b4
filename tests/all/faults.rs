//! Faults on either side of the host, through the real binary: guests that
//! trap mid-stream or ignore cancellation, a Grafana that disconnects or
//! cancels everything, the socket directory removed, signals and Shutdown
//! under load. The host keeps serving (or exits cleanly when told to) and
//! loses no answer it had produced.

use std::time::Duration;

use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt as _;

use crate::support::*;

const TO_MS: i64 = 1_700_000_000_000;

#[tokio::test]
async fn a_guest_trapping_mid_stream_delivers_its_packets_then_internal() {
    let plugin = launch(PROTOCOL).await;
    let mut stream = plugin
        .stream()
        .run_stream(run_stream_request("trap-after"))
        .await
        .unwrap()
        .into_inner();
    for seq in 0..3 {
        let packet = stream.next().await.unwrap().unwrap();
        assert_eq!(packet.data, format!(r#"{{"seq":{seq}}}"#).into_bytes());
    }
    let ended = stream.next().await.unwrap().unwrap_err();
    assert_eq!(ended.code(), tonic::Code::Internal, "{ended:?}");
    assert!(ended.message().contains("RunStream"), "{}", ended.message());
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stream_guest_ignoring_cancellation_is_stopped() {
    let plugin = launch(PROTOCOL).await;
    let stream = running_stream(&plugin, "busy").await;
    drop(stream);
    assert_no_calls_in_flight(&plugin).await;
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn grafana_disconnecting_mid_call_leaves_no_work_behind() {
    let plugin = launch(PROTOCOL).await;
    for _ in 0..5 {
        let mut client = plugin.resource();
        let slow = client.call_resource(pb::CallResourceRequest {
            path: "slow".into(),
            method: "GET".into(),
            ..Default::default()
        });
        // Grafana gives up (the user closed the panel) while the guest works.
        let _ = tokio::time::timeout(Duration::from_millis(50), slow).await;
    }
    assert_no_calls_in_flight(&plugin).await;
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn streams_cancelled_at_once_all_end() {
    let plugin = launch(RANDOM_WALK).await;
    let cancel_at_once = |_| {
        let mut client = plugin.stream();
        async move {
            let running = client.run_stream(run_stream_request("walk"));
            // Cancelled before, or right after, the stream starts.
            let _ = tokio::time::timeout(Duration::from_millis(1), running).await;
        }
    };
    futures_util::future::join_all((0..200).map(cancel_at_once)).await;
    assert_no_calls_in_flight(&plugin).await;
    assert_serving(&plugin).await;
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn removing_the_socket_directory_does_not_stop_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = host_command(RANDOM_WALK);
    command.env("PLUGIN_UNIX_SOCKET_DIR", dir.path());
    let plugin = grafana_wasm_client::PluginProcess::launch(command)
        .await
        .unwrap();
    std::fs::remove_dir_all(dir.path()).unwrap();
    for _ in 0..10 {
        assert_serving(&plugin).await;
    }
    let (status, by_itself) = plugin.shutdown().await.unwrap();
    assert!(by_itself && status.success(), "{status}");
}

/// Queries `plugin` from 4 callers until `stop`; every answer must be
/// complete. Returns how many answered.
async fn query_until(
    plugin: &grafana_wasm_client::PluginProcess,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<Result<usize, tonic::Status>> {
    let callers = (0..4).map(|_| {
        let mut data = plugin.data();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut answered = 0;
            while !*stop.borrow() {
                let request = query_request(vec![query("A", r#"{"points":1000}"#, TO_MS)]);
                let response = data.query_data(request).await?.into_inner();
                let (_, batches) = decode_frame(&response.responses["A"].frames[0]);
                assert_eq!(batches[0].num_rows(), 1000, "a complete answer");
                answered += 1;
            }
            Ok(answered)
        })
    });
    futures_util::future::join_all(callers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn sigint_under_load_is_ignored() {
    let plugin = launch(RANDOM_WALK).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let load = query_until(&plugin, stopped);
    let signals = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pid = plugin.id().unwrap().to_string();
        for _ in 0..3 {
            let sent = std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap();
            assert!(sent.success());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.send(true).unwrap();
    };
    let (answers, ()) = tokio::join!(load, signals);
    for answered in answers {
        assert!(
            answered.unwrap() > 0,
            "every caller was answered, without error"
        );
    }
    let mut plugin = plugin;
    assert!(plugin.is_running());
    plugin.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_under_load_finishes_the_calls_in_flight_and_exits_cleanly() {
    let plugin = launch(RANDOM_WALK).await;
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let load = query_until(&plugin, stopped);
    let shutdown = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Grafana ignores the result.
        let _ = plugin.request_shutdown().await;
    };
    let (answers, ()) = tokio::join!(load, shutdown);
    // Every caller ends with a refusal of a call made after Shutdown, never
    // with a broken answer (query_until checks each answer is complete).
    for answered in answers {
        let refused = answered.unwrap_err();
        assert!(
            matches!(
                refused.code(),
                tonic::Code::Unavailable | tonic::Code::Cancelled | tonic::Code::Unknown
            ),
            "{refused:?}"
        );
    }
    let mut plugin = plugin;
    for _ in 0..100 {
        if !plugin.is_running() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the host did not exit after Shutdown");
}
