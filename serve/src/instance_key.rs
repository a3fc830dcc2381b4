//! Which plugin instance a call is for: a datasource of one org, an app
//! in one org, or the plugin itself, at one version of its settings. The
//! idle pool, the fair shares of capacity, the back-off and the accounts
//! are all kept per instance key.

use crate::wit::types::PluginContext;

/// Which plugin instance a call is for: what identifies it for Grafana,
/// and the version of its settings.
///
/// A datasource uid is unique only within an org (provisioning gives the
/// same uid to datasources of several orgs), and settings times have second
/// precision, so neither is enough alone: two orgs' datasources must never
/// share an instance, its cached state or its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    pub(crate) target: Target,
    /// When its settings last changed (milliseconds since the Unix epoch).
    pub(crate) settings_version: i64,
}

/// A plugin instance without its settings version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A datasource of one org.
    DataSource {
        /// The org the datasource belongs to.
        org_id: i64,
        /// The plugin serving it.
        plugin_id: String,
        /// Its numeric id.
        id: i64,
        /// Its uid (empty for old Grafana versions without uids).
        uid: String,
    },
    /// An app in one org.
    App {
        /// The org.
        org_id: i64,
        /// The app plugin.
        plugin_id: String,
    },
    /// Calls without instance settings (metrics scrapes, admission, ...).
    Plugin,
}

impl InstanceKey {
    /// The key of calls without instance settings.
    pub const PLUGIN: Self = Self {
        target: Target::Plugin,
        settings_version: 0,
    };

    /// The key of the plugin instance `ctx` addresses.
    pub fn of(ctx: &PluginContext) -> Self {
        if let Some(ds) = &ctx.data_source_instance_settings {
            Self {
                target: Target::DataSource {
                    org_id: ctx.org_id,
                    plugin_id: ctx.plugin_id.clone(),
                    id: ds.id,
                    uid: ds.uid.clone(),
                },
                settings_version: ds.last_updated_ms,
            }
        } else if let Some(app) = &ctx.app_instance_settings {
            Self {
                target: Target::App {
                    org_id: ctx.org_id,
                    plugin_id: ctx.plugin_id.clone(),
                },
                settings_version: app.last_updated_ms,
            }
        } else {
            Self::PLUGIN
        }
    }

    /// The datasource or app this key is a settings version of.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Whether the key is for calls without instance settings.
    pub fn is_plugin(&self) -> bool {
        self.target == Target::Plugin
    }

    /// The datasource (or app) this is an instance of, whatever its
    /// settings version: what fair shares of capacity are counted by.
    pub fn tenant(&self) -> Self {
        Self {
            target: self.target.clone(),
            settings_version: 0,
        }
    }

    /// The datasource's uid (its numeric id in Grafanas without uids), the
    /// label of its account; `None` for apps and plugin-wide calls.
    pub fn datasource_uid(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.target {
            Target::DataSource { uid, .. } if !uid.is_empty() => Some(uid.into()),
            Target::DataSource { id, .. } => Some(id.to_string().into()),
            Target::App { .. } | Target::Plugin => None,
        }
    }

    /// Whether `other` is the same plugin instance at other settings.
    pub(crate) fn is_older_version_of(&self, other: &Self) -> bool {
        self.target == other.target
            && self.settings_version != other.settings_version
            && !self.is_plugin()
    }
}
