//! Logs on stderr in hclog's JSON format, which Grafana's go-plugin client
//! parses line by line into its own log (`plugin.<id>` logger).
//!
//! Each line is one JSON object with string `@level`, `@message` and
//! `@timestamp` (exactly six fractional digits, go-plugin's parse layout);
//! every other key becomes a key/value pair in Grafana's log. The host's own
//! `tracing` events and the guest's log calls both end up here.

use std::fmt::Write as _;
use std::io::Write as _;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Environment variable selecting the least severe level written
/// (`[plugin.<id>] log_level` in Grafana's ini). Default: `debug`.
pub const LOG_LEVEL_ENV: &str = "GF_PLUGIN_LOG_LEVEL";

/// hclog's levels, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Very detailed tracing; Grafana shows it as debug.
    Trace,
    /// Diagnostics for developers.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected the host recovered from.
    Warn,
    /// A failure.
    Error,
}

impl Level {
    /// The lowercase name hclog writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    fn from_tracing(level: tracing::Level) -> Self {
        match level {
            tracing::Level::TRACE => Level::Trace,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::ERROR => Level::Error,
        }
    }

    fn to_filter(self) -> LevelFilter {
        match self {
            Level::Trace => LevelFilter::TRACE,
            Level::Debug => LevelFilter::DEBUG,
            Level::Info => LevelFilter::INFO,
            Level::Warn => LevelFilter::WARN,
            Level::Error => LevelFilter::ERROR,
        }
    }
}

impl FromStr for Level {
    type Err = String;

    /// Parses a level name case-insensitively, as hclog does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Level::Trace),
            "debug" => Ok(Level::Debug),
            "info" => Ok(Level::Info),
            "warn" | "warning" => Ok(Level::Warn),
            "error" => Ok(Level::Error),
            other => Err(format!(
                "unknown log level {other:?} (expected trace, debug, info, warn or error)"
            )),
        }
    }
}

static MAX_LEVEL: OnceLock<Level> = OnceLock::new();

/// Set when lines are rendered for a person (`Some(colour)`) instead of
/// written as hclog JSON; see [`crate::logtext`].
static TEXT: OnceLock<bool> = OnceLock::new();

/// Writes log lines as text (coloured when `colour`) from now on, for a
/// person reading standalone mode's stderr. Call before [`init`].
pub fn render_as_text(colour: bool) {
    let _ = TEXT.set(colour);
}

/// Installs the hclog writer as the process's `tracing` subscriber, writing
/// entries at `max_level` and above. Call once, early.
pub fn init(max_level: Level) {
    let _ = MAX_LEVEL.set(max_level);
    // Dependencies (HTTP/2, gRPC) log every frame at debug: keep their
    // warnings and errors only.
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), max_level.to_filter())
        .with_default(max_level.to_filter().min(LevelFilter::WARN));
    let _ = tracing_subscriber::registry()
        .with(HclogLayer.with_filter(filter))
        .try_init();
    log_panics();
}

/// Logs panics as hclog error lines (with the message and where it
/// happened) instead of Rust's plain-text report, which Grafana would show
/// as an unparsed line. A panic is a bug, or a dependency failing on
/// malformed input where the host catches it.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let mut fields = Map::new();
        fields.insert("panic".into(), Value::String(message));
        if let Some(location) = info.location() {
            fields.insert("location".into(), Value::String(location.to_string()));
        }
        write(Level::Error, "panic", fields);
    }));
}

/// Whether an entry at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level >= *MAX_LEVEL.get().unwrap_or(&Level::Debug)
}

/// Writes one entry with dynamic key/value fields (used for guest log calls,
/// whose keys are not known at compile time).
pub fn write(level: Level, message: &str, fields: Map<String, Value>) {
    if enabled(level) {
        write_line(&format_entry(level, message, fields, Utc::now()));
    }
}

/// Formats one hclog JSON line (without the newline).
fn format_entry(
    level: Level,
    message: &str,
    mut fields: Map<String, Value>,
    now: DateTime<Utc>,
) -> String {
    fields.insert("@level".into(), level.as_str().into());
    fields.insert("@message".into(), message.into());
    fields.insert(
        "@timestamp".into(),
        now.to_rfc3339_opts(SecondsFormat::Micros, true).into(),
    );
    Value::Object(fields).to_string()
}

/// Writes a whole line at once, so concurrent entries never interleave.
fn write_line(line: &str) {
    let text;
    let line = match TEXT.get() {
        Some(&colour) => {
            text = crate::logtext::render(line, colour);
            &text
        }
        None => line,
    };
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    // A closed stderr must not take the host down; there is nowhere else to log.
    let _ = std::io::stderr().lock().write_all(buf.as_bytes());
}

/// A `tracing` layer writing each event as an hclog JSON line.
struct HclogLayer;

impl<S: tracing::Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = FieldVisitor::default();
        event.record(&mut visitor);
        let level = Level::from_tracing(*event.metadata().level());
        write_line(&format_entry(
            level,
            &visitor.message,
            visitor.fields,
            Utc::now(),
        ));
    }
}

/// Collects an event's message and fields as JSON values.
#[derive(Default)]
struct FieldVisitor {
    message: String,
    fields: Map<String, Value>,
}

impl FieldVisitor {
    fn insert(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            match value {
                Value::String(s) => self.message = s,
                other => self.message = other.to_string(),
            }
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for FieldVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.insert(field, Value::String(text));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // `{:#}`-style chain: the error and its causes on one line.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.insert(field, Value::String(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn entry_has_hclog_keys_and_six_fraction_digits() {
        let now = Utc.timestamp_opt(1_714_564_800, 123_456_789).unwrap();
        let mut fields = Map::new();
        fields.insert("pluginId".into(), "my-ds".into());
        let line = format_entry(Level::Info, "Query done", fields, now);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["@level"], "info");
        assert_eq!(parsed["@message"], "Query done");
        assert_eq!(parsed["@timestamp"], "2024-05-01T12:00:00.123456Z");
        assert_eq!(parsed["pluginId"], "my-ds");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn reserved_keys_win_over_fields() {
        let now = Utc.timestamp_opt(0, 0).unwrap();
        let mut fields = Map::new();
        fields.insert("@level".into(), Value::from(3));
        fields.insert("@message".into(), Value::from(true));
        let line = format_entry(Level::Warn, "m", fields, now);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        // go-plugin panics on non-string @level/@message: they must stay strings.
        assert_eq!(parsed["@level"], "warn");
        assert_eq!(parsed["@message"], "m");
        assert_eq!(parsed["@timestamp"], "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn levels_parse_like_hclog() {
        assert_eq!("TRACE".parse::<Level>(), Ok(Level::Trace));
        assert_eq!(" Warn ".parse::<Level>(), Ok(Level::Warn));
        assert!("verbose".parse::<Level>().is_err());
        assert!(Level::Error > Level::Info);
    }
}
