//! Logs on stderr in hclog's JSON format, which Grafana's go-plugin client
//! parses line by line into its own log (`plugin.<id>` logger).
//!
//! Each line is one JSON object with string `@level`, `@message` and
//! `@timestamp` (exactly six fractional digits, go-plugin's parse layout);
//! every other key becomes a key/value pair in Grafana's log. The host's own
//! `tracing` events and the guest's log calls both end up here.
//!
//! Lines go through a bounded queue to a writer thread, so that a call
//! never waits for stderr (Grafana may read it slowly); when the queue is
//! full, lines are dropped and counted. Each line is at most
//! [`MAX_LINE_BYTES`]: longer messages and fields are cut, and the line
//! says so.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

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

/// Lines waiting for the writer thread before further lines are dropped.
const QUEUE_LINES: usize = 16_384;

/// Longest line written, in bytes (JSON-escaped, newline excluded).
pub const MAX_LINE_BYTES: usize = 64 << 10;
/// Most of a line one message may take.
const MAX_MESSAGE_BYTES: usize = 32 << 10;
/// Most of a line one field's key and value may take.
const MAX_FIELD_BYTES: usize = 8 << 10;
/// What `@level`, `@timestamp`, the cut notice and JSON punctuation take.
const RESERVED_BYTES: usize = 256;

/// The writer thread's queue, once [`init`] ran.
struct Writer {
    queue: NonBlocking,
    dropped: ErrorCounter,
    /// Flushes the queue when dropped.
    guard: Mutex<Option<WorkerGuard>>,
}

static WRITER: OnceLock<Writer> = OnceLock::new();

/// Set when lines are rendered for a person (`Some(colour)`) instead of
/// written as hclog JSON; see [`crate::logtext`].
static TEXT: OnceLock<bool> = OnceLock::new();

/// Writes log lines as text (coloured when `colour`) from now on, for a
/// person reading standalone mode's stderr. Call before [`init`].
pub fn render_as_text(colour: bool) {
    let _ = TEXT.set(colour);
}

