//! Grafana's per-request configuration (`PluginContext.grafanaConfig`), with
//! typed getters for the documented keys, like the Go SDK's `GrafanaCfg`.

use std::collections::BTreeSet;

use super::StringMap;

/// Per-request Grafana configuration: the `GF_*` keys Grafana sends with
/// each request instead of environment variables, so one plugin process can
/// serve several differently configured Grafanas (Go: `backend.GrafanaCfg`).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{GrafanaConfig, PluginContext};
///
/// let ctx = PluginContext {
///     grafana_config: GrafanaConfig {
///         values: [("GF_SQL_ROW_LIMIT".to_owned(), "1000".to_owned())].into(),
///     },
///     ..PluginContext::default()
/// };
/// let limit = ctx.grafana_config.sql_row_limit().unwrap_or(1_000_000);
/// assert_eq!(limit, 1000);
/// assert_eq!(ctx.grafana_config.app_url(), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrafanaConfig {
    /// Every key as sent.
    pub values: StringMap,
}

/// Feature toggles enabled in this Grafana, so a plugin can gate behaviour
/// on the same toggles as Grafana (Go: `backend.FeatureToggles`).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::GrafanaConfig;
///
/// let config = GrafanaConfig {
///     values: [("GF_INSTANCE_FEATURE_TOGGLES_ENABLE".to_owned(), "a,b".to_owned())].into(),
/// };
/// let toggles = config.feature_toggles();
/// assert!(toggles.is_enabled("b"));
/// assert_eq!(toggles.enabled().collect::<Vec<_>>(), ["a", "b"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureToggles {
    enabled: BTreeSet<String>,
}

impl FeatureToggles {
    /// Whether toggle `name` is on.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.enabled.contains(name)
    }

    /// The enabled toggles.
    pub fn enabled(&self) -> impl Iterator<Item = &str> {
        self.enabled.iter().map(String::as_str)
    }
}

impl GrafanaConfig {
    /// The raw value of `key`, for keys without a typed getter; an empty
    /// value reads as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        self.get(key)?.trim().parse().ok()
    }

    /// `GF_APP_URL`: Grafana's public URL.
    pub fn app_url(&self) -> Option<&str> {
        self.get("GF_APP_URL")
    }

    /// `GF_CONCURRENT_QUERY_COUNT`: how many queries a plugin should run in
    /// parallel.
    pub fn concurrent_query_count(&self) -> Option<usize> {
        self.parse("GF_CONCURRENT_QUERY_COUNT")
    }

    /// `GF_INSTANCE_FEATURE_TOGGLES_ENABLE`: the enabled feature toggles.
    pub fn feature_toggles(&self) -> FeatureToggles {
        let enabled = self
            .get("GF_INSTANCE_FEATURE_TOGGLES_ENABLE")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        FeatureToggles { enabled }
    }

    /// `GF_USER_FACING_DEFAULT_ERROR`: the message to show instead of
    /// internal errors.
    pub fn user_facing_default_error(&self) -> Option<&str> {
        self.get("GF_USER_FACING_DEFAULT_ERROR")
    }

    /// `GF_SQL_ROW_LIMIT`: the most rows an SQL datasource should return.
    pub fn sql_row_limit(&self) -> Option<i64> {
        self.parse("GF_SQL_ROW_LIMIT")
    }

    /// `GF_RESPONSE_LIMIT`: the largest response, in bytes, a plugin should
    /// read from its datasource.
    pub fn response_limit(&self) -> Option<i64> {
        self.parse("GF_RESPONSE_LIMIT")
    }

    /// `GF_PLUGIN_APP_CLIENT_SECRET`: the service account secret of an app
    /// with an external service registration.
    pub fn plugin_app_client_secret(&self) -> Option<&str> {
        self.get("GF_PLUGIN_APP_CLIENT_SECRET")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_keys_have_typed_getters() {
        let config = GrafanaConfig {
            values: [
                ("GF_APP_URL", "http://grafana:3000/"),
                ("GF_CONCURRENT_QUERY_COUNT", "10"),
                ("GF_INSTANCE_FEATURE_TOGGLES_ENABLE", "alpha, beta"),
                ("GF_SQL_ROW_LIMIT", "x"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        };
        assert_eq!(config.app_url(), Some("http://grafana:3000/"));
        assert_eq!(config.concurrent_query_count(), Some(10));
        assert!(config.feature_toggles().is_enabled("beta"));
        assert!(!config.feature_toggles().is_enabled("gamma"));
        assert_eq!(
            config.sql_row_limit(),
            None,
            "unparsable values read as absent"
        );
        assert_eq!(config.response_limit(), None);
    }
}
