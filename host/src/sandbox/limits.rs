//! Limits on guest calls that are not about one instance's resources: how
//! long a call may run, how many run at once, and how a guest that keeps
//! trapping is kept from being restarted in a hot loop.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::{SandboxConfig, seconds};

/// Taken off Grafana's deadline, so that the guest is stopped and the
/// precise DEADLINE_EXCEEDED answer sent before the transport's own timer
/// cancels the call with a vaguer status.
const DEADLINE_MARGIN: Duration = Duration::from_millis(20);

/// The deadline of each RPC: the configured maximum for its kind, lowered
/// by the gRPC deadline Grafana sends.
#[derive(Debug, Clone)]
pub struct Deadlines {
    query: Duration,
    resource: Duration,
    health: Duration,
    other: Duration,
}

impl Deadlines {
    /// The maxima of `config`.
    pub fn new(config: &SandboxConfig) -> Self {
        Self {
            query: seconds(config.query_timeout_seconds),
            resource: seconds(config.resource_timeout_seconds),
            health: seconds(config.health_timeout_seconds),
            other: seconds(config.call_timeout_seconds),
        }
    }

    /// How long a call of `rpc` may run, given the deadline Grafana sent.
    /// RunStream has none: it ends when Grafana cancels it.
    pub fn of(&self, rpc: &str, requested: Option<Duration>) -> Option<Duration> {
        let requested = requested.map(|d| d.saturating_sub(DEADLINE_MARGIN).max(DEADLINE_MARGIN));
        let maximum = match rpc {
            "RunStream" => return requested,
            "QueryData" | "QueryChunkedData" => self.query,
            "CallResource" => self.resource,
            "CheckHealth" => self.health,
            _ => self.other,
        };
        Some(requested.map_or(maximum, |requested| requested.min(maximum)))
    }
}

/// Admission of guest calls: at most `max_concurrent_calls` run, at most
/// `max_queued_calls` wait, and the rest are refused at once.
pub struct CallGate {
    running: std::sync::Arc<Semaphore>,
    max_running: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("{running} guest calls are running and {waiting} are queued; the plugin is overloaded")]
pub struct Overloaded {
    /// Calls running.
    pub running: usize,
    /// Calls queued.
    pub waiting: usize,
}

impl CallGate {
    /// A gate with the limits of `config`.
    pub fn new(config: &SandboxConfig) -> Self {
        let max_running = config.max_concurrent_calls as usize;
        Self {
            running: std::sync::Arc::new(Semaphore::new(max_running)),
            max_running,
            waiting: AtomicUsize::new(0),
            max_waiting: config.max_queued_calls as usize,
        }
    }

    /// Waits for a free slot, or fails at once when the queue is full. The
    /// slot is held until the permit is dropped.
    ///
    /// # Errors
    /// [`Overloaded`] when the queue is full.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Overloaded> {
        if let Ok(permit) = self.running.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _queued = DecrementOnDrop(&self.waiting);
        if waiting >= self.max_waiting {
            return Err(Overloaded {
                running: self.max_running - self.running.available_permits(),
                waiting,
            });
        }
        self.running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Overloaded {
                running: self.max_running,
                waiting,
            })
    }
}

struct DecrementOnDrop<'a>(&'a AtomicUsize);

impl Drop for DecrementOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Shortest and longest time calls of a failing guest are refused.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Consecutive failures (traps and timeouts) per plugin instance; after
/// `after` of them in a row, calls for that instance are refused for a
/// while that doubles with each further failure. One success clears it.
pub struct TrapBackoff<K> {
    after: u32,
    failures: Mutex<HashMap<K, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    until: Option<Instant>,
}

/// Why a call was refused without running.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "the plugin failed {failures} calls in a row; calls are refused for another {retry_in:.1?}"
)]
pub struct BackedOff {
    /// Consecutive failures so far.
    pub failures: u32,
    /// How long until calls are let through again.
    pub retry_in: Duration,
}

impl<K: std::hash::Hash + Eq + Clone> TrapBackoff<K> {
    /// Backs off after `after` consecutive failures (0: never).
    pub fn new(after: u32) -> Self {
        Self {
            after,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a call for `key` may run now.
    ///
    /// # Errors
    /// [`BackedOff`] while `key` is backed off.
    pub fn check(&self, key: &K) -> Result<(), BackedOff> {
        let failures = self.failures.lock().expect("backoff lock");
        match failures.get(key) {
            Some(Failures {
                count,
                until: Some(until),
            }) if *until > Instant::now() => Err(BackedOff {
                failures: *count,
                retry_in: until.saturating_duration_since(Instant::now()),
            }),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a call for `key`.
    pub fn record(&self, key: &K, failed: bool) {
        let mut failures = self.failures.lock().expect("backoff lock");
        if !failed {
            failures.remove(key);
            return;
        }
        let entry = failures.entry(key.clone()).or_insert(Failures {
            count: 0,
            until: None,
        });
        entry.count += 1;
        if self.after > 0 && entry.count >= self.after {
            let doublings = (entry.count - self.after).min(6);
            let pause = (BACKOFF_MIN * 2u32.pow(doublings)).min(BACKOFF_MAX);
            entry.until = Some(Instant::now() + pause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_deadlines_lower_the_configured_ones() {
        let deadlines = Deadlines::new(&SandboxConfig {
            query_timeout_seconds: 10.0,
            health_timeout_seconds: 2.0,
            ..SandboxConfig::default()
        });
        let s = Duration::from_secs;
        assert_eq!(deadlines.of("QueryData", None), Some(s(10)));
        let margin = DEADLINE_MARGIN;
        assert_eq!(deadlines.of("QueryData", Some(s(3))), Some(s(3) - margin));
        assert_eq!(deadlines.of("QueryData", Some(s(60))), Some(s(10)));
        assert_eq!(deadlines.of("CheckHealth", None), Some(s(2)));
        assert_eq!(deadlines.of("RunStream", None), None);
        assert_eq!(deadlines.of("RunStream", Some(s(5))), Some(s(5) - margin));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_calls() {
        let gate = std::sync::Arc::new(CallGate::new(&SandboxConfig {
            max_concurrent_calls: 1,
            max_queued_calls: 1,
            ..SandboxConfig::default()
        }));
        let running = gate.enter().await.unwrap();
        let queued = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter().await.map(drop) }
        });
        tokio::task::yield_now().await;
        while gate.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(gate.enter().await.is_err());
        drop(running);
        assert!(queued.await.unwrap().is_ok());
        assert!(gate.enter().await.is_ok());
    }

    #[test]
    fn repeated_failures_back_off_and_a_success_clears_them() {
        let backoff = TrapBackoff::new(2);
        backoff.record(&"a", true);
        assert!(backoff.check(&"a").is_ok());
        backoff.record(&"a", true);
        let err = backoff.check(&"a").unwrap_err();
        assert_eq!(err.failures, 2);
        assert!(err.retry_in <= BACKOFF_MIN);
        assert!(backoff.check(&"b").is_ok());
        backoff.record(&"a", false);
        assert!(backoff.check(&"a").is_ok());
    }
}
