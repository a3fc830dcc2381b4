//! The Grafana side of each RPC, printed for people: used by `demo` and
//! `call`, which launch the host as Grafana does and show what Grafana
//! would receive.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt;

use grafana_wasm_client::PluginProcess;

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

/// What the launched host is given besides its component.
#[derive(Debug, Default, Clone)]
pub struct Setup {
    /// The plugin's directory (its `plugin.json`: id and version).
    pub plugin_dir: Option<PathBuf>,
    /// The sandbox configuration; default: the host's own lookup.
    pub sandbox_config: Option<PathBuf>,
}

/// Launches this executable serving `component`, as Grafana does. A start
/// that takes a while is compiling the component (the first time this
/// build of it is used on this machine); that is said on stderr, with the
/// time it took.
///
/// # Errors
/// When the component path or this executable cannot be found, or the
/// host does not start.
pub async fn launch(component: &Path, setup: &Setup) -> anyhow::Result<PluginProcess> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let component = std::fs::canonicalize(component)
        .with_context(|| format!("component {}", component.display()))?;
    let mut command = tokio::process::Command::new(exe);
    command.env(grafana_wasm_serve::plugin_files::COMPONENT_ENV, &component);
    if let Some(dir) = &setup.plugin_dir {
        command.arg("--plugin-dir").arg(dir);
    }
    if let Some(sandbox) = &setup.sandbox_config {
        let sandbox = std::fs::canonicalize(sandbox)
            .with_context(|| format!("sandbox configuration {}", sandbox.display()))?;
        command.env(
            grafana_wasm_serve::plugin_files::SANDBOX_CONFIG_ENV,
            sandbox,
        );
    }
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

/// A gRPC error as a message for people: the code's name, as Grafana and
/// grpc-go write it (`FAILED_PRECONDITION`), and the status message.
pub fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", code_name(status.code()), status.message())
}

