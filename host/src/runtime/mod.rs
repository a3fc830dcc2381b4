//! Running plugin components: the engine, the loaded component, a fresh
//! sandboxed instance per call, and what can go wrong in a guest call.
//!
//! Layering follows wasmtime's own: one [`wasmtime::Engine`] per process,
//! one pre-instantiated [`Plugin`] per component, one [`wasmtime::Store`] per
//! guest instance.

pub mod bindings;
pub mod cache;
mod engine;
mod plugin;
mod pool;
mod state;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use wasmtime::component::{Instance as ComponentInstance, Linker};
use wasmtime::{Engine, Store};

pub use plugin::{Exports, Family, LoadError, Plugin};
pub use pool::InstanceKey;
pub use state::{GuestState, Outbox};

use crate::metrics::Metrics;
use bindings::types::{HandlerError, PluginError};

/// A guest export call in flight: its trap, or the handler's result.
pub type GuestCall<'a, R> = BoxFuture<'a, wasmtime::Result<Result<R, HandlerError>>>;

/// Idle instances kept per plugin instance: enough for the usual
/// concurrency of one datasource on a small machine.
const MAX_IDLE_PER_KEY: usize = 4;

/// Linear memory a guest instance may use unless configured otherwise.
pub const DEFAULT_MAX_MEMORY: usize = 256 << 20;

/// Why a guest call produced no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No component is loaded; the text says why.
    #[error("plugin component not loaded: {0}")]
    NotLoaded(Arc<LoadError>),
    /// The component does not implement the handler.
    #[error("method not implemented")]
    Unimplemented,
    /// The handler returned an error.
    #[error("{}", .0.message)]
    Failed(PluginError),
    /// The guest trapped (panic, out of memory, ...) or could not be
    /// instantiated.
    #[error("plugin {plugin}: {rpc} failed in the sandbox: {cause:#}")]
    Trap {
        /// Plugin id.
        plugin: Arc<str>,
        /// The RPC being served.
        rpc: &'static str,
        /// wasmtime's explanation.
        cause: wasmtime::Error,
    },
    /// The guest ran past its deadline and was stopped.
    #[error("plugin {plugin}: {rpc} exceeded its {limit:?} deadline and was stopped")]
    Timeout {
        /// Plugin id.
        plugin: Arc<str>,
        /// The RPC being served.
        rpc: &'static str,
        /// The deadline.
        limit: Duration,
    },
}

/// Settings for running guests.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// The plugin id, used in logs and error messages.
    pub plugin_id: Arc<str>,
    /// The plugin's declared version (`info.version` of plugin.json).
    pub plugin_version: Arc<str>,
    /// Linear memory cap per instance, in bytes.
    pub max_memory: usize,
    /// Deadline of a unary guest call.
    pub call_timeout: Duration,
    /// Where compiled components are cached.
    pub cache_dir: PathBuf,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            plugin_id: Arc::from("unknown"),
            plugin_version: Arc::from(""),
            max_memory: DEFAULT_MAX_MEMORY,
            call_timeout: Duration::from_secs(30),
            cache_dir: cache::default_dir(),
        }
    }
}

/// Runs the plugin component: hands out sandboxed instances for calls.
pub struct Runtime {
    engine: Engine,
    settings: RuntimeSettings,
    metrics: Arc<Metrics>,
    idle: pool::IdlePool,
    plugin: Result<Arc<Plugin>, Arc<LoadError>>,
}

/// A guest instance serving one call; dropped (and its memory freed) when
/// the call ends.
pub struct Instance {
    /// The store owning the instance's memory and state.
    pub store: Store<GuestState>,
    instance: ComponentInstance,
    plugin: Arc<Plugin>,
}

impl Runtime {
    /// Creates the engine and loads the component at `path`. A component
    /// that fails to load does not stop the host: the error is logged and
    /// every call answers with it.
    ///
    /// # Errors
    /// Fails only when the engine or linker cannot be built.
    pub async fn new(
        path: &Path,
        settings: RuntimeSettings,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let engine = engine::new_engine()?;
        let linker: Linker<GuestState> = plugin::new_linker(&engine)?;
        let probe = GuestState::new(
            settings.plugin_id.clone(),
            settings.max_memory,
            metrics.clone(),
        );
        let plugin = Plugin::load(
            &engine,
            &linker,
            path,
            &cache::CompiledCache::new(settings.cache_dir.clone()),
            probe,
        )
        .await
        .map_err(Arc::new);
        match &plugin {
            Ok(p) => {
                metrics.component_loaded(
                    &p.sha256,
                    &p.path.display().to_string(),
                    &settings.plugin_version,
                );
                tracing::info!(
                    component = %p.path.display(),
                    sha256 = %p.sha256,
                    version = %settings.plugin_version,
                    exports = ?p.exports.names(),
                    "plugin component loaded"
                )
            }
            Err(err) => {
                metrics.component_failed();
                tracing::error!(error = %err, "plugin component failed to load; every call will fail until it is fixed")
            }
        }
        Ok(Self {
            engine,
            settings,
            metrics,
            idle: pool::IdlePool::new(MAX_IDLE_PER_KEY),
            plugin,
        })
    }

