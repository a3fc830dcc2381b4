//! Running plugin components: the engine, the loaded component, a fresh
//! sandboxed instance per call, and what can go wrong in a guest call.
//!
//! Layering follows wasmtime's own: one [`wasmtime::Engine`] per process,
//! one pre-instantiated [`Plugin`] per component, one [`wasmtime::Store`] per
//! guest instance.

pub mod bindings;
pub mod cache;
mod contract;
mod engine;
mod known;
mod plugin;
mod pool;
mod state;
mod swap;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use wasmtime::component::{Instance as ComponentInstance, Linker};
use wasmtime::{Engine, Store};

pub use plugin::{Exports, Family, LoadError, Plugin};
pub use pool::InstanceKey;
pub use state::{GuestState, Outbox};
pub use swap::{Loaded, ReloadOutcome};

use crate::metrics::Metrics;
use crate::sandbox::http::CallHttp;
use crate::sandbox::limits::{BackedOff, Overloaded};
use crate::sandbox::{ConfigError, Sandbox, SandboxConfig};
use bindings::types::{HandlerError, PluginContext, PluginError};

/// A guest export call in flight: its trap, or the handler's result.
pub type GuestCall<'a, R> = BoxFuture<'a, wasmtime::Result<Result<R, HandlerError>>>;

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
    /// Too many calls are running and queued.
    #[error("plugin {plugin}: {rpc} refused: {cause}")]
    Overloaded {
        /// Plugin id.
        plugin: Arc<str>,
        /// The RPC refused.
        rpc: &'static str,
        /// How full the queue is.
        cause: Overloaded,
    },
    /// The plugin instance failed too often in a row and is resting.
    #[error("plugin {plugin}: {rpc} refused: {cause}")]
    BackedOff {
        /// Plugin id.
        plugin: Arc<str>,
        /// The RPC refused.
        rpc: &'static str,
        /// How long it rests.
        cause: BackedOff,
    },
    /// The call ran on a version of the component that was replaced.
    #[error("the plugin component was replaced by a new version; run the call again")]
    Replaced,
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

/// What the runtime needs besides the component and its sandbox.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// The plugin id, used in logs and error messages.
    pub plugin_id: Arc<str>,
    /// The plugin's declared version (`info.version` of plugin.json).
    pub plugin_version: Arc<str>,
    /// Where compiled components are cached.
    pub cache_dir: PathBuf,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            plugin_id: Arc::from("unknown"),
            plugin_version: Arc::from(""),
            cache_dir: cache::default_dir(),
        }
    }
}

/// One call's place in the sandbox: which RPC, for which plugin instance,
/// until when, and what its outgoing HTTP requests need.
pub struct CallScope {
    rpc: &'static str,
    key: InstanceKey,
    deadline: Option<Duration>,
    http: CallHttp,
    idle_per_key: usize,
}

