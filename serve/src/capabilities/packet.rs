//! Stream packets from the guest must be JSON Grafana accepts: nested at
//! most as deep as Go's `encoding/json` allows (10,000 levels). The depth
//! is counted without recursion before parsing, and parsing grows its
//! stack on the heap, so no packet can overflow the host's stack.

use serde::de::{Deserialize as _, IgnoredAny};

/// Deepest nesting of arrays and objects accepted, as Go's `encoding/json`.
pub const MAX_DEPTH: usize = 10_000;

/// Checks that `data` is one JSON value nested at most [`MAX_DEPTH`] deep.
///
/// # Errors
/// Why the packet is refused.
pub fn check(data: &[u8]) -> Result<(), String> {
    let depth = nesting_depth(data);
    if depth > MAX_DEPTH {
        return Err(format!(
            "stream packet nests arrays and objects more than {MAX_DEPTH} levels deep"
        ));
    }
    let mut parser = serde_json::Deserializer::from_slice(data);
    parser.disable_recursion_limit();
    IgnoredAny::deserialize(serde_stacker::Deserializer::new(&mut parser))
        .and_then(|_| parser.end())
        .map_err(|err| format!("stream packet is not valid JSON: {err}"))
}

/// The deepest nesting of `[` and `{` outside strings (stops counting once
/// past [`MAX_DEPTH`]); malformed input is left to the parser.
fn nesting_depth(data: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in data {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_DEPTH {
                    break;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> Vec<u8> {
        let mut text = "[".repeat(depth);
        text.push_str(&"]".repeat(depth));
        text.into_bytes()
    }

    #[test]
    fn deep_valid_json_up_to_the_limit_is_accepted_and_deeper_is_refused() {
        assert_eq!(check(&nested(200)), Ok(()));
        assert_eq!(check(&nested(MAX_DEPTH)), Ok(()));
        let err = check(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert!(err.contains("10000 levels"), "{err}");
        assert!(check(&nested(1_000_000)).is_err());
    }

    #[test]
    fn brackets_in_strings_do_not_count_and_invalid_json_is_refused() {
        let text = format!(
            r#"{{"a":"{}\"{}"}}"#,
            "[".repeat(20_000),
            "{".repeat(20_000)
        );
        assert_eq!(check(text.as_bytes()), Ok(()));
        assert!(check(b"not json").unwrap_err().contains("not valid JSON"));
        assert!(check(b"[1] [2]").is_err(), "one value only");
        assert!(check(b"[[1]").is_err());
    }
}
