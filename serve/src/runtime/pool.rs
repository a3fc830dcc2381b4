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
use crate::instance_key::{InstanceKey, Target};

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
    newest: HashMap<Target, i64>,
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
        let version = key.settings_version;
        // Only settings newer than the newest seen make older instances
        // stale; the same version is the common case and costs no scan.
        let newer = match idle.newest.get_mut(&key.target) {
            Some(newest) if version > *newest => {
                *newest = version;
                true
            }
            Some(_) => false,
            None => {
                idle.newest.insert(key.target.clone(), version);
                false
            }
        };
        let stale = if newer {
            idle.remove_where(|k, _| k.is_older_version_of(key))
        } else {
            Vec::new()
        };
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
        let outdated = idle
            .newest
            .get(&key.target)
            .is_some_and(|newest| key.settings_version < *newest);
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
