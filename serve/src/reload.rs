//! What makes the host swap in a new version of the component: the file
//! changing on disk (written in place or renamed over, as deploy tools do)
//! or SIGHUP; SIGUSR2 restores the version replaced last.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::runtime::{ReloadOutcome, Runtime};

/// Quiet time after the last change before reloading, so that a file being
/// written is read once it is complete.
const SETTLE: Duration = Duration::from_millis(100);

/// Watches `component` and the signals, reloading `runtime` until
/// `shutdown`.
///
/// # Errors
/// When neither the watcher nor the signal handlers can be installed.
pub fn spawn(
    runtime: Arc<Runtime>,
    component: &Path,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (changed, mut changes) = mpsc::channel::<()>(1);
    let watcher = watch(component, changed.clone());
    if let Err(err) = &watcher {
        tracing::warn!(
            error = format!("{err:#}"),
            "not watching the component file; reload with SIGHUP"
        );
    }
    let mut hangups = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut restores =
        signal(SignalKind::user_defined2()).context("installing the SIGUSR2 handler")?;
    tokio::spawn(async move {
        // Dropped (and the watch stopped) when the task ends.
        let _watcher = watcher;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                Some(()) = changes.recv() => {
                    settle(&mut changes).await;
                    log_outcome(runtime.reload().await);
                }
                Some(()) = hangups.recv() => log_outcome(runtime.reload().await),
                Some(()) = restores.recv() => {
                    if let Err(err) = runtime.restore_previous() {
                        tracing::warn!(error = err, "SIGUSR2: nothing restored");
                    }
                }
            }
        }
    });
    Ok(())
}

/// Waits until no change arrived for [`SETTLE`].
async fn settle(changes: &mut mpsc::Receiver<()>) {
    while let Ok(Some(())) = tokio::time::timeout(SETTLE, changes.recv()).await {}
}

fn log_outcome(outcome: ReloadOutcome) {
    if outcome == ReloadOutcome::Unchanged {
        tracing::debug!("component file unchanged; nothing to swap");
    }
}

/// Watches the component's directory (a file renamed over the component
/// is a new inode, which a watch on the file itself would miss).
fn watch(
    component: &Path,
    changed: mpsc::Sender<()>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let name = component
        .file_name()
        .context("the component path has no file name")?
        .to_owned();
    let dir: PathBuf = match component.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let relevant = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) && event.paths.iter().any(|p| p.file_name() == Some(&name));
        if relevant {
            // A full channel already holds a pending change.
            let _ = changed.try_send(());
        }
    })
    .context("creating the file watcher")?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    Ok(watcher)
}
