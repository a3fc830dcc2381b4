//! Who is asking, and for which plugin instance: the context Grafana sends
//! with every request, and typed access to the instance's settings.

use std::time::SystemTime;

use serde::de::DeserializeOwned;

use super::{Error, GrafanaConfig, StringMap};

/// The Grafana user a request is made for, so that plugins can apply
/// per-user behaviour (or log who asked).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{PluginContext, User};
///
/// let ctx = PluginContext {
///     user: Some(User { login: "admin".into(), role: "Admin".into(), ..User::default() }),
///     ..PluginContext::default()
/// };
/// let is_admin = ctx.user.as_ref().is_some_and(|u| u.role == "Admin");
/// assert!(is_admin);
/// ```
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

/// Settings of an app instance (an app enabled in one org), set on the
/// app's configuration page.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::AppInstanceSettings;
///
/// #[derive(serde::Deserialize)]
/// struct Settings { team: String }
///
/// let settings = AppInstanceSettings {
///     json_data: br#"{"team": "sre"}"#.to_vec(),
///     ..AppInstanceSettings::default()
/// };
/// assert_eq!(settings.json_data::<Settings>()?.team, "sre");
/// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
/// ```
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

/// Settings of one configured datasource, as saved on its configuration
/// page: the plugin's own settings live in `json_data` and the decrypted
/// secrets in `decrypted_secure_json_data`. `Default` gives empty settings,
/// handy in native tests.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::DataSourceInstanceSettings;
///
/// let settings = DataSourceInstanceSettings {
///     uid: "P1".into(),
///     url: "http://prometheus:9090".into(),
///     json_data: br#"{"timeout": 30}"#.to_vec(),
///     ..DataSourceInstanceSettings::default()
/// };
/// let json: serde_json::Value = settings.json_data()?;
/// assert_eq!(json["timeout"], 30);
/// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
/// ```
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

impl Default for AppInstanceSettings {
    /// Empty settings, last changed at the Unix epoch: a starting point
    /// for tests.
    fn default() -> Self {
        Self {
            json_data: Vec::new(),
            decrypted_secure_json_data: StringMap::new(),
            updated: SystemTime::UNIX_EPOCH,
            api_version: String::new(),
        }
    }
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
    /// `jsonData` parsed into your settings type, so that the plugin works
    /// with typed settings; empty data parses as `{}`, so `#[serde(default)]`
    /// models accept a datasource never configured.
    ///
    /// # Errors
    /// A plugin error naming the mismatch when the JSON does not match `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataSourceInstanceSettings;
    ///
    /// #[derive(serde::Deserialize, Default)]
    /// #[serde(default, rename_all = "camelCase")]
    /// struct Settings { max_series: Option<u32> }
    ///
    /// let unset = DataSourceInstanceSettings::default();
    /// assert_eq!(unset.json_data::<Settings>()?.max_series, None);
    ///
    /// let set = DataSourceInstanceSettings {
    ///     json_data: br#"{"maxSeries": 500}"#.to_vec(),
    ///     ..DataSourceInstanceSettings::default()
    /// };
    /// assert_eq!(set.json_data::<Settings>()?.max_series, Some(500));
    /// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
    /// ```
    pub fn json_data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.json_data)
    }

    /// `decryptedSecureJsonData` parsed into your secrets type (a struct
    /// of `String` or `Option<String>` fields).
    ///
    /// Secrets are kept out of `jsonData` by Grafana; this reads them with
    /// the same typed convenience.
    ///
    /// # Errors
    /// When the secrets do not match `T` (e.g. a required secret is unset).
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataSourceInstanceSettings;
    ///
    /// #[derive(serde::Deserialize)]
    /// #[serde(rename_all = "camelCase")]
    /// struct Secrets { api_key: String, password: Option<String> }
    ///
    /// let settings = DataSourceInstanceSettings {
    ///     decrypted_secure_json_data: [("apiKey".to_owned(), "s3cr3t".to_owned())].into(),
    ///     ..DataSourceInstanceSettings::default()
    /// };
    /// let secrets: Secrets = settings.secure_json_data()?;
    /// assert_eq!((secrets.api_key.as_str(), secrets.password), ("s3cr3t", None));
    /// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::DataSourceInstanceSettings;
    ///
    /// let settings = DataSourceInstanceSettings {
    ///     url: "http://loki:3100/".into(),
    ///     ..DataSourceInstanceSettings::default()
    /// };
    /// let client = settings.http_client();
    /// assert_eq!(client.url("/loki/api/v1/labels"), "http://loki:3100/loki/api/v1/labels");
    /// ```
    pub fn http_client(&self) -> crate::http::HttpClient {
        crate::http::HttpClient::new(self.url.clone())
    }
}

impl AppInstanceSettings {
    /// `jsonData` parsed into your settings type (empty data parses as
    /// `{}`), as for datasources; see the example on
    /// [`AppInstanceSettings`].
    ///
    /// # Errors
    /// A plugin error naming the mismatch when the JSON does not match `T`.
    pub fn json_data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.json_data)
    }
}

/// Context sent with every request: who asks, in which org, for which
/// datasource or app instance, with which Grafana configuration (Go:
/// `backend.PluginContext`). `Default` gives an empty context, handy in
/// native tests.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{DataSourceInstanceSettings, PluginContext};
///
/// let ctx = PluginContext {
///     org_id: 1,
///     data_source_instance_settings: Some(DataSourceInstanceSettings {
///         uid: "P1".into(),
///         name: "Prometheus".into(),
///         ..DataSourceInstanceSettings::default()
///     }),
///     ..PluginContext::default()
/// };
/// let name = ctx.data_source_instance_settings.as_ref().map(|ds| ds.name.as_str());
/// assert_eq!(name, Some("Prometheus"));
/// ```
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
