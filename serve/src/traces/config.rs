//! Tracing settings, read from the variables Grafana sets for a plugin
//! whose tracing it turned on: `GF_INSTANCE_OTLP_*` and
//! `GF_PLUGIN_VERSION`. No address, no tracing.

/// Where spans go and which of them are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceConfig {
    /// The OTLP gRPC endpoint, with a scheme (`http://` when Grafana gave
    /// `host:port`).
    pub endpoint: String,
    /// How trace context travels in and out, in order.
    pub propagation: Vec<Propagation>,
    /// Which root spans are recorded.
    pub sampler: SamplerSetting,
    /// `service.version`: `GF_PLUGIN_VERSION`, else plugin.json's version.
    pub version: String,
}

/// A trace context format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// W3C `traceparent` / `tracestate`.
    W3c,
    /// Jaeger's `uber-trace-id`.
    Jaeger,
}

/// The sampling Grafana asked for (`GF_INSTANCE_OTLP_SAMPLER_TYPE` and
/// `_PARAM`), as the Go SDK reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum SamplerSetting {
    /// `const` (or no type): every trace (param 1) or none (param 0).
    Const(bool),
    /// `probabilistic`: this fraction of traces.
    Probabilistic(f64),
    /// `rateLimiting`: at most this many traces a second.
    RateLimiting(f64),
    /// `remote`: what a Jaeger sampling server says, this fraction until
    /// it answers.
    Remote {
        /// The sampling server (`GF_INSTANCE_OTLP_SAMPLER_REMOTE_URL`).
        url: String,
        /// The fraction used before the server answers.
        initial: f64,
    },
}

/// Why the tracing settings are unusable (tracing stays off).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceConfigError {
    /// An unknown entry of `GF_INSTANCE_OTLP_PROPAGATION`.
    #[error(
        "unsupported trace propagation {0:?} in GF_INSTANCE_OTLP_PROPAGATION (expected w3c, jaeger)"
    )]
    Propagation(String),
    /// An unknown `GF_INSTANCE_OTLP_SAMPLER_TYPE`.
    #[error(
        "unsupported sampler type {0:?} in GF_INSTANCE_OTLP_SAMPLER_TYPE (expected const, probabilistic, rateLimiting, remote)"
    )]
    SamplerType(String),
    /// A `const` sampler whose parameter is neither 0 nor 1.
    #[error("the const sampler's GF_INSTANCE_OTLP_SAMPLER_PARAM must be 0 or 1, not {0}")]
    ConstParam(f64),
    /// A `remote` sampler without a server.
    #[error("the remote sampler needs GF_INSTANCE_OTLP_SAMPLER_REMOTE_URL")]
    RemoteUrl,
}

impl TraceConfig {
    /// The settings in `env`; `None` when Grafana asked for no tracing
    /// (no or an empty `GF_INSTANCE_OTLP_ADDRESS`). `manifest_version` is
    /// plugin.json's `info.version`.
    ///
    /// # Errors
    /// A propagation or sampler Grafana's Go SDK would refuse.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
        manifest_version: &str,
    ) -> Result<Option<Self>, TraceConfigError> {
        let Some(address) = env("GF_INSTANCE_OTLP_ADDRESS").filter(|a| !a.trim().is_empty()) else {
            return Ok(None);
        };
        let address = address.trim();
        let endpoint = if address.contains("://") {
            address.to_owned()
        } else {
            format!("http://{address}")
        };
        let propagation = propagation(&env("GF_INSTANCE_OTLP_PROPAGATION").unwrap_or_default())?;
        let sampler = sampler(
            &env("GF_INSTANCE_OTLP_SAMPLER_TYPE").unwrap_or_default(),
            env("GF_INSTANCE_OTLP_SAMPLER_PARAM").as_deref(),
            env("GF_INSTANCE_OTLP_SAMPLER_REMOTE_URL"),
        )?;
        let version = env("GF_PLUGIN_VERSION")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| manifest_version.to_owned());
        Ok(Some(Self {
            endpoint,
            propagation,
            sampler,
            version,
        }))
    }
}

