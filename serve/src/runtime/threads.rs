//! Where guest code runs: every guest call that lasts past its first yield
//! on a thread of its own, off the async workers serving gRPC (a
//! datasource's first concurrent call starts on the worker that received
//! it, and most small calls end there, before the guest's first epoch
//! tick).
//!
//! A guest that spins holds its thread until the epoch ticker interrupts
//! it; on its own thread it competes with the server and with other
//! datasources' calls only for CPU time, which the operating system shares
//! fairly, so the server keeps reading requests and answering the calls of
//! others. The operating system shares CPU time between threads, not
//! datasources, so a datasource's second and later concurrent calls run on
//! threads of lower priority: its k-th call weighs about 1/k of a first
//! call, and a datasource spinning 16 calls weighs about as much as 3.4
//! healthy ones. The threads belong to a runtime of their own, whose one
//! worker drives the timers and sockets of guest calls (deadlines,
//! outgoing HTTP) whatever the server's workers are doing.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::engine::EPOCH_TICK;

/// Workers of the guests' runtime: they only drive timers and sockets.
const IO_WORKERS: usize = 1;

/// Threads kept for guest calls; above this, calls wait for one to free
/// up. Admission and the stream caps keep far fewer busy.
const MAX_THREADS: usize = 1024;

/// How long an unused guest thread is kept for the next call.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Largest nice value (least priority).
const MAX_NICE: i32 = 19;

/// The nice value of a datasource's `rank`-th concurrent call: each nice
/// step divides a thread's weight by about 1.25, so `ln(rank) / ln(1.25)`
/// steps weigh it 1/rank.
fn nice_for(rank: usize) -> i32 {
    ((rank.max(1) as f64).ln() / 1.25_f64.ln())
        .round()
        .min(f64::from(MAX_NICE)) as i32
}

/// Most datasources remembered as long runners; beyond, the memory starts
/// afresh (a forgotten one costs one tick on a worker again).
const MAX_LONG_RUNNERS: usize = 10_000;

/// How long a datasource stays a long runner after its last call that
/// outlasted a tick, whatever its calls do meanwhile.
const LONG_RUNNER_MEMORY: Duration = Duration::from_secs(60);

/// The datasources that had a call outlast an epoch tick within the last
/// [`LONG_RUNNER_MEMORY`]. Their calls go to a guest thread at once, so a
/// guest that spins holds a gRPC worker for at most one tick a minute, even
/// one that alternates quick calls with spinning ones.
pub struct LongRunners<K>(Mutex<HashMap<K, Instant>>);

impl<K> Default for LongRunners<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq> LongRunners<K> {
    /// Whether a first call of `key` may start on the caller's thread.
    pub fn may_start_here(&self, key: &K) -> bool {
        let long = self.0.lock().expect("long runners lock");
        long.get(key)
            .is_none_or(|last| last.elapsed() >= LONG_RUNNER_MEMORY)
    }

    /// A call of `key` ran for `took` (from its start to its end).
    pub fn record(&self, key: K, took: Duration) {
        if took <= EPOCH_TICK {
            return;
        }
        let mut long = self.0.lock().expect("long runners lock");
        if long.len() >= MAX_LONG_RUNNERS {
            long.clear();
        }
        long.insert(key, Instant::now());
    }
}

/// Polls `future` once: its output, or the future when it is not ready.
async fn poll_once<F: Future + Unpin>(future: F) -> Result<F::Output, F> {
    let mut future = Some(future);
    std::future::poll_fn(|cx| {
        let pending = future.as_mut().expect("polled once");
        match std::pin::Pin::new(pending).poll(cx) {
            std::task::Poll::Ready(done) => std::task::Poll::Ready(Ok(done)),
            std::task::Poll::Pending => {
                std::task::Poll::Ready(Err(future.take().expect("polled once")))
            }
        }
    })
    .await
}

/// Why a guest call produced nothing: the host is stopping.
#[derive(Debug, Clone, Copy)]
pub struct Stopped;

/// A call's outcome, or its panic (`None`: the runtime stopped).
type Outcome<T> = Result<T, Option<Box<dyn std::any::Any + Send>>>;

/// The guests' runtime and threads.
pub struct GuestThreads {
    /// Drives the guests' timers and sockets; its blocking threads run the
    /// calls of nice value 0.
    runtime: Option<Runtime>,
    /// One pool of threads per nice value above 0, made when first used:
    /// a thread's priority cannot be raised again without privileges, so
    /// a thread keeps its nice value and serves only calls of that value.
    /// `None` when the pool could not be made (its calls use value 0).
    niced: [OnceLock<Option<Runtime>>; MAX_NICE as usize],
    /// Cancelled at shutdown: every call ends at its next yield.
    stop: CancellationToken,
    /// The calls running, for waiting on them at shutdown.
    calls: TaskTracker,
}

