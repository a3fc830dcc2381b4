//! The sandbox around the plugin's guests, one concern per module:
//! [`config`] (every limit and grant, from `sandbox.toml` and the
//! operator's overrides), [`limits`] (deadlines, admission, stream caps,
//! back-off), [`logs`] (what a guest may write to the host log), [`wasi`]
//! (filesystem, environment, stdio) and [`http`] (governed outgoing HTTP).

pub mod config;
pub mod http;
pub mod limits;
pub mod logs;
pub mod wasi;

use std::sync::Arc;

pub use config::{ConfigError, SandboxConfig};

use crate::instance_key::InstanceKey;
use crate::wit::types::PluginContext;

/// Grafana's configuration key for how many queries it runs at once.
const CONCURRENT_QUERY_COUNT: &str = "GF_CONCURRENT_QUERY_COUNT";
/// Grafana's configuration key for the largest HTTP response, in bytes.
const RESPONSE_LIMIT: &str = "GF_RESPONSE_LIMIT";
/// Most warm instances kept per datasource, whatever Grafana asks.
const MAX_IDLE_PER_KEY: u32 = 32;

/// A configuration made ready for use: every limit and grant resolved.
pub struct Sandbox {
    /// The configuration it was built from.
    pub config: SandboxConfig,
    /// Deadline of each RPC.
    pub deadlines: limits::Deadlines,
    /// Admission of concurrent calls, fair between datasources.
    pub gate: Arc<limits::CallGate<InstanceKey>>,
    /// Caps on open streams.
    pub streams: Arc<limits::StreamGate<InstanceKey>>,
    /// Refusal of calls for instances that keep failing.
    pub backoff: limits::TrapBackoff<InstanceKey>,
    /// Filesystem, environment and stdio of each guest.
    pub wasi: wasi::WasiGrants,
    /// Outgoing HTTP rules.
    pub http: Arc<http::HttpPolicy>,
}

impl Sandbox {
    /// Resolves `config`, reading granted
    /// environment variables from `env`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when a grant cannot be resolved.
    pub fn new(
        config: SandboxConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let invalid = |message| ConfigError::Invalid {
            origin: "grants".into(),
            message,
        };
        Ok(Self {
            deadlines: limits::Deadlines::new(&config),
            gate: limits::CallGate::new(&config),
            streams: limits::StreamGate::new(&config),
            backoff: limits::TrapBackoff::new(config.trap_backoff_after),
            wasi: wasi::WasiGrants::new(&config, env).map_err(invalid)?,
            http: Arc::new(http::HttpPolicy::new(&config).map_err(invalid)?),
            config,
        })
    }

    /// What a call's outgoing requests need: the datasource's HTTP
    /// settings (`datasource`, parsed from `ctx` before this) and Grafana's
    /// response limit. Without `raw_secrets` the decrypted secrets are
    /// taken out of `ctx` here, before the guest can see them.
    pub fn call_http(
        &self,
        ctx: &mut PluginContext,
        datasource: Option<Arc<http::DataSourceHttp>>,
    ) -> http::CallHttp {
        if let Some(ds) = ctx.data_source_instance_settings.as_mut()
            && !self.config.raw_secrets
        {
            ds.decrypted_secure_json_data.clear();
        }
        http::CallHttp {
            datasource,
            response_limit: grafana_number(ctx, RESPONSE_LIMIT).filter(|limit| *limit > 0),
            ..http::CallHttp::default()
        }
    }

    /// How long a warm instance may stay unused.
    pub fn idle_timeout(&self) -> std::time::Duration {
        config::seconds(self.config.idle_timeout_seconds)
    }

    /// Warm instances to keep for one datasource: as many as Grafana runs
    /// queries at once when it says, else `idle_instances`.
    pub fn idle_per_key(&self, ctx: &PluginContext) -> usize {
        let count = grafana_number(ctx, CONCURRENT_QUERY_COUNT)
            .and_then(|count| u32::try_from(count).ok())
            .unwrap_or(self.config.idle_instances);
        count.min(MAX_IDLE_PER_KEY) as usize
    }
}

/// A numeric key of the call's Grafana configuration.
fn grafana_number(ctx: &PluginContext, key: &str) -> Option<u64> {
    ctx.grafana_config
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
}