    /// The deadline of a unary guest call.
    pub fn call_timeout(&self) -> Duration {
        self.settings.call_timeout
    }

    /// A fresh instance for calls.
    ///
    /// # Errors
    /// [`CallError::NotLoaded`] without a component, [`CallError::Trap`]
    /// when instantiation fails (e.g. the guest's start-up traps).
    async fn instantiate(&self, rpc: &'static str) -> Result<Instance, CallError> {
        let plugin = self
            .plugin
            .as_ref()
            .map_err(|err| CallError::NotLoaded(err.clone()))?;
        let state = GuestState::new(
            self.settings.plugin_id.clone(),
            self.settings.max_memory,
            self.metrics.clone(),
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // Yield to the async runtime at every epoch tick, so that deadlines
        // and cancellation can stop a guest that never returns.
        store.epoch_deadline_async_yield_and_update(1);
        store.set_epoch_deadline(1);
        let instance = plugin
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|cause| self.trap(rpc, cause))?;
        Ok(Instance {
            store,
            instance,
            plugin: plugin.clone(),
        })
    }

    /// Runs `call` on handler interface `F` of a guest instance of `key`
    /// (a warm one when idle, else a fresh one), with `outbox` as its
    /// senders, under `limit`. The instance goes back to the idle pool
    /// unless it trapped, was stopped, or the call was dropped.
    ///
    /// # Errors
    /// Every [`CallError`].
    pub async fn call<F: Family, R>(
        &self,
        rpc: &'static str,
        key: InstanceKey,
        outbox: Outbox,
        limit: Option<Duration>,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
    ) -> Result<R, CallError> {
        let started = Instant::now();
        let _in_flight = self.metrics.call_started();
        let result = async {
            let mut instance = match self.idle.take(&key) {
                Some(warm) => warm,
                None => self.instantiate(rpc).await?,
            };
            instance.store.data_mut().outbox = outbox;
            instance.store.set_epoch_deadline(1);
            let guest = instance.handlers::<F>()?;
            let outcome = self
                .guard(rpc, limit, call(&guest, &mut instance.store))
                .await;
            // Clearing the outbox closes the call's channels.
            instance.store.data_mut().outbox = Outbox::default();
            if matches!(
                outcome,
                Ok(_) | Err(CallError::Failed(_) | CallError::Unimplemented)
            ) {
                self.idle.put(key, instance);
            }
            outcome
        }
        .await;
        self.metrics.observe_call(rpc, &result, started.elapsed());
        result
    }

    /// The host's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// [`Runtime::call`] for a unary RPC: no outbox, the unary deadline.
    ///
    /// # Errors
    /// Every [`CallError`].
    pub async fn unary<F: Family, R>(
        &self,
        rpc: &'static str,
        key: InstanceKey,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
    ) -> Result<R, CallError> {
        let limit = Some(self.settings.call_timeout);
        self.call::<F, R>(rpc, key, Outbox::default(), limit, call)
            .await
    }

    /// Runs a guest call under `limit` and sorts its outcome into the
    /// call's result or a [`CallError`].
    async fn guard<T>(
        &self,
        rpc: &'static str,
        limit: Option<Duration>,
        call: impl Future<Output = wasmtime::Result<Result<T, HandlerError>>>,
    ) -> Result<T, CallError> {
        let outcome = match limit {
            Some(limit) => {
                tokio::time::timeout(limit, call)
                    .await
                    .map_err(|_| CallError::Timeout {
                        plugin: self.settings.plugin_id.clone(),
                        rpc,
                        limit,
                    })?
            }
            None => call.await,
        };
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(HandlerError::Unimplemented)) => Err(CallError::Unimplemented),
            Ok(Err(HandlerError::Failed(err))) => Err(CallError::Failed(err)),
            Err(cause) => Err(self.trap(rpc, cause)),
        }
    }

    fn trap(&self, rpc: &'static str, cause: wasmtime::Error) -> CallError {
        let err = CallError::Trap {
            plugin: self.settings.plugin_id.clone(),
            rpc,
            cause,
        };
        tracing::error!(rpc, error = %err, "guest call failed");
        err
    }
}

impl Instance {
    /// Loads the handler interface `F` of this instance.
    ///
    /// # Errors
    /// [`CallError::Unimplemented`] when the component does not export it.
    pub fn handlers<F: Family>(&mut self) -> Result<F::Guest, CallError> {
        let indices = F::find(&self.plugin.exports).ok_or(CallError::Unimplemented)?;
        indices
            .load(&mut self.store, &self.instance)
            .map_err(|cause| CallError::Trap {
                plugin: self.store.data().plugin_id().clone(),
                rpc: "loading handlers",
                cause,
            })
    }
}
