//! Set-up shared by the benchmarks.

use std::path::Path;

use grafana_wasm_host::metrics::Metrics;
use grafana_wasm_host::runtime::{Runtime, RuntimeSettings};
use grafana_wasm_host::sandbox::SandboxConfig;

/// A multi-threaded async runtime and a plugin runtime serving
/// `component` with the default sandbox.
pub fn runtime(component: &str) -> (tokio::runtime::Runtime, Runtime) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = tokio
        .block_on(Runtime::new(
            Path::new(component),
            RuntimeSettings::default(),
            Ok(SandboxConfig::default()),
            Metrics::new().unwrap(),
        ))
        .unwrap();
    (tokio, runtime)
}
