//! A loaded plugin component: compiled, linked, pre-instantiated, with the
//! handler families it exports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};

use super::cache::CompiledCache;
use super::health::HealthIndices;
use crate::capabilities::GuestState;
use crate::wit::handlers;

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The sandbox configuration is invalid, so no component is run.
    #[error(transparent)]
    Config(#[from] crate::sandbox::ConfigError),
    /// The file could not be read.
    #[error("cannot read component {path}: {source}")]
    Read {
        /// The component file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid WebAssembly component.
    #[error("{path} is not a valid WebAssembly component: {cause:#}")]
    Compile {
        /// The component file.
        path: PathBuf,
        /// wasmtime's explanation.
        cause: wasmtime::Error,
    },
    /// The component needs imports the host does not provide, or exports a
    /// handler interface with the wrong shape.
    #[error("{path} does not fit the grafana:plugin contract: {cause:#}")]
    Contract {
        /// The component file.
        path: PathBuf,
        /// wasmtime's explanation.
        cause: wasmtime::Error,
    },
    /// The component's own self-check failed or did not finish.
    #[error("{path} failed its self-check: {message}")]
    SelfCheck {
        /// The component file.
        path: PathBuf,
        /// What the component (or the deadline) said.
        message: String,
    },
    /// The component was built against a contract version this host does
    /// not serve.
    #[error(
        "{path} is built against {package}@{found}; this host serves {supported}: rebuild the plugin against {supported} (an SDK of that version), or serve it with a host of its version",
        package = super::contract::PACKAGE,
        found = .found.join(", "),
        supported = super::contract::supported(),
    )]
    ContractVersion {
        /// The component file.
        path: PathBuf,
        /// The versions it uses that the host does not serve.
        found: Vec<String>,
    },
    /// The component exports none of the handler interfaces.
    #[error(
        "{path} exports no grafana:plugin handler interface (is it built for the grafana:plugin/plugin world?)"
    )]
    NoHandlers {
        /// The component file.
        path: PathBuf,
    },
}

/// The handler interfaces a component exports; `None` where it has none, in
/// which case the host answers as a Go SDK plugin without that handler.
#[derive(Default)]
pub struct Exports {
    /// `data`: QueryData.
    pub data: Option<handlers::data::GuestIndices>,
    /// `chunked-data`: QueryChunkedData.
    pub chunked_data: Option<handlers::chunked_data::GuestIndices>,
    /// `resource`: CallResource.
    pub resource: Option<handlers::resource::GuestIndices>,
    /// `diagnostics`: CheckHealth, CollectMetrics.
    pub diagnostics: Option<handlers::diagnostics::GuestIndices>,
    /// `streaming`: SubscribeStream, PublishStream, RunStream.
    pub streaming: Option<handlers::streaming::GuestIndices>,
    /// `admission`: ValidateAdmission, MutateAdmission.
    pub admission: Option<handlers::admission::GuestIndices>,
    /// `conversion`: ConvertObjects.
    pub conversion: Option<handlers::conversion::GuestIndices>,
    /// `lifecycle`: disposal of an instance.
    pub lifecycle: Option<handlers::lifecycle::GuestIndices>,
    /// `health`: CheckHealth, for plugins without metrics.
    pub health: Option<handlers::health::GuestIndices>,
    /// Which of `health` and `diagnostics` answers CheckHealth.
    pub check_health: Option<HealthIndices>,
}

/// A component ready to be instantiated for calls.
pub struct Plugin {
    /// Where the component was loaded from.
    pub path: PathBuf,
    /// SHA-256 of the component file, hex: its identity in logs and metrics.
    pub sha256: String,
    /// Pre-linked component: instantiating it is a few microseconds.
    pub pre: InstancePre<GuestState>,
    /// The handler interfaces it exports.
    pub exports: Exports,
}

/// Lowercase hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Builds the linker with everything the host offers a guest: each
/// capability's imports (see [`crate::capabilities`]).
///
/// # Errors
/// Fails only if the host's own definitions conflict, a programming error.
pub fn new_linker(engine: &Engine) -> anyhow::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    crate::capabilities::add_to_linker(&mut linker)?;
    Ok(linker)
}

