//! Limits on guest calls that are not about one instance's resources: how
//! long a call may run, how many run at once, and how a guest that keeps
//! trapping is kept from being restarted in a hot loop.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::config::{SandboxConfig, seconds};
use crate::rpc::Rpc;

/// Taken off Grafana's deadline, so that the guest is stopped and the
/// precise DEADLINE_EXCEEDED answer sent before the transport's own timer
/// cancels the call with a vaguer status (the answer goes at most two epoch
/// ticks after the deadline, however busy the machine).
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

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
    pub fn of(&self, rpc: Rpc, requested: Option<Duration>) -> Option<Duration> {
        let requested = requested.map(|d| d.saturating_sub(DEADLINE_MARGIN).max(DEADLINE_MARGIN));
        let maximum = match rpc {
            Rpc::RunStream => return requested,
            Rpc::QueryData | Rpc::QueryChunkedData => self.query,
            Rpc::CallResource => self.resource,
            Rpc::CheckHealth => self.health,
            Rpc::CollectMetrics
            | Rpc::SubscribeStream
            | Rpc::PublishStream
            | Rpc::ValidateAdmission
            | Rpc::MutateAdmission
            | Rpc::ConvertObjects => self.other,
        };
        Some(requested.map_or(maximum, |requested| requested.min(maximum)))
    }
}

/// Why a call found no capacity: it answers `RESOURCE_EXHAUSTED` with this
/// reason, and it never counts towards the trap back-off.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum Overloaded {
    /// Every call slot is taken and the queue is full.
    #[error("{running} guest calls are running and {waiting} are queued; the plugin is overloaded")]
    Queue {
        /// Calls running.
        running: usize,
        /// Calls queued.
        waiting: usize,
    },
    /// The datasource's share of the queue is full.
    #[error(
        "this datasource has {running} guest calls running and {waiting} queued, its share of the plugin's capacity; the plugin is overloaded for it"
    )]
    Share {
        /// Calls of the datasource running.
        running: usize,
        /// Calls of the datasource queued.
        waiting: usize,
    },
    /// The datasource has as many streams open as it may.
    #[error(
        "this datasource has {open} streams open, max_streams_per_datasource; the plugin is overloaded for it"
    )]
    DatasourceStreams {
        /// Its open streams.
        open: usize,
    },
    /// The plugin has as many streams open as it may.
    #[error("{open} streams are open, max_streams; the plugin is overloaded")]
    Streams {
        /// Open streams.
        open: usize,
    },
    /// Every guest instance slot is in use, and none is idle to make room.
    #[error(
        "all {slots} guest instance slots (max_instances) are in use by running calls and streams; the plugin is overloaded"
    )]
    Instances {
        /// The slots.
        slots: u32,
    },
}

/// What admission counts calls by (a datasource).
pub trait GateKey: Hash + Eq + Clone {}

impl<K: Hash + Eq + Clone> GateKey for K {}

/// Admission of guest calls, fair between datasources: at most
/// `max_concurrent_calls` run and `max_queued_calls` wait; one datasource
/// holds at most its share of either (`datasource_call_share`), so a flood
/// of one leaves room for the others; a freed slot goes to the waiting
/// datasource running the fewest calls. Calls beyond that are refused at
/// once.
pub struct CallGate<K: GateKey> {
    state: Mutex<GateState<K>>,
    max_running: usize,
    max_waiting: usize,
    share_running: usize,
    share_waiting: usize,
}

struct GateState<K: GateKey> {
    running: usize,
    waiting: usize,
    /// Ticket numbers, to find a queued call again and keep arrival order.
    next_ticket: u64,
    by_key: HashMap<K, KeyCalls<K>>,
}

struct KeyCalls<K: GateKey> {
    running: usize,
    queue: VecDeque<(u64, oneshot::Sender<CallPermit<K>>)>,
}

