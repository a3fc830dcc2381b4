//! What the host keeps per plugin instance it has served (a datasource or
//! an app at one version of its settings): the context of its calls, for
//! the health gate of a new component version, and the datasource's HTTP
//! settings, parsed again only when the settings a call carries differ
//! from the last ones seen (comparing is cheaper than parsing jsonData).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::instance_key::InstanceKey;
use crate::sandbox::http::DataSourceHttp;
use crate::wit::types::PluginContext;

/// Plugin instances remembered at most; calls for others still work, their
/// settings are parsed per call and they are not health-gated.
const MAX_KNOWN: usize = 256;

/// Contexts the health gate checks a new version against.
const MAX_GATE_CONTEXTS: usize = 16;

struct Entry {
    /// The context as Grafana sent it, secrets included.
    ctx: PluginContext,
    http: Option<Arc<DataSourceHttp>>,
}

/// Plugin instances by key.
#[derive(Default)]
pub struct KnownInstances {
    entries: Mutex<HashMap<InstanceKey, Entry>>,
}

impl KnownInstances {
    /// The HTTP settings of the datasource `ctx` addresses (none for apps
    /// and calls without settings), remembering `ctx` for `key`. Call
    /// before anything is taken out of `ctx`.
    pub fn datasource_http(
        &self,
        key: &InstanceKey,
        ctx: &PluginContext,
    ) -> Option<Arc<DataSourceHttp>> {
        if key.is_plugin() {
            return None;
        }
        let mut entries = self.entries.lock().expect("known instances lock");
        if let Some(entry) = entries.get(key)
            && entry.ctx.data_source_instance_settings == ctx.data_source_instance_settings
        {
            return entry.http.clone();
        }
        let http = ctx
            .data_source_instance_settings
            .as_ref()
            .map(|ds| Arc::new(DataSourceHttp::new(ds)));
        entries.retain(|known, _| !known.is_older_version_of(key));
        if entries.len() < MAX_KNOWN || entries.contains_key(key) {
            let entry = Entry {
                ctx: ctx.clone(),
                http: http.clone(),
            };
            entries.insert(key.clone(), entry);
        }
        http
    }

    /// Contexts of plugin instances served lately, for the health gate.
    pub fn gate_contexts(&self) -> Vec<PluginContext> {
        let entries = self.entries.lock().expect("known instances lock");
        entries
            .values()
            .take(MAX_GATE_CONTEXTS)
            .map(|entry| entry.ctx.clone())
            .collect()
    }
}
