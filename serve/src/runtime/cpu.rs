//! The CPU time a guest call costs, whichever threads run it: a call may
//! start on the gRPC worker that received it and end on a guest thread,
//! so the time is the sum over its polls of the polling thread's CPU time.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// `inner`, reporting with its output the CPU time its polls took.
pub struct OnCpu<'a, F> {
    inner: Pin<&'a mut F>,
    spent: Duration,
}

impl<'a, F: Future> OnCpu<'a, F> {
    /// Measures `inner` (pinned where it is, not copied to the heap).
    pub fn new(inner: Pin<&'a mut F>) -> Self {
        Self {
            inner,
            spent: Duration::ZERO,
        }
    }
}

impl<F: Future> Future for OnCpu<'_, F> {
    type Output = (F::Output, Duration);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let before = thread_cpu();
        let polled = self.inner.as_mut().poll(cx);
        self.spent += thread_cpu().saturating_sub(before);
        polled.map(|output| (output, self.spent))
    }
}

/// CPU time the current thread has used.
fn thread_cpu() -> Duration {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(time.tv_sec).unwrap_or(0),
        u32::try_from(time.tv_nsec).unwrap_or(0),
    )
}