impl Plugin {
    /// Loads, compiles and links the component at `path`, then instantiates
    /// it once to check that every exported handler interface has the shape
    /// the host expects.
    ///
    /// # Errors
    /// See [`LoadError`]'s variants.
    pub async fn load(
        engine: &Engine,
        linker: &Linker<GuestState>,
        path: &Path,
        cache: &CompiledCache,
        probe_state: GuestState,
    ) -> Result<Arc<Self>, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        let sha256 = sha256_hex(&bytes);
        let started = Instant::now();
        let component = match cache.load(engine, &sha256) {
            Some(component) => {
                tracing::info!(elapsed = ?started.elapsed(), "compiled component loaded from the cache");
                component
            }
            None => {
                let component =
                    Component::new(engine, &bytes).map_err(|cause| LoadError::Compile {
                        path: path.to_owned(),
                        cause,
                    })?;
                tracing::info!(elapsed = ?started.elapsed(), "component compiled");
                cache.store(engine, &sha256, &component);
                component
            }
        };
        let contract = |cause: wasmtime::Error| LoadError::Contract {
            path: path.to_owned(),
            cause,
        };
        let found = super::contract::unsupported_versions(engine, &component);
        if !found.is_empty() {
            return Err(LoadError::ContractVersion {
                path: path.to_owned(),
                found,
            });
        }
        let pre = linker.instantiate_pre(&component).map_err(contract)?;
        let exports = Exports::find(&pre);
        if exports.names().is_empty() {
            return Err(LoadError::NoHandlers {
                path: path.to_owned(),
            });
        }
        let plugin = Self {
            path: path.to_owned(),
            sha256,
            pre,
            exports,
        };
        let checked = tokio::time::timeout(CHECK_DEADLINE, plugin.check(engine, probe_state)).await;
        match checked {
            Ok(Ok(Ok(()))) => Ok(Arc::new(plugin)),
            Ok(Ok(Err(message))) => Err(LoadError::SelfCheck {
                path: path.to_owned(),
                message,
            }),
            Ok(Err(cause)) => Err(contract(cause)),
            Err(_) => Err(LoadError::SelfCheck {
                path: path.to_owned(),
                message: format!("instantiating and checking took longer than {CHECK_DEADLINE:?}"),
            }),
        }
    }

    /// Instantiates once, loads every exported interface (which type-checks
    /// each function against the host's contract) and runs the
    /// component's self-check if it has one: its error, or a trap.
    async fn check(
        &self,
        engine: &Engine,
        state: GuestState,
    ) -> wasmtime::Result<Result<(), String>> {
        let mut store = state.into_store(engine);
        store.epoch_deadline_async_yield_and_update(1);
        store.set_epoch_deadline(1);
        // With fuel metering on, the check must not run out.
        if store.get_fuel().is_ok() {
            store.set_fuel(u64::MAX)?;
        }
        let instance = self.pre.instantiate_async(&mut store).await?;
        self.exports.load_all(&mut store, &instance)?;
        match &self.exports.lifecycle {
            Some(indices) => {
                let lifecycle = indices.load(&mut store, &instance)?;
                lifecycle.call_self_check(&mut store).await
            }
            None => Ok(Ok(())),
        }
    }
}

/// How long loading may spend instantiating and self-checking a component.
const CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// One handler interface of the contract, as the host calls it.
pub trait Family: Sized {
    /// The loaded interface, with one `call_*` method per function.
    type Guest;
    /// This interface in a component's exports, if present.
    fn find(exports: &Exports) -> Option<&Self>;
    /// Looks up the interface's functions in `instance`.
    ///
    /// # Errors
    /// Fails when a function's type does not match the contract.
    fn load(
        &self,
        store: &mut Store<GuestState>,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Self::Guest>;
}

/// Everything that goes through each handler interface, generated from
/// one list of (field, WIT name) so that no family can be forgotten.
macro_rules! families {
    ($($family:ident $name:literal),* $(,)?) => {
        impl Exports {
            fn find(pre: &InstancePre<GuestState>) -> Self {
                let mut exports = Self {
                    $($family: handlers::$family::GuestIndices::new(pre).ok(),)*
                    check_health: None,
                };
                exports.check_health = HealthIndices::choose(&exports);
                exports
            }

            /// Names of the exported interfaces, for logs.
            pub fn names(&self) -> Vec<&'static str> {
                [$(($name, self.$family.is_some())),*]
                    .into_iter()
                    .filter_map(|(name, present)| present.then_some(name))
                    .collect()
            }

            /// Loads every exported interface of `instance`, which
            /// type-checks each function against the host's contract.
            fn load_all(
                &self,
                store: &mut Store<GuestState>,
                instance: &wasmtime::component::Instance,
            ) -> wasmtime::Result<()> {
                $(
                    if let Some(indices) = &self.$family {
                        indices.load(&mut *store, instance)?;
                    }
                )*
                Ok(())
            }
        }

        $(
            impl Family for handlers::$family::GuestIndices {
                type Guest = handlers::$family::Guest;
                fn find(exports: &Exports) -> Option<&Self> {
                    exports.$family.as_ref()
                }
                fn load(
                    &self,
                    store: &mut Store<GuestState>,
                    instance: &wasmtime::component::Instance,
                ) -> wasmtime::Result<Self::Guest> {
                    handlers::$family::GuestIndices::load(self, store, instance)
                }
            }
        )*
    };
}

families! {
    data "data",
    chunked_data "chunked-data",
    resource "resource",
    diagnostics "diagnostics",
    streaming "streaming",
    admission "admission",
    conversion "conversion",
    lifecycle "lifecycle",
    health "health",
}
