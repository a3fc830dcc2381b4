//! Outgoing connections, through the real host: a datasource reuses its
//! connections to its own URL, never another datasource's, and requests
//! elsewhere are not kept open.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

/// What an [`api`] has seen.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: AtomicUsize,
}

impl Seen {
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// How an [`api`] treats a connection after answering.
#[derive(Clone, Copy, PartialEq)]
enum AfterAnswer {
    /// Keeps it open for the next request (HTTP/1.1's default).
    KeepOpen,
    /// Closes it without saying so first, as a server whose keep-alive
    /// timeout is shorter than the client's does.
    CloseSilently,
}

/// An HTTP/1.1 server on 127.0.0.1 answering `{"connection": n}` (the
/// number of the connection, from 1) to every request. Returns its URL and
/// what it has seen.
async fn api(after: AfterAnswer) -> (String, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let number = counts.connections.fetch_add(1, Ordering::SeqCst) + 1;
            let counts = counts.clone();
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let mut buf = [0_u8; 4096];
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        counts.requests.fetch_add(1, Ordering::SeqCst);
                        let body = format!(r#"{{"connection": {number}}}"#);
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(answer.as_bytes()).await.is_err()
                            || after == AfterAnswer::CloseSilently
                        {
                            return;
                        }
                    }
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    (url, seen)
}

/// The connection number the API answered a fetch of the datasource's URL
/// on.
async fn fetch(plugin: &grafana_wasm_client::PluginProcess, uid: &str, url: &str) -> u64 {
    let answer = fetch_datasource(plugin, datasource(uid, url, json!({}), &[]), "/").await;
    assert_eq!(answer["ok"]["status"], 200, "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer["ok"]["body"].as_str().unwrap()).unwrap();
    body["connection"].as_u64().unwrap()
}

#[tokio::test]
async fn a_datasource_reuses_its_connection_and_never_shares_it() {
    let (url, seen) = api(AfterAnswer::KeepOpen).await;
    let plugin = launch_probe(&[("allow_addresses", "127.0.0.1/32")]).await;
    let first = fetch(&plugin, "a", &url).await;
    for _ in 0..4 {
        assert_eq!(
            fetch(&plugin, "a", &url).await,
            first,
            "the same connection"
        );
    }
    assert_eq!((seen.connections(), seen.requests()), (1, 5));

    let other = fetch(&plugin, "b", &url).await;
    assert_ne!(other, first, "another datasource opens its own");
    assert_eq!(fetch(&plugin, "a", &url).await, first);
    assert_eq!(seen.connections(), 2);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced_without_an_error() {
    let (url, seen) = api(AfterAnswer::CloseSilently).await;
    let plugin = launch_probe(&[("allow_addresses", "127.0.0.1/32")]).await;
    let mut numbers = Vec::new();
    for _ in 0..4 {
        numbers.push(fetch(&plugin, "a", &url).await);
    }
    assert_eq!(numbers, [1, 2, 3, 4], "a new connection for each request");
    assert_eq!(seen.requests(), 4);
}

#[tokio::test]
async fn requests_to_other_hosts_are_not_kept_open() {
    let (url, seen) = api(AfterAnswer::KeepOpen).await;
    let host = url.trim_start_matches("http://");
    let plugin = launch_probe(&[("allow_addresses", "127.0.0.1/32"), ("allow_hosts", host)]).await;
    for expected in 1..=3 {
        let answer = resource_probe(
            &plugin,
            datasource("a", "", json!({}), &[]),
            json!({"probe": "fetch", "url": format!("{url}/")}),
        )
        .await;
        assert_eq!(answer["ok"]["status"], 200, "{answer}");
        assert_eq!(seen.connections(), expected, "a connection per request");
    }
}
