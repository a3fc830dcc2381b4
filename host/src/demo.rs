//! `grafana-wasm-host demo`: launches the host with a component exactly as
//! Grafana does and drives every handler family once, printing what Grafana
//! would receive in readable form.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use grafana_wasm_proto::pluginv2 as pb;

use crate::drive::{self, Output};

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
    drive::run_to_exit(drive(args))
}

fn plugin_context() -> pb::PluginContext {
    grafana_wasm_client::admin_context(
        "grafana-wasm-demo",
        Some(pb::DataSourceInstanceSettings {
            id: 1,
            uid: "demo-uid".into(),
            name: "Demo".into(),
            json_data: b"{}".to_vec(),
            ..Default::default()
        }),
    )
}

async fn drive(args: DemoArgs) -> anyhow::Result<()> {
    println!(
        "Launching this host with {} as Grafana does",
        args.component.display()
    );
    let plugin = drive::launch(&args.component, &drive::Setup::default()).await?;
    println!("Handshake: {}", plugin.handshake.trim());
    let ctx = plugin_context();

    println!("\n== CheckHealth");
    drive::health(&plugin, &ctx).await?;
    println!("\n== QueryData");
    let models = [r#"{"points":5}"#.to_owned(), r#"{"points":-1}"#.to_owned()];
    // The second query asks for a negative count: its error is shown.
    drive::query(
        &plugin,
        &ctx,
        &models,
        drive::QueryOptions::last_hour(10, Output::Tables)?,
    )
    .await?;
    println!("\n== CallResource POST echo");
    drive::resource(
        &plugin,
        &ctx,
        "POST",
        "echo?demo=1",
        br#"{"hello":"grafana"}"#,
    )
    .await?;
    println!("\n== CollectMetrics (samples; histogram buckets and process metrics left out)");
    drive::metrics(&plugin, &ctx, false).await?;
    println!();
    drive::stream(&plugin, &ctx, "walk", args.packets).await?;

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
