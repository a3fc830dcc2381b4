//! Time range arguments as Grafana's time picker writes them: `now`,
//! `now-6h` (units s, m, h, d, w), RFC 3339 times, or Unix milliseconds.

use anyhow::{Context as _, bail};

/// The current time, Unix milliseconds.
///
/// # Errors
/// When the clock is before 1970.
pub fn now_ms() -> anyhow::Result<i64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    i64::try_from(since.as_millis()).context("the system clock is beyond year 292 million")
}

/// `text` as Unix milliseconds, relative times counted back from `now_ms`.
///
/// # Errors
/// A message showing the accepted forms.
pub fn parse(text: &str, now_ms: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Some(offset) = text.strip_prefix("now") {
        return relative(offset, now_ms).with_context(|| {
            format!("{text:?} is not a relative time (now, now-30m, now-6h, now-7d, now-1w)")
        });
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(time) => Ok(time.timestamp_millis()),
        Err(err) => bail!(
            "{text:?} is not a time ({err}): use now, now-6h, an RFC 3339 time (2026-01-31T12:00:00Z) or Unix milliseconds"
        ),
    }
}

/// `now` plus `offset` (empty, or `-`/`+` a number and a unit).
fn relative(offset: &str, now_ms: i64) -> anyhow::Result<i64> {
    if offset.is_empty() {
        return Ok(now_ms);
    }
    let (sign, rest) = match offset.split_at(1) {
        ("-", rest) => (-1, rest),
        ("+", rest) => (1, rest),
        _ => bail!("expected - or + after now"),
    };
    let unit_at = rest
        .find(|c: char| !c.is_ascii_digit())
        .context("missing unit")?;
    let (amount, unit) = rest.split_at(unit_at);
    let amount: i64 = amount.parse().context("missing amount")?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        other => bail!("unknown unit {other:?}"),
    };
    amount
        .checked_mul(unit_ms)
        .and_then(|ms| now_ms.checked_add(sign * ms))
        .context("out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_absolute_and_epoch_times() {
        let now = 1_800_000_000_000;
        assert_eq!(parse("now", now).unwrap(), now);
        assert_eq!(parse("now-6h", now).unwrap(), now - 6 * 3_600_000);
        assert_eq!(parse("now+1d", now).unwrap(), now + 86_400_000);
        assert_eq!(parse("1700000000000", now).unwrap(), 1_700_000_000_000);
        assert_eq!(
            parse("2026-01-31T12:00:00Z", now).unwrap(),
            1_769_860_800_000
        );
        for bad in ["now-6", "now-6y", "now*2h", "yesterday", "now-h"] {
            let err = parse(bad, now).unwrap_err();
            assert!(format!("{err:#}").contains(bad), "{bad}: {err:#}");
        }
    }
}