impl<K: GateKey> Default for KeyCalls<K> {
    fn default() -> Self {
        Self {
            running: 0,
            queue: VecDeque::new(),
        }
    }
}

/// A running call's slot, given back when dropped.
pub struct CallPermit<K: GateKey> {
    gate: Arc<CallGate<K>>,
    key: K,
    armed: bool,
    rank: usize,
}

impl<K: GateKey> CallPermit<K> {
    /// How many calls of its datasource were running once it was admitted,
    /// itself included.
    pub fn rank(&self) -> usize {
        self.rank
    }
}

impl<K: GateKey> Drop for CallPermit<K> {
    fn drop(&mut self) {
        if self.armed {
            let mut state = self.gate.state.lock().expect("call gate lock");
            self.gate.release(&mut state, &self.key);
        }
    }
}

/// `part` of `total`, rounded up, at least 1 when `total` is.
fn share_of(total: usize, part: f64) -> usize {
    ((total as f64 * part).ceil() as usize).clamp(total.min(1), total)
}

impl<K: GateKey> CallGate<K> {
    /// A gate with the limits of `config`.
    pub fn new(config: &SandboxConfig) -> Arc<Self> {
        let max_running = config.max_concurrent_calls as usize;
        let max_waiting = config.max_queued_calls as usize;
        Arc::new(Self {
            state: Mutex::new(GateState {
                running: 0,
                waiting: 0,
                next_ticket: 0,
                by_key: HashMap::new(),
            }),
            max_running,
            max_waiting,
            share_running: share_of(max_running, config.datasource_call_share),
            share_waiting: share_of(max_waiting, config.datasource_call_share),
        })
    }

    /// Waits for a slot for a call of `key`, or fails at once when the
    /// queue (or the datasource's share of it) is full. The slot is held
    /// until the permit is dropped.
    ///
    /// # Errors
    /// [`Overloaded`] when the call cannot even wait.
    pub async fn enter(self: &Arc<Self>, key: &K) -> Result<CallPermit<K>, Overloaded> {
        let (ticket, granted) = {
            let mut state = self.state.lock().expect("call gate lock");
            let (running, waiting) = (state.running, state.waiting);
            let calls = state.by_key.entry(key.clone()).or_default();
            if running < self.max_running
                && calls.running < self.share_running
                && calls.queue.is_empty()
            {
                calls.running += 1;
                let rank = calls.running;
                state.running += 1;
                return Ok(self.permit(key, rank));
            }
            if waiting >= self.max_waiting {
                return Err(Overloaded::Queue { running, waiting });
            }
            if calls.queue.len() >= self.share_waiting {
                return Err(Overloaded::Share {
                    running: calls.running,
                    waiting: calls.queue.len(),
                });
            }
            let (grant, granted) = oneshot::channel();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.waiting += 1;
            let calls = state.by_key.get_mut(key).expect("entry made above");
            calls.queue.push_back((ticket, grant));
            (ticket, granted)
        };
        let mut leave = LeaveQueue {
            gate: self,
            key,
            ticket: Some(ticket),
        };
        let permit = granted.await.map_err(|_| Overloaded::Queue {
            running: self.max_running,
            waiting: 0,
        })?;
        leave.ticket = None;
        Ok(permit)
    }

    fn permit(self: &Arc<Self>, key: &K, rank: usize) -> CallPermit<K> {
        CallPermit {
            gate: self.clone(),
            key: key.clone(),
            armed: true,
            rank,
        }
    }

