//! Where guest code runs: every guest call on a thread of its own, never on
//! the async workers serving gRPC.
//!
//! A guest that spins holds its thread until the epoch ticker interrupts
//! it; on its own thread it competes with the server and with other
//! datasources' calls only for CPU time, which the operating system shares
//! fairly, so the server keeps reading requests and answering the calls of
//! others. The threads belong to a runtime of their own, whose one worker
//! drives the timers and sockets of guest calls (deadlines, outgoing HTTP)
//! whatever the server's workers are doing.

use std::future::Future;
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

    /// Runs `work` on a guest thread. It ends early, dropped at its next
    /// yield (guests yield at every epoch tick), when the returned future
    /// is dropped (the caller went away) or the host stops.
    ///
    /// # Errors
    /// [`Stopped`] when the host stopped the call, or was stopping already.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Stopped> {
        if self.stop.is_cancelled() {
            return Err(Stopped);
        }
        let cancel = self.stop.child_token();
        let _cancel_when_dropped = cancel.clone().drop_guard();
        let finished = self.calls.track_future(self.spawn(async move {
            tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                done = work => Some(done),
            }
        }));
        match finished.await {
            Ok(Some(done)) => Ok(done),
            Ok(None) => Err(Stopped),
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(Stopped),
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