/// Runs the plugin component: hands out sandboxed instances for calls,
/// and swaps in new versions of the component while calls go on.
pub struct Runtime {
    engine: Engine,
    linker: Linker<GuestState>,
    component: PathBuf,
    settings: RuntimeSettings,
    sandbox: Arc<Sandbox>,
    metrics: Arc<Metrics>,
    current: RwLock<Result<Arc<Loaded>, Arc<LoadError>>>,
    swap: swap::SwapState,
    known: known::KnownInstances,
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
    /// Creates the engine for the sandbox `config` and loads the component
    /// at `path`. Neither an invalid configuration nor a component that
    /// fails to load stops the host: the error is logged and every call
    /// answers with it.
    ///
    /// # Errors
    /// Fails only when the engine or linker cannot be built.
    pub async fn new(
        path: &Path,
        settings: RuntimeSettings,
        config: Result<SandboxConfig, ConfigError>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let env = |name: &str| std::env::var(name).ok();
        let sandbox =
            config.and_then(|config| Sandbox::new(settings.plugin_id.clone(), config, env));
        let (sandbox, config_error) = match sandbox {
            Ok(sandbox) => (sandbox, None),
            Err(err) => {
                let defaults =
                    Sandbox::new(settings.plugin_id.clone(), SandboxConfig::default(), env)?;
                (defaults, Some(err))
            }
        };
        let sandbox = Arc::new(sandbox);
        let engine = engine::new_engine(&sandbox.config)?;
        let linker: Linker<GuestState> = plugin::new_linker(&engine)?;
        let mut runtime = Self {
            engine,
            linker,
            component: path.to_owned(),
            settings,
            sandbox,
            metrics,
            current: RwLock::new(Err(Arc::new(LoadError::NoHandlers {
                path: path.to_owned(),
            }))),
            swap: swap::SwapState::default(),
            known: known::KnownInstances::default(),
        };
        let loaded = match config_error {
            Some(err) => Err(LoadError::Config(err)),
            None => runtime.load().await,
        };
        let loaded = loaded
            .map(|plugin| {
                log_loaded(&plugin, &runtime.settings, &runtime.metrics);
                Arc::new(Loaded::new(plugin, &runtime.sandbox))
            })
            .map_err(|err| {
                runtime.metrics.component_failed();
                tracing::error!(error = %err, "plugin not loaded; every call will fail until it is fixed");
                Arc::new(err)
            });
        runtime.current = RwLock::new(loaded);
        Ok(runtime)
    }

    /// Loads, compiles (or fetches from the cache), links and checks the
    /// component file.
    async fn load(&self) -> Result<Arc<Plugin>, LoadError> {
        let probe = GuestState::new(
            &self.settings.plugin_id,
            &self.sandbox,
            self.metrics.clone(),
        )
        .map_err(|cause| LoadError::Contract {
            path: self.component.clone(),
            cause,
        })?;
        let cache = cache::CompiledCache::new(self.settings.cache_dir.clone());
        Plugin::load(&self.engine, &self.linker, &self.component, &cache, probe).await
    }

    /// The version serving new calls.
    ///
    /// # Errors
    /// [`CallError::NotLoaded`] when no component could be loaded.
    fn loaded(&self) -> Result<Arc<Loaded>, CallError> {
        let current = self.current.read().expect("runtime version lock");
        current.clone().map_err(CallError::NotLoaded)
    }

    /// Why no component is serving, if none is: what `package` checks
    /// before it ships a component.
    pub fn load_error(&self) -> Option<Arc<LoadError>> {
        self.loaded().err().and_then(|err| match err {
            CallError::NotLoaded(cause) => Some(cause),
            _ => None,
        })
    }

    /// The scope of a call of `rpc` for the plugin instance `ctx`
    /// addresses, with the deadline Grafana asked for. Secrets the guest
    /// must not see are taken out of `ctx` here.
    pub fn scope(
        &self,
        rpc: &'static str,
        ctx: &mut PluginContext,
        requested: Option<Duration>,
    ) -> CallScope {
        let key = InstanceKey::of(ctx);
        let datasource = self.known.datasource_http(&key, ctx);
        CallScope {
            rpc,
            key,
            deadline: self.sandbox.deadlines.of(rpc, requested),
            http: self.sandbox.call_http(ctx, datasource),
            idle_per_key: self.sandbox.idle_per_key(ctx),
        }
    }

