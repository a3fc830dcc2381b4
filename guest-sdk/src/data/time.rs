//! Conversions between [`SystemTime`] and the integer timestamps APIs and
//! Grafana use.
//!
//! Time fields hold `SystemTime`s; they cross to the host as nanoseconds
//! since the Unix epoch, which is what Grafana's frames store. Datasource
//! APIs usually answer in milliseconds or nanoseconds, so these helpers
//! bridge both ways without every plugin redoing the sign handling.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time `ms` milliseconds after (or, negative, before) the Unix epoch,
/// like Go's `time.UnixMilli`: for APIs answering in epoch milliseconds.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::data::time_from_unix_millis;
///
/// assert_eq!(time_from_unix_millis(1_500), UNIX_EPOCH + Duration::from_millis(1_500));
/// assert_eq!(time_from_unix_millis(-1), UNIX_EPOCH - Duration::from_millis(1));
/// ```
pub fn time_from_unix_millis(ms: i64) -> SystemTime {
    offset_from_epoch(ms, Duration::from_millis)
}

/// The time `ns` nanoseconds after (or, negative, before) the Unix epoch,
/// like Go's `time.Unix(0, ns)`: for APIs answering in epoch nanoseconds,
/// the unit Grafana's frames store.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::data::time_from_unix_nanos;
///
/// assert_eq!(time_from_unix_nanos(1_000_000_001), UNIX_EPOCH + Duration::new(1, 1));
/// ```
pub fn time_from_unix_nanos(ns: i64) -> SystemTime {
    offset_from_epoch(ns, Duration::from_nanos)
}

/// Milliseconds since the Unix epoch (negative before it), rounded towards
/// the epoch and saturating at the ends of `i64`: for APIs that take epoch
/// milliseconds, like most query parameters.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::data::unix_millis;
///
/// assert_eq!(unix_millis(UNIX_EPOCH + Duration::from_micros(2_999)), 2);
/// assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_millis(5)), -5);
/// ```
pub fn unix_millis(t: SystemTime) -> i64 {
    signed_since_epoch(t, |d| {
        let secs = i64::try_from(d.as_secs()).ok()?;
        secs.checked_mul(1_000)?
            .checked_add(i64::from(d.subsec_millis()))
    })
}

/// Nanoseconds since the Unix epoch (negative before it), saturating at
/// the ends of `i64` (about the years 1677 and 2262): the value a time
/// field carries in Grafana's frames.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::data::{time_from_unix_nanos, unix_nanos};
///
/// let t = UNIX_EPOCH + Duration::new(3, 7);
/// assert_eq!(unix_nanos(t), 3_000_000_007);
/// assert_eq!(time_from_unix_nanos(unix_nanos(t)), t);
/// ```
pub fn unix_nanos(t: SystemTime) -> i64 {
    signed_since_epoch(t, |d| {
        let secs = i64::try_from(d.as_secs()).ok()?;
        secs.checked_mul(1_000_000_000)?
            .checked_add(i64::from(d.subsec_nanos()))
    })
}

/// A time as nanoseconds since the Unix epoch: the form time fields cross
/// the boundary in. A field built from these (`Field::new("time",
/// Vec<UnixNanos>)`) is a time field that needs no conversion, where
/// `SystemTime` values each cost a subtraction from the epoch and 64-bit
/// divisions, which wasm emulates: worth it for frames of many rows.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::data::{Field, FieldValues, UnixNanos, unix_nanos};
///
/// let end = unix_nanos(UNIX_EPOCH + Duration::from_secs(60));
/// let times: Vec<UnixNanos> = (0..3).rev().map(|i| UnixNanos(end - i * 1_000_000_000)).collect();
/// let field = Field::new("time", times);
/// assert!(matches!(field.values, FieldValues::UnixTime(_)));
/// assert_eq!(UnixNanos::from(UNIX_EPOCH + Duration::from_secs(1)), UnixNanos(1_000_000_000));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixNanos(pub i64);

impl From<SystemTime> for UnixNanos {
    fn from(t: SystemTime) -> Self {
        Self(unix_nanos(t))
    }
}

impl From<UnixNanos> for SystemTime {
    fn from(t: UnixNanos) -> Self {
        time_from_unix_nanos(t.0)
    }
}

/// The epoch moved by `amount` units (`unit` builds the duration of an
/// unsigned amount).
fn offset_from_epoch(amount: i64, unit: fn(u64) -> Duration) -> SystemTime {
    let offset = unit(amount.unsigned_abs());
    if amount >= 0 {
        UNIX_EPOCH + offset
    } else {
        UNIX_EPOCH - offset
    }
}

/// The signed distance of `t` from the epoch, in the unit `count` measures
/// (`None` when it does not fit), saturating. `count` works in 64-bit
/// integers: `Duration::as_nanos` is 128-bit, which wasm emulates, and
/// frames convert every time value through here.
fn signed_since_epoch(t: SystemTime, count: fn(Duration) -> Option<i64>) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => count(after).unwrap_or(i64::MAX),
        Err(before) => count(before.duration()).map_or(i64::MIN, |n| -n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_on_both_sides_of_the_epoch() {
        for ms in [0, 1, -1, 1_700_000_000_123, -86_400_000] {
            assert_eq!(unix_millis(time_from_unix_millis(ms)), ms);
            assert_eq!(unix_nanos(time_from_unix_millis(ms)), ms * 1_000_000);
        }
        for ns in [0, 999, -999, i64::MAX, i64::MIN] {
            assert_eq!(unix_nanos(time_from_unix_nanos(ns)), ns);
        }
    }

    #[test]
    fn times_beyond_i64_nanoseconds_saturate() {
        let far = UNIX_EPOCH + Duration::from_secs(400 * 365 * 86_400);
        assert_eq!(unix_nanos(far), i64::MAX);
        assert!(unix_millis(far) < i64::MAX, "milliseconds still fit");
    }
}
