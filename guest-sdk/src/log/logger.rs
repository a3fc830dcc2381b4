//! A logger carrying context key/values, like the Go SDK's
//! `log.New().With(...)` and Grafana's contextual plugin logger.

use std::fmt::Display;
use std::sync::Arc;

use super::{Level, imp};
use crate::backend::PluginContext;

/// A logger that adds its key/values to every entry, so each call site
/// logs only what is new (Go: `log.Logger`). Cloning is cheap (the
/// key/values are shared), so keep one per request or component and pass
/// it around; `with` derives a logger with one more key/value.
///
/// Entries go through the same host import as the free functions: the
/// logger's key/values first, then the entry's.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::*;
/// use grafana_wasm_sdk::log::Logger;
///
/// fn query_data(req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
///     let logger = Logger::from_context(&req.plugin_context);
///     let mut response = QueryDataResponse::new();
///     for q in req.queries {
///         let logger = logger.with("refId", &q.ref_id);
///         logger.debug("running query", &[("maxDataPoints", &q.max_data_points)]);
///         response.insert(q.ref_id, DataResponse::default());
///     }
///     Ok(response)
/// }
///
/// let logger = Logger::new().with("component", "cache").with("shard", 3);
/// assert_eq!(logger.fields().collect::<Vec<_>>(), [("component", "cache"), ("shard", "3")]);
/// logger.info("warmed up", &[("entries", &1200), ("ok", &true)]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logger {
    fields: Arc<[(String, String)]>,
}

impl Logger {
    /// A logger without key/values: log through it like through the free
    /// functions, and derive context loggers from it with
    /// [`Logger::with`].
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::log::Logger;
    ///
    /// let logger = Logger::new();
    /// assert_eq!(logger.fields().count(), 0);
    /// logger.info("plugin loaded", &[]);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A logger carrying what identifies a request's target, as Grafana's
    /// contextual plugin logger does: `orgId`; `dsUID` and `dsName` for a
    /// datasource request; `uname` when a user is known. (The host adds
    /// `pluginId` to every entry itself.) Entries of one datasource can
    /// then be told apart from another's.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::{DataSourceInstanceSettings, PluginContext, User};
    /// use grafana_wasm_sdk::log::Logger;
    ///
    /// let ctx = PluginContext {
    ///     org_id: 1,
    ///     user: Some(User { login: "admin".into(), ..User::default() }),
    ///     data_source_instance_settings: Some(DataSourceInstanceSettings {
    ///         uid: "P1809F7CD0C75ACF3".into(),
    ///         name: "Prometheus".into(),
    ///         ..DataSourceInstanceSettings::default()
    ///     }),
    ///     ..PluginContext::default()
    /// };
    /// let logger = Logger::from_context(&ctx);
    /// assert_eq!(
    ///     logger.fields().collect::<Vec<_>>(),
    ///     [("orgId", "1"), ("dsUID", "P1809F7CD0C75ACF3"), ("dsName", "Prometheus"), ("uname", "admin")]
    /// );
    /// ```
    pub fn from_context(ctx: &PluginContext) -> Self {
        let mut fields = vec![("orgId".to_owned(), ctx.org_id.to_string())];
        if let Some(ds) = &ctx.data_source_instance_settings {
            fields.push(("dsUID".to_owned(), ds.uid.clone()));
            fields.push(("dsName".to_owned(), ds.name.clone()));
        }
        if let Some(user) = ctx.user.as_ref().filter(|u| !u.login.is_empty()) {
            fields.push(("uname".to_owned(), user.login.clone()));
        }
        Self {
            fields: fields.into(),
        }
    }

