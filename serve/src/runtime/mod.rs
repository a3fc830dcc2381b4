//! Running plugin components: the engine, the loaded component, a fresh
//! sandboxed instance per call, and what can go wrong in a guest call.
//!
//! Layering follows wasmtime's own: one [`wasmtime::Engine`] per process,
//! one pre-instantiated [`Plugin`] per component, one [`wasmtime::Store`] per
//! guest instance.

pub mod cache;
mod contract;
mod cpu;
mod engine;
mod health;
mod known;
mod outcome;
mod plugin;
mod pool;
mod swap;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use wasmtime::component::{Instance as ComponentInstance, Linker};
use wasmtime::{Engine, Store};

pub use crate::capabilities::GuestState;
pub use health::HealthIndices;
pub use plugin::{Exports, Family, LoadError, Plugin};
pub use swap::{Loaded, ReloadOutcome};

use crate::capabilities::{CallSetup, Outbox};
use crate::instance_key::InstanceKey;
use crate::metrics::{Account, Metrics};
use crate::rpc::{Incoming, Rpc};
use crate::sandbox::http::CallHttp;
use crate::sandbox::limits::{self, BackedOff, Overloaded};
use crate::sandbox::{ConfigError, Sandbox, SandboxConfig};
use crate::traces::CallTrace;
use crate::wit::types::{HandlerError, PluginContext, PluginError};
pub use outcome::Answer;
use threads::GuestThreads;

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
        rpc: Rpc,
        /// wasmtime's explanation.
        cause: wasmtime::Error,
    },
    /// No capacity for the call: too many calls running and queued, too
    /// many streams open, or no free instance slot.
    #[error("plugin {plugin}: {rpc} refused: {cause}")]
    Overloaded {
        /// Plugin id.
        plugin: Arc<str>,
        /// The RPC refused.
        rpc: Rpc,
        /// Which capacity ran out.
        cause: Overloaded,
    },
    /// The plugin instance failed too often in a row and is resting.
    #[error("plugin {plugin}: {rpc} refused: {cause}")]
    BackedOff {
        /// Plugin id.
        plugin: Arc<str>,
        /// The RPC refused.
        rpc: Rpc,
        /// How long it rests.
        cause: BackedOff,
    },
    /// The call ran on a version of the component that was replaced.
    #[error("the plugin component was replaced by a new version; run the call again")]
    Replaced,
    /// The host is shutting down: the call was stopped, or not started.
    #[error("the plugin host is shutting down; run the call again")]
    ShuttingDown,
    /// The guest ran past its deadline and was stopped.
    #[error("plugin {plugin}: {rpc} exceeded its {limit:?} deadline and was stopped")]
    Timeout {
        /// Plugin id.
        plugin: Arc<str>,
        /// The RPC being served.
        rpc: Rpc,
        /// The deadline.
        limit: Duration,
    },
}

impl CallError {
    /// The `outcome` label of a call that failed so.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::Unimplemented => "unimplemented",
            Self::Failed(_) => "error",
            Self::Trap { .. } => "trap",
            Self::Timeout { .. } => "timeout",
            Self::NotLoaded(_) => "not_loaded",
            Self::Overloaded { .. } => "overloaded",
            Self::BackedOff { .. } => "backed_off",
            Self::Replaced => "replaced",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// The `outcome` label of a call's result.
fn outcome_label<T>(result: &Result<T, CallError>) -> &'static str {
    result.as_ref().map_or_else(CallError::label, |_| "ok")
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
    /// Largest size of the compiled-component cache, in bytes.
    pub cache_max_bytes: u64,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            plugin_id: Arc::from("unknown"),
            plugin_version: Arc::from(""),
            cache_dir: cache::default_dir(),
            cache_max_bytes: cache::DEFAULT_MAX_MB << 20,
        }
    }
}

/// The error with which the epoch ticker stops a guest running past its
/// deadline; the call answers [`CallError::Timeout`].
#[derive(Debug, thiserror::Error)]
#[error("the guest ran past its {0:?} deadline")]
struct DeadlinePassed(Duration);

/// When the guest code running in an instance must stop, checked at every
/// epoch tick: a deadline that holds whatever the async runtime is doing.
#[derive(Default)]
struct StopAt(std::sync::Mutex<Option<(Instant, Duration)>>);

