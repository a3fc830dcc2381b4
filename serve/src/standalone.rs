//! Standalone (debug) mode, as the Go SDK has it: the developer runs the
//! host by hand, under a debugger or rebuilding the component as they edit,
//! and the copy Grafana launches only points Grafana at it.
//!
//! Grafana knows nothing of this. The host started with `--standalone`
//! listens on TCP, writes its address to `standalone.txt` and its PID to
//! `pid.txt` in the plugin directory, and stops the copies Grafana had
//! started so that Grafana starts them again. A copy Grafana launches that
//! finds an address (in `GF_PLUGIN_GRPC_ADDRESS_<ID>`, or in
//! `standalone.txt` while the process in `pid.txt` lives) prints a handshake
//! pointing at that address instead of serving, and stays until Grafana
//! stops it. When the standalone host stops it removes both files and stops
//! those pointers, so Grafana goes back to launching the plugin normally.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use grafana_wasm_client::handshake::{self, Address};

/// The file holding the standalone host's address.
pub const ADDRESS_FILE: &str = "standalone.txt";
/// The file holding the standalone host's process id.
pub const PID_FILE: &str = "pid.txt";
/// How often a pointer repeats the address on stdout, as the Go SDK does.
const POINTER_INTERVAL: Duration = Duration::from_secs(10);

/// `GF_PLUGIN_GRPC_ADDRESS_<ID>`: the plugin id upper-cased, `-` as `_`.
pub fn address_env(plugin_id: &str) -> String {
    format!(
        "GF_PLUGIN_GRPC_ADDRESS_{}",
        plugin_id.to_uppercase().replace('-', "_")
    )
}

/// The address of a standalone host serving this plugin, if there is one:
/// the environment variable first, then `standalone.txt` in `dir`, unless
/// `pid.txt` names a process that is gone.
pub fn locate(dir: &Path, plugin_id: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(address) = env(&address_env(plugin_id)).filter(|a| !a.trim().is_empty()) {
        return Some(address.trim().to_owned());
    }
    let address = std::fs::read_to_string(dir.join(ADDRESS_FILE)).ok()?;
    let address = address.trim();
    if address.is_empty() {
        return None;
    }
    match std::fs::read_to_string(dir.join(PID_FILE)) {
        Ok(pid) if !process_alive(pid.trim()) => None,
        _ => Some(address.to_owned()),
    }
}

/// Whether the process `pid` exists (signal 0).
fn process_alive(pid: &str) -> bool {
    let pid = pid.parse().ok().and_then(rustix::process::Pid::from_raw);
    pid.is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
}

/// The files announcing a standalone host; removed when dropped.
#[derive(Debug)]
pub struct Announcement {
    files: [PathBuf; 2],
}