    /// Gives back a slot of `key` and hands free slots to waiting calls.
    fn release(self: &Arc<Self>, state: &mut GateState<K>, key: &K) {
        state.running -= 1;
        if let Some(calls) = state.by_key.get_mut(key) {
            calls.running -= 1;
        }
        while state.running < self.max_running {
            let Some(next) = self.next_eligible(state) else {
                break;
            };
            let calls = state.by_key.get_mut(&next).expect("chosen from the map");
            let (_, grant) = calls.queue.pop_front().expect("chosen with a queue");
            calls.running += 1;
            let rank = calls.running;
            state.running += 1;
            state.waiting -= 1;
            if let Err(mut refused) = grant.send(self.permit(&next, rank)) {
                // The caller left meanwhile: undo, without re-entering.
                refused.armed = false;
                state.running -= 1;
                if let Some(calls) = state.by_key.get_mut(&next) {
                    calls.running -= 1;
                }
            }
        }
        state
            .by_key
            .retain(|_, calls| calls.running > 0 || !calls.queue.is_empty());
    }

    /// The waiting datasource below its share running the fewest calls
    /// (the earliest arrival among equals).
    fn next_eligible(&self, state: &GateState<K>) -> Option<K> {
        state
            .by_key
            .iter()
            .filter(|(_, calls)| calls.running < self.share_running)
            .filter_map(|(key, calls)| Some((calls.running, calls.queue.front()?.0, key)))
            .min_by_key(|(running, ticket, _)| (*running, *ticket))
            .map(|(_, _, key)| key.clone())
    }
}

/// Takes a call that stops waiting (its caller left) out of the queue.
struct LeaveQueue<'a, K: GateKey> {
    gate: &'a Arc<CallGate<K>>,
    key: &'a K,
    ticket: Option<u64>,
}

impl<K: GateKey> Drop for LeaveQueue<'_, K> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let mut state = self.gate.state.lock().expect("call gate lock");
        let Some(calls) = state.by_key.get_mut(self.key) else {
            return;
        };
        let before = calls.queue.len();
        calls.queue.retain(|(t, _)| *t != ticket);
        if calls.queue.len() < before {
            state.waiting -= 1;
        }
        // Otherwise it was granted a slot meanwhile: the permit, dropped
        // with the channel, gives it back.
    }
}

/// Open streams, in all and per datasource: a stream holds a guest
/// instance for as long as Grafana watches it, so their number is capped.
pub struct StreamGate<K: GateKey> {
    open: Mutex<(usize, HashMap<K, usize>)>,
    max_total: usize,
    max_per_key: usize,
}

/// An open stream, counted until dropped.
pub struct StreamPermit<K: GateKey> {
    gate: Arc<StreamGate<K>>,
    key: K,
    rank: usize,
}

impl<K: GateKey> StreamPermit<K> {
    /// How many streams of its datasource were open once it was opened,
    /// itself included.
    pub fn rank(&self) -> usize {
        self.rank
    }
}

impl<K: GateKey> Drop for StreamPermit<K> {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().expect("stream gate lock");
        open.0 -= 1;
        if let Some(count) = open.1.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.1.remove(&self.key);
            }
        }
    }
}