impl StopAt {
    /// Stops the guest at `stop` (when, and the limit it comes from), or
    /// never.
    fn set(&self, stop: Option<(Instant, Duration)>) {
        *self.0.lock().expect("deadline lock") = stop;
    }

    /// At an epoch tick: yield (so that the call can be cancelled), or
    /// stop the guest when its deadline has passed.
    fn tick(&self) -> wasmtime::Result<wasmtime::UpdateDeadline> {
        match *self.0.lock().expect("deadline lock") {
            Some((at, limit)) if Instant::now() >= at => {
                Err(wasmtime::Error::new(DeadlinePassed(limit)))
            }
            _ => Ok(wasmtime::UpdateDeadline::Yield(1)),
        }
    }
}

/// One call's place in the sandbox: which RPC, for which plugin instance,
/// until when, what its outgoing HTTP requests need, its span and the
/// datasource's account it is charged to.
pub struct CallScope {
    rpc: Rpc,
    key: InstanceKey,
    deadline: Option<Duration>,
    http: CallHttp,
    idle_per_key: usize,
    trace: CallTrace,
    account: Arc<Account>,
}

/// Runs the plugin component: hands out sandboxed instances for calls,
/// and swaps in new versions of the component while calls go on.
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<GuestState>>,
    component: PathBuf,
    settings: RuntimeSettings,
    sandbox: Arc<Sandbox>,
    metrics: Arc<Metrics>,
    current: RwLock<Result<Arc<Loaded>, Arc<LoadError>>>,
    swap: swap::SwapState,
    known: known::KnownInstances,
    threads: GuestThreads,
    slots: Arc<SlotReleases>,
    long_runners: threads::LongRunners<InstanceKey>,
}

/// Tells calls waiting for an instance slot that one was freed: an
/// instance whose call was cancelled, or that is being disposed of, frees
/// its slot on a guest thread a moment after its caller has gone.
#[derive(Default)]
struct SlotReleases(tokio::sync::Notify);

/// Held by an instance; its slot is free once this drops (after the store).
struct SlotRelease(Arc<SlotReleases>);

impl Drop for SlotRelease {
    fn drop(&mut self) {
        self.0.0.notify_waiters();
    }
}

