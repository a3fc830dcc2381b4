//! The compiled-component cache: native code is loaded only from where no
//! one else can have written it, a cache that fails the checks is bypassed
//! (the host compiles in memory and serves), and its size is bounded.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use grafana_wasm_client::PluginProcess;

use crate::support::*;

const LOADED: &str = "compiled component loaded from the cache";
const DIR_REJECTED: &str = "compiled-component cache rejected";
const ENTRY_REJECTED: &str = "compiled-component cache entry rejected";

/// Launches the random walk with `env` set, and checks that it serves.
async fn launch_with(env: &[(&str, &Path)]) -> PluginProcess {
    let mut command = host_command(RANDOM_WALK);
    for (key, value) in env {
        command.env(key, value);
    }
    let plugin = PluginProcess::launch(command).await.unwrap();
    let answer = plugin
        .data()
        .query_data(query_request(vec![query("A", "{}", 1_000)]))
        .await
        .expect("the host serves")
        .into_inner();
    assert!(answer.responses["A"].error.is_empty());
    plugin
}

async fn launch_with_cache(dir: &Path) -> PluginProcess {
    launch_with(&[("GF_PLUGIN_WASM_CACHE_DIR", dir)]).await
}

/// The cache entries (`*.cwasm`) in `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    listing
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect()
}

/// A private cache directory holding the random walk's compiled entry.
async fn seeded_cache() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = root.path().join("cache");
    let _ = launch_with_cache(&dir).await;
    let entry = entries(&dir)
        .pop()
        .expect("the host stored its compilation");
    (root, dir, entry)
}

/// Asserts that `plugin` logged `rejection` naming `reason`, and compiled
/// instead of loading from the cache.
async fn assert_bypassed(plugin: &PluginProcess, rejection: &str, reason: &str) {
    let logs = log_entries_when(plugin, |e| count_logged(e, "component compiled") > 0).await;
    let rejected = logs.iter().any(|e| {
        e["@level"] == "warn"
            && e["@message"]
                .as_str()
                .is_some_and(|m| m.starts_with(rejection))
            && e["reason"].as_str().is_some_and(|r| r.contains(reason))
    });
    assert!(rejected, "{rejection} ({reason}) in {logs:#?}");
    assert_eq!(
        count_logged(&logs, LOADED),
        0,
        "nothing loaded from the cache"
    );
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_nobody(path: &Path) {
    let status = std::process::Command::new("chown")
        .args(["-h", "nobody"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_cached_compilation_is_loaded_on_the_next_start() {
    let (_root, dir, _) = seeded_cache().await;
    let plugin = launch_with_cache(&dir).await;
    let logs = log_entries_when(&plugin, |e| count_logged(e, LOADED) > 0).await;
    assert_eq!(count_logged(&logs, DIR_REJECTED), 0);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "created private");
}

#[tokio::test]
async fn a_cache_directory_others_could_write_is_bypassed() {
    for (case, reason) in [
        ("world-writable", "writable by group or others"),
        ("group-writable", "writable by group or others"),
        ("another user's", "owned by user"),
        ("symlinked", "symbolic link"),
    ] {
        let (root, dir, _) = seeded_cache().await;
        let used = match case {
            "world-writable" => {
                chmod(&dir, 0o777);
                dir
            }
            "group-writable" => {
                chmod(&dir, 0o770);
                dir
            }
            "another user's" => {
                chown_nobody(&dir);
                dir
            }
            _ => {
                let link = root.path().join("link");
                std::os::unix::fs::symlink(&dir, &link).unwrap();
                link
            }
        };
        let plugin = launch_with_cache(&used).await;
        assert_bypassed(&plugin, DIR_REJECTED, reason).await;
    }
}

#[tokio::test]
async fn a_planted_cache_entry_is_never_loaded() {
    for (case, reason) in [
        ("world-writable", "writable by group or others"),
        ("another user's", "owned by user"),
        ("symlink", "symbolic link"),
    ] {
        let (root, dir, entry) = seeded_cache().await;
        match case {
            "world-writable" => chmod(&entry, 0o666),
            "another user's" => chown_nobody(&entry),
            _ => {
                let elsewhere = root.path().join("elsewhere.cwasm");
                std::fs::rename(&entry, &elsewhere).unwrap();
                std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
            }
        }
        let plugin = launch_with_cache(&dir).await;
        assert_bypassed(&plugin, ENTRY_REJECTED, reason).await;
    }
}

#[tokio::test]
async fn without_home_the_default_cache_is_private_to_the_user() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(tmp.path()).unwrap());
    let default = tmp.path().join(format!("grafana-wasm-{uid}"));
    // No HOME, no XDG_CACHE_HOME: as Grafana 12.4+ starts plugins.
    let _ = launch_with(&[("TMPDIR", tmp.path())]).await;
    let mode = std::fs::metadata(&default).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        entries(&default).len(),
        1,
        "the compilation is cached there"
    );

    // Another user could have made it first, writable by all.
    chmod(&default, 0o777);
    let plugin = launch_with(&[("TMPDIR", tmp.path())]).await;
    assert_bypassed(&plugin, DIR_REJECTED, "writable by group or others").await;
}

#[tokio::test]
async fn the_cache_keeps_to_its_size_evicting_the_least_recently_used() {
    let (_root, dir, entry) = seeded_cache().await;
    let size = std::fs::metadata(&entry).unwrap().len();
    // A bound that holds the entry and one more MiB, not two.
    let max_mb = size.div_ceil(1 << 20) + 1;
    let old = |name: &str, days: u64| {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(1 << 20).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(days * 86_400))
            .unwrap();
        path
    };
    let oldest = old("oldest.cwasm", 2);
    let older = old("older.cwasm", 1);
    let plugin = launch_with(&[
        ("GF_PLUGIN_WASM_CACHE_DIR", &dir),
        (
            "GF_PLUGIN_WASM_CACHE_MAX_MB",
            Path::new(&max_mb.to_string()),
        ),
    ])
    .await;
    log_entries_when(&plugin, |e| count_logged(e, LOADED) > 0).await;
    assert!(!oldest.exists(), "the least recently used entry is evicted");
    assert!(older.exists() && entry.exists(), "the rest fits");
    let total: u64 = entries(&dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(total <= max_mb << 20, "{total} bytes");
}
