//! Hot swap: a new version of the component replaces the running one while
//! Grafana keeps calling.
//!
//! A reload compiles the file off the request path and checks it: it is a
//! component, it fits the contract (imports the host provides, handler
//! interfaces of the right shape), it instantiates, and, when it has a
//! health check, that check passes with the live settings of the
//! datasources in use (a new version may only fail where the running one
//! fails too). Then it is swapped in atomically: new calls go to the new
//! version; calls in flight finish on the old one, which is dropped with
//! its last call; running streams of the old version end with
//! `UNAVAILABLE`, which makes Grafana run them again, on the new version.
//! A version that fails a check is rejected: the old one keeps serving, the
//! reason is logged, counted and reported in CheckHealth's details.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::health::HealthIndices;
use super::pool::IdlePool;
use super::{CallError, Outbox, Plugin, Runtime};
use crate::rpc::{Incoming, Rpc};
use crate::sandbox::Sandbox;
use crate::wit::types::{CheckHealthRequest, CheckHealthResult, HealthStatus, PluginContext};

/// One version of the component, serving calls.
pub struct Loaded {
    /// The compiled, checked component.
    pub plugin: Arc<Plugin>,
    /// Its warm instances.
    pub(super) idle: IdlePool,
    /// Cancelled when a newer version replaces this one: ends its streams.
    pub(super) retired: CancellationToken,
    /// When it started serving.
    pub loaded_at: SystemTime,
}

impl Loaded {
    /// `plugin`, ready to serve, with an empty pool.
    pub fn new(plugin: Arc<Plugin>, sandbox: &Sandbox) -> Self {
        Self {
            plugin,
            idle: IdlePool::new(sandbox.config.max_instances as usize / 2),
            retired: CancellationToken::new(),
            loaded_at: SystemTime::now(),
        }
    }

    fn identity(&self) -> Value {
        json!({
            "sha256": self.plugin.sha256,
            "path": self.plugin.path.display().to_string(),
            "loadedAt": chrono::DateTime::<chrono::Utc>::from(self.loaded_at).to_rfc3339(),
        })
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The file has the content already serving.
    Unchanged,
    /// The new version serves new calls.
    Swapped {
        /// Its SHA-256.
        sha256: String,
    },
    /// The new version failed a check; the old one keeps serving.
    Rejected {
        /// Which check, and why.
        reason: String,
    },
}

/// The bookkeeping of hot swaps.
#[derive(Default)]
pub struct SwapState {
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// The version replaced by the last swap, for restoring it.
    previous: Mutex<Option<Arc<Plugin>>>,
    /// The last rejected version, for CheckHealth's details.
    rejected: Mutex<Option<Value>>,
}

impl Runtime {
    /// Loads the component file again and, if it is a new version that
    /// passes every check, swaps it in.
    pub async fn reload(self: &Arc<Self>) -> ReloadOutcome {
        let _one_at_a_time = self.swap.reloading.lock().await;
        let started = Instant::now();
        let candidate = match self.load().await {
            Ok(plugin) => plugin,
            Err(err) => return self.reject(None, err.to_string()),
        };
        let current = self.loaded().ok();
        if current
            .as_ref()
            .is_some_and(|c| c.plugin.sha256 == candidate.sha256)
        {
            return ReloadOutcome::Unchanged;
        }
        let candidate = Arc::new(Loaded::new(candidate, &self.sandbox));
        if let Err(reason) = self.health_gate(&candidate, current.as_ref()).await {
            return self.reject(Some(&candidate.plugin.sha256), reason);
        }
        let sha256 = candidate.plugin.sha256.clone();
        self.install(candidate);
        tracing::info!(sha256, elapsed = ?started.elapsed(), "new plugin component version swapped in");
        ReloadOutcome::Swapped { sha256 }
    }

