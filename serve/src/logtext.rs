//! The human-readable log mode: hclog JSON lines (what Grafana parses)
//! rendered for a person at a terminal, as `time LEVEL message key=value`,
//! with the level coloured when the output is a terminal.

use std::io::IsTerminal as _;

use serde_json::{Map, Value};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Text when a person reads stderr (standalone mode on a terminal),
    /// else hclog JSON.
    Auto,
    /// hclog JSON, one object per line, as Grafana's go-plugin client
    /// parses it.
    Json,
    /// `time LEVEL message key=value ...`, coloured on a terminal.
    Text,
}

impl LogFormat {
    /// Whether lines are rendered as text, `auto` deciding by whether a
    /// person is the reader (`for_person`) and stderr is a terminal.
    pub fn is_text(self, for_person: bool) -> bool {
        match self {
            LogFormat::Auto => for_person && std::io::stderr().is_terminal(),
            LogFormat::Json => false,
            LogFormat::Text => true,
        }
    }
}

/// Whether text written to stderr should be coloured: it is a terminal
/// and `NO_COLOR` is not set.
pub fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Renders one hclog JSON line as text; a line that is not a JSON object
/// is returned as it is.
pub fn render(line: &str, colour: bool) -> String {
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(line) else {
        return line.to_owned();
    };
    let mut take = |key: &str| match fields.remove(key) {
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let (timestamp, level, message) = (take("@timestamp"), take("@level"), take("@message"));
    let time = timestamp
        .get(11..23)
        .unwrap_or(timestamp.as_str())
        .to_owned();
    let mut text = format!("{time} {} {message}", paint_level(&level, colour));
    append_fields(&mut text, &fields, colour);
    text
}

/// ` key=value` for each field; strings without spaces or quotes unquoted.
fn append_fields(text: &mut String, fields: &Map<String, Value>, colour: bool) {
    for (key, value) in fields {
        let value = match value {
            Value::String(s) if !s.is_empty() && !s.contains([' ', '"', '=']) => s.clone(),
            other => other.to_string(),
        };
        if colour {
            text.push_str(&format!(" \x1b[2m{key}=\x1b[0m{value}"));
        } else {
            text.push_str(&format!(" {key}={value}"));
        }
    }
}

/// The level, upper-case and padded to five characters, in its colour.
fn paint_level(level: &str, colour: bool) -> String {
    let name = format!("{:<5}", level.to_ascii_uppercase());
    if !colour {
        return name;
    }
    let code = match level {
        "error" => "31",
        "warn" => "33",
        "info" => "32",
        _ => "2",
    };
    format!("\x1b[{code}m{name}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hclog_line_becomes_time_level_message_and_fields() {
        let line = r#"{"@level":"warn","@message":"slow call","@timestamp":"2026-12-02T05:43:10.123456Z","rpc":"QueryData","ms":1200,"why":"a b"}"#;
        assert_eq!(
            render(line, false),
            r#"05:43:10.123 WARN  slow call ms=1200 rpc=QueryData why="a b""#
        );
        let coloured = render(line, true);
        assert!(coloured.contains("\x1b[33mWARN \x1b[0m"), "{coloured:?}");
    }

    #[test]
    fn other_lines_are_left_alone() {
        assert_eq!(
            render("plain text from cargo", true),
            "plain text from cargo"
        );
        assert_eq!(render("[1,2]", false), "[1,2]");
    }
}