/// A guest instance serving one call; dropped (and its memory freed) when
/// the call ends.
pub struct Instance {
    /// The store owning the instance's memory and state.
    pub store: Store<GuestState>,
    instance: ComponentInstance,
    plugin: Arc<Plugin>,
    stop_at: Arc<StopAt>,
    /// Declared last: dropped after the store, whose drop frees the slot.
    _slot: SlotRelease,
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
        let sandbox = config.and_then(|config| Sandbox::new(config, env));
        let (sandbox, config_error) = match sandbox {
            Ok(sandbox) => (sandbox, None),
            Err(err) => (Sandbox::new(SandboxConfig::default(), env)?, Some(err)),
        };
        let sandbox = Arc::new(sandbox);
        let engine = engine::new_engine(&sandbox.config)?;
        let linker = Arc::new(plugin::new_linker(&engine)?);
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
            threads: GuestThreads::new().context("starting the guests' threads")?,
            slots: Arc::default(),
            long_runners: threads::LongRunners::default(),
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
    /// component file, on a guest thread: compiling is long, and the
    /// component's start-up and self-check are guest code.
    async fn load(&self) -> Result<Arc<Plugin>, LoadError> {
        let probe = GuestState::new(
            &self.settings.plugin_id,
            &self.sandbox,
            self.metrics.clone(),
            self.metrics.datasource(None),
        )
        .map_err(|cause| LoadError::Contract {
            path: self.component.clone(),
            cause,
        })?;
        let cache =
            cache::CompiledCache::open(&self.settings.cache_dir, self.settings.cache_max_bytes);
        let (engine, linker) = (self.engine.clone(), self.linker.clone());
        let path = self.component.clone();
        let loading = self
            .threads
            .spawn(async move { Plugin::load(&engine, &linker, &path, &cache, probe).await });
        match loading.await {
            Ok(loaded) => loaded,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(LoadError::SelfCheck {
                path: self.component.clone(),
                message: "loading was stopped: the host is shutting down".into(),
            }),
        }
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

    /// The scope of the `incoming` call for the plugin instance `ctx`
    /// addresses, with the deadline Grafana asked for, its span described
    /// as the Go SDK describes it; and, as the name says, the decrypted
    /// secrets the guest must not see (without `raw_secrets`) are taken
    /// out of `ctx`, after the host has read the datasource's HTTP
    /// settings from them. Every call passes through here before its
    /// request reaches the guest, so no handler can forget.
    pub fn scope_withholding_secrets(
        &self,
        incoming: &Incoming,
        ctx: &mut PluginContext,
    ) -> CallScope {
        let rpc = incoming.rpc;
        let trace = incoming.span.trace();
        describe(&trace, ctx);
        let key = InstanceKey::of(ctx);
        let datasource = self.known.datasource_http(&key, ctx);
        let account = self.metrics.datasource(key.datasource_uid().as_deref());
        CallScope {
            rpc,
            key,
            deadline: self.sandbox.deadlines.of(rpc, incoming.requested),
            http: self.sandbox.call_http(ctx, datasource),
            idle_per_key: self.sandbox.idle_per_key(ctx),
            trace,
            account,
        }
    }

    /// A fresh instance for calls, its start-up stopped at `stop`.
    ///
    /// # Errors
    /// [`CallError::Trap`] when instantiation fails (e.g. the guest's
    /// start-up traps), [`CallError::Overloaded`] when no instance slot is
    /// free.
    async fn instantiate(
        &self,
        plugin: &Arc<Plugin>,
        rpc: Rpc,
        account: &Arc<Account>,
        stop: Option<(Instant, Duration)>,
    ) -> Result<Instance, CallError> {
        let state = GuestState::new(
            &self.settings.plugin_id,
            &self.sandbox,
            self.metrics.clone(),
            account.clone(),
        )
        .map_err(|cause| self.trap(rpc, cause))?;
        let mut store = state.into_store(&self.engine);
        // At every epoch tick: stop a guest past its deadline, else yield
        // to the async runtime, so that cancellation can stop it too.
        let stop_at = Arc::new(StopAt::default());
        stop_at.set(stop);
        let ticks = stop_at.clone();
        store.epoch_deadline_callback(move |_| ticks.tick());
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
            stop_at,
            _slot: SlotRelease(self.slots.clone()),
        })
    }

    /// Gives the store a call's worth of fuel, when fuel is metered.
    fn refuel(&self, store: &mut Store<GuestState>, rpc: Rpc) -> Result<(), CallError> {
        match self.sandbox.config.fuel {
            0 => Ok(()),
            fuel => store.set_fuel(fuel).map_err(|cause| self.trap(rpc, cause)),
        }
    }

    /// Runs `call` on handler interface `F` of a guest instance of the
    /// scope's plugin instance (a warm one when idle, else a fresh one),
    /// with `outbox` as its senders, on a guest thread, once admitted and
    /// under the scope's deadline. The instance goes back to the idle pool
    /// unless it trapped, was stopped, or the call was dropped.
    ///
    /// # Errors
    /// Every [`CallError`].
    pub async fn call<F, R>(
        self: &Arc<Self>,
        scope: CallScope,
        outbox: Outbox,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>
        + Send
        + 'static,
    ) -> Result<R, CallError>
    where
        F: Family + Send + Sync + 'static,
        F::Guest: Send,
        R: Answer + Send + 'static,
    {
        let report = outcome::Report::new(
            scope.rpc,
            scope.trace.clone(),
            scope.account.clone(),
            self.metrics.clone(),
        );
        let result = match self.loaded() {
            Ok(loaded) => self.call_on::<F, R>(&loaded, scope, outbox, call).await,
            Err(err) => {
                let result = Err(err);
                self.metrics
                    .observe_call(scope.rpc, outcome_label(&result), Duration::ZERO);
                result
            }
        };
        report.finish(&result);
        result
    }

    /// [`Runtime::call`] on one version of the component. The deadline is
    /// enforced twice: at every epoch tick, by the guest's thread, for a
    /// guest running; and here, shortly after, for a call waiting (in the
    /// queue, in a host call) or a thread the machine is slow to run.
    async fn call_on<F, R>(
        self: &Arc<Self>,
        loaded: &Arc<Loaded>,
        scope: CallScope,
        outbox: Outbox,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>
        + Send
        + 'static,
    ) -> Result<R, CallError>
    where
        F: Family + Send + Sync + 'static,
        F::Guest: Send,
        R: Send + 'static,
    {
        let started = Instant::now();
        let _in_flight = self.metrics.call_started();
        let (rpc, key) = (scope.rpc, scope.key.clone());
        let stop = scope.deadline.map(|limit| (started + limit, limit));
        let settled = Arc::new(Settled::default());
        let admission = scope.trace.stage("sandbox.admission");
        let admitted_and_run = async {
            let admitted = self.admit(rpc, &key).await;
            drop(admission);
            let admitted = admitted?;
            settled.start();
            let rank = admitted.rank();
            let (runtime, loaded, settles) = (self.clone(), loaded.clone(), settled.clone());
            let account = scope.account.clone();
            let tenant = key.tenant();
            let start_here = rank <= 1 && self.long_runners.may_start_here(&tenant);
            let work = async move {
                let _admitted = admitted;
                let began = Instant::now();
                let running = runtime.run::<F, R>(&loaded, scope, outbox, call, stop, &settles);
                let (result, spent) = cpu::OnCpu::new(std::pin::pin!(running)).await;
                account.cpu(spent);
                runtime.long_runners.record(tenant, began.elapsed());
                result
            };
            match self.threads.run(work, rank, start_here).await {
                Ok(result) => result,
                Err(threads::Stopped) => Err(CallError::ShuttingDown),
            }
        };
        let result = match stop {
            Some((at, limit)) => {
                let backstop = tokio::time::Instant::from_std(at + DEADLINE_BACKSTOP);
                tokio::time::timeout_at(backstop, admitted_and_run)
                    .await
                    .unwrap_or_else(|_| {
                        if settled.abandon() {
                            self.sandbox.backoff.record(&key, true);
                        }
                        Err(self.stopped(rpc, limit))
                    })
            }
            None => admitted_and_run.await,
        };
        self.metrics
            .observe_call(rpc, outcome_label(&result), started.elapsed());
        result
    }

    /// Lets a call of `rpc` for `key` in: the instance is not backed off,
    /// and there is a call slot for it (for a stream: room under the
    /// stream caps), shared fairly between datasources.
    async fn admit(&self, rpc: Rpc, key: &InstanceKey) -> Result<Admitted, CallError> {
        let plugin = self.settings.plugin_id.clone();
        self.sandbox
            .backoff
            .check(key)
            .map_err(|cause| CallError::BackedOff {
                plugin: plugin.clone(),
                rpc,
                cause,
            })?;
        let refused = |cause| CallError::Overloaded { plugin, rpc, cause };
        let tenant = key.tenant();
        // A stream idles for as long as Grafana watches it: it does not
        // take a call slot, but holds an instance, so streams are capped.
        Ok(if rpc.is_stream() {
            Admitted::Stream(self.sandbox.streams.open(&tenant).map_err(refused)?)
        } else {
            Admitted::Call(self.sandbox.gate.enter(&tenant).await.map_err(refused)?)
        })
    }

    /// [`Runtime::call`] once admitted, in three stages: check an instance
    /// out (a warm one of the scope's key, else a fresh one), invoke the
    /// handler on it, check it back in (back-off bookkeeping, the idle
    /// pool). The guest is stopped at `stop` (when, and the limit it was
    /// set from).
    async fn run<F: Family, R>(
        &self,
        loaded: &Loaded,
        scope: CallScope,
        outbox: Outbox,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
        stop: Option<(Instant, Duration)>,
        settled: &Settled,
    ) -> Result<R, CallError> {
        let CallScope {
            rpc,
            key,
            mut http,
            idle_per_key,
            trace,
            account,
            ..
        } = scope;
        let checkout = trace.stage("sandbox.checkout");
        let mut instance = self
            .check_out(loaded, rpc, &key, &account, stop)
            .await
            .inspect(|(_, warm)| {
                checkout.set("sandbox.instance", if *warm { "pooled" } else { "fresh" });
            })
            .inspect_err(|err| {
                // No room is not the guest's failure.
                if !matches!(err, CallError::Overloaded { .. }) && settled.settle() {
                    self.sandbox.backoff.record(&key, true);
                }
            })?
            .0;
        drop(checkout);
        let guest = trace.stage("sandbox.guest");
        http.trace = guest.trace();
        http.account = Some(account.clone());
        instance.prepare(stop, outbox, http);
        let outcome = self.invoke::<F, R>(loaded, &mut instance, rpc, call).await;
        instance.clear();
        drop(guest);
        let healthy = matches!(
            outcome,
            Ok(_) | Err(CallError::Failed(_) | CallError::Unimplemented)
        );
        // No room is not the guest's failure.
        if !matches!(outcome, Err(CallError::Overloaded { .. })) && settled.settle() {
            self.sandbox.backoff.record(&key, !healthy);
        }
        if healthy {
            self.dispose(loaded.idle.put(key, instance, idle_per_key));
        }
        outcome
    }

    /// An instance for a call of `key`, and whether it was warm: a warm
    /// one when one is idle, else a fresh one charged to `account`. Idle
    /// instances of older settings of the same datasource are disposed of
    /// on the way.
    async fn check_out(
        &self,
        loaded: &Loaded,
        rpc: Rpc,
        key: &InstanceKey,
        account: &Arc<Account>,
        stop: Option<(Instant, Duration)>,
    ) -> Result<(Instance, bool), CallError> {
        let (warm, stale) = loaded.idle.take(key);
        self.dispose(stale);
        match warm {
            Some(warm) => Ok((warm, true)),
            None => Ok((
                self.fresh_instance(loaded, rpc, account, stop).await?,
                false,
            )),
        }
    }

    /// Runs `call` on handler interface `F` of `instance`, with a call's
    /// worth of fuel. A stream of a replaced version ends with
    /// [`CallError::Replaced`], so that Grafana runs it again on the new
    /// one.
    async fn invoke<F: Family, R>(
        &self,
        loaded: &Loaded,
        instance: &mut Instance,
        rpc: Rpc,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>,
    ) -> Result<R, CallError> {
        self.refuel(&mut instance.store, rpc)?;
        let guest = match instance.handlers::<F>() {
            Ok(Some(guest)) => guest,
            Ok(None) => return Err(CallError::Unimplemented),
            Err(cause) => return Err(self.trap(rpc, cause)),
        };
        let running = call(&guest, &mut instance.store);
        if rpc.is_stream() {
            tokio::select! {
                outcome = running => self.sort(rpc, outcome),
                () = loaded.retired.cancelled() => Err(CallError::Replaced),
            }
        } else {
            self.sort(rpc, running.await)
        }
    }

    /// A new instance; when every instance slot is taken, idle instances
    /// (the longest idle first) are disposed of to make room, and a slot
    /// being released is waited for up to [`SLOT_RELEASE_GRACE`], before
    /// the call is refused.
    async fn fresh_instance(
        &self,
        loaded: &Loaded,
        rpc: Rpc,
        account: &Arc<Account>,
        stop: Option<(Instant, Duration)>,
    ) -> Result<Instance, CallError> {
        // Never past the call's own deadline: a refusal says more than a
        // timeout.
        let grace = Instant::now() + SLOT_RELEASE_GRACE;
        let grace = tokio::time::Instant::from_std(stop.map_or(grace, |(at, _)| grace.min(at)));
        loop {
            let released = self.slots.0.notified();
            let mut released = std::pin::pin!(released);
            released.as_mut().enable();
            match self.instantiate(&loaded.plugin, rpc, account, stop).await {
                Err(CallError::Overloaded { .. }) if let Some(idle) = loaded.idle.take_oldest() => {
                    tracing::debug!(
                        rpc = rpc.name(),
                        "no free instance slot: disposing of an idle instance"
                    );
                    idle.dispose(DISPOSE_DEADLINE).await;
                }
                Err(CallError::Overloaded { .. }) if tokio::time::Instant::now() < grace => {
                    let _ = tokio::time::timeout_at(grace, released).await;
                }
                other => return other,
            }
        }
    }

    /// The answer of a call stopped at its deadline, logged.
    fn stopped(&self, rpc: Rpc, limit: Duration) -> CallError {
        let err = CallError::Timeout {
            plugin: self.settings.plugin_id.clone(),
            rpc,
            limit,
        };
        tracing::error!(rpc = rpc.name(), error = %err, "guest call stopped");
        err
    }

    /// Stops serving guests within `budget`: calls still running after a
    /// short grace are stopped (streams included), as is every later call;
    /// then the idle instances are disposed of in what remains.
    pub async fn shut_down(&self, budget: Duration) {
        let deadline = Instant::now() + budget;
        self.threads.stop(SHUTDOWN_CALL_GRACE).await;
        let idle = match self.loaded() {
            Ok(loaded) => loaded.idle.drain(),
            Err(_) => Vec::new(),
        };
        let count = idle.len();
        let left = deadline.saturating_duration_since(Instant::now());
        let disposing = idle
            .into_iter()
            .map(|instance| self.threads.spawn(instance.dispose(left)));
        let all = futures_util::future::join_all(disposing);
        match tokio::time::timeout(left, all).await {
            Ok(_) => tracing::debug!(count, "idle guest instances disposed of at shutdown"),
            Err(_) => tracing::warn!(
                count,
                ?budget,
                "idle guest instances not all disposed of within the shutdown budget"
            ),
        }
    }

    /// Lets healthy instances release what they hold, each on a guest
    /// thread under [`DISPOSE_DEADLINE`], then drops them.
    pub(crate) fn dispose(&self, instances: impl IntoIterator<Item = Instance>) {
        for instance in instances {
            drop(self.threads.spawn(instance.dispose(DISPOSE_DEADLINE)));
        }
    }

    /// Disposes of the serving version's instances idle for longer than
    /// the configured `idle_timeout_seconds`.
    pub fn evict_idle(&self) {
        if let Ok(loaded) = self.loaded() {
            let evicted = loaded.idle.evict(self.sandbox.idle_timeout());
            if !evicted.is_empty() {
                tracing::debug!(count = evicted.len(), "idle guest instances evicted");
            }
            self.dispose(evicted);
        }
    }

    /// How often idle instances are looked for.
    pub fn eviction_interval(&self) -> Duration {
        (self.sandbox.idle_timeout() / 4).clamp(Duration::from_millis(100), Duration::from_secs(60))
    }

    /// The host's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// [`Runtime::call`] for a unary RPC: no outbox.
    ///
    /// # Errors
    /// Every [`CallError`].
    pub async fn unary<F, R>(
        self: &Arc<Self>,
        scope: CallScope,
        call: impl for<'a> FnOnce(&'a F::Guest, &'a mut Store<GuestState>) -> GuestCall<'a, R>
        + Send
        + 'static,
    ) -> Result<R, CallError>
    where
        F: Family + Send + Sync + 'static,
        F::Guest: Send,
        R: Answer + Send + 'static,
    {
        self.call::<F, R>(scope, Outbox::default(), call).await
    }

    /// Sorts a guest call's outcome into its result or a [`CallError`].
    fn sort<T>(
        &self,
        rpc: Rpc,
        outcome: wasmtime::Result<Result<T, HandlerError>>,
    ) -> Result<T, CallError> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(HandlerError::Unimplemented)) => Err(CallError::Unimplemented),
            Ok(Err(HandlerError::Failed(err))) => Err(CallError::Failed(err)),
            Err(cause) => Err(self.trap(rpc, cause)),
        }
    }

    /// The error of a guest call that failed: a trap, its deadline
    /// passing, or no free pooled slot (instance, memory or stack) for it.
    fn trap(&self, rpc: Rpc, cause: wasmtime::Error) -> CallError {
        if let Some(DeadlinePassed(limit)) = cause.downcast_ref::<DeadlinePassed>() {
            return self.stopped(rpc, *limit);
        }
        if capacity_refusal(&cause) {
            return CallError::Overloaded {
                plugin: self.settings.plugin_id.clone(),
                rpc,
                cause: Overloaded::Instances {
                    slots: self.sandbox.config.max_instances,
                },
            };
        }
        let err = CallError::Trap {
            plugin: self.settings.plugin_id.clone(),
            rpc,
            cause,
        };
        tracing::error!(rpc = rpc.name(), error = %err, "guest call failed");
        err
    }
}

