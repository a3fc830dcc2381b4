//! `cargo xtask demo`: builds the bundled example plugin for
//! `wasm32-wasip2`, then runs `grafana-wasm-host demo` with it, which
//! launches the host as Grafana does and calls every handler.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

const EXAMPLE: &str = "random-walk";
const EXAMPLE_FILE: &str = "random_walk.wasm";

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(step: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("==> {step}");
    let status = command
        .status()
        .map_err(|e| format!("{step}: cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn demo() -> Result<(), String> {
    run(
        &format!("building example-plugins/{EXAMPLE} for wasm32-wasip2"),
        cargo().args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
            "-p",
            EXAMPLE,
        ]),
    )?;
    let component = workspace_root()
        .join("target/wasm32-wasip2/guest")
        .join(EXAMPLE_FILE);
    run(
        "running the host with it, driven as Grafana drives a plugin",
        cargo()
            .args([
                "run",
                "--quiet",
                "-p",
                "grafana-wasm-host",
                "--",
                "demo",
                "--component",
            ])
            .arg(&component),
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
