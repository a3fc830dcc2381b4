//! `grafana-wasm-load`: launches a backend plugin executable the way
//! Grafana does (go-plugin handshake, gRPC) and drives it with concurrent
//! callers for a fixed time or number of calls, then reports throughput,
//! latency percentiles and the plugin process's memory. The same client
//! drives any plugin: a grafana-wasm host with its component, or a native
//! plugin, so that both are measured the same way.
//!
//! ```sh
//! grafana-wasm-load --rpc query --callers 8 --duration 10 -- target/release/grafana-wasm-host --component plugin.wasm
//! grafana-wasm-load --rpc mixed --duration 60 --sample 5 --json -- path/to/gpx_plugin_linux_amd64
//! grafana-wasm-load --api-rows 100 --env GF_PLUGIN_ALLOW_ADDRESSES=127.0.0.1/32 -- grafana-wasm-host --component http_json.wasm
//! ```

mod api;
mod args;
mod calls;
mod report;
mod run;
mod stats;
mod usage;

fn main() -> std::process::ExitCode {
    let args = <args::Args as clap::Parser>::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(args)) {
        Ok(report) => report.exit_code(),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
