//! The `grafana-wasm-host` executable: what Grafana launches as a backend
//! plugin (serving with the `grafana_wasm_serve` library), and the
//! developer commands built on that library: `new`, `call`, `demo`,
//! `package` and standalone mode's `--watch`.

mod call;
mod cargo_build;
mod cli;
mod demo;
mod drive;
mod frontend;
mod host_builds;
mod package;
mod rebuild;
mod scaffold;
mod timerange;

fn main() -> std::process::ExitCode {
    cli::main()
}