    /// A fresh instance for calls.
    ///
    /// # Errors
    /// [`CallError::NotLoaded`] without a component, [`CallError::Trap`]
    /// when instantiation fails (e.g. the guest's start-up traps).
    async fn instantiate(
        &self,
        plugin: &Arc<Plugin>,
        rpc: &'static str,
    ) -> Result<Instance, CallError> {
        let state = GuestState::new(
            &self.settings.plugin_id,
            &self.sandbox,
            self.metrics.clone(),
        )
        .map_err(|cause| self.trap(rpc, cause))?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // Yield to the async runtime at every epoch tick, so that deadlines
        // and cancellation can stop a guest that never returns.
        store.epoch_deadline_async_yield_and_update(1);
        store.set_epoch_deadline(1);
        self.refuel(&mut store, rpc)?;
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

    /// Gives the store a call's worth of fuel, when fuel is metered.
    fn refuel(&self, store: &mut Store<GuestState>, rpc: &'static str) -> Result<(), CallError> {
        match self.sandbox.config.fuel {
            0 => Ok(()),
            fuel => store.set_fuel(fuel).map_err(|cause| self.trap(rpc, cause)),
        }
    }

    /// Runs `call` on handler interface `F` of a guest instance of the
    /// scope's plugin instance (a warm one when idle, else a fresh one),
    /// with `outbox` as its senders, once admitted and under the scope's
    /// deadline. The instance goes back to the idle pool unless it
    /// trapped, was stopped, or the call was dropped.
    ///
    /// # Errors
    /// Every [`CallError`].
    pub async fn call<F: Family, R>(
        &self,
        scope: CallScope,
        outbox: Outbox,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
    ) -> Result<R, CallError> {
        match self.loaded() {
            Ok(loaded) => self.call_on::<F, R>(&loaded, scope, outbox, call).await,
            Err(err) => {
                let result = Err(err);
                self.metrics
                    .observe_call(scope.rpc, &result, Duration::ZERO);
                result
            }
        }
    }

    /// [`Runtime::call`] on one version of the component.
    async fn call_on<F: Family, R>(
        &self,
        loaded: &Arc<Loaded>,
        scope: CallScope,
        outbox: Outbox,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
    ) -> Result<R, CallError> {
        let started = Instant::now();
        let _in_flight = self.metrics.call_started();
        let rpc = scope.rpc;
        let result = match scope.deadline {
            Some(limit) => {
                let key = scope.key.clone();
                let run =
                    tokio::time::timeout(limit, self.run::<F, R>(loaded, scope, outbox, call));
                run.await.unwrap_or_else(|_| {
                    // The guest was stopped mid-call: a failure for the
                    // back-off, like a trap.
                    self.sandbox.backoff.record(&key, true);
                    let err = CallError::Timeout {
                        plugin: self.settings.plugin_id.clone(),
                        rpc,
                        limit,
                    };
                    tracing::error!(rpc, error = %err, "guest call stopped");
                    Err(err)
                })
            }
            None => self.run::<F, R>(loaded, scope, outbox, call).await,
        };
        self.metrics.observe_call(rpc, &result, started.elapsed());
        result
    }

    /// [`Runtime::call`] without the deadline, and with the bookkeeping
    /// of admission, back-off and the idle pool.
    async fn run<F: Family, R>(
        &self,
        loaded: &Loaded,
        scope: CallScope,
        outbox: Outbox,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
    ) -> Result<R, CallError> {
        let CallScope {
            rpc,
            key,
            http,
            idle_per_key,
            ..
        } = scope;
        let plugin = self.settings.plugin_id.clone();
        self.sandbox
            .backoff
            .check(&key)
            .map_err(|cause| CallError::BackedOff {
                plugin: plugin.clone(),
                rpc,
                cause,
            })?;
        // A stream idles for as long as Grafana watches it: it does not
        // take one of the call slots.
        let _admitted = match rpc {
            "RunStream" => None,
            _ => Some(
                self.sandbox
                    .gate
                    .enter()
                    .await
                    .map_err(|cause| CallError::Overloaded { plugin, rpc, cause })?,
            ),
        };
        let (warm, stale) = loaded.idle.take(&key);
        dispose(stale);
        let mut instance = match warm {
            Some(warm) => warm,
            None => self
                .instantiate(&loaded.plugin, rpc)
                .await
                .inspect_err(|_| {
                    self.sandbox.backoff.record(&key, true);
                })?,
        };
        let state = instance.store.data_mut();
        state.outbox = outbox;
        state.http.call = http;
        instance.store.set_epoch_deadline(1);
        let outcome = match self.refuel(&mut instance.store, rpc) {
            Ok(()) => match instance.handlers::<F>() {
                Ok(guest) => {
                    let running = call(&guest, &mut instance.store);
                    match rpc {
                        // A stream of a replaced version ends with an error,
                        // so that Grafana runs it again on the new one.
                        "RunStream" => tokio::select! {
                            outcome = running => self.sort(rpc, outcome),
                            () = loaded.retired.cancelled() => Err(CallError::Replaced),
                        },
                        _ => self.sort(rpc, running.await),
                    }
                }
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        // Clearing the outbox closes the call's channels.
        let state = instance.store.data_mut();
        state.outbox = Outbox::default();
        state.http.call = CallHttp::default();
        let healthy = matches!(
            outcome,
            Ok(_) | Err(CallError::Failed(_) | CallError::Unimplemented)
        );
        self.sandbox.backoff.record(&key, !healthy);
        if healthy {
            dispose(loaded.idle.put(key, instance, idle_per_key));
        }
        outcome
    }

    /// Disposes of the serving version's instances idle for longer than
    /// the configured `idle_timeout_seconds`.
    pub fn evict_idle(&self) {
        if let Ok(loaded) = self.loaded() {
            let evicted = loaded.idle.evict(self.sandbox.idle_timeout());
            if !evicted.is_empty() {
                tracing::debug!(count = evicted.len(), "idle guest instances evicted");
            }
            dispose(evicted);
        }
    }

    /// How often idle instances are looked for.
    pub fn eviction_interval(&self) -> Duration {
        (self.sandbox.idle_timeout() / 4).clamp(Duration::from_millis(100), Duration::from_secs(60))
    }

    /// The host's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// [`Runtime::call`] for a unary RPC: no outbox.
    ///
    /// # Errors
    /// Every [`CallError`].
    pub async fn unary<F: Family, R>(
        &self,
        scope: CallScope,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
    ) -> Result<R, CallError> {
        self.call::<F, R>(scope, Outbox::default(), call).await
    }

    /// Sorts a guest call's outcome into its result or a [`CallError`].
    fn sort<T>(
        &self,
        rpc: &'static str,
        outcome: wasmtime::Result<Result<T, HandlerError>>,
    ) -> Result<T, CallError> {
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

/// Logs and counts a component that loaded.
fn log_loaded(plugin: &Plugin, settings: &RuntimeSettings, metrics: &Metrics) {
    metrics.component_loaded(
        &plugin.sha256,
        &plugin.path.display().to_string(),
        &settings.plugin_version,
    );
    tracing::info!(
        component = %plugin.path.display(),
        sha256 = %plugin.sha256,
        version = %settings.plugin_version,
        exports = ?plugin.exports.names(),
        "plugin component loaded"
    );
}

/// How long a guest's `dispose` may run.
const DISPOSE_DEADLINE: Duration = Duration::from_secs(1);

/// Lets healthy instances release what they hold, in the background, then
/// drops them.
pub(crate) fn dispose(instances: impl IntoIterator<Item = Instance>) {
    for instance in instances {
        tokio::spawn(instance.dispose());
    }
}

impl Instance {
    /// Calls the guest's `dispose`, if it has one, under
    /// [`DISPOSE_DEADLINE`], then drops the instance.
    async fn dispose(mut self) {
        let Ok(lifecycle) = self.handlers::<bindings::handlers::lifecycle::GuestIndices>() else {
            return;
        };
        self.store.set_epoch_deadline(1);
        let disposed =
            tokio::time::timeout(DISPOSE_DEADLINE, lifecycle.call_dispose(&mut self.store)).await;
        match disposed {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "the guest's dispose failed"),
            Err(_) => {
                tracing::warn!(deadline = ?DISPOSE_DEADLINE, "the guest's dispose ran past its deadline")
            }
        }
    }

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