    /// Swaps the version replaced last back in.
    ///
    /// # Errors
    /// When no version was replaced yet.
    pub fn restore_previous(&self) -> Result<String, &'static str> {
        let previous = self
            .swap
            .previous
            .lock()
            .expect("swap lock")
            .take()
            .ok_or("no previous version to restore")?;
        let sha256 = previous.sha256.clone();
        self.install(Arc::new(Loaded::new(previous, &self.sandbox)));
        tracing::info!(sha256, "previous plugin component version restored");
        Ok(sha256)
    }

    /// The serving version and the last rejected one, for CheckHealth's
    /// details.
    pub fn identity(&self) -> Value {
        let current = self.loaded().ok();
        let rejected = self.swap.rejected.lock().expect("swap lock").clone();
        json!({
            "component": current.map(|c| c.identity()),
            "version": *self.settings.plugin_version,
            "rejected": rejected,
        })
    }

    /// Makes `loaded` the serving version; the old one finishes its calls
    /// and its streams end.
    fn install(&self, loaded: Arc<Loaded>) {
        self.metrics.component_loaded(
            &loaded.plugin.sha256,
            &loaded.plugin.path.display().to_string(),
            &self.settings.plugin_version,
        );
        let old = {
            let mut current = self.current.write().expect("runtime version lock");
            std::mem::replace(&mut *current, Ok(loaded))
        };
        if let Ok(old) = old {
            old.retired.cancel();
            self.dispose(old.idle.drain());
            *self.swap.previous.lock().expect("swap lock") = Some(old.plugin.clone());
        }
    }

    fn reject(&self, sha256: Option<&str>, reason: String) -> ReloadOutcome {
        self.metrics.component_rejected();
        tracing::error!(
            reason,
            sha256,
            "new plugin component version rejected; the running version keeps serving"
        );
        *self.swap.rejected.lock().expect("swap lock") = Some(json!({
            "sha256": sha256,
            "reason": reason,
            "at": chrono::Utc::now().to_rfc3339(),
        }));
        ReloadOutcome::Rejected { reason }
    }

    /// CheckHealth of the candidate with the settings of each datasource
    /// in use must not fail where the serving version's passes.
    async fn health_gate(
        self: &Arc<Self>,
        candidate: &Arc<Loaded>,
        current: Option<&Arc<Loaded>>,
    ) -> Result<(), String> {
        if candidate.plugin.exports.check_health.is_none() {
            return Ok(());
        }
        for ctx in self.known.gate_contexts() {
            let checked = self.check_health_on(candidate, ctx.clone()).await;
            if healthy(&checked) {
                continue;
            }
            let baseline = match current {
                Some(current) => self.check_health_on(current, ctx.clone()).await,
                None => Err(CallError::Unimplemented),
            };
            if healthy(&baseline) {
                let uid = ctx
                    .data_source_instance_settings
                    .as_ref()
                    .map_or_else(|| format!("app of org {}", ctx.org_id), |ds| ds.uid.clone());
                return Err(format!(
                    "its health check fails for {uid} where the running version's passes: {}",
                    describe(&checked)
                ));
            }
        }
        Ok(())
    }

    async fn check_health_on(
        self: &Arc<Self>,
        version: &Arc<Loaded>,
        mut ctx: PluginContext,
    ) -> Result<CheckHealthResult, CallError> {
        let scope = self.scope_withholding_secrets(&Incoming::internal(Rpc::CheckHealth), &mut ctx);
        let request = CheckHealthRequest {
            plugin_context: ctx,
            headers: Vec::new(),
        };
        self.call_on::<HealthIndices, _>(version, scope, Outbox::default(), |guest, store| {
            Box::pin(async move { guest.call_check_health(store, &request).await })
        })
        .await
    }
}

fn healthy(result: &Result<CheckHealthResult, CallError>) -> bool {
    match result {
        Ok(result) => result.status != HealthStatus::Error,
        Err(CallError::Unimplemented) => true,
        Err(_) => false,
    }
}

fn describe(result: &Result<CheckHealthResult, CallError>) -> String {
    match result {
        Ok(result) => result.message.clone(),
        Err(err) => err.to_string(),
    }
}