/// Installs the hclog writer as the process's `tracing` subscriber, writing
/// entries at `max_level` and above through the writer thread. Call once,
/// early; call [`finish`] before exiting.
pub fn init(max_level: Level) {
    let _ = MAX_LEVEL.set(max_level);
    let (queue, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUE_LINES)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    let _ = WRITER.set(Writer {
        dropped: queue.error_counter(),
        queue,
        guard: Mutex::new(Some(guard)),
    });
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

/// Writes the lines still queued (waiting a second at most, as stderr may
/// be stuck) and makes later lines go to stderr directly.
pub fn finish() {
    let guard = WRITER
        .get()
        .and_then(|writer| writer.guard.lock().ok()?.take());
    drop(guard);
}

/// Lines dropped so far because the writer's queue was full.
pub fn dropped_lines() -> u64 {
    WRITER
        .get()
        .map_or(0, |writer| writer.dropped.dropped_lines() as u64)
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

/// Formats one hclog JSON line (without the newline), cut to
/// [`MAX_LINE_BYTES`].
fn format_entry(
    level: Level,
    message: &str,
    fields: Map<String, Value>,
    now: DateTime<Utc>,
) -> String {
    let mut room = MAX_LINE_BYTES - RESERVED_BYTES;
    let (message, mut cut) = fit(message, room.min(MAX_MESSAGE_BYTES));
    room -= escaped_len(&message);
    let mut kept = Map::new();
    for (key, value) in fields {
        let (key, key_cut) = fit(&key, room.min(MAX_FIELD_BYTES) / 4);
        let value = match value {
            Value::String(text) => {
                let budget = room.min(MAX_FIELD_BYTES).saturating_sub(escaped_len(&key));
                let (text, value_cut) = fit(&text, budget);
                cut |= value_cut;
                Value::String(text.into_owned())
            }
            other => other,
        };
        // Quotes, colon and comma.
        let size = escaped_len(&key) + json_len(&value) + 4;
        if key_cut || size > room {
            cut = true;
            break;
        }
        room -= size;
        kept.insert(key.into_owned(), value);
    }
    let mut fields = kept;
    if cut {
        fields.insert(
            "cut".into(),
            format!("the entry was longer than {MAX_LINE_BYTES} bytes and was cut").into(),
        );
    }
    fields.insert("@level".into(), level.as_str().into());
    fields.insert("@message".into(), message.into_owned().into());
    fields.insert(
        "@timestamp".into(),
        now.to_rfc3339_opts(SecondsFormat::Micros, true).into(),
    );
    Value::Object(fields).to_string()
}

/// The length of `text` in a JSON string, escapes included (as
/// serde_json writes them), quotes excluded.
fn escaped_len(text: &str) -> usize {
    text.chars().map(escaped_char_len).sum()
}

fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// The length of a field's value in JSON.
fn json_len(value: &Value) -> usize {
    match value {
        Value::String(text) => escaped_len(text) + 2,
        other => other.to_string().len(),
    }
}

/// The longest prefix of `text` taking at most `budget` bytes escaped,
/// and whether that cut anything.
fn fit(text: &str, budget: usize) -> (Cow<'_, str>, bool) {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        used += escaped_char_len(c);
        if used > budget {
            return (Cow::Borrowed(&text[..at]), true);
        }
    }
    (Cow::Borrowed(text), false)
}

/// Writes a whole line at once, so concurrent entries never interleave:
/// queued for the writer thread, or straight to stderr before [`init`] and
/// after [`finish`].
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
    let queued = WRITER
        .get()
        .filter(|writer| writer.guard.lock().is_ok_and(|guard| guard.is_some()));
    // A closed stderr must not take the host down; there is nowhere else to log.
    let _ = match queued {
        Some(writer) => writer.queue.clone().write_all(buf.as_bytes()),
        None => std::io::stderr().lock().write_all(buf.as_bytes()),
    };
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
    fn a_line_of_control_characters_is_cut_and_says_so() {
        let now = Utc.timestamp_opt(0, 0).unwrap();
        let flood = "\u{1}".repeat(8 << 20);
        let mut fields = Map::new();
        fields.insert("big".into(), Value::String(flood.clone()));
        for n in 0..10_000 {
            fields.insert(format!("k{n}"), Value::String("v".repeat(100)));
        }
        let line = format_entry(Level::Info, &flood, fields, now);
        assert!(line.len() <= MAX_LINE_BYTES, "{} bytes", line.len());
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert!(parsed["cut"].as_str().unwrap().contains("was cut"));
        assert!(parsed["@message"].as_str().unwrap().starts_with('\u{1}'));
        assert_eq!(parsed["@level"], "info");
    }

    #[test]
    fn short_entries_are_not_cut() {
        let now = Utc.timestamp_opt(0, 0).unwrap();
        let mut fields = Map::new();
        fields.insert("key".into(), "value \"quoted\" é".into());
        let line = format_entry(Level::Info, "a message\twith a tab", fields, now);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert!(parsed.get("cut").is_none(), "{line}");
        assert_eq!(parsed["key"], "value \"quoted\" é");
        assert_eq!(parsed["@message"], "a message\twith a tab");
    }

    #[test]
    fn escaped_lengths_match_serde_json() {
        for text in ["plain", "\"\\", "\u{1}\u{1f}\n\t", "é😀", "\u{7f}"] {
            let json = Value::String(text.into()).to_string();
            assert_eq!(escaped_len(text) + 2, json.len(), "{text:?}");
        }
    }

    #[test]
    fn levels_parse_like_hclog() {
        assert_eq!("TRACE".parse::<Level>(), Ok(Level::Trace));
        assert_eq!(" Warn ".parse::<Level>(), Ok(Level::Warn));
        assert!("verbose".parse::<Level>().is_err());
        assert!(Level::Error > Level::Info);
    }
}
