//! Warm guest instances kept between calls, per plugin instance.
//!
//! Grafana's SDKs keep one plugin instance per datasource (or app) and
//! recreate it when its settings change. Here each such instance key owns
//! its own guest instances: state built by one call (caches, counters,
//! connections' bookkeeping) is there for the next call of the same
//! datasource, and never visible to another datasource. A guest instance
//! that trapped or was stopped is never put back.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Instance;
use super::bindings::types::PluginContext;

/// Which plugin instance a call is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InstanceKey {
    /// A datasource, at one version of its settings.
    DataSource {
        /// Its uid (its numeric id for old Grafana versions without uids).
        uid: String,
        /// When its settings last changed.
        updated_ms: i64,
    },
    /// An app in one org, at one version of its settings.
    App {
        /// The org.
        org_id: i64,
        /// When its settings last changed.
        updated_ms: i64,
    },
    /// Calls without instance settings (metrics scrapes, admission, ...).
    Plugin,
}

impl InstanceKey {
    /// The key of the plugin instance `ctx` addresses.
    pub fn of(ctx: &PluginContext) -> Self {
        if let Some(ds) = &ctx.data_source_instance_settings {
            let uid = if ds.uid.is_empty() {
                ds.id.to_string()
            } else {
                ds.uid.clone()
            };
            InstanceKey::DataSource {
                uid,
                updated_ms: ds.last_updated_ms,
            }
        } else if let Some(app) = &ctx.app_instance_settings {
            InstanceKey::App {
                org_id: ctx.org_id,
                updated_ms: app.last_updated_ms,
            }
        } else {
            InstanceKey::Plugin
        }
    }

    /// Whether `other` is the same plugin instance at other settings.
    pub(super) fn is_older_version_of(&self, other: &Self) -> bool {
        match (self, other) {
            (
                InstanceKey::DataSource {
                    uid: a,
                    updated_ms: x,
                },
                InstanceKey::DataSource {
                    uid: b,
                    updated_ms: y,
                },
            ) => a == b && x != y,
            (
                InstanceKey::App {
                    org_id: a,
                    updated_ms: x,
                },
                InstanceKey::App {
                    org_id: b,
                    updated_ms: y,
                },
            ) => a == b && x != y,
            _ => false,
        }
    }
}

/// Idle guest instances by key.
pub struct IdlePool {
    idle: Mutex<Idle>,
    max_total: usize,
}

#[derive(Default)]
struct Idle {
    by_key: HashMap<InstanceKey, Vec<Instance>>,
    total: usize,
}

impl IdlePool {
    /// A pool keeping at most `max_total` idle instances in all.
    pub fn new(max_total: usize) -> Self {
        Self {
            idle: Mutex::new(Idle::default()),
            max_total,
        }
    }

    /// An idle instance of `key`, if there is one. Instances of the same
    /// datasource or app at older settings are dropped: their settings are
    /// gone.
    pub fn take(&self, key: &InstanceKey) -> Option<Instance> {
        let mut idle = self.idle.lock().ok()?;
        let Idle { by_key, total } = &mut *idle;
        by_key.retain(|k, instances| {
            let keep = !k.is_older_version_of(key);
            if !keep {
                *total -= instances.len();
            }
            keep
        });
        let instance = by_key.get_mut(key)?.pop()?;
        *total -= 1;
        Some(instance)
    }

    /// Keeps `instance` for the next call of `key`, unless `max_per_key`
    /// of that key or the pool's maximum in all are already idle.
    pub fn put(&self, key: InstanceKey, instance: Instance, max_per_key: usize) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        if idle.total >= self.max_total {
            return;
        }
        let instances = idle.by_key.entry(key).or_default();
        if instances.len() < max_per_key {
            instances.push(instance);
            idle.total += 1;
        }
    }
}
