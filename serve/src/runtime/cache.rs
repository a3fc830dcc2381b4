//! Compiled components cached on disk, so that a host restart (Grafana
//! restarts plugins freely) does not recompile an unchanged component:
//! compiling takes tens to hundreds of milliseconds, loading a cached one
//! well under one.
//!
//! Entries are keyed by the component's SHA-256 and by wasmtime's
//! compatibility hash of the engine's settings, so a different wasmtime
//! version or configuration never loads an entry made by another.
//!
//! A cache entry is native code that runs outside the sandbox, with every
//! datasource's secrets at hand. So the cache is used only where no other
//! user can have written: its directory must be owned by this user and
//! writable by no one else, every directory above it owned by this user or
//! root and not writable by others (unless sticky, as `/tmp`), no path
//! component a symbolic link; each entry is opened without following links
//! and must be a regular file owned by this user and writable by no one
//! else. A cache failing these checks is logged and bypassed: components
//! are then compiled in memory. Its size is bounded: the least recently
//! used entries are removed beyond the limit.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Component as PathPart, Path, PathBuf};
use std::time::SystemTime;

use wasmtime::Engine;
use wasmtime::component::Component;

/// Environment variable naming the cache directory
/// (`[plugin.<id>] wasm_cache_dir` in Grafana's ini).
pub const CACHE_DIR_ENV: &str = "GF_PLUGIN_WASM_CACHE_DIR";

/// Environment variable bounding the cache's size in MiB
/// (`[plugin.<id>] wasm_cache_max_mb` in Grafana's ini).
pub const CACHE_MAX_MB_ENV: &str = "GF_PLUGIN_WASM_CACHE_MAX_MB";

/// The default bound of the cache's size, in MiB.
pub const DEFAULT_MAX_MB: u64 = 512;

/// Mode bits letting group or others write.
const WRITABLE_BY_OTHERS: u32 = 0o022;
/// The sticky bit: only an entry's owner may rename or remove it.
const STICKY: u32 = 0o1000;

/// The default cache directory: `$XDG_CACHE_HOME/grafana-wasm`,
/// `$HOME/.cache/grafana-wasm`, or, without either (Grafana 12.4+ starts
/// plugins with no host environment), `grafana-wasm-<uid>` in the
/// temporary directory, private to this user.
pub fn default_dir() -> PathBuf {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    from_env("XDG_CACHE_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".cache")))
        .map(|dir| dir.join("grafana-wasm"))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("grafana-wasm-{}", user())))
}

/// This process's effective user id.
fn user() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Where compiled components are kept, if anywhere.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    /// The checked directory; `None` when the cache is bypassed.
    dir: Option<PathBuf>,
    max_bytes: u64,
}

impl CompiledCache {
    /// The cache in `dir` (created private to this user when missing),
    /// holding at most `max_bytes`; bypassed, with a warning saying why,
    /// when `dir` is not safe to load native code from.
    pub fn open(dir: &Path, max_bytes: u64) -> Self {
        let dir = match trusted_dir(dir) {
            Ok(()) => Some(dir.to_path_buf()),
            Err(reason) => {
                tracing::warn!(dir = %dir.display(), %reason, "compiled-component cache rejected; compiling in memory");
                None
            }
        };
        Self { dir, max_bytes }
    }