impl Announcement {
    /// Writes `address` and this process's id into `dir` (mode 0600).
    ///
    /// # Errors
    /// Fails when a file cannot be written; the message names it.
    pub fn write(dir: &Path, address: &str) -> anyhow::Result<Self> {
        let files = [dir.join(ADDRESS_FILE), dir.join(PID_FILE)];
        let contents = [address.to_owned(), std::process::id().to_string()];
        for (path, contents) in files.iter().zip(contents) {
            write_private(path, &contents)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(Self { files })
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        for path in &self.files {
            if let Err(err) = std::fs::remove_file(path) {
                tracing::warn!(file = %path.display(), error = %err, "cannot remove a standalone file");
            }
        }
    }
}

/// Writes `contents` to `path`, readable by its owner only (a temporary
/// file's mode, 0600), atomically: Grafana's next launch of the plugin
/// reads the whole address or no file, never a half-written one.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(contents.as_bytes())?;
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// The executable Grafana launches for the plugin in `plugin_dir`:
/// `<executable>_<os>_<arch>`, `executable` read from its `plugin.json`
/// (as the Go SDK reads it to find the copies to stop). Without a
/// `plugin.json` naming one there is no telling which processes are the
/// plugin's, so standalone mode refuses to start.
///
/// # Errors
/// No readable `plugin.json`, or no valid `executable` in it; the message
/// names the file.
pub fn plugin_executable(plugin_dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = plugin_dir.join("plugin.json");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "standalone mode needs the plugin's directory (--plugin-dir), with its plugin.json: cannot read {}",
            manifest.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", manifest.display()))?;
    let executable = json["executable"]
        .as_str()
        .filter(|name| !name.is_empty() && !name.contains(['/', '\\']) && *name != "..")
        .with_context(|| {
            format!(
                "{} names no `executable` file: standalone mode cannot tell which processes are Grafana's copies of the plugin",
                manifest.display()
            )
        })?;
    let platform = crate::plugin_files::this_platform();
    let dir = plugin_dir
        .canonicalize()
        .with_context(|| format!("resolving {}", plugin_dir.display()))?;
    Ok(dir.join(format!("{executable}_{platform}")))
}

/// Stops (SIGKILL, as the Go SDK does) every other process running
/// `executable` (from [`plugin_executable`]): the copies Grafana launched,
/// which Grafana then launches again. Nothing else, even from the same
/// directory. Returns how many were stopped.
pub fn stop_other_copies(executable: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let me = std::process::id();
    let copies = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && runs(pid, executable));
    let mut stopped = 0;
    for pid in copies {
        let target = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        let killed = target.is_some_and(|target| {
            rustix::process::kill_process(target, rustix::process::Signal::KILL).is_ok()
        });
        if killed {
            tracing::info!(
                pid,
                "stopped a copy of the plugin so that Grafana restarts it"
            );
            stopped += 1;
        }
    }
    stopped
}

/// Whether process `pid` runs `executable`.
fn runs(pid: u32, executable: &Path) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == executable)
}

/// Points Grafana at the standalone host at `address`: prints the handshake
/// line, then repeats the address every 10 s, until Grafana stops this
/// process.
///
/// # Errors
/// Fails when stdout is closed.
pub async fn point_at(address: &str, app_version: u32) -> anyhow::Result<()> {
    let line = handshake::handshake_line(app_version, &Address::Tcp(address.to_owned()));
    handshake::announce(&line).context("writing the handshake line to stdout")?;
    tracing::info!(
        address,
        "a standalone host serves this plugin; pointing Grafana at it"
    );
    let mut ticks = tokio::time::interval(POINTER_INTERVAL);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
        handshake::announce(&format!("[{now}] using address: {address}\n"))
            .context("writing to stdout")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_is_named_after_the_plugin_id() {
        assert_eq!(
            address_env("my-org-sine-datasource"),
            "GF_PLUGIN_GRPC_ADDRESS_MY_ORG_SINE_DATASOURCE"
        );
    }

    #[test]
    fn the_variable_wins_then_the_file_while_its_process_lives() {
        let dir = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        assert_eq!(locate(dir.path(), "p", none), None);

        std::fs::write(dir.path().join(ADDRESS_FILE), "127.0.0.1:7000\n").unwrap();
        assert_eq!(
            locate(dir.path(), "p", none).as_deref(),
            Some("127.0.0.1:7000")
        );

        std::fs::write(dir.path().join(PID_FILE), std::process::id().to_string()).unwrap();
        assert_eq!(
            locate(dir.path(), "p", none).as_deref(),
            Some("127.0.0.1:7000")
        );

        // No process has a PID beyond the kernel's maximum.
        std::fs::write(dir.path().join(PID_FILE), "2147483647").unwrap();
        assert_eq!(
            locate(dir.path(), "p", none),
            None,
            "a stale pid.txt is ignored"
        );

        let env =
            |name: &str| (name == "GF_PLUGIN_GRPC_ADDRESS_P").then(|| "10.0.0.1:1".to_owned());
        assert_eq!(locate(dir.path(), "p", env).as_deref(), Some("10.0.0.1:1"));
    }

    #[test]
    fn the_announcement_is_private_and_removed_when_dropped() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let announcement = Announcement::write(dir.path(), "127.0.0.1:7001").unwrap();
        let path = dir.path().join(ADDRESS_FILE);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "127.0.0.1:7001");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(PID_FILE)).unwrap(),
            std::process::id().to_string()
        );
        drop(announcement);
        assert!(!path.exists() && !dir.path().join(PID_FILE).exists());
    }
}
