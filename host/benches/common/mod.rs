//! Set-up shared by the benchmarks.
// Each benchmark binary uses part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use std::time::{Duration, Instant};

use grafana_wasm_serve::metrics::Metrics;
use grafana_wasm_serve::rpc::{Incoming, Rpc};
use grafana_wasm_serve::runtime::{Runtime, RuntimeSettings};
use grafana_wasm_serve::sandbox::SandboxConfig;
use grafana_wasm_serve::wit::handlers::diagnostics;
use grafana_wasm_serve::wit::types::{
    CheckHealthRequest, DataSourceInstanceSettings, PluginContext,
};

/// A multi-threaded async runtime and a plugin runtime serving
/// `component` with the default sandbox.
pub fn runtime(component: &str) -> (tokio::runtime::Runtime, Arc<Runtime>) {
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
    (tokio, Arc::new(runtime))
}

/// A health check for one datasource at settings version `version`: a new
/// version makes the runtime drop the warm instance and instantiate anew.
pub fn health_request(version: i64) -> CheckHealthRequest {
    CheckHealthRequest {
        plugin_context: PluginContext {
            org_id: 1,
            plugin_id: "bench".into(),
            plugin_version: String::new(),
            user: None,
            app_instance_settings: None,
            data_source_instance_settings: Some(DataSourceInstanceSettings {
                id: 1,
                uid: "ds".into(),
                name: "ds".into(),
                url: String::new(),
                user: String::new(),
                database: String::new(),
                basic_auth_enabled: false,
                basic_auth_user: String::new(),
                json_data: b"{}".to_vec(),
                decrypted_secure_json_data: Vec::new(),
                last_updated_ms: version,
                api_version: String::new(),
            }),
            grafana_config: Vec::new(),
            user_agent: String::new(),
            api_version: String::new(),
            namespace: String::new(),
        },
        headers: Vec::new(),
    }
}

/// One CheckHealth call through the runtime (admission, instance, guest);
/// `version` selects the settings version, and so the instance.
pub async fn health_call(runtime: &Arc<Runtime>, version: i64) -> Duration {
    let mut req = health_request(version);
    let started = Instant::now();
    let scope = runtime.scope_withholding_secrets(
        &Incoming::internal(Rpc::CheckHealth),
        &mut req.plugin_context,
    );
    runtime
        .unary::<diagnostics::GuestIndices, _>(scope, |guest, store| {
            Box::pin(async move { guest.call_check_health(store, &req).await })
        })
        .await
        .expect("health check");
    started.elapsed()
}
