//! The sandbox configuration of one plugin: every limit and every grant, in
//! one file next to the component (`sandbox.toml`), each key overridable by
//! the operator through Grafana's `[plugin.<id>]` ini section.
//!
//! Grafana hands each key of `[plugin.<id>]` to the plugin as the
//! environment variable `GF_PLUGIN_<KEY>` (upper-cased), so
//! `[plugin.my-ds] max_memory_mb = 64` reaches the host as
//! `GF_PLUGIN_MAX_MEMORY_MB=64` and wins over the file. Lists are written
//! comma-separated in the environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables Grafana derives from `[plugin.<id>]`.
pub const ENV_PREFIX: &str = "GF_PLUGIN_";

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read sandbox configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file, or the file with the overrides, is not a valid
    /// configuration.
    #[error("invalid sandbox configuration {origin}: {message}")]
    Invalid {
        /// The file and/or the environment variables involved.
        origin: String,
        /// What is wrong, with the key at fault.
        message: String,
    },
}

/// Every limit and grant of the sandbox. The defaults deny every
/// capability but clocks and randomness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Linear memory an instance may use, in MiB.
    pub max_memory_mb: u64,
    /// Guest instances alive at once, idle ones included.
    pub max_instances: u32,
    /// Guest calls running at once; more wait in a queue.
    pub max_concurrent_calls: u32,
    /// Calls waiting for a free slot; beyond this a call fails at once
    /// with `RESOURCE_EXHAUSTED`.
    pub max_queued_calls: u32,
    /// The part of `max_concurrent_calls` (and of `max_queued_calls`) one
    /// datasource may hold, between 0 and 1: a flood of calls for one
    /// datasource leaves the rest to the others.
    pub datasource_call_share: f64,
    /// RunStream calls open at once; each holds a guest instance.
    pub max_streams: u32,
    /// RunStream calls open at once for one datasource.
    pub max_streams_per_datasource: u32,
    /// Lines a guest instance may write to the host log per second (log
    /// calls, stdout and stderr together, with a burst of as many); the
    /// rest are dropped and counted.
    pub log_lines_per_second: u32,
    /// Warm instances kept per datasource (or app) between calls, unless
    /// Grafana sends `GF_CONCURRENT_QUERY_COUNT`, which then wins.
    pub idle_instances: u32,
    /// Seconds a warm instance may stay unused before it is disposed of.
    pub idle_timeout_seconds: f64,
    /// Longest QueryData and QueryChunkedData call, in seconds. A shorter
    /// gRPC deadline from Grafana wins.
    pub query_timeout_seconds: f64,
    /// Longest CallResource call, in seconds.
    pub resource_timeout_seconds: f64,
    /// Longest CheckHealth call, in seconds.
    pub health_timeout_seconds: f64,
    /// Longest call of every other unary RPC, in seconds. RunStream has
    /// no deadline: it runs until Grafana cancels it.
    pub call_timeout_seconds: f64,
    /// Fuel (roughly, wasm instructions) per call; 0 turns fuel metering
    /// off and leaves deadlines to wall-clock time alone.
    pub fuel: u64,
    /// Consecutive traps or timeouts of one datasource after which its
    /// calls are refused for a while (doubling from 1 s up to a minute).
    pub trap_backoff_after: u32,
    /// Host environment variables the guest may read.
    pub allow_env: Vec<String>,
    /// Host directories the guest may read, as `host-path` or
    /// `host-path:guest-path`. Always read-only.
    pub allow_dirs: Vec<String>,
    /// Hosts the guest may call over HTTP besides its datasource's URL,
    /// as `name`, `name:port` or `*.domain`.
    pub allow_hosts: Vec<String>,
    /// Addresses the guest may reach although they are loopback,
    /// link-local or cloud metadata addresses, as CIDR blocks.
    pub allow_addresses: Vec<IpNet>,
    /// Longest outgoing HTTP request, in seconds, unless the datasource
    /// sets its own `timeout`.
    pub http_timeout_seconds: f64,
    /// Largest outgoing HTTP response body, in MiB. Grafana's
    /// `GF_RESPONSE_LIMIT`, when sent, lowers it.
    pub http_max_response_mb: u64,
    /// Whether the guest receives `decryptedSecureJsonData`. When false the
    /// secrets stay in the host, which applies them to the datasource's
    /// HTTP requests (basic auth password, custom header values).
    pub raw_secrets: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            max_memory_mb: 256,
            max_instances: 256,
            max_concurrent_calls: 32,
            max_queued_calls: 256,
            datasource_call_share: 0.5,
            max_streams: 128,
            max_streams_per_datasource: 32,
            log_lines_per_second: 100,
            idle_instances: 4,
            idle_timeout_seconds: 600.0,
            query_timeout_seconds: 30.0,
            resource_timeout_seconds: 30.0,
            health_timeout_seconds: 30.0,
            call_timeout_seconds: 30.0,
            fuel: 0,
            trap_backoff_after: 3,
            allow_env: Vec::new(),
            allow_dirs: Vec::new(),
            allow_hosts: Vec::new(),
            allow_addresses: Vec::new(),
            http_timeout_seconds: 30.0,
            http_max_response_mb: 64,
            raw_secrets: true,
        }
    }
}

