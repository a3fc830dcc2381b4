//! What each datasource costs: guest CPU time, calls and errors, instances
//! and their memory, outgoing HTTP requests and bytes, labelled by
//! datasource uid. The first [`MAX_DATASOURCES`] datasources seen get a
//! label of their own, later ones share `other`, so that a Grafana with
//! thousands of datasources cannot blow up the scrape; calls without a
//! datasource (apps, plugin-wide calls) are labelled `none`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{Counter, CounterVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts};

use super::registered;

/// Datasources with a label of their own.
pub const MAX_DATASOURCES: usize = 100;

/// The label of datasources beyond [`MAX_DATASOURCES`].
pub const OTHER: &str = "other";

/// The label of calls without a datasource.
pub const NONE: &str = "none";

/// One datasource's (or `other`'s, or `none`'s) counters.
#[derive(Debug)]
pub struct Account {
    calls: IntCounter,
    errors: IntCounter,
    cpu: Counter,
    instances: IntGauge,
    memory: IntGauge,
    http_requests: IntCounter,
    http_sent: IntCounter,
    http_received: IntCounter,
}

impl Account {
    /// A call finished, failed or not.
    pub fn call(&self, failed: bool) {
        self.calls.inc();
        if failed {
            self.errors.inc();
        }
    }

    /// CPU time a guest thread spent on this datasource's call.
    pub fn cpu(&self, spent: Duration) {
        self.cpu.inc_by(spent.as_secs_f64());
    }

    /// An instance was created (+1) or dropped (-1).
    pub fn add_instances(&self, delta: i64) {
        self.instances.add(delta);
    }

    /// Guest linear memory grew (or, negative, was released).
    pub fn add_memory(&self, delta: i64) {
        self.memory.add(delta);
    }

    /// An outgoing HTTP request was sent.
    pub fn http_request(&self) {
        self.http_requests.inc();
    }

    /// Request body bytes sent.
    pub fn http_sent(&self, bytes: u64) {
        self.http_sent.inc_by(bytes);
    }

    /// Response body bytes received.
    pub fn http_received(&self, bytes: u64) {
        self.http_received.inc_by(bytes);
    }
}

/// The per-datasource families and the accounts handed out so far.
pub struct Datasources {
    calls: IntCounterVec,
    errors: IntCounterVec,
    cpu: CounterVec,
    instances: IntGaugeVec,
    memory: IntGaugeVec,
    http_requests: IntCounterVec,
    http_sent: IntCounterVec,
    http_received: IntCounterVec,
    accounts: Mutex<HashMap<String, Arc<Account>>>,
}

impl Datasources {
    /// Registers the families in `registry`.
    ///
    /// # Errors
    /// Only on conflicting registrations, a programming error.
    pub fn new(registry: &prometheus::Registry) -> prometheus::Result<Self> {
        let label = &["datasource"];
        let counter = |name: &str, help: &str| {
            registered(registry, IntCounterVec::new(Opts::new(name, help), label)?)
        };
        let gauge = |name: &str, help: &str| {
            registered(registry, IntGaugeVec::new(Opts::new(name, help), label)?)
        };
        let cpu = registered(
            registry,
            CounterVec::new(
                Opts::new(
                    "datasource_guest_cpu_seconds_total",
                    "CPU time of the datasource's guest calls, on whichever threads ran them (instantiation included).",
                ),
                label,
            )?,
        )?;
        Ok(Self {
            calls: counter("datasource_calls_total", "Guest calls by datasource uid.")?,
            errors: counter(
                "datasource_errors_total",
                "Guest calls by datasource uid that answered an error (any query's, for QueryData).",
            )?,
            cpu,
            instances: gauge(
                "datasource_instances",
                "Live guest instances by datasource uid.",
            )?,
            memory: gauge(
                "datasource_guest_memory_bytes",
                "Linear memory of the datasource's live guest instances.",
            )?,
            http_requests: counter(
                "datasource_http_requests_total",
                "Outgoing HTTP requests the datasource's guests sent.",
            )?,
            http_sent: counter(
                "datasource_http_sent_bytes_total",
                "Request body bytes the datasource's guests sent.",
            )?,
            http_received: counter(
                "datasource_http_received_bytes_total",
                "Response body bytes the datasource's guests received.",
            )?,
            accounts: Mutex::default(),
        })
    }

    /// The account of the datasource `uid` (`None`: no datasource).
    pub fn account(&self, uid: Option<&str>) -> Arc<Account> {
        let uid = uid.unwrap_or(NONE);
        let mut accounts = self.accounts.lock().expect("datasource accounts lock");
        if let Some(account) = accounts.get(uid) {
            return account.clone();
        }
        // `none` and `other` do not count against the cap.
        let own = accounts
            .keys()
            .filter(|k| *k != NONE && *k != OTHER)
            .count();
        let label = if uid == NONE || own < MAX_DATASOURCES {
            uid
        } else {
            OTHER
        };
        accounts
            .entry(label.to_owned())
            .or_insert_with(|| Arc::new(self.labelled(label)))
            .clone()
    }

    fn labelled(&self, label: &str) -> Account {
        let labels = &[label];
        Account {
            calls: self.calls.with_label_values(labels),
            errors: self.errors.with_label_values(labels),
            cpu: self.cpu.with_label_values(labels),
            instances: self.instances.with_label_values(labels),
            memory: self.memory.with_label_values(labels),
            http_requests: self.http_requests.with_label_values(labels),
            http_sent: self.http_sent.with_label_values(labels),
            http_received: self.http_received.with_label_values(labels),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasources_beyond_the_cap_share_other() {
        let registry = prometheus::Registry::new();
        let datasources = Datasources::new(&registry).unwrap();
        for n in 0..MAX_DATASOURCES + 5 {
            datasources.account(Some(&format!("ds-{n}"))).call(false);
        }
        datasources.account(None).call(true);
        datasources.account(Some("ds-0")).call(false);
        let calls = &registry
            .gather()
            .into_iter()
            .find(|family| family.name() == "datasource_calls_total")
            .unwrap();
        let by_label: HashMap<String, f64> = calls
            .get_metric()
            .iter()
            .map(|m| {
                (
                    m.get_label()[0].value().to_owned(),
                    m.get_counter().get_value(),
                )
            })
            .collect();
        assert_eq!(
            by_label.len(),
            MAX_DATASOURCES + 2,
            "own labels, other and none"
        );
        assert_eq!(by_label[OTHER], 5.0);
        assert_eq!(by_label["ds-0"], 2.0);
        assert_eq!(by_label[NONE], 1.0);
    }
}
