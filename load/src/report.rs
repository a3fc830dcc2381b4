//! What a load run measured, for people (text) and scripts (JSON).

use std::process::ExitCode;

use serde::Serialize;

use crate::args::Args;
use crate::stats::{Outcome, RssSample};

/// The figures of one run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// What was called.
    pub rpc: String,
    /// Concurrent callers.
    pub callers: usize,
    /// Points per query.
    pub points: u64,
    /// Measured calls that succeeded.
    pub calls: usize,
    /// Measured calls that failed.
    pub errors: u64,
    /// Calls that failed during the warm-up.
    pub warmup_errors: u64,
    /// The first few distinct failures.
    pub error_samples: Vec<String>,
    /// Length of the measured run.
    pub seconds: f64,
    /// Successful calls per second.
    pub throughput: f64,
    /// Latency percentiles, ms.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Spawn to handshake line of the measured launch, ms.
    pub startup_ms: f64,
    /// Median spawn to handshake of the `--starts` extra launches, ms.
    pub startup_median_ms: Option<f64>,
    /// Resident memory after starting and idling a second, MiB.
    pub idle_rss_mib: f64,
    /// Resident memory after the warm-up, MiB.
    pub rss_after_warmup_mib: f64,
    /// Resident memory at the end, MiB.
    pub rss_end_mib: f64,
    /// The most resident memory the plugin ever had, MiB.
    pub peak_rss_mib: f64,
    /// Growth of resident memory from the end of the warm-up to the end, %.
    pub rss_growth_percent: f64,
    /// Resident memory over the measured run.
    pub rss_samples: Vec<RssSample>,
    /// CPU time the launched process used over the measured run, user and
    /// system, per successful call, µs: what a request costs the plugin,
    /// whatever the client costs (it shares the machine's cores).
    pub plugin_cpu_us_per_call: Option<f64>,
    /// That CPU time over the run's length: cores kept busy.
    pub plugin_cores: Option<f64>,
    #[serde(skip)]
    strict: bool,
    #[serde(skip)]
    max_rss_growth: Option<f64>,
    #[serde(skip)]
    json: bool,
}

impl Report {
    /// Assembles the report; `rss` is idle, after warm-up, end and peak.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        args: &Args,
        measured: Outcome,
        warmup_errors: u64,
        seconds: f64,
        startup_ms: f64,
        mut restarts: Vec<f64>,
        rss: [f64; 4],
        rss_samples: Vec<RssSample>,
        cpu_seconds: Option<f64>,
    ) -> Self {
        let calls = measured.latencies.len();
        let sorted = measured.latencies.sorted();
        restarts.sort_by(f64::total_cmp);
        let [idle, after_warmup, end, peak] = rss;
        Self {
            rpc: format!("{:?}", args.rpc).to_lowercase(),
            callers: args.callers,
            points: args.points,
            calls,
            errors: measured.errors,
            warmup_errors,
            error_samples: measured.error_samples,
            seconds,
            throughput: calls as f64 / seconds.max(f64::EPSILON),
            p50_ms: sorted.percentile_ms(50.0),
            p95_ms: sorted.percentile_ms(95.0),
            p99_ms: sorted.percentile_ms(99.0),
            max_ms: sorted.percentile_ms(100.0),
            startup_ms,
            startup_median_ms: restarts.get(restarts.len() / 2).copied(),
            idle_rss_mib: idle,
            rss_after_warmup_mib: after_warmup,
            rss_end_mib: end,
            peak_rss_mib: peak,
            rss_growth_percent: (end - after_warmup) / after_warmup.max(f64::EPSILON) * 100.0,
            rss_samples,
            plugin_cpu_us_per_call: cpu_seconds
                .filter(|_| calls > 0)
                .map(|cpu| cpu / calls as f64 * 1e6),
            plugin_cores: cpu_seconds.map(|cpu| cpu / seconds.max(f64::EPSILON)),
            strict: args.strict,
            max_rss_growth: args.max_rss_growth,
            json: args.json,
        }
    }

    /// Why a `--strict` run failed, if it did.
    fn violations(&self) -> Vec<String> {
        let mut violations = Vec::new();
        if self.errors + self.warmup_errors > 0 {
            violations.push(format!("{} calls failed", self.errors + self.warmup_errors));
        }
        if let Some(max) = self.max_rss_growth
            && self.rss_growth_percent > max
        {
            violations.push(format!(
                "resident memory grew {:.1}% (more than {max}%)",
                self.rss_growth_percent
            ));
        }
        violations
    }

    /// Prints the report, and fails under `--strict` when it should.
    pub fn exit_code(&self) -> ExitCode {
        if self.json {
            match serde_json::to_string_pretty(self) {
                Ok(json) => println!("{json}"),
                Err(err) => eprintln!("error: cannot write the report: {err}"),
            }
        } else {
            self.print();
        }
        let violations = self.violations();
        if self.strict && !violations.is_empty() {
            eprintln!("failed: {}", violations.join("; "));
            return ExitCode::FAILURE;
        }
        ExitCode::SUCCESS
    }

    fn print(&self) {
        println!(
            "{} x{} callers: {} calls in {:.1} s = {:.0} calls/s, {} errors ({} in warm-up)",
            self.rpc,
            self.callers,
            self.calls,
            self.seconds,
            self.throughput,
            self.errors,
            self.warmup_errors
        );
        println!(
            "latency ms: p50 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3}",
            self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms
        );
        let median = self
            .startup_median_ms
            .map_or_else(String::new, |ms| format!(", median of restarts {ms:.1} ms"));
        println!("start to handshake: {:.1} ms{median}", self.startup_ms);
        println!(
            "resident MiB: idle {:.1}, after warm-up {:.1}, end {:.1} ({:+.1}%), peak {:.1}",
            self.idle_rss_mib,
            self.rss_after_warmup_mib,
            self.rss_end_mib,
            self.rss_growth_percent,
            self.peak_rss_mib
        );
        if let (Some(per_call), Some(cores)) = (self.plugin_cpu_us_per_call, self.plugin_cores) {
            println!("plugin CPU: {per_call:.1} µs per call ({cores:.2} cores busy)");
        }
        for error in &self.error_samples {
            println!("error: {error}");
        }
    }
}
