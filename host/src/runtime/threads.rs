//! Where guest code runs: every guest call on a thread of its own, never on
//! the async workers serving gRPC.
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

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Workers of the guests' runtime: they only drive timers and sockets.
const IO_WORKERS: usize = 1;

/// Threads kept for guest calls; above this, calls wait for one to free
/// up. Admission and the stream caps keep far fewer busy.
const MAX_THREADS: usize = 1024;

/// How long an unused guest thread is kept for the next call.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Largest nice value (least priority).
const MAX_NICE: f64 = 19.0;

/// The nice value of a datasource's `rank`-th concurrent call: each nice
/// step divides a thread's weight by about 1.25, so `ln(rank) / ln(1.25)`
/// steps weigh it 1/rank.
fn nice_for(rank: usize) -> i32 {
    ((rank.max(1) as f64).ln() / 1.25_f64.ln())
        .round()
        .min(MAX_NICE) as i32
}

/// Why a guest call produced nothing: the host is stopping.
#[derive(Debug, Clone, Copy)]
pub struct Stopped;

/// The guests' runtime and threads.
pub struct GuestThreads {
    runtime: Option<tokio::runtime::Runtime>,
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(IO_WORKERS)
            .max_blocking_threads(MAX_THREADS)
            .thread_keep_alive(KEEP_ALIVE)
            .thread_name("guest")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
            stop: CancellationToken::new(),
            calls: TaskTracker::new(),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the guests' runtime lives as long as its owner")
            .handle()
    }

    /// Runs `work`, its datasource's `rank`-th concurrent call, on a guest
    /// thread (of lower priority from the second call on). It ends early,
    /// dropped at its next yield (guests yield at every epoch tick), when
    /// the returned future is dropped (the caller went away) or the host
    /// stops.
    ///
    /// # Errors
    /// [`Stopped`] when the host stopped the call, or was stopping already.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
        rank: usize,
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
        let finished = match nice_for(rank) {
            0 => self.calls.track_future(self.pooled(cancellable)).await,
            nice => self.calls.track_future(self.niced(cancellable, nice)).await,
        };
        match finished {
            Ok(Some(done)) => Ok(done),
            Ok(None) => Err(Stopped),
            Err(Some(panic)) => std::panic::resume_unwind(panic),
            Err(None) => Err(Stopped),
        }
    }

    /// Runs `work` on a pooled thread: the outcome, or its panic (`None`:
    /// the runtime stopped).
    async fn pooled<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Option<Box<dyn std::any::Any + Send>>> {
        self.spawn(work)
            .await
            .map_err(|err| err.try_into_panic().ok())
    }

    /// Runs `work` on a new thread of lower priority (`nice`), which ends
    /// with it: a thread's priority cannot be raised again without
    /// privileges, so it is never pooled. Falls back to a pooled thread
    /// when no thread can be started.
    async fn niced<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
        nice: i32,
    ) -> Result<T, Option<Box<dyn std::any::Any + Send>>> {
        let (done, finished) = tokio::sync::oneshot::channel();
        let handle = self.handle().clone();
        // Taken by the thread, or back for a pooled one if it cannot start.
        let slot = Arc::new(Mutex::new(Some(work)));
        let taken = slot.clone();
        let spawned = std::thread::Builder::new()
            .name("guest".into())
            .spawn(move || {
                // On Linux the nice value is a thread's own.
                let _ = rustix::process::setpriority_process(None, nice);
                let work = taken.lock().ok().and_then(|mut work| work.take());
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work.map(|work| handle.block_on(work))
                }));
                let _ = done.send(outcome);
            });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "cannot start a guest thread; using a pooled one");
            let work = slot.lock().ok().and_then(|mut work| work.take());
            return match work {
                Some(work) => self.pooled(work).await,
                None => Err(None),
            };
        }
        match finished.await {
            Ok(Ok(Some(done))) => Ok(done),
            Ok(Err(panic)) => Err(Some(panic)),
            Ok(Ok(None)) | Err(_) => Err(None),
        }
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
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
