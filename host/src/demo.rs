//! `grafana-wasm-host demo`: launches the host with a component exactly as
//! Grafana does and drives every handler family once, printing what Grafana
//! would receive in readable form.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use clap::Args;
use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt;

use crate::cli::COMPONENT_ENV;
use crate::client::PluginProcess;

/// Options of `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The plugin component to serve.
    #[arg(long)]
    pub component: PathBuf,
    /// Stream packets to read from RunStream before cancelling it.
    #[arg(long, default_value_t = 3)]
    pub packets: usize,
}

/// Runs the demo; prints a report on stdout.
pub fn run(args: DemoArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(drive(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn plugin_context() -> pb::PluginContext {
    pb::PluginContext {
        org_id: 1,
        plugin_id: "grafana-wasm-demo".into(),
        user: Some(pb::User {
            login: "admin".into(),
            role: "Admin".into(),
            ..Default::default()
        }),
        data_source_instance_settings: Some(pb::DataSourceInstanceSettings {
            id: 1,
            uid: "demo-uid".into(),
            name: "Demo".into(),
            json_data: b"{}".to_vec(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn drive(args: DemoArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let component = std::fs::canonicalize(&args.component)
        .with_context(|| format!("component {}", args.component.display()))?;
    println!(
        "Launching {} with {} as Grafana does",
        exe.display(),
        component.display()
    );
    let mut command = tokio::process::Command::new(exe);
    command.env(COMPONENT_ENV, &component);
    let plugin = PluginProcess::launch(command).await?;
    println!("Handshake: {}", plugin.handshake.trim());

    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            plugin_context: Some(plugin_context()),
            headers: Default::default(),
        })
        .await?
        .into_inner();
    let status = pb::check_health_response::HealthStatus::try_from(health.status)
        .map_or("INVALID", |s| s.as_str_name());
    println!(
        "\n== CheckHealth\nstatus: {status}, message: {:?}",
        health.message
    );

    query(&plugin).await?;
    resource(&plugin).await?;

    let metrics = plugin
        .diagnostics()
        .collect_metrics(pb::CollectMetricsRequest {
            plugin_context: Some(plugin_context()),
        })
        .await?
        .into_inner();
    let text = metrics.metrics.map(|m| m.prometheus).unwrap_or_default();
    println!("\n== CollectMetrics (samples; histogram buckets and process metrics left out)");
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.contains("_bucket{") && !l.starts_with("process_"))
        .for_each(|l| println!("{l}"));

    stream(&plugin, args.packets).await?;

    let logs = plugin.stderr_lines();
    let (status, graceful) = plugin.shutdown().await?;
    println!("\n== Shutdown\nexited by itself: {graceful}, status: {status}");
    println!(
        "\n== Plugin log (hclog JSON on stderr, {} lines)",
        logs.len()
    );
    for line in logs {
        println!("{line}");
    }
    Ok(())
}

async fn query(plugin: &PluginProcess) -> anyhow::Result<()> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let queries = [("A", r#"{"points":5}"#), ("B", r#"{"points":-1}"#)]
        .into_iter()
        .map(|(ref_id, json)| pb::DataQuery {
            ref_id: ref_id.into(),
            time_range: Some(pb::TimeRange {
                from_epoch_ms: now_ms - 3_600_000,
                to_epoch_ms: now_ms,
            }),
            json: json.as_bytes().to_vec(),
            ..Default::default()
        })
        .collect();
    let response = plugin
        .data()
        .query_data(pb::QueryDataRequest {
            plugin_context: Some(plugin_context()),
            queries,
            ..Default::default()
        })
        .await?
        .into_inner();
    println!("\n== QueryData");
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

async fn resource(plugin: &PluginProcess) -> anyhow::Result<()> {
    let mut answer = plugin
        .resource()
        .call_resource(pb::CallResourceRequest {
            plugin_context: Some(plugin_context()),
            path: "echo".into(),
            method: "POST".into(),
            url: "echo?demo=1".into(),
            body: br#"{"hello":"grafana"}"#.to_vec(),
            ..Default::default()
        })
        .await?
        .into_inner();
    println!("\n== CallResource POST echo");
    let mut body = Vec::new();
    let mut first = true;
    while let Some(message) = answer.next().await {
        let message = message?;
        if first {
            println!("status {}, headers {:?}", message.code, message.headers);
            first = false;
        }
        body.extend(message.body);
    }
    println!("body {}", String::from_utf8_lossy(&body));
    Ok(())
}

async fn stream(plugin: &PluginProcess, packets: usize) -> anyhow::Result<()> {
    let subscribed = plugin
        .stream()
        .subscribe_stream(pb::SubscribeStreamRequest {
            plugin_context: Some(plugin_context()),
            path: "walk".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let status = pb::subscribe_stream_response::Status::try_from(subscribed.status)
        .map_or("INVALID", |s| s.as_str_name());
    println!("\n== SubscribeStream walk\nstatus {status}");
    let mut run = plugin
        .stream()
        .run_stream(pb::RunStreamRequest {
            plugin_context: Some(plugin_context()),
            path: "walk".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    println!("== RunStream walk (first {packets} packets, then cancel)");
    for _ in 0..packets {
        match tokio::time::timeout(Duration::from_secs(5), run.next()).await {
            Ok(Some(packet)) => println!("{}", String::from_utf8_lossy(&packet?.data)),
            Ok(None) => break,
            Err(_) => anyhow::bail!("no stream packet within 5 s"),
        }
    }
    drop(run);
    Ok(())
}