    fn entry(dir: &Path, engine: &Engine, sha256: &str) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
    }

    /// The cached compilation of the component with `sha256`, if any. An
    /// entry that fails the checks or does not load is ignored (and
    /// replaced by the next store).
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let dir = self.dir.as_deref()?;
        let path = Self::entry(dir, engine, sha256);
        let bytes = match read_trusted(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(reason) => {
                tracing::warn!(path = %path.display(), %reason, "compiled-component cache entry rejected; compiling in memory");
                return None;
            }
        };
        // SAFETY: the bytes come from a file only this user can have
        // written (checked above), into which `store` wrote wasmtime's own
        // serialization; `deserialize` checks its header against this
        // engine, so a truncated or foreign file fails and is ignored.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => {
                self.trim(dir);
                Some(component)
            }
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "ignoring an unusable compiled-component cache entry");
                None
            }
        }
    }

    /// Stores `component`'s compilation; failures only cost the next
    /// start a recompilation, so they are logged, not returned.
    pub fn store(&self, engine: &Engine, sha256: &str, component: &Component) {
        let Some(dir) = self.dir.as_deref() else {
            return;
        };
        let path = Self::entry(dir, engine, sha256);
        if let Err(err) = write(dir, &path, component) {
            tracing::warn!(path = %path.display(), error = %format!("{err:#}"), "cannot cache the compiled component");
        }
        self.trim(dir);
    }

    /// Removes the least recently used entries (oldest modification time:
    /// a load touches its entry) until the cache holds at most its bound.
    fn trim(&self, dir: &Path) {
        let Ok(listing) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = listing
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let meta = entry.metadata().ok()?;
                let modified = meta.modified().ok()?;
                meta.is_file().then(|| (modified, meta.len(), entry.path()))
            })
            .collect();
        entries.sort();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    tracing::debug!(path = %path.display(), "evicted a compiled-component cache entry");
                }
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "cannot evict a compiled-component cache entry");
                }
            }
            total = total.saturating_sub(len);
        }
    }
}

/// Checks every component of `dir`, creating the missing ones private to
/// this user.
///
/// # Errors
/// The first component that another user could have written, named.
fn trusted_dir(dir: &Path) -> Result<(), String> {
    let absolute = std::path::absolute(dir).map_err(|err| err.to_string())?;
    let parts: Vec<PathPart<'_>> = absolute.components().collect();
    let mut path = PathBuf::new();
    for (index, part) in parts.iter().enumerate() {
        if matches!(part, PathPart::ParentDir) {
            return Err(format!("{} contains `..`", dir.display()));
        }
        path.push(part);
        let leaf = index + 1 == parts.len();
        let meta = match std::fs::symlink_metadata(&path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                match create_private_dir(&path) {
                    Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(format!("cannot create {}: {err}", path.display()));
                    }
                    _ => {}
                }
                std::fs::symlink_metadata(&path)
            }
            other => other,
        }
        .map_err(|err| format!("{}: {err}", path.display()))?;
        check_dir(&path, &meta, leaf)?;
    }
    Ok(())
}

/// One directory on the way: not a link, owned by this user (or root
/// above the cache itself), writable by no one else (above the cache: or
/// sticky).
fn check_dir(path: &Path, meta: &std::fs::Metadata, leaf: bool) -> Result<(), String> {
    let shown = path.display();
    if meta.file_type().is_symlink() {
        return Err(format!("{shown} is a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    let owner_ok = meta.uid() == user() || (!leaf && meta.uid() == 0);
    if !owner_ok {
        return Err(format!("{shown} is owned by user {}", meta.uid()));
    }
    let mode = meta.mode();
    let sticky_above = !leaf && mode & STICKY != 0;
    if mode & WRITABLE_BY_OTHERS != 0 && !sticky_above {
        return Err(format!(
            "{shown} is writable by group or others (mode {:o})",
            mode & 0o7777
        ));
    }
    Ok(())
}

/// The contents of the entry at `path`, or `None` when there is none.
///
/// # Errors
/// Why the entry cannot be trusted: a link, not a regular file, owned by
/// another user or writable by others.
fn read_trusted(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path);
    let mut file = match opened {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err("it is a symbolic link".into());
        }
        Err(err) => return Err(err.to_string()),
    };
    let meta = file.metadata().map_err(|err| err.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.uid() != user() {
        return Err(format!("it is owned by user {}", meta.uid()));
    }
    if meta.mode() & WRITABLE_BY_OTHERS != 0 {
        return Err(format!(
            "it is writable by group or others (mode {:o})",
            meta.mode() & 0o7777
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or_default());
    file.read_to_end(&mut bytes)
        .map_err(|err| err.to_string())?;
    // Recently used: kept longest by `trim`.
    let _ = file.set_modified(SystemTime::now());
    Ok(Some(bytes))
}

fn write(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    // Written beside the entry (mode 0600) and renamed into place, so a
    // concurrent reader never sees half a file.
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(&bytes)?;
    file.persist(path)?;
    Ok(())
}

/// Creates the directory `dir` readable and writable by this user only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}
