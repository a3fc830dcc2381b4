//! A local HTTP JSON API for `--api-rows`: what a realistic datasource
//! reads (http-json and its Go twin alike). It answers every GET with the
//! same array of rows over keep-alive HTTP/1.1 connections; it runs in the
//! load generator's process, so its CPU is not counted as the plugin's.

use std::convert::Infallible;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// The path queries read.
pub const PATH: &str = "/rows";

/// `rows` objects of a time, a value and a name, as JSON.
fn body(rows: usize) -> Bytes {
    let rows: Vec<serde_json::Value> = (0..rows)
        .map(|i| {
            serde_json::json!({
                "time": 1_700_000_000_000_u64 + i as u64 * 1000,
                "value": (i as f64 * 0.1).sin(),
                "name": format!("series-{}", i % 4),
            })
        })
        .collect();
    Bytes::from(serde_json::to_vec(&rows).expect("rows serialise"))
}

/// Serves `rows` rows on 127.0.0.1 until the process ends; its base URL.
///
/// # Errors
/// When no port can be bound.
pub async fn serve(rows: usize) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the local API")?;
    let url = format!("http://{}", listener.local_addr()?);
    let body = body(rows);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let _ = socket.set_nodelay(true);
            let body = body.clone();
            let answer = service_fn(move |_request| {
                let response = hyper::Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .expect("a valid response");
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), answer),
            );
        }
    });
    Ok(url)
}