/// gRPC's canonical name of `code` (`FailedPrecondition` ->
/// `FAILED_PRECONDITION`).
pub fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// CheckHealth, printed. Returns whether the status is OK.
///
/// # Errors
/// When the call fails.
pub async fn health(plugin: &PluginProcess, ctx: &pb::PluginContext) -> anyhow::Result<bool> {
    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            plugin_context: Some(ctx.clone()),
            headers: Default::default(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let status = pb::check_health_response::HealthStatus::try_from(health.status)
        .map_or("INVALID", |s| s.as_str_name());
    println!("status: {status}, message: {:?}", health.message);
    if !health.json_details.is_empty() {
        println!("details: {}", String::from_utf8_lossy(&health.json_details));
    }
    Ok(health.status == pb::check_health_response::HealthStatus::Ok as i32)
}

/// The time range and printing of a QueryData.
#[derive(Debug, Clone, Copy)]
pub struct QueryOptions {
    /// Start of the range, Unix milliseconds.
    pub from_ms: i64,
    /// End of the range, Unix milliseconds.
    pub to_ms: i64,
    /// Rows printed per frame (0: all).
    pub max_rows: usize,
    /// Tables or Grafana's JSON.
    pub output: Output,
}

impl QueryOptions {
    /// The last hour, at most `max_rows` rows per frame printed.
    ///
    /// # Errors
    /// When the clock is before 1970.
    pub fn last_hour(max_rows: usize, output: Output) -> anyhow::Result<Self> {
        let to_ms = crate::timerange::now_ms()?;
        Ok(Self {
            from_ms: to_ms - 3_600_000,
            to_ms,
            max_rows,
            output,
        })
    }
}

/// QueryData with one query per JSON model (refIds A, B, ...), printed.
/// Returns the refIds whose answer is an error.
///
/// # Errors
/// When the call fails or a frame cannot be decoded.
pub async fn query(
    plugin: &PluginProcess,
    ctx: &pb::PluginContext,
    models: &[String],
    options: QueryOptions,
) -> anyhow::Result<Vec<String>> {
    let queries = models
        .iter()
        .zip('A'..='Z')
        .map(|(json, ref_id)| pb::DataQuery {
            ref_id: ref_id.to_string(),
            time_range: Some(pb::TimeRange {
                from_epoch_ms: options.from_ms,
                to_epoch_ms: options.to_ms,
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
        .await
        .map_err(status_error)?
        .into_inner();
    let mut failed: Vec<String> = response
        .responses
        .iter()
        .filter(|(_, r)| !r.error.is_empty() || r.status >= 400)
        .map(|(ref_id, _)| ref_id.clone())
        .collect();
    failed.sort();
    if options.output == Output::Json {
        let json = grafana_wasm_serve::api_json::query_data_response(&response)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(failed);
    }
    let mut refs: Vec<_> = response.responses.into_iter().collect();
    refs.sort_by(|a, b| a.0.cmp(&b.0));
    for (ref_id, r) in refs {
        let source = if r.error_source.is_empty() {
            String::new()
        } else {
            format!(" (source {})", r.error_source)
        };
        if r.error.is_empty() {
            println!("refId {ref_id}: status {}", r.status);
        } else {
            println!(
                "refId {ref_id}: status {}, error: {}{source}",
                r.status, r.error
            );
        }
        for frame in r.frames {
            print_frame(&frame, options.max_rows)?;
        }
    }
    Ok(failed)
}

/// Prints an Arrow IPC frame as Grafana would decode it: name, refId and a
/// table of its first `max_rows` rows (0: all).
fn print_frame(bytes: &[u8], max_rows: usize) -> anyhow::Result<()> {
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
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let shown = if max_rows == 0 {
        batches
    } else {
        first_rows(batches, max_rows)
    };
    println!("{}", arrow_cast::pretty::pretty_format_batches(&shown)?);
    let printed: usize = shown.iter().map(RecordBatch::num_rows).sum();
    if printed < rows {
        println!("({printed} of {rows} rows shown; --max-rows 0 shows all)");
    }
    Ok(())
}

/// The first `limit` rows of `batches`.
fn first_rows(batches: Vec<RecordBatch>, limit: usize) -> Vec<RecordBatch> {
    let mut left = limit;
    let mut kept = Vec::new();
    for batch in batches {
        if left == 0 {
            break;
        }
        let take = batch.num_rows().min(left);
        left -= take;
        kept.push(batch.slice(0, take));
    }
    kept
}

/// CallResource, printed: status, headers, body. Returns the HTTP status.
///
/// # Errors
/// When the call fails.
pub async fn resource(
    plugin: &PluginProcess,
    ctx: &pb::PluginContext,
    method: &str,
    path: &str,
    body: &[u8],
) -> anyhow::Result<i32> {
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
        .await
        .map_err(status_error)?
        .into_inner();
    let mut body = Vec::new();
    let mut code = None;
    while let Some(message) = answer.next().await {
        let message = message.map_err(status_error)?;
        if code.is_none() {
            code = Some(message.code);
            let mut headers: Vec<String> = message
                .headers
                .iter()
                .map(|(name, values)| format!("{name}: {}", values.values.join(", ")))
                .collect();
            headers.sort();
            println!("status {}, headers [{}]", message.code, headers.join("; "));
        }
        body.extend(message.body);
    }
    println!("body {}", String::from_utf8_lossy(&body));
    code.context("the resource call ended without an answer")
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
        .await
        .map_err(status_error)?
        .into_inner();
    let status = pb::subscribe_stream_response::Status::try_from(subscribed.status)
        .map_or("INVALID", |s| s.as_str_name());
    println!("SubscribeStream {path}: status {status}");
    if subscribed.status != pb::subscribe_stream_response::Status::Ok as i32 {
        anyhow::bail!("SubscribeStream {path} answered {status}");
    }
    let mut run = plugin
        .stream()
        .run_stream(pb::RunStreamRequest {
            plugin_context: Some(ctx.clone()),
            path: path.into(),
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner();
    println!("RunStream {path} (first {packets} packets, then cancel)");
    for _ in 0..packets {
        match tokio::time::timeout(Duration::from_secs(5), run.next()).await {
            Ok(Some(packet)) => {
                let packet = packet.map_err(status_error)?;
                println!("{}", String::from_utf8_lossy(&packet.data));
            }
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
        .await
        .map_err(status_error)?
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
