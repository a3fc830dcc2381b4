//! Command line of the load generator.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Drive a Grafana backend plugin as Grafana does, under load.
#[derive(Debug, Clone, Parser)]
#[command(name = "grafana-wasm-load", version, about)]
pub struct Args {
    /// What each caller calls.
    #[arg(long, value_enum, default_value = "query")]
    pub rpc: Rpc,
    /// Concurrent callers.
    #[arg(long, default_value_t = 8)]
    pub callers: usize,
    /// Seconds to run (after the warm-up). Ignored when `--count` is given.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Total calls to make instead of running for `--duration`.
    #[arg(long)]
    pub count: Option<u64>,
    /// Seconds of calls before measuring (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Points per query (the query JSON's `points`).
    #[arg(long, default_value_t = 100)]
    pub points: u64,
    /// Serve a local HTTP JSON API of this many rows and make the
    /// datasource read it: its URL is the API's, and each query is
    /// `{"path": "/rows"}`, as the http-json example and its Go twin expect.
    #[arg(long)]
    pub api_rows: Option<usize>,
    /// Seconds between samples of the plugin's resident memory (0: only
    /// at the start and the end).
    #[arg(long, default_value_t = 0.0)]
    pub sample: f64,
    /// Launch the plugin this many more times, measuring spawn to
    /// handshake each time, and report the median.
    #[arg(long, default_value_t = 0)]
    pub starts: usize,
    /// The stream path `--rpc mixed` subscribes to.
    #[arg(long, default_value = "walk")]
    pub stream_path: String,
    /// Plugin id in the requests' plugin context.
    #[arg(long, default_value = "grafana-wasm-load")]
    pub plugin_id: String,
    /// Environment for the plugin, `KEY=VALUE` (Grafana's own variables
    /// are always set).
    #[arg(long = "env", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Fail (exit 1) when any call failed or, with `--max-rss-growth`, when
    /// memory grew more than that.
    #[arg(long)]
    pub strict: bool,
    /// With `--strict`: the largest growth of resident memory allowed from
    /// the end of the warm-up to the end, in percent.
    #[arg(long)]
    pub max_rss_growth: Option<f64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The plugin executable and its arguments.
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<PathBuf>,
}

/// The calls a caller makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rpc {
    /// QueryData: one query of `--points` points.
    Query,
    /// CallResource: POST `echo` with a small JSON body.
    Resource,
    /// CheckHealth.
    Health,
    /// CollectMetrics (what a Prometheus scrape of the plugin costs).
    Metrics,
    /// In turn: query, resource, health, metrics, and a stream opened,
    /// read for one packet and cancelled (a soak).
    Mixed,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}
