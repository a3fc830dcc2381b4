//! Who is asking, and for which plugin instance.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use super::{Error, GrafanaConfig, StringMap};

/// A Grafana user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub login: String,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Org role: `Admin`, `Editor`, `Viewer`, ...
    pub role: String,
}

/// Settings of an app instance (an app enabled in one org).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInstanceSettings {
    /// The raw `jsonData` object.
    pub json_data: Vec<u8>,
    /// Decrypted secrets.
    pub decrypted_secure_json_data: StringMap,
    /// Last settings change.
    pub updated: SystemTime,
    /// API version of the settings.
    pub api_version: String,
}

/// Settings of one configured datasource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSourceInstanceSettings {
    /// Numeric id.
    pub id: i64,
    /// Unique id.
    pub uid: String,
    /// Name shown in Grafana.
    pub name: String,
    /// Configured URL.
    pub url: String,
    /// Configured user (not a Grafana user).
    pub user: String,
    /// Configured database.
    pub database: String,
    /// Whether basic authentication is on.
    pub basic_auth_enabled: bool,
    /// Basic authentication user.
    pub basic_auth_user: String,
    /// The raw `jsonData` object.
    pub json_data: Vec<u8>,
    /// Decrypted secrets.
    pub decrypted_secure_json_data: StringMap,
    /// Last settings change.
    pub updated: SystemTime,
    /// API version of the settings.
    pub api_version: String,
}

impl Default for DataSourceInstanceSettings {
    /// Empty settings, last changed at the Unix epoch: a starting point
    /// for tests.
    fn default() -> Self {
        Self {
            id: 0,
            uid: String::new(),
            name: String::new(),
            url: String::new(),
            user: String::new(),
            database: String::new(),
            basic_auth_enabled: false,
            basic_auth_user: String::new(),
            json_data: Vec::new(),
            decrypted_secure_json_data: StringMap::new(),
            updated: SystemTime::UNIX_EPOCH,
            api_version: String::new(),
        }
    }
}

/// Parses raw `jsonData` into `T` (empty data parses as `{}`).
fn parse_json<T: DeserializeOwned>(json: &[u8]) -> Result<T, Error> {
    let json = if json.is_empty() {
        b"{}".as_slice()
    } else {
        json
    };
    serde_json::from_slice(json).map_err(|e| Error::plugin(format!("invalid jsonData: {e}")))
}

impl DataSourceInstanceSettings {
    /// `jsonData` parsed into your settings type.
    ///
    /// # Errors
    /// When the JSON does not match `T`.
    pub fn json_data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.json_data)
    }

    /// `decryptedSecureJsonData` parsed into your secrets type (a struct
    /// of `String` or `Option<String>` fields).
    ///
    /// # Errors
    /// When the secrets do not match `T`.
    pub fn secure_json_data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let map: serde_json::Map<String, serde_json::Value> = self
            .decrypted_secure_json_data
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Error::plugin(format!("invalid secureJsonData: {e}")))
    }

    /// An HTTP client for the datasource's `url`. The host adds the
    /// datasource's basic auth, custom headers and TLS settings to its
    /// requests, so the plugin never handles them.
    pub fn http_client(&self) -> crate::http::HttpClient {
        crate::http::HttpClient::new(self.url.clone())
    }
}

impl AppInstanceSettings {
    /// `jsonData` parsed into your settings type.
    ///
    /// # Errors
    /// When the JSON does not match `T`.
    pub fn json_data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.json_data)
    }
}

/// Context sent with every request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginContext {
    /// Organization id.
    pub org_id: i64,
    /// The plugin's id (`plugin.json` `id`).
    pub plugin_id: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// The user; absent for requests Grafana makes itself (alerting, ...).
    pub user: Option<User>,
    /// Set for app requests.
    pub app_instance_settings: Option<AppInstanceSettings>,
    /// Set for datasource requests.
    pub data_source_instance_settings: Option<DataSourceInstanceSettings>,
    /// Per-request Grafana configuration (`GF_*` keys), with typed getters.
    pub grafana_config: GrafanaConfig,
    /// Grafana's user agent, e.g. `Grafana/11.5.0 (linux; amd64)`.
    pub user_agent: String,
    /// API version.
    pub api_version: String,
    /// Namespace (tenant) of the request.
    pub namespace: String,
}

/// Milliseconds since the epoch as a time.
pub(crate) fn time_from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}