impl SandboxConfig {
    /// Reads `path` (the defaults when it does not exist and `required` is
    /// false) and applies the `GF_PLUGIN_<KEY>` overrides found by `env`.
    ///
    /// # Errors
    /// [`ConfigError`], naming the file or variable and the key at fault.
    pub fn load(
        path: &Path,
        required: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Self::parse(&text, &path.display().to_string(), env)
    }

    /// Parses the text of a configuration file (`origin` names it in
    /// errors) and applies the `GF_PLUGIN_<KEY>` overrides found by `env`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`], naming `origin` or the variable and the
    /// key at fault.
    pub fn parse(
        text: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|err| ConfigError::Invalid {
            origin: origin.to_owned(),
            message: syntax_error(text, &err),
        })?;
        let overridden = apply_env_overrides(&mut table, env)?;
        let origin = if overridden.is_empty() {
            origin.to_owned()
        } else {
            format!("{origin} with {}", overridden.join(", "))
        };
        let config = Self::deserialize(table.clone()).map_err(|err| ConfigError::Invalid {
            origin: origin.clone(),
            message: match culprit(&table) {
                Some(key) => format!("{key}: {}", err.message()),
                None => err.message().to_owned(),
            },
        })?;
        config
            .validate()
            .map_err(|message| ConfigError::Invalid { origin, message })?;
        Ok(config)
    }

    /// Values no sandbox can run with.
    fn validate(&self) -> Result<(), String> {
        for (key, seconds) in [
            ("query_timeout_seconds", self.query_timeout_seconds),
            ("resource_timeout_seconds", self.resource_timeout_seconds),
            ("health_timeout_seconds", self.health_timeout_seconds),
            ("call_timeout_seconds", self.call_timeout_seconds),
            ("http_timeout_seconds", self.http_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
        ] {
            if !(seconds > 0.0 && seconds <= 86_400.0) {
                return Err(format!(
                    "{key} must be between 0 and 86400 seconds, not {seconds}"
                ));
            }
        }
        for (key, value) in [
            ("max_memory_mb", self.max_memory_mb),
            ("max_instances", self.max_instances.into()),
            ("max_concurrent_calls", self.max_concurrent_calls.into()),
            ("max_streams", self.max_streams.into()),
            (
                "max_streams_per_datasource",
                self.max_streams_per_datasource.into(),
            ),
            ("log_lines_per_second", self.log_lines_per_second.into()),
            ("http_max_response_mb", self.http_max_response_mb),
        ] {
            if value == 0 {
                return Err(format!("{key} must be at least 1"));
            }
        }
        if !(self.datasource_call_share > 0.0 && self.datasource_call_share <= 1.0) {
            return Err(format!(
                "datasource_call_share must be above 0 and at most 1, not {}",
                self.datasource_call_share
            ));
        }
        if self.max_memory_mb > 4096 {
            return Err(format!(
                "max_memory_mb is {} but a 32-bit guest cannot use more than 4096",
                self.max_memory_mb
            ));
        }
        Ok(())
    }

    /// The linear memory cap, in bytes.
    pub fn max_memory_bytes(&self) -> usize {
        usize::try_from(self.max_memory_mb << 20).unwrap_or(usize::MAX)
    }

    /// The HTTP response cap, in bytes.
    pub fn http_max_response_bytes(&self) -> u64 {
        self.http_max_response_mb.saturating_mul(1 << 20)
    }
}

/// A TOML syntax error with where it is: `line L, column C: message`.
fn syntax_error(text: &str, err: &toml::de::Error) -> String {
    let Some(at) = err.span().map(|span| span.start.min(text.len())) else {
        return err.message().to_owned();
    };
    let before = &text[..text.floor_char_boundary(at)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {}", err.message())
}

/// The first key of `table` that cannot be read on its own (serde's
/// messages about a value do not name its key).
fn culprit(table: &toml::Table) -> Option<&str> {
    table.iter().find_map(|(key, value)| {
        let alone = toml::Table::from_iter([(key.clone(), value.clone())]);
        SandboxConfig::deserialize(alone)
            .is_err()
            .then_some(key.as_str())
    })
}

/// A duration from a validated number of seconds.
pub fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value)
}

