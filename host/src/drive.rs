//! The Grafana side of each RPC, printed for people: used by `demo` and
//! `call`, which launch the host as Grafana does and show what Grafana
//! would receive.

use std::time::Duration;

use anyhow::Context as _;
use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt;

use crate::client::PluginProcess;

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Frames as tables, other answers as short text.
    Tables,
    /// The JSON Grafana's HTTP API returns (`/api/ds/query` for queries).
    Json,
}

/// Runs `work` on a fresh async runtime; an error is printed on stderr
/// and fails the process.
pub fn run_to_exit(
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> std::process::ExitCode {
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(work));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// How long a start may take before the wait is explained on stderr.
const SLOW_START: Duration = Duration::from_millis(700);

/// Launches this executable serving `component`, as Grafana does. A start
/// that takes a while is compiling the component (the first time this
/// build of it is used on this machine); that is said on stderr, with the
/// time it took.
///
/// # Errors
/// When the component path or this executable cannot be found, or the
/// host does not start.
pub async fn launch(component: &std::path::Path) -> anyhow::Result<PluginProcess> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let component = std::fs::canonicalize(component)
        .with_context(|| format!("component {}", component.display()))?;
    let mut command = tokio::process::Command::new(exe);
    command.env(crate::cli::COMPONENT_ENV, &component);
    let launching = PluginProcess::launch(command);
    let mut launching = std::pin::pin!(launching);
    if let Ok(launched) = tokio::time::timeout(SLOW_START, &mut launching).await {
        return launched;
    }
    let started = std::time::Instant::now();
    eprintln!(
        "Compiling {} for this machine (first use of this build; later runs load it from the cache)...",
        component.display()
    );
    let launched = launching.await;
    eprintln!(
        "... ready after {:.1} s",
        (started.elapsed() + SLOW_START).as_secs_f64()
    );
    launched
}

/// CheckHealth, printed.
///
/// # Errors
/// When the call fails.
pub async fn health(plugin: &PluginProcess, ctx: &pb::PluginContext) -> anyhow::Result<()> {
    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            plugin_context: Some(ctx.clone()),
            headers: Default::default(),
        })
        .await?
        .into_inner();
    let status = pb::check_health_response::HealthStatus::try_from(health.status)
        .map_or("INVALID", |s| s.as_str_name());
    println!("status: {status}, message: {:?}", health.message);
    if !health.json_details.is_empty() {
        println!("details: {}", String::from_utf8_lossy(&health.json_details));
    }
    Ok(())
}

/// QueryData with one query per JSON model (refIds A, B, ...) over the
/// last hour, printed.
///
/// # Errors
/// When the call fails or a frame cannot be decoded.
pub async fn query(
    plugin: &PluginProcess,
    ctx: &pb::PluginContext,
    models: &[String],
    output: Output,
) -> anyhow::Result<()> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let queries = models
        .iter()
        .zip('A'..='Z')
        .map(|(json, ref_id)| pb::DataQuery {
            ref_id: ref_id.to_string(),
            time_range: Some(pb::TimeRange {
                from_epoch_ms: now_ms - 3_600_000,
                to_epoch_ms: now_ms,
            }),
            max_data_points: 1000,
            interval_ms: 1000,
            json: json.as_bytes().to_vec(),
            ..Default::default()
        })
        .collect();
    let response = plugin
        .data()
        .query_data(pb::QueryDataRequest {
            plugin_context: Some(ctx.clone()),
            queries,
            ..Default::default()
        })
        .await?
        .into_inner();
    if output == Output::Json {
        let json = crate::api_json::query_data_response(&response)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let mut refs: Vec<_> = response.responses.into_iter().collect();
    refs.sort_by(|a, b| a.0.cmp(&b.0));
    for (ref_id, r) in refs {
        println!(
            "refId {ref_id}: status {}, error {:?} (source {:?})",
            r.status, r.error, r.error_source
        );
        for frame in r.frames {
            print_frame(&frame)?;
        }
    }
    Ok(())
}