impl<K: GateKey> StreamGate<K> {
    /// A gate with the limits of `config`.
    pub fn new(config: &SandboxConfig) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new((0, HashMap::new())),
            max_total: config.max_streams as usize,
            max_per_key: config.max_streams_per_datasource as usize,
        })
    }

    /// Counts a new stream of `key`, unless it would exceed a cap.
    ///
    /// # Errors
    /// [`Overloaded`] naming the cap reached.
    pub fn open(self: &Arc<Self>, key: &K) -> Result<StreamPermit<K>, Overloaded> {
        let mut open = self.open.lock().expect("stream gate lock");
        if open.0 >= self.max_total {
            return Err(Overloaded::Streams { open: open.0 });
        }
        let count = open.1.entry(key.clone()).or_default();
        if *count >= self.max_per_key {
            return Err(Overloaded::DatasourceStreams { open: *count });
        }
        *count += 1;
        let rank = *count;
        open.0 += 1;
        Ok(StreamPermit {
            gate: self.clone(),
            key: key.clone(),
            rank,
        })
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

impl<K: GateKey> TrapBackoff<K> {
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
        assert_eq!(deadlines.of(Rpc::QueryData, None), Some(s(10)));
        let margin = DEADLINE_MARGIN;
        assert_eq!(
            deadlines.of(Rpc::QueryData, Some(s(3))),
            Some(s(3) - margin)
        );
        assert_eq!(deadlines.of(Rpc::QueryData, Some(s(60))), Some(s(10)));
        assert_eq!(deadlines.of(Rpc::CheckHealth, None), Some(s(2)));
        assert_eq!(deadlines.of(Rpc::RunStream, None), None);
        assert_eq!(
            deadlines.of(Rpc::RunStream, Some(s(5))),
            Some(s(5) - margin)
        );
    }

    fn gate(running: u32, queued: u32, share: f64) -> Arc<CallGate<&'static str>> {
        CallGate::new(&SandboxConfig {
            max_concurrent_calls: running,
            max_queued_calls: queued,
            datasource_call_share: share,
            ..SandboxConfig::default()
        })
    }

    #[tokio::test]
    async fn a_full_queue_refuses_calls() {
        let gate = gate(1, 1, 1.0);
        let running = gate.enter(&"a").await.unwrap();
        let queued = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(&"b").await.map(drop) }
        });
        while gate.state.lock().unwrap().waiting == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            gate.enter(&"c").await,
            Err(Overloaded::Queue { .. })
        ));
        drop(running);
        assert!(queued.await.unwrap().is_ok());
        assert!(gate.enter(&"a").await.is_ok());
    }

    #[tokio::test]
    async fn one_datasource_holds_only_its_share_and_freed_slots_go_to_others() {
        let gate = gate(4, 8, 0.5);
        let flood: Vec<_> = [gate.enter(&"a").await, gate.enter(&"a").await]
            .into_iter()
            .map(Result::unwrap)
            .collect();
        // Its share (2 of 4) is taken: its next call waits, another's runs.
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(&"a").await.map(drop) }
        });
        while gate.state.lock().unwrap().waiting == 0 {
            tokio::task::yield_now().await;
        }
        let other = gate.enter(&"b").await.unwrap();
        // Its share of the queue (4 of 8) fills up, then it is refused.
        let more: Vec<_> = (0..3)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.enter(&"a").await.map(drop) })
            })
            .collect();
        while gate.state.lock().unwrap().waiting < 4 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            gate.enter(&"a").await,
            Err(Overloaded::Share { .. })
        ));
        drop(other);
        drop(flood);
        assert!(waiting.await.unwrap().is_ok());
        for call in more {
            assert!(call.await.unwrap().is_ok());
        }
        assert_eq!(gate.state.lock().unwrap().running, 0);
    }

    #[tokio::test]
    async fn a_caller_leaving_the_queue_frees_its_place() {
        let gate = gate(1, 1, 1.0);
        let running = gate.enter(&"a").await.unwrap();
        let left = tokio::time::timeout(Duration::from_millis(10), gate.enter(&"b")).await;
        assert!(left.is_err(), "it waited");
        assert_eq!(gate.state.lock().unwrap().waiting, 0);
        drop(running);
        assert!(gate.enter(&"b").await.is_ok());
    }

    #[test]
    fn streams_are_capped_per_datasource_and_in_all() {
        let streams = StreamGate::new(&SandboxConfig {
            max_streams: 3,
            max_streams_per_datasource: 2,
            ..SandboxConfig::default()
        });
        let a: Vec<_> = (0..2).map(|_| streams.open(&"a").unwrap()).collect();
        assert!(matches!(
            streams.open(&"a"),
            Err(Overloaded::DatasourceStreams { open: 2 })
        ));
        let b = streams.open(&"b").unwrap();
        assert!(matches!(
            streams.open(&"c"),
            Err(Overloaded::Streams { open: 3 })
        ));
        drop(a);
        drop(b);
        assert!(streams.open(&"a").is_ok());
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
