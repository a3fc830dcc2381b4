//! A load run: launch, warm up, measure, sample memory, stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use grafana_wasm_client::PluginProcess;

use crate::args::Args;
use crate::calls::Caller;
use crate::report::Report;
use crate::stats::{Outcome, RssSample};
use crate::usage;

/// How long the plugin sits idle after starting before its memory is read.
const IDLE: Duration = Duration::from_secs(1);
/// Distinct error messages kept for the report.
const ERROR_SAMPLES: usize = 5;

/// Runs the load `args` describe and reports it.
///
/// # Errors
/// When the plugin cannot be launched.
pub async fn run(args: Args) -> anyhow::Result<Report> {
    let api = match args.api_rows {
        Some(rows) => Some(crate::api::serve(rows).await?),
        None => None,
    };
    let api = api.as_deref();
    let plugin = launch(&args).await?;
    let pid = plugin.id().context("the plugin's process id")?;
    tokio::time::sleep(IDLE).await;
    let idle_rss = usage::resident_mib(pid).unwrap_or_default();

    let warmup = Duration::from_secs_f64(args.warmup);
    let warm = drive(&plugin, &args, api, Until::Elapsed(warmup)).await;
    let rss_after_warmup = usage::resident_mib(pid).unwrap_or_default();

    let cpu_before = usage::cpu_seconds(pid);
    let started = Instant::now();
    let sampler = Sampler::start(pid, args.sample, started);
    let until = match args.count {
        Some(count) => Until::Count(count),
        None => Until::Elapsed(Duration::from_secs_f64(args.duration)),
    };
    let measured = drive(&plugin, &args, api, until).await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_before
        .zip(usage::cpu_seconds(pid))
        .map(|(before, after)| after - before);
    let mut samples = sampler.finish().await;
    let rss_end = usage::resident_mib(pid).unwrap_or_default();
    samples.push(RssSample {
        seconds,
        mib: rss_end,
    });
    let peak_rss = usage::peak_resident_mib(pid).unwrap_or_default();
    let startup_ms = plugin.startup.as_secs_f64() * 1000.0;
    plugin.shutdown().await.context("stopping the plugin")?;
    let restarts = measure_starts(&args).await?;

    Ok(Report::new(
        &args,
        measured,
        warm.errors,
        seconds,
        startup_ms,
        restarts,
        [idle_rss, rss_after_warmup, rss_end, peak_rss],
        samples,
        cpu_seconds,
    ))
}

/// Launches the plugin as Grafana does.
async fn launch(args: &Args) -> anyhow::Result<PluginProcess> {
    let (program, rest) = args.command.split_first().context("no plugin command")?;
    let mut command = tokio::process::Command::new(program);
    command.args(rest);
    for (key, value) in &args.env {
        command.env(key, value);
    }
    PluginProcess::launch(command)
        .await
        .with_context(|| format!("launching {}", program.display()))
}

/// Launches the plugin `--starts` more times: spawn to handshake, in ms.
async fn measure_starts(args: &Args) -> anyhow::Result<Vec<f64>> {
    let mut startups = Vec::with_capacity(args.starts);
    for _ in 0..args.starts {
        let plugin = launch(args).await?;
        startups.push(plugin.startup.as_secs_f64() * 1000.0);
        plugin.shutdown().await?;
    }
    Ok(startups)
}

/// When the callers stop.
#[derive(Debug, Clone, Copy)]
enum Until {
    Elapsed(Duration),
    Count(u64),
}

/// Runs `--callers` callers until `until`, and gathers what they did.
async fn drive(plugin: &PluginProcess, args: &Args, api: Option<&str>, until: Until) -> Outcome {
    let deadline = match until {
        Until::Elapsed(duration) => Some(Instant::now() + duration),
        Until::Count(_) => None,
    };
    let limit = match until {
        Until::Count(count) => count,
        Until::Elapsed(_) => u64::MAX,
    };
    let next = Arc::new(AtomicU64::new(0));
    let callers: Vec<_> = (0..args.callers.max(1))
        .map(|_| {
            let mut caller = Caller::new(plugin, args, api);
            let next = next.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    if seq >= limit || deadline.is_some_and(|d| Instant::now() >= d) {
                        return outcome;
                    }
                    let started = Instant::now();
                    match caller.call(seq).await {
                        Ok(()) => outcome.latencies.record(started.elapsed()),
                        Err(err) => outcome.failed(err),
                    }
                }
            })
        })
        .collect();
    let mut total = Outcome::default();
    for caller in callers {
        match caller.await {
            Ok(outcome) => total.merge(outcome),
            Err(err) => total.failed(format!("caller task failed: {err}")),
        }
    }
    total
}

impl Outcome {
    fn failed(&mut self, error: String) {
        self.errors += 1;
        self.keep_sample(error);
    }

    fn merge(&mut self, other: Outcome) {
        self.latencies.merge(other.latencies);
        self.errors += other.errors;
        for error in other.error_samples {
            self.keep_sample(error);
        }
    }

    /// Keeps `error` among the samples if it is new and there is room.
    fn keep_sample(&mut self, error: String) {
        if self.error_samples.len() < ERROR_SAMPLES && !self.error_samples.contains(&error) {
            self.error_samples.push(error);
        }
    }
}

/// Samples resident memory every `every` seconds (never when 0) until
/// finished.
struct Sampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<RssSample>>,
}

impl Sampler {
    fn start(pid: u32, every: f64, started: Instant) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            if every <= 0.0 {
                let _ = stopped.await;
                return samples;
            }
            let mut ticks = tokio::time::interval(Duration::from_secs_f64(every));
            loop {
                tokio::select! {
                    _ = &mut stopped => return samples,
                    _ = ticks.tick() => {
                        if let Some(mib) = usage::resident_mib(pid) {
                            let seconds = started.elapsed().as_secs_f64();
                            samples.push(RssSample { seconds, mib });
                        }
                    }
                }
            }
        });
        Self { stop, task }
    }

    async fn finish(self) -> Vec<RssSample> {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}
