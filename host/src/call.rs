//! `grafana-wasm-host call`: invokes one handler of a component the way
//! Grafana would, without Grafana, and prints the answer as tables or as
//! the JSON Grafana's HTTP API returns.
//!
//! ```sh
//! grafana-wasm-host call --component plugin.wasm health
//! grafana-wasm-host call --component plugin.wasm --settings '{"url":"http://db"}' query --query '{"points":5}'
//! grafana-wasm-host call --component plugin.wasm --json query
//! grafana-wasm-host call --component plugin.wasm resource echo --method POST --body hi
//! grafana-wasm-host call --component plugin.wasm stream walk --packets 3
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use grafana_wasm_proto::pluginv2 as pb;
use serde_json::Value;

use crate::drive::{self, Output};
use crate::timerange;
use grafana_wasm_client::PluginProcess;
use grafana_wasm_serve::logtext::{self, LogFormat};
use grafana_wasm_serve::plugin_files;

/// Options of `call`.
#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// The plugin component.
    #[arg(long)]
    pub component: PathBuf,
    /// The datasource's settings, as Grafana's datasource API shows them
    /// (`url`, `jsonData`, `secureJsonData`, `basicAuth`, `basicAuthUser`,
    /// `uid`, `name`): JSON text, or `@file`.
    #[arg(long)]
    pub settings: Option<String>,
    /// Call an app plugin: `--settings` are the app's (`jsonData`,
    /// `secureJsonData`) and the context has no datasource.
    #[arg(long)]
    pub app: bool,
    /// Print the JSON Grafana returns (`/api/ds/query`) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Print the host's log lines after the answer.
    #[arg(long)]
    pub logs: bool,
    /// How `--logs` prints them. `auto`: text on a terminal, else hclog
    /// JSON.
    #[arg(long, value_enum, default_value = "auto")]
    pub log_format: LogFormat,
    /// The sandbox configuration. Default: the `sandbox.toml` next to the
    /// crate's `plugin.json` (the nearest one above the component, else in
    /// the current directory), as `package` and `--watch` use it.
    #[arg(long, env = grafana_wasm_serve::plugin_files::SANDBOX_CONFIG_ENV)]
    pub sandbox_config: Option<PathBuf>,
    /// The handler to call.
    #[command(subcommand)]
    pub handler: Handler,
}

/// The handlers `call` can invoke.
#[derive(Debug, Clone, Subcommand)]
pub enum Handler {
    /// CheckHealth.
    Health,
    /// QueryData, one query per `--query` (refIds A, B, ...). Fails when
    /// any query answers an error.
    Query {
        /// A query's JSON model.
        #[arg(long = "query", default_value = "{}")]
        queries: Vec<String>,
        /// Start of the time range: `now-6h`, an RFC 3339 time or Unix
        /// milliseconds.
        #[arg(long, default_value = "now-1h")]
        from: String,
        /// End of the time range, in the same forms.
        #[arg(long, default_value = "now")]
        to: String,
        /// Rows printed per frame (0: all).
        #[arg(long, default_value_t = 20)]
        max_rows: usize,
    },
    /// CallResource. Fails when the answer's status is 400 or above.
    Resource {
        /// Path after `/resources/`, with an optional query string.
        path: String,
        /// HTTP method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// Request body.
        #[arg(long, default_value = "")]
        body: String,
    },
    /// SubscribeStream, then RunStream for some packets, then cancel.
    Stream {
        /// Stream path.
        path: String,
        /// Packets to print before cancelling.
        #[arg(long, default_value_t = 5)]
        packets: usize,
    },
    /// CollectMetrics.
    Metrics {
        /// Include histogram buckets and process metrics.
        #[arg(long)]
        all: bool,
    },
}

/// Runs `call`.
pub fn run(args: CallArgs) -> ExitCode {
    drive::run_to_exit(call(args))
}

