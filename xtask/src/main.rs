//! `cargo xtask demo`: builds the bundled example plugin for
//! `wasm32-wasip2` and the host, showing cargo's progress, then runs
//! `grafana-wasm-host demo` with the component, which launches the host as
//! Grafana does and calls every handler. Both artifacts are located from
//! cargo's own messages, so `CARGO_TARGET_DIR` and cargo configuration
//! are honoured.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const EXAMPLE: &str = "random-walk";
const HOST: &str = "grafana-wasm-host";

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a cargo build with `args`, its progress and errors on stderr, and
/// returns the file of the artifact `pick` chooses from cargo's messages.
fn build(
    step: &str,
    args: &[&str],
    pick: fn(&serde_json::Value) -> Option<PathBuf>,
) -> Result<PathBuf, String> {
    eprintln!("==> {step}");
    let mut child = cargo()
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{step}: cannot run cargo: {e}"))?;
    let mut messages = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_string(&mut messages)
            .map_err(|e| format!("{step}: reading cargo's messages: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| format!("{step}: waiting for cargo: {e}"))?;
    if !status.success() {
        return Err(format!("{step} failed ({status})"));
    }
    artifact(&messages, pick).ok_or_else(|| format!("{step}: cargo reported no artifact"))
}

/// The last artifact `pick` finds among cargo's `compiler-artifact`
/// messages.
fn artifact(messages: &str, pick: fn(&serde_json::Value) -> Option<PathBuf>) -> Option<PathBuf> {
    messages
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .find_map(|message| pick(&message))
}

/// The `.wasm` file of an artifact message.
fn component(message: &serde_json::Value) -> Option<PathBuf> {
    message["filenames"]
        .as_array()?
        .iter()
        .filter_map(|name| name.as_str().map(PathBuf::from))
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
}

/// The executable of the host's artifact message.
fn host_executable(message: &serde_json::Value) -> Option<PathBuf> {
    (message["target"]["name"] == HOST)
        .then(|| message["executable"].as_str().map(PathBuf::from))
        .flatten()
}

fn run(step: &str, program: &Path, args: &[&std::ffi::OsStr]) -> Result<(), String> {
    eprintln!("==> {step}");
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("{step}: cannot run {}: {e}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn demo() -> Result<(), String> {
    let component = build(
        &format!("building example-plugins/{EXAMPLE} for wasm32-wasip2"),
        &[
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
            "-p",
            EXAMPLE,
        ],
        component,
    )?;
    let host = build(
        "building the host (the first build compiles wasmtime: several minutes)",
        &["-p", HOST, "--bin", HOST],
        host_executable,
    )?;
    run(
        "running the host with it, driven as Grafana drives a plugin",
        &host,
        &[
            "demo".as_ref(),
            "--component".as_ref(),
            component.as_os_str(),
        ],
    )
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let outcome = match task.as_deref() {
        Some("demo") => demo(),
        _ => Err("usage: cargo xtask demo".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_found_in_cargos_messages_wherever_the_target_dir_is() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"serde"},"filenames":["/t/libserde.rlib"],"executable":null}
{"reason":"compiler-artifact","target":{"name":"random_walk"},"filenames":["/elsewhere/wasm32-wasip2/guest/random_walk.wasm"],"executable":null}
{"reason":"compiler-artifact","target":{"name":"grafana-wasm-host"},"filenames":["/elsewhere/debug/grafana-wasm-host"],"executable":"/elsewhere/debug/grafana-wasm-host"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            artifact(messages, component),
            Some(PathBuf::from(
                "/elsewhere/wasm32-wasip2/guest/random_walk.wasm"
            ))
        );
        assert_eq!(
            artifact(messages, host_executable),
            Some(PathBuf::from("/elsewhere/debug/grafana-wasm-host"))
        );
        assert_eq!(artifact(r#"{"reason":"build-finished"}"#, component), None);
    }
}