    /// A logger with `key` set to `value` on top of this one's key/values
    /// (Go: `Logger.With`); setting a key again replaces its value. This
    /// logger is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::log::Logger;
    ///
    /// let base = Logger::new().with("attempt", 1);
    /// let retry = base.with("attempt", 2).with("backoffMs", 250);
    /// assert_eq!(retry.fields().collect::<Vec<_>>(), [("attempt", "2"), ("backoffMs", "250")]);
    /// assert_eq!(base.fields().count(), 1);
    /// ```
    pub fn with(&self, key: impl Into<String>, value: impl Display) -> Self {
        let key = key.into();
        let mut fields: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(existing, _)| *existing != key)
            .cloned()
            .collect();
        fields.push((key, value.to_string()));
        Self {
            fields: fields.into(),
        }
    }

    /// The logger's key/values, in the order they were added: what every
    /// entry starts with. Assert on them in tests.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Logs `message` at `level` with the logger's key/values followed by
    /// `fields`: the level chosen at run time, where the per-level methods
    /// fix it.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::log::{Level, Logger};
    ///
    /// let status = 503;
    /// let level = if status >= 500 { Level::Warn } else { Level::Debug };
    /// Logger::new().log(level, "API answered", &[("status", &status)]);
    /// ```
    pub fn log(&self, level: Level, message: &str, fields: &[(&str, &dyn Display)]) {
        imp::write(level, message, &self.entry_fields(fields));
    }

    /// Logs at trace level: step-by-step detail, usually filtered out.
    pub fn trace(&self, message: &str, fields: &[(&str, &dyn Display)]) {
        self.log(Level::Trace, message, fields);
    }

    /// Logs at debug level: diagnostics for the plugin's developers.
    pub fn debug(&self, message: &str, fields: &[(&str, &dyn Display)]) {
        self.log(Level::Debug, message, fields);
    }

    /// Logs at info level: normal operation worth recording.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::log::Logger;
    ///
    /// let rows = 42;
    /// Logger::new().with("refId", "A").info("query done", &[("rows", &rows), ("cached", &false)]);
    /// ```
    pub fn info(&self, message: &str, fields: &[(&str, &dyn Display)]) {
        self.log(Level::Info, message, fields);
    }

    /// Logs at warn level: something unexpected that the plugin recovered
    /// from.
    pub fn warn(&self, message: &str, fields: &[(&str, &dyn Display)]) {
        self.log(Level::Warn, message, fields);
    }

    /// Logs at error level: a failure an operator should look at. Errors
    /// are `Display`, so pass them as values directly.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::Error;
    /// use grafana_wasm_sdk::log::Logger;
    ///
    /// let err = Error::downstream("connection refused");
    /// Logger::new().error("query failed", &[("error", &err), ("errorSource", &err.source)]);
    /// ```
    pub fn error(&self, message: &str, fields: &[(&str, &dyn Display)]) {
        self.log(Level::Error, message, fields);
    }

    /// The key/values of an entry: the logger's, then the entry's rendered.
    fn entry_fields(&self, fields: &[(&str, &dyn Display)]) -> Vec<(String, String)> {
        self.fields
            .iter()
            .cloned()
            .chain(fields.iter().map(|(k, v)| ((*k).to_owned(), v.to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{DataSourceInstanceSettings, User};

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn entries_carry_the_context_first_then_their_own_values() {
        let logger = Logger::new().with("refId", "A");
        assert_eq!(
            logger.entry_fields(&[("rows", &3), ("ratio", &0.5)]),
            owned(&[("refId", "A"), ("rows", "3"), ("ratio", "0.5")])
        );
    }

    #[test]
    fn with_replaces_a_key_and_leaves_the_parent_alone() {
        let parent = Logger::new().with("a", 1).with("b", 2);
        let child = parent.with("a", 3);
        assert_eq!(child.fields().collect::<Vec<_>>(), [("b", "2"), ("a", "3")]);
        assert_eq!(
            parent.fields().collect::<Vec<_>>(),
            [("a", "1"), ("b", "2")]
        );
    }

    #[test]
    fn the_context_adds_org_datasource_and_user_when_present() {
        let bare = Logger::from_context(&PluginContext::default());
        assert_eq!(bare.fields().collect::<Vec<_>>(), [("orgId", "0")]);

        let ctx = PluginContext {
            org_id: 7,
            user: Some(User::default()),
            data_source_instance_settings: Some(DataSourceInstanceSettings {
                uid: "u".into(),
                name: "n".into(),
                ..DataSourceInstanceSettings::default()
            }),
            ..PluginContext::default()
        };
        assert_eq!(
            Logger::from_context(&ctx).fields().collect::<Vec<_>>(),
            [("orgId", "7"), ("dsUID", "u"), ("dsName", "n")],
            "a user without login adds no uname"
        );
    }
}
