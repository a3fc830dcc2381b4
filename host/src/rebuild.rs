//! `--watch` in standalone mode: builds the component from its crate, and
//! builds it again whenever the developer saves a source file. The reload
//! watcher then hot-swaps each new build in, with the usual checks.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use notify::{RecursiveMode, Watcher as _};

/// Quiet time after the last change before building: an editor saving
/// several files triggers one build.
const SETTLE: Duration = Duration::from_millis(300);

/// Builds the crate in `dir` for `wasm32-wasip2` (release), showing cargo's
/// progress on stderr, and returns the component it produced.
///
/// # Errors
/// Fails when cargo cannot run, the build fails, or it produced no
/// component; the message names the crate.
pub async fn build(dir: PathBuf) -> anyhow::Result<PathBuf> {
    tracing::info!(crate_dir = %dir.display(), "building the component");
    let started = std::time::Instant::now();
    let args = ["build", "--release", "--target", "wasm32-wasip2"];
    let artifacts = crate::cargo_build::run(&dir, &args, &[]).await?;
    let component = crate::cargo_build::file_with_extension(&artifacts, "wasm")
        .with_context(|| format!("cargo built no .wasm component in {}", dir.display()))?;
    tracing::info!(component = %component.display(), elapsed = ?started.elapsed(), "component built");
    Ok(component)
}

/// Watches the crate's `src/` and `Cargo.toml`, building after each burst
/// of changes, for as long as the process runs. A failed build is logged
/// and the running version keeps serving.
///
/// # Errors
/// Fails when the watch cannot be installed.
pub fn spawn_watch(dir: PathBuf) -> anyhow::Result<()> {
    let (changed, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|event| !event.kind.is_access()) {
            let _ = changed.send(());
        }
    })
    .context("creating the source watcher")?;
    for (path, mode) in [
        (dir.join("src"), RecursiveMode::Recursive),
        (dir.join("Cargo.toml"), RecursiveMode::NonRecursive),
    ] {
        watcher
            .watch(&path, mode)
            .with_context(|| format!("watching {}", path.display()))?;
    }
    tracing::info!(crate_dir = %dir.display(), "rebuilding the component when its sources change");
    tokio::spawn(async move {
        let _watcher = watcher;
        while changes.recv().await.is_some() {
            settle(&mut changes).await;
            if let Err(err) = build(dir.clone()).await {
                tracing::error!(
                    error = format!("{err:#}"),
                    "rebuild failed; the running version keeps serving"
                );
            }
        }
    });
    Ok(())
}

/// Waits until no change arrived for [`SETTLE`].
async fn settle(changes: &mut tokio::sync::mpsc::UnboundedReceiver<()>) {
    while let Ok(Some(())) = tokio::time::timeout(SETTLE, changes.recv()).await {}
}