/// Replaces each key of `table` for which `GF_PLUGIN_<KEY>` is set, parsed
/// as the type of the key's default. Returns the variables used.
fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ConfigError> {
    let defaults = toml::Table::try_from(SandboxConfig::default())
        .expect("the default configuration serializes to a table");
    let mut used = Vec::new();
    for (key, default) in defaults {
        let variable = format!("{ENV_PREFIX}{}", key.to_uppercase());
        let Some(raw) = env(&variable) else { continue };
        let value =
            parse_override(&default, raw.trim()).map_err(|message| ConfigError::Invalid {
                origin: variable.clone(),
                message: format!("{variable}={raw:?}: {message}"),
            })?;
        table.insert(key, value);
        used.push(variable);
    }
    Ok(used)
}

/// `raw` as a value of the same type as `like`.
fn parse_override(like: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    use toml::Value;
    Ok(match like {
        Value::Integer(_) => Value::Integer(raw.parse().map_err(|_| "not an integer")?),
        Value::Float(_) => Value::Float(raw.parse().map_err(|_| "not a number")?),
        Value::Boolean(_) => Value::Boolean(raw.parse().map_err(|_| "not true or false")?),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
        _ => Value::String(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<SandboxConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::plugin_files::SANDBOX_FILE);
        std::fs::write(&path, text).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        SandboxConfig::load(&path, true, |name| env.get(name).cloned())
    }

    #[test]
    fn a_syntax_error_says_line_and_column() {
        let err = load("max_memory_mb = 64\nallow_hosts = [\"a\",,]\n", &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 2, column 20"), "{text}");
    }

    #[test]
    fn a_missing_optional_file_gives_the_defaults() {
        let config =
            SandboxConfig::load(Path::new("/nonexistent/sandbox.toml"), false, |_| None).unwrap();
        assert_eq!(config, SandboxConfig::default());
    }

    #[test]
    fn a_missing_required_file_is_an_error_naming_it() {
        let err = SandboxConfig::load(Path::new("/nonexistent/sandbox.toml"), true, |_| None)
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/sandbox.toml"),
            "{err}"
        );
    }

    #[test]
    fn the_file_sets_limits_and_grants() {
        let config = load(
            "max_memory_mb = 64\nallow_hosts = [\"api.example.com\"]\nallow_addresses = [\"127.0.0.0/8\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.max_memory_bytes(), 64 << 20);
        assert_eq!(config.allow_hosts, ["api.example.com"]);
        assert_eq!(
            config.allow_addresses,
            ["127.0.0.0/8".parse::<IpNet>().unwrap()]
        );
    }

    #[test]
    fn environment_overrides_win_over_the_file() {
        let config = load(
            "max_memory_mb = 64\nraw_secrets = true\n",
            &[
                ("GF_PLUGIN_MAX_MEMORY_MB", "32"),
                ("GF_PLUGIN_RAW_SECRETS", "false"),
                ("GF_PLUGIN_ALLOW_ENV", "TZ, LANG"),
                ("GF_PLUGIN_QUERY_TIMEOUT_SECONDS", "1.5"),
                ("GF_PLUGIN_VERSION", "1.0.0"),
            ],
        )
        .unwrap();
        assert_eq!(config.max_memory_mb, 32);
        assert!(!config.raw_secrets);
        assert_eq!(config.allow_env, ["TZ", "LANG"]);
        assert_eq!(config.query_timeout_seconds, 1.5);
    }

    #[test]
    fn errors_name_the_key_and_where_it_came_from() {
        let err = load("max_memroy_mb = 64\n", &[]).unwrap_err().to_string();
        assert!(
            err.contains("max_memroy_mb") && err.contains(crate::plugin_files::SANDBOX_FILE),
            "{err}"
        );

        let err = load("", &[("GF_PLUGIN_MAX_MEMORY_MB", "lots")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("GF_PLUGIN_MAX_MEMORY_MB") && err.contains("lots"),
            "{err}"
        );

        let err = load("query_timeout_seconds = -1.0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("query_timeout_seconds"), "{err}");

        let err = load("allow_addresses = [\"localhost\"]\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("allow_addresses"), "{err}");

        let err = load("max_memory_mb = [\n", &[]).unwrap_err().to_string();
        assert!(err.contains(crate::plugin_files::SANDBOX_FILE), "{err}");
    }
}