/// Prints an Arrow IPC frame as Grafana would decode it: name, refId and a
/// table of its values.
fn print_frame(bytes: &[u8]) -> anyhow::Result<()> {
    let reader = FileReader::try_new(std::io::Cursor::new(bytes), None)?;
    let schema = reader.schema();
    let meta = schema.metadata();
    println!(
        "frame {:?} (refId {:?}, {} bytes of Arrow)",
        meta.get("name").map_or("", String::as_str),
        meta.get("refId").map_or("", String::as_str),
        bytes.len()
    );
    let batches = reader.collect::<Result<Vec<RecordBatch>, _>>()?;
    println!("{}", arrow_cast::pretty::pretty_format_batches(&batches)?);
    Ok(())
}

/// CallResource, printed: status, headers, body.
///
/// # Errors
/// When the call fails.
pub async fn resource(
    plugin: &PluginProcess,
    ctx: &pb::PluginContext,
    method: &str,
    path: &str,
    body: &[u8],
) -> anyhow::Result<()> {
    let path = path.trim_start_matches('/');
    let mut answer = plugin
        .resource()
        .call_resource(pb::CallResourceRequest {
            plugin_context: Some(ctx.clone()),
            path: path.split('?').next().unwrap_or_default().into(),
            method: method.to_ascii_uppercase(),
            url: path.into(),
            body: body.to_vec(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut body = Vec::new();
    let mut first = true;
    while let Some(message) = answer.next().await {
        let message = message?;
        if first {
            let mut headers: Vec<String> = message
                .headers
                .iter()
                .map(|(name, values)| format!("{name}: {}", values.values.join(", ")))
                .collect();
            headers.sort();
            println!("status {}, headers [{}]", message.code, headers.join("; "));
            first = false;
        }
        body.extend(message.body);
    }
    println!("body {}", String::from_utf8_lossy(&body));
    Ok(())
}

/// SubscribeStream, then RunStream for `packets` packets (printed), then
/// cancels it as Grafana does when the last subscriber leaves.
///
/// # Errors
/// When a call fails or no packet comes within 5 s.
pub async fn stream(
    plugin: &PluginProcess,
    ctx: &pb::PluginContext,
    path: &str,
    packets: usize,
) -> anyhow::Result<()> {
    let subscribed = plugin
        .stream()
        .subscribe_stream(pb::SubscribeStreamRequest {
            plugin_context: Some(ctx.clone()),
            path: path.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let status = pb::subscribe_stream_response::Status::try_from(subscribed.status)
        .map_or("INVALID", |s| s.as_str_name());
    println!("SubscribeStream {path}: status {status}");
    let mut run = plugin
        .stream()
        .run_stream(pb::RunStreamRequest {
            plugin_context: Some(ctx.clone()),
            path: path.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    println!("RunStream {path} (first {packets} packets, then cancel)");
    for _ in 0..packets {
        match tokio::time::timeout(Duration::from_secs(5), run.next()).await {
            Ok(Some(packet)) => println!("{}", String::from_utf8_lossy(&packet?.data)),
            Ok(None) => break,
            Err(_) => anyhow::bail!("no stream packet within 5 s"),
        }
    }
    Ok(())
}

/// CollectMetrics, printed without histogram buckets and process metrics
/// unless `all`.
///
/// # Errors
/// When the call fails.
pub async fn metrics(
    plugin: &PluginProcess,
    ctx: &pb::PluginContext,
    all: bool,
) -> anyhow::Result<()> {
    let metrics = plugin
        .diagnostics()
        .collect_metrics(pb::CollectMetricsRequest {
            plugin_context: Some(ctx.clone()),
        })
        .await?
        .into_inner();
    let text = metrics.metrics.map(|m| m.prometheus).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| {
            all || (!l.starts_with('#') && !l.contains("_bucket{") && !l.starts_with("process_"))
        })
        .for_each(|l| println!("{l}"));
    Ok(())
}
