//! Running a cargo build for a developer: cargo's progress and compiler
//! errors go straight to their terminal (stderr inherited), and only the
//! machine-readable artifact messages on stdout are read, to find what was
//! built wherever the target directory is.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context as _, bail};
use serde_json::Value;
use tokio::io::AsyncReadExt as _;

/// Runs `cargo <args> --message-format=json-render-diagnostics` in `dir`
/// with `env` added, and returns its `compiler-artifact` messages, last
/// first.
///
/// # Errors
/// When cargo cannot run or the build fails (its errors are already on
/// stderr); the message names `dir`.
pub async fn run(
    dir: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> anyhow::Result<Vec<Value>> {
    let mut child =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(dir)
            .args(args)
            .arg("--message-format=json-render-diagnostics")
            .envs(env.iter().map(|(k, v)| (k, v)))
            // Flags for whatever built this host must not leak into this build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("running cargo in {}", dir.display()))?;
    let mut messages = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_end(&mut messages)
            .await
            .context("reading cargo's messages")?;
    }
    let status = child.wait().await.context("waiting for cargo")?;
    if !status.success() {
        bail!(
            "building in {} failed ({status}); the compiler's errors are above",
            dir.display()
        );
    }
    Ok(artifacts(&messages))
}

/// The `compiler-artifact` messages among cargo's output, last first.
pub fn artifacts(messages: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(messages)
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .collect()
}

/// The first file among `artifacts` whose extension is `extension`.
pub fn file_with_extension(artifacts: &[Value], extension: &str) -> Option<PathBuf> {
    artifacts
        .iter()
        .flat_map(|message| message["filenames"].as_array().into_iter().flatten())
        .filter_map(|name| name.as_str().map(PathBuf::from))
        .find(|path| path.extension().is_some_and(|ext| ext == extension))
}

/// Every executable of the binary target `name` among `artifacts` (one
/// per target platform built).
pub fn executables<'a>(
    artifacts: &'a [Value],
    name: &'a str,
) -> impl Iterator<Item = PathBuf> + 'a {
    artifacts
        .iter()
        .filter(move |message| message["target"]["name"] == name)
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_read_from_cargos_messages() {
        let messages = br#"{"reason":"compiler-artifact","target":{"name":"serde"},"filenames":["/t/libserde.rlib"],"executable":null}
{"reason":"build-script-executed"}
{"reason":"compiler-artifact","target":{"name":"my_plugin"},"filenames":["/t/wasm32-wasip2/release/my_plugin.wasm"],"executable":null}
{"reason":"compiler-artifact","target":{"name":"grafana-wasm-host"},"filenames":["/t/x/debug/grafana-wasm-host"],"executable":"/t/x/debug/grafana-wasm-host"}
{"reason":"build-finished","success":true}"#;
        let found = artifacts(messages);
        assert_eq!(found.len(), 3);
        assert_eq!(
            file_with_extension(&found, "wasm"),
            Some(PathBuf::from("/t/wasm32-wasip2/release/my_plugin.wasm"))
        );
        assert_eq!(
            executables(&found, "grafana-wasm-host").next(),
            Some(PathBuf::from("/t/x/debug/grafana-wasm-host"))
        );
        assert_eq!(executables(&found, "serde").next(), None);
        assert!(artifacts(b"{\"reason\":\"build-finished\"}").is_empty());
    }
}