impl GuestThreads {
    /// Starts the guests' runtime.
    ///
    /// # Errors
    /// When its threads cannot be started.
    pub fn new() -> std::io::Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(IO_WORKERS)
            .max_blocking_threads(MAX_THREADS)
            .thread_keep_alive(KEEP_ALIVE)
            .thread_name("guest")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
            niced: std::array::from_fn(|_| OnceLock::new()),
            stop: CancellationToken::new(),
            calls: TaskTracker::new(),
        })
    }

    fn handle(&self) -> &Handle {
        self.runtime
            .as_ref()
            .expect("the guests' runtime lives as long as its owner")
            .handle()
    }

    /// The threads that run calls of `nice`: a runtime without workers of
    /// its own, used only for its pool of blocking threads, each of which
    /// lowers its own priority when it starts (on Linux the nice value is
    /// a thread's own).
    fn pool_of(&self, nice: i32) -> &Handle {
        let Some(level) = usize::try_from(nice)
            .ok()
            .and_then(|nice| nice.checked_sub(1))
            .and_then(|level| self.niced.get(level))
        else {
            return self.handle();
        };
        let pool = level.get_or_init(|| {
            Builder::new_current_thread()
                .max_blocking_threads(MAX_THREADS)
                .thread_keep_alive(KEEP_ALIVE)
                .thread_name("guest")
                .on_thread_start(move || {
                    let _ = rustix::process::setpriority_process(None, nice);
                })
                .build()
                .inspect_err(|err| {
                    tracing::warn!(error = %err, nice, "cannot start guest threads of lower priority; using the others");
                })
                .ok()
        });
        pool.as_ref().map_or_else(|| self.handle(), Runtime::handle)
    }

    /// Runs `work`, its datasource's `rank`-th concurrent call, on a guest
    /// thread (of lower priority from the second call on). With
    /// `start_here` it starts on the caller's thread and moves to a guest
    /// thread only if it is not over by its first yield: most calls are,
    /// and they are spared the two thread switches of the hand-over, most
    /// of what a small call costs. A guest yields at every epoch tick, so
    /// such a start holds the caller's thread for at most one tick (see
    /// [`LongRunners`] for who may start here). The call ends early,
    /// dropped at its next yield, when the returned future is dropped (the
    /// caller went away) or the host stops.
    ///
    /// # Errors
    /// [`Stopped`] when the host stopped the call, or was stopping already.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
        rank: usize,
        start_here: bool,
    ) -> Result<T, Stopped> {
        if self.stop.is_cancelled() {
            return Err(Stopped);
        }
        let cancel = self.stop.child_token();
        let _cancel_when_dropped = cancel.clone().drop_guard();
        let cancellable = async move {
            tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                done = work => Some(done),
            }
        };
        let mut cancellable = Box::pin(cancellable);
        if start_here {
            match poll_once(cancellable).await {
                Ok(Some(done)) => return Ok(done),
                Ok(None) => return Err(Stopped),
                Err(pending) => cancellable = pending,
            }
        }
        let pool = self.pool_of(nice_for(rank));
        match self
            .calls
            .track_future(self.run_on(pool, cancellable))
            .await
        {
            Ok(Some(done)) => Ok(done),
            Ok(None) => Err(Stopped),
            Err(Some(panic)) => std::panic::resume_unwind(panic),
            Err(None) => Err(Stopped),
        }
    }

    /// Runs `work` on a thread of `pool`, its timers and sockets driven by
    /// the guests' runtime.
    async fn run_on<T: Send + 'static>(
        &self,
        pool: &Handle,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Outcome<T> {
        let io = self.handle().clone();
        pool.spawn_blocking(move || io.block_on(work))
            .await
            .map_err(|err| err.try_into_panic().ok())
    }

    /// Runs `work` on a guest thread to its end, whatever happens to the
    /// caller or the host (disposal, which has its own deadline).
    pub fn spawn<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        let handle = self.handle().clone();
        self.handle().spawn_blocking(move || handle.block_on(work))
    }

    /// Waits up to `grace` for the calls running to end by themselves,
    /// then stops the rest, and every later call at once.
    pub async fn stop(&self, grace: Duration) {
        self.calls.close();
        if tokio::time::timeout(grace, self.calls.wait())
            .await
            .is_err()
        {
            tracing::info!(
                calls = self.calls.len(),
                ?grace,
                "guest calls still running at shutdown are stopped"
            );
        }
        self.stop.cancel();
    }
}

impl Drop for GuestThreads {
    /// Leaves threads still running behind instead of waiting for them:
    /// the owner may be dropped on an async worker, where blocking is not
    /// allowed, and at exit nothing must wait for a guest.
    fn drop(&mut self) {
        for pool in self
            .niced
            .iter_mut()
            .filter_map(|level| level.take().flatten())
        {
            pool.shutdown_background();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datasource_with_a_long_call_stays_off_the_workers_despite_quick_ones() {
        let long = LongRunners::default();
        assert!(long.may_start_here(&"ds"));
        long.record("ds", EPOCH_TICK + Duration::from_millis(1));
        assert!(!long.may_start_here(&"ds"));
        long.record("ds", Duration::from_micros(50));
        assert!(
            !long.may_start_here(&"ds"),
            "a quick call does not make a spinner welcome again"
        );
        long.record("other", Duration::from_micros(50));
        assert!(long.may_start_here(&"other"));
    }
}