async fn call(args: CallArgs) -> anyhow::Result<()> {
    let crate_dir = plugin_files::crate_dir_of(&args.component);
    let manifest = crate_dir.as_deref().and_then(plugin_files::manifest);
    let app = args.app || manifest.as_ref().is_some_and(|m| m["type"] == "app");
    let ctx = plugin_context(args.settings.as_deref(), app)?;
    let setup = drive::Setup {
        sandbox_config: plugin_files::sandbox_file(
            args.sandbox_config.as_deref(),
            crate_dir.as_deref(),
        ),
        plugin_dir: crate_dir,
    };
    let plugin = drive::launch(&args.component, &setup).await?;
    let answered = answer(&plugin, &ctx, &args).await;
    if args.logs {
        let colour = args.log_format.is_text(true).then(logtext::stderr_colour);
        for line in plugin.stderr_lines() {
            match colour {
                Some(colour) => eprintln!("{}", logtext::render(&line, colour)),
                None => eprintln!("{line}"),
            }
        }
    }
    plugin.shutdown().await?;
    answered
}

/// Calls the handler; an answer that is a failure (health not OK, a query
/// error, an HTTP error status) is an error, so the exit code says it.
async fn answer(
    plugin: &PluginProcess,
    ctx: &pb::PluginContext,
    args: &CallArgs,
) -> anyhow::Result<()> {
    let output = if args.json {
        Output::Json
    } else {
        Output::Tables
    };
    match &args.handler {
        Handler::Health => {
            if !drive::health(plugin, ctx).await? {
                bail!("the health check did not report OK");
            }
        }
        Handler::Query {
            queries,
            from,
            to,
            max_rows,
        } => {
            let now = timerange::now_ms()?;
            let options = drive::QueryOptions {
                from_ms: timerange::parse(from, now).context("--from")?,
                to_ms: timerange::parse(to, now).context("--to")?,
                max_rows: *max_rows,
                output,
            };
            if options.from_ms > options.to_ms {
                bail!("--from {from} is after --to {to}");
            }
            let failed = drive::query(plugin, ctx, queries, options).await?;
            if !failed.is_empty() {
                bail!("queries {} answered an error", failed.join(", "));
            }
        }
        Handler::Resource { path, method, body } => {
            let status = drive::resource(plugin, ctx, method, path, body.as_bytes()).await?;
            if status >= 400 {
                bail!("the resource answered HTTP status {status}");
            }
        }
        Handler::Stream { path, packets } => drive::stream(plugin, ctx, path, *packets).await?,
        Handler::Metrics { all } => drive::metrics(plugin, ctx, *all).await?,
    }
    Ok(())
}

/// A plugin context for a datasource (or an app) with `settings` (none:
/// empty settings, datasource uid `call`).
fn plugin_context(settings: Option<&str>, app: bool) -> anyhow::Result<pb::PluginContext> {
    let json: Value = match settings {
        None => Value::Object(Default::default()),
        Some(text) => {
            let (origin, text) = match text.strip_prefix('@') {
                Some(path) => (
                    path.to_owned(),
                    std::fs::read_to_string(path)
                        .with_context(|| format!("--settings: cannot read {path}"))?,
                ),
                None => ("--settings".to_owned(), text.to_owned()),
            };
            serde_json::from_str(&text).with_context(|| format!("{origin} is not JSON"))?
        }
    };
    if !json.is_object() {
        bail!("--settings must be a JSON object");
    }
    let text = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
    let secure = json["secureJsonData"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let now_ms = timerange::now_ms()?;
    let json_data = json
        .get("jsonData")
        .map_or_else(|| b"{}".to_vec(), |data| data.to_string().into_bytes());
    if app {
        let mut ctx = grafana_wasm_client::admin_context("grafana-wasm-call", None);
        ctx.app_instance_settings = Some(pb::AppInstanceSettings {
            json_data,
            decrypted_secure_json_data: secure,
            last_updated_ms: now_ms,
            ..Default::default()
        });
        return Ok(ctx);
    }
    Ok(grafana_wasm_client::admin_context(
        "grafana-wasm-call",
        Some(pb::DataSourceInstanceSettings {
            id: 1,
            uid: json["uid"].as_str().unwrap_or("call").to_owned(),
            name: json["name"].as_str().unwrap_or("call").to_owned(),
            url: text("url"),
            user: text("user"),
            database: text("database"),
            basic_auth_enabled: json["basicAuth"].as_bool().unwrap_or(false),
            basic_auth_user: text("basicAuthUser"),
            json_data,
            decrypted_secure_json_data: secure,
            last_updated_ms: now_ms,
            ..Default::default()
        }),
    ))
}