/// Sets the attributes the Go SDK's tracing middleware sets on an RPC's
/// span from its plugin context.
fn describe(trace: &CallTrace, ctx: &PluginContext) {
    // Untraced calls (tracing off) copy nothing.
    if !trace.is_on() {
        return;
    }
    trace.set("plugin_id", ctx.plugin_id.clone());
    trace.set("org_id", ctx.org_id);
    if let Some(ds) = &ctx.data_source_instance_settings {
        trace.set("datasource_name", ds.name.clone());
        trace.set("datasource_uid", ds.uid.clone());
    }
    if let Some(user) = &ctx.user {
        trace.set("user", user.name.clone());
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

/// How long a call finding every instance slot taken waits for one being
/// released (a cancelled call's, a disposed instance's) before it is
/// refused: long enough for a busy machine to finish dropping a store,
/// short enough that a refusal is still prompt.
const SLOT_RELEASE_GRACE: Duration = Duration::from_millis(250);

/// How long after its deadline the caller answers for a guest that has not
/// been stopped yet: two epoch ticks, by which time a running guest has
/// normally stopped itself.
const DEADLINE_BACKSTOP: Duration = Duration::from_millis(20);

/// Who reports a failed call to the back-off, once it was admitted: the
/// guest's thread when the call ends there, or the caller when it gave up
/// on it at its deadline first; never both.
#[derive(Default)]
struct Settled(std::sync::atomic::AtomicU8);

impl Settled {
    const QUEUED: u8 = 0;
    const RUNNING: u8 = 1;
    const DONE: u8 = 2;

    /// The call was admitted.
    fn start(&self) {
        let _ = self.0.compare_exchange(
            Self::QUEUED,
            Self::RUNNING,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// The guest's thread reports the outcome: whether it may (the caller
    /// has not given up on the call).
    fn settle(&self) -> bool {
        self.0
            .compare_exchange(
                Self::RUNNING,
                Self::DONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// The caller gives up on the call: whether it reports the failure
    /// (the call had been admitted and nothing was reported).
    fn abandon(&self) -> bool {
        self.0.swap(Self::DONE, Ordering::AcqRel) == Self::RUNNING
    }
}

/// How long calls running at shutdown may take to end by themselves.
const SHUTDOWN_CALL_GRACE: Duration = Duration::from_millis(150);

/// What an admitted call holds until it ends: a call slot, or a stream's
/// place under the stream caps.
enum Admitted {
    Call(limits::CallPermit<InstanceKey>),
    Stream(limits::StreamPermit<InstanceKey>),
}

impl Admitted {
    /// How many calls (or streams) of its datasource run with it.
    fn rank(&self) -> usize {
        match self {
            Admitted::Call(permit) => permit.rank(),
            Admitted::Stream(permit) => permit.rank(),
        }
    }
}

/// Whether instantiation failed for want of a free pooled slot rather than
/// because of the guest.
fn capacity_refusal(cause: &wasmtime::Error) -> bool {
    cause
        .chain()
        .any(<dyn std::error::Error + 'static>::is::<wasmtime::PoolConcurrencyLimitError>)
}

impl Instance {
    /// Gets the instance ready for a call: its deadline, its senders and
    /// its outgoing HTTP context.
    fn prepare(&mut self, stop: Option<(Instant, Duration)>, outbox: Outbox, http: CallHttp) {
        self.stop_at.set(stop);
        self.store.data_mut().prepare(CallSetup { outbox, http });
        self.store.set_epoch_deadline(1);
    }

    /// Undoes [`Instance::prepare`] once the call is over: clearing the
    /// outbox closes the call's channels; dropped log lines are reported.
    fn clear(&mut self) {
        self.stop_at.set(None);
        self.store.data_mut().clear();
    }

    /// Calls the guest's `dispose`, if it has one, stopped after `limit`,
    /// then drops the instance.
    async fn dispose(mut self, limit: Duration) {
        let Ok(Some(lifecycle)) = self.handlers::<crate::wit::handlers::lifecycle::GuestIndices>()
        else {
            return;
        };
        self.stop_at.set(Some((Instant::now() + limit, limit)));
        self.store.set_epoch_deadline(1);
        let disposed = tokio::time::timeout(limit, lifecycle.call_dispose(&mut self.store)).await;
        match disposed {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "the guest's dispose failed"),
            Err(_) => {
                tracing::warn!(deadline = ?limit, "the guest's dispose ran past its deadline");
            }
        }
    }

    /// The handler interface `F` of this instance; `None` when the
    /// component does not export it.
    ///
    /// # Errors
    /// When wasmtime cannot load the exports it found at load time.
    pub fn handlers<F: Family>(&mut self) -> wasmtime::Result<Option<F::Guest>> {
        F::find(&self.plugin.exports)
            .map(|indices| indices.load(&mut self.store, &self.instance))
            .transpose()
    }
}
