//! A datasource's HTTP settings, read from its instance settings the way the
//! Go SDK's `backend.HTTPSettings` and `httpclient.Options` read them: basic
//! auth, custom headers (`httpHeaderName<N>` / `httpHeaderValue<N>`), TLS
//! (`tlsAuth`, `tlsAuthWithCACert`, `tlsSkipVerify`, `serverName`,
//! `tlsCACert`, `tlsClientCert`, `tlsClientKey`) and `timeout`.

use std::fmt;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use serde_json::Value;

use super::send::Pool;
use crate::wit::types::DataSourceInstanceSettings;

/// Where a request goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub https: bool,
    /// Host name or IP literal, without brackets, lowercase.
    pub host: String,
    /// Port, the scheme's default when absent.
    pub port: u16,
}

impl Origin {
    /// The origin of `scheme://authority`.
    pub fn new(scheme: Option<&Scheme>, authority: &Authority) -> Option<Self> {
        let https = match scheme.map(Scheme::as_str) {
            Some("https") | None => true,
            Some("http") => false,
            Some(_) => return None,
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Some(Self { https, host, port })
    }

    /// The origin of a URL such as a datasource's `url`.
    pub fn of_url(url: &str) -> Option<Self> {
        let uri: http::Uri = url.trim().parse().ok()?;
        Self::new(uri.scheme(), uri.authority()?)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// TLS options of a datasource, PEM text as Grafana stores it.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// Accept any server certificate.
    pub skip_verify: bool,
    /// Name to verify the server certificate against instead of the host.
    pub server_name: Option<String>,
    /// Extra trusted CA certificates.
    pub ca_cert: Option<String>,
    /// Client certificate and key for mutual TLS.
    pub client_cert: Option<(String, String)>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("skip_verify", &self.skip_verify)
            .field("server_name", &self.server_name)
            .field("ca_cert", &self.ca_cert.is_some())
            .field("client_cert", &self.client_cert.is_some())
            .finish()
    }
}

/// What the host applies to requests to a datasource's own URL, and the
/// connections it keeps open to it.
#[derive(Default)]
pub struct DataSourceHttp {
    /// The origin of the datasource's `url`; requests elsewhere get none
    /// of these settings.
    pub origin: Option<Origin>,
    /// Basic auth user and password.
    pub basic_auth: Option<(String, String)>,
    /// Custom headers (name, value).
    pub headers: Vec<(String, String)>,
    /// TLS options.
    pub tls: TlsSettings,
    /// Request timeout set on the datasource.
    pub timeout: Option<Duration>,
    /// Connections to `origin`, reused between requests.
    pub pool: Pool,
}

impl fmt::Debug for DataSourceHttp {
    /// Never prints secrets: only which settings are present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("DataSourceHttp")
            .field("origin", &self.origin)
            .field(
                "basic_auth",
                &self.basic_auth.as_ref().map(|(user, _)| user),
            )
            .field("headers", &header_names)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl DataSourceHttp {
    /// The HTTP settings of a datasource.
    pub fn new(ds: &DataSourceInstanceSettings) -> Self {
        let json: Value = serde_json::from_slice(&ds.json_data).unwrap_or(Value::Null);
        let secret = |key: &str| {
            ds.decrypted_secure_json_data
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let flag = |key: &str| json[key].as_bool().unwrap_or(false);
        let basic_auth = ds.basic_auth_enabled.then(|| {
            (
                ds.basic_auth_user.clone(),
                secret("basicAuthPassword").unwrap_or_default(),
            )
        });
        let headers = (1..)
            .map_while(|n| {
                let name = json[format!("httpHeaderName{n}")]
                    .as_str()?
                    .trim()
                    .to_owned();
                Some((
                    name,
                    secret(&format!("httpHeaderValue{n}")).unwrap_or_default(),
                ))
            })
            .filter(|(name, _)| !name.is_empty())
            .collect();
        let tls = TlsSettings {
            skip_verify: flag("tlsSkipVerify"),
            server_name: json["serverName"]
                .as_str()
                .filter(|name| !name.is_empty())
                .map(str::to_owned),
            ca_cert: flag("tlsAuthWithCACert")
                .then(|| secret("tlsCACert"))
                .flatten(),
            client_cert: flag("tlsAuth")
                .then(|| Some((secret("tlsClientCert")?, secret("tlsClientKey")?)))
                .flatten(),
        };
        Self {
            origin: Origin::of_url(&ds.url),
            basic_auth,
            headers,
            tls,
            timeout: timeout_seconds(&json["timeout"]).map(Duration::from_secs_f64),
            pool: Pool::default(),
        }
    }
}

/// `timeout` as Grafana's UI stores it: a number or a numeric string.
fn timeout_seconds(value: &Value) -> Option<f64> {
    let seconds = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (seconds > 0.0 && seconds.is_finite()).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str, secure: &[(&str, &str)]) -> DataSourceInstanceSettings {
        DataSourceInstanceSettings {
            id: 1,
            uid: "ds".into(),
            name: "ds".into(),
            url: "https://api.example.com/v1".into(),
            user: String::new(),
            database: String::new(),
            basic_auth_enabled: true,
            basic_auth_user: "grafana".into(),
            json_data: json.as_bytes().to_vec(),
            decrypted_secure_json_data: secure
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            last_updated_ms: 0,
            api_version: String::new(),
        }
    }

    #[test]
    fn reads_the_settings_the_go_sdk_reads() {
        let ds = settings(
            r#"{"httpHeaderName1":"X-Tenant","httpHeaderName2":"X-Other","tlsSkipVerify":true,"serverName":"internal","tlsAuthWithCACert":true,"timeout":"12"}"#,
            &[
                ("basicAuthPassword", "s3cret"),
                ("httpHeaderValue1", "acme"),
                ("httpHeaderValue2", "x"),
                ("tlsCACert", "PEM"),
            ],
        );
        let http = DataSourceHttp::new(&ds);
        assert_eq!(
            http.origin,
            Some(Origin {
                https: true,
                host: "api.example.com".into(),
                port: 443
            })
        );
        assert_eq!(http.basic_auth, Some(("grafana".into(), "s3cret".into())));
        assert_eq!(
            http.headers,
            [
                ("X-Tenant".into(), "acme".into()),
                ("X-Other".into(), "x".into())
            ]
        );
        assert!(http.tls.skip_verify);
        assert_eq!(http.tls.server_name.as_deref(), Some("internal"));
        assert_eq!(http.tls.ca_cert.as_deref(), Some("PEM"));
        assert_eq!(http.tls.client_cert, None);
        assert_eq!(http.timeout, Some(Duration::from_secs(12)));
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let ds = settings(
            r#"{"httpHeaderName1":"Authorization"}"#,
            &[
                ("basicAuthPassword", "s3cret"),
                ("httpHeaderValue1", "Bearer t0ken"),
            ],
        );
        let text = format!("{:?}", DataSourceHttp::new(&ds));
        assert!(
            !text.contains("s3cret") && !text.contains("t0ken"),
            "{text}"
        );
        assert!(text.contains("Authorization"), "{text}");
    }

    #[test]
    fn origins_fill_in_default_ports() {
        let origin = Origin::of_url("http://[::1]/x").unwrap();
        assert_eq!(origin.port, 80);
        assert_eq!(origin.host, "::1");
        assert_eq!(origin.to_string(), "http://[::1]:80");
        assert_eq!(Origin::of_url("ftp://x"), None);
        assert_eq!(Origin::of_url(""), None);
    }
}
