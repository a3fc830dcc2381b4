//! The `grafana-wasm-host` executable; see the library for the design.

fn main() -> std::process::ExitCode {
    grafana_wasm_host::cli::main()
}
