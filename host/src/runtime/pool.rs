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
use std::time::{Duration, Instant};

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

    /// The plugin instance without its settings version, and the
    /// version: keys with the same identity are one datasource (or app) at
    /// different settings.
    fn identity(&self) -> (Self, i64) {
        match self {
            InstanceKey::DataSource { uid, updated_ms } => (
                InstanceKey::DataSource {
                    uid: uid.clone(),
                    updated_ms: 0,
                },
                *updated_ms,
            ),
            InstanceKey::App { org_id, updated_ms } => (
                InstanceKey::App {
                    org_id: *org_id,
                    updated_ms: 0,
                },
                *updated_ms,
            ),
            InstanceKey::Plugin => (InstanceKey::Plugin, 0),
        }
    }

    /// The datasource (or app) this is an instance of, whatever its
    /// settings version: what fair shares of capacity are counted by.
    pub fn tenant(&self) -> Self {
        self.identity().0
    }

    /// Whether `other` is the same plugin instance at other settings.
    pub(super) fn is_older_version_of(&self, other: &Self) -> bool {
        let ((a, x), (b, y)) = (self.identity(), other.identity());
        a == b && x != y && !matches!(a, InstanceKey::Plugin)
    }
}

/// Idle guest instances by key. Instances it lets go of (settings
/// replaced, idle too long) are handed back for disposal.
pub struct IdlePool {
    idle: Mutex<Idle>,
    max_total: usize,
}

#[derive(Default)]
struct Idle {
    by_key: HashMap<InstanceKey, Vec<(Instant, Instance)>>,
    total: usize,
    /// The newest settings version seen per datasource or app.
    newest: HashMap<InstanceKey, i64>,
}

impl Idle {
    fn remove_where(
        &mut self,
        mut drop: impl FnMut(&InstanceKey, &Instant) -> bool,
    ) -> Vec<Instance> {
        let mut removed = Vec::new();
        for (key, instances) in &mut self.by_key {
            let (gone, kept) = std::mem::take(instances)
                .into_iter()
                .partition(|(since, _)| drop(key, since));
            *instances = kept;
            removed.extend(
                gone.into_iter()
                    .map(|(_, instance): (Instant, Instance)| instance),
            );
        }
        self.by_key.retain(|_, instances| !instances.is_empty());
        self.total -= removed.len();
        removed
    }
}

impl IdlePool {
    /// A pool keeping at most `max_total` idle instances in all.
    pub fn new(max_total: usize) -> Self {
        Self {
            idle: Mutex::new(Idle::default()),
            max_total,
        }
    }

    /// An idle instance of `key`, if there is one, and the idle instances
    /// of the same datasource or app at older settings, to dispose of:
    /// their settings are gone.
    pub fn take(&self, key: &InstanceKey) -> (Option<Instance>, Vec<Instance>) {
        let mut idle = self.idle.lock().expect("idle pool lock");
        let (identity, version) = key.identity();
        let newest = idle.newest.entry(identity).or_insert(version);
        let mut stale = Vec::new();
        if version >= *newest {
            *newest = version;
            stale = idle.remove_where(|k, _| k.is_older_version_of(key));
        }
        let instance = idle.by_key.get_mut(key).and_then(Vec::pop).map(|(_, i)| i);
        if instance.is_some() {
            idle.total -= 1;
        }
        (instance, stale)
    }

    /// Keeps `instance` for the next call of `key`, unless `max_per_key`
    /// of that key or the pool's maximum in all are already idle, or newer
    /// settings of its datasource arrived meanwhile; then it is handed
    /// back, to dispose of.
    pub fn put(
        &self,
        key: InstanceKey,
        instance: Instance,
        max_per_key: usize,
    ) -> Option<Instance> {
        let mut idle = self.idle.lock().expect("idle pool lock");
        let (identity, version) = key.identity();
        let outdated = idle
            .newest
            .get(&identity)
            .is_some_and(|newest| version < *newest);
        if outdated || idle.total >= self.max_total {
            return Some(instance);
        }
        let instances = idle.by_key.entry(key).or_default();
        if instances.len() >= max_per_key {
            return Some(instance);
        }
        instances.push((Instant::now(), instance));
        idle.total += 1;
        None
    }

    /// The instances idle for longer than `limit`, taken out of the pool.
    pub fn evict(&self, limit: Duration) -> Vec<Instance> {
        let mut idle = self.idle.lock().expect("idle pool lock");
        idle.remove_where(|_, since| since.elapsed() > limit)
    }

    /// The instance idle for longest, taken out of the pool.
    pub fn take_oldest(&self) -> Option<Instance> {
        let mut idle = self.idle.lock().expect("idle pool lock");
        let (key, index) = idle
            .by_key
            .iter()
            .flat_map(|(key, instances)| {
                instances
                    .iter()
                    .enumerate()
                    .map(move |(index, (since, _))| (since, key, index))
            })
            .min_by_key(|(since, _, _)| **since)
            .map(|(_, key, index)| (key.clone(), index))?;
        let instances = idle.by_key.get_mut(&key).expect("found above");
        let (_, instance) = instances.remove(index);
        if instances.is_empty() {
            idle.by_key.remove(&key);
        }
        idle.total -= 1;
        Some(instance)
    }

    /// Every idle instance, taken out of the pool.
    pub fn drain(&self) -> Vec<Instance> {
        let mut idle = self.idle.lock().expect("idle pool lock");
        idle.remove_where(|_, _| true)
    }
}
