//! Compiled components cached on disk, so that a host restart (Grafana
//! restarts plugins freely) does not recompile an unchanged component:
//! compiling takes tens to hundreds of milliseconds, loading a cached one
//! well under one.
//!
//! Entries are keyed by the component's SHA-256 and by wasmtime's
//! compatibility hash of the engine's settings, so a different wasmtime
//! version or configuration never loads an entry made by another.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Environment variable naming the cache directory
/// (`[plugin.<id>] wasm_cache_dir` in Grafana's ini).
pub const CACHE_DIR_ENV: &str = "GF_PLUGIN_WASM_CACHE_DIR";

/// The default cache directory: `$XDG_CACHE_HOME/grafana-wasm`,
/// `$HOME/.cache/grafana-wasm`, or `grafana-wasm-cache` in the temporary
/// directory (Grafana may start plugins without a home).
pub fn default_dir() -> PathBuf {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from_env("XDG_CACHE_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".cache")))
        .map(|dir| dir.join("grafana-wasm"))
        .unwrap_or_else(|| std::env::temp_dir().join("grafana-wasm-cache"))
}

/// Where compiled components are kept.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

impl CompiledCache {
    /// A cache in `dir` (created on first store).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn entry(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir
            .join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
    }

    /// The cached compilation of the component with `sha256`, if any. A
    /// cache entry that does not load is ignored (and replaced later).
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.entry(engine, sha256);
        if !path.exists() {
            return None;
        }
        // SAFETY: entries are written only by `store` below, into a
        // directory created private to this user, and carry wasmtime's own
        // header, checked by `deserialize_file` against this engine. A
        // truncated or foreign file fails that check and is ignored.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "ignoring an unusable compiled-component cache entry");
                None
            }
        }
    }

    /// Stores `component`'s compilation; failures only cost the next
    /// start a recompilation, so they are logged, not returned.
    pub fn store(&self, engine: &Engine, sha256: &str, component: &Component) {
        let path = self.entry(engine, sha256);
        if let Err(err) = self.write(&path, component) {
            tracing::warn!(path = %path.display(), error = %format!("{err:#}"), "cannot cache the compiled component");
        }
    }

    fn write(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        create_private_dir(&self.dir)?;
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        // Written beside the entry and renamed into place, so a concurrent
        // reader never sees half a file.
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(&bytes)?;
        file.persist(path)?;
        Ok(())
    }
}

/// Creates `dir` readable and writable by this user only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