/// The comma-separated formats; none given means W3C (with baggage).
fn propagation(value: &str) -> Result<Vec<Propagation>, TraceConfigError> {
    let formats = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry {
            "w3c" => Ok(Propagation::W3c),
            "jaeger" => Ok(Propagation::Jaeger),
            other => Err(TraceConfigError::Propagation(other.to_owned())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if formats.is_empty() {
        vec![Propagation::W3c]
    } else {
        formats
    })
}

/// The sampler of `kind` with `param` (Grafana prints it `%.6f`; the Go
/// SDK reads an unparsable or missing one as 1).
fn sampler(
    kind: &str,
    param: Option<&str>,
    remote_url: Option<String>,
) -> Result<SamplerSetting, TraceConfigError> {
    let param = param
        .and_then(|p| p.trim().parse::<f64>().ok())
        .filter(|p| p.is_finite())
        .unwrap_or(1.0);
    match kind.trim() {
        "" | "const" if param >= 1.0 => Ok(SamplerSetting::Const(true)),
        "" | "const" if param <= 0.0 => Ok(SamplerSetting::Const(false)),
        "" | "const" => Err(TraceConfigError::ConstParam(param)),
        "probabilistic" => Ok(SamplerSetting::Probabilistic(param.clamp(0.0, 1.0))),
        "rateLimiting" => Ok(SamplerSetting::RateLimiting(param.max(0.0))),
        // The Go SDK spelled it "Remote" in some versions.
        "remote" | "Remote" => match remote_url.filter(|url| !url.trim().is_empty()) {
            Some(url) => Ok(SamplerSetting::Remote {
                url: url.trim().to_owned(),
                initial: param.clamp(0.0, 1.0),
            }),
            None => Err(TraceConfigError::RemoteUrl),
        },
        other => Err(TraceConfigError::SamplerType(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<TraceConfig>, TraceConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TraceConfig::from_env(|name| vars.get(name).cloned(), "1.2.3")
    }

    #[test]
    fn no_address_means_no_tracing() {
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(read(&[("GF_INSTANCE_OTLP_ADDRESS", " ")]), Ok(None));
    }

    #[test]
    fn grafanas_variables_are_read_as_the_go_sdk_reads_them() {
        let config = read(&[
            ("GF_INSTANCE_OTLP_ADDRESS", "collector:4317"),
            ("GF_INSTANCE_OTLP_PROPAGATION", "w3c,jaeger"),
            ("GF_INSTANCE_OTLP_SAMPLER_TYPE", "probabilistic"),
            ("GF_INSTANCE_OTLP_SAMPLER_PARAM", "0.250000"),
            ("GF_PLUGIN_VERSION", "2.0.0"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(config.endpoint, "http://collector:4317");
        assert_eq!(config.propagation, [Propagation::W3c, Propagation::Jaeger]);
        assert_eq!(config.sampler, SamplerSetting::Probabilistic(0.25));
        assert_eq!(config.version, "2.0.0");
    }

    #[test]
    fn defaults_are_w3c_every_trace_and_the_manifest_version() {
        let config = read(&[("GF_INSTANCE_OTLP_ADDRESS", "localhost:4317")])
            .unwrap()
            .unwrap();
        assert_eq!(config.propagation, [Propagation::W3c]);
        assert_eq!(config.sampler, SamplerSetting::Const(true));
        assert_eq!(config.version, "1.2.3");
    }

    #[test]
    fn every_sampler_type_is_understood() {
        let with = |kind: &str, param: &str| {
            read(&[
                ("GF_INSTANCE_OTLP_ADDRESS", "localhost:4317"),
                ("GF_INSTANCE_OTLP_SAMPLER_TYPE", kind),
                ("GF_INSTANCE_OTLP_SAMPLER_PARAM", param),
                (
                    "GF_INSTANCE_OTLP_SAMPLER_REMOTE_URL",
                    "http://jaeger:5778/sampling",
                ),
            ])
            .map(|config| config.unwrap().sampler)
        };
        assert_eq!(with("const", "0.000000"), Ok(SamplerSetting::Const(false)));
        assert_eq!(with("const", "nonsense"), Ok(SamplerSetting::Const(true)));
        assert_eq!(with("const", "0.5"), Err(TraceConfigError::ConstParam(0.5)));
        assert_eq!(
            with("rateLimiting", "10.000000"),
            Ok(SamplerSetting::RateLimiting(10.0))
        );
        assert_eq!(
            with("remote", "0.100000"),
            Ok(SamplerSetting::Remote {
                url: "http://jaeger:5778/sampling".into(),
                initial: 0.1
            })
        );
        assert_eq!(
            with("sometimes", "1"),
            Err(TraceConfigError::SamplerType("sometimes".into()))
        );
    }

    #[test]
    fn an_unknown_propagation_is_refused() {
        let refused = read(&[
            ("GF_INSTANCE_OTLP_ADDRESS", "localhost:4317"),
            ("GF_INSTANCE_OTLP_PROPAGATION", "w3c,b3"),
        ]);
        assert_eq!(refused, Err(TraceConfigError::Propagation("b3".into())));
    }
}
