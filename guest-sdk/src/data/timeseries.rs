//! Time series in the shapes of Grafana's data plane contract, like the
//! Go SDK's `data` helpers: a time field plus value fields, with the frame
//! type set so that Grafana (alerting, expressions, panels) reads the frame
//! as a time series without guessing.

use std::time::{Duration, SystemTime};

use super::{Field, Frame, FrameMeta, time_from_unix_nanos, unix_nanos};

/// Frame type of a time series frame with one time field and one value
/// field, several frames per series set (Go: `FrameTypeTimeSeriesMulti`).
pub const FRAME_TYPE_TIMESERIES_MULTI: &str = "timeseries-multi";

/// Frame type of one frame holding several series that share one time
/// field (Go: `FrameTypeTimeSeriesWide`).
pub const FRAME_TYPE_TIMESERIES_WIDE: &str = "timeseries-wide";

/// Frame type of a table-like frame with a time field, label columns and
/// value columns (Go: `FrameTypeTimeSeriesLong`), as SQL sources produce.
pub const FRAME_TYPE_TIMESERIES_LONG: &str = "timeseries-long";

/// Name of the time field the helpers create (Go:
/// `TimeSeriesTimeFieldName`).
pub const TIME_FIELD_NAME: &str = "Time";

/// Conventional name of a value field (Go: `TimeSeriesValueFieldName`);
/// Grafana names the series after the field and its labels.
pub const VALUE_FIELD_NAME: &str = "Value";

/// The data plane contract version the helpers' frames follow.
const TYPE_VERSION: [u32; 2] = [0, 1];

impl Frame {
    /// One series: a time field and `value`, typed `timeseries-multi`.
    /// Return one such frame per series; the series' dimensions go in the
    /// labels of `value`, its display settings in its config. Times should
    /// ascend, as Grafana expects.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use grafana_wasm_sdk::data::{Field, Frame, FRAME_TYPE_TIMESERIES_MULTI, VALUE_FIELD_NAME};
    ///
    /// let times = vec![UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(60)];
    /// let value = Field::new(VALUE_FIELD_NAME, vec![0.5, 0.7]).with_labels([("host", "a")]);
    /// let frame = Frame::time_series("cpu", times, value);
    ///
    /// assert_eq!(frame.rows(), 2);
    /// assert_eq!(frame.fields[1].labels["host"], "a");
    /// let meta = frame.meta.unwrap();
    /// assert_eq!(meta.frame_type.as_deref(), Some(FRAME_TYPE_TIMESERIES_MULTI));
    /// ```
    pub fn time_series(name: impl Into<String>, times: Vec<SystemTime>, value: Field) -> Self {
        Self::with_time_field(name, times, FRAME_TYPE_TIMESERIES_MULTI).with_field(value)
    }

    /// Several series sharing `times`: a time field and one field per
    /// series in `values`, typed `timeseries-wide`. Each value field tells
    /// its series apart by its labels; times should ascend.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use grafana_wasm_sdk::data::{Field, Frame, FRAME_TYPE_TIMESERIES_WIDE};
    ///
    /// let times = vec![UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(60)];
    /// let frame = Frame::wide_time_series(
    ///     "cpu",
    ///     times,
    ///     [
    ///         Field::new("cpu", vec![1.0, 4.0]).with_labels([("host", "a")]),
    ///         Field::new("cpu", vec![6.0, 8.0]).with_labels([("host", "b")]),
    ///     ],
    /// );
    ///
    /// assert_eq!(frame.fields.len(), 3);
    /// assert_eq!(frame.meta.unwrap().frame_type.as_deref(), Some(FRAME_TYPE_TIMESERIES_WIDE));
    /// ```
    pub fn wide_time_series(
        name: impl Into<String>,
        times: Vec<SystemTime>,
        values: impl IntoIterator<Item = Field>,
    ) -> Self {
        let mut frame = Self::with_time_field(name, times, FRAME_TYPE_TIMESERIES_WIDE);
        frame.fields.extend(values);
        frame
    }

    /// A frame of `frame_type` holding only the time field.
    fn with_time_field(name: impl Into<String>, times: Vec<SystemTime>, frame_type: &str) -> Self {
        Self::new(name)
            .with_meta(FrameMeta {
                frame_type: Some(frame_type.to_owned()),
                type_version: TYPE_VERSION,
                ..FrameMeta::default()
            })
            .with_field(Field::new(TIME_FIELD_NAME, times))
    }
}

/// `count` times `step` apart, ascending, the last at `end`: the time field
/// of a series sampled at a fixed interval up to now or up to a query's
/// end. Times are computed in the frames' nanoseconds, so a span reaching
/// beyond what frames can hold (before the year 1677) saturates there.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use grafana_wasm_sdk::data::times_ending_at;
///
/// let end = UNIX_EPOCH + Duration::from_secs(100);
/// let times = times_ending_at(end, 3, Duration::from_secs(10));
/// assert_eq!(times, [80, 90, 100].map(|s| UNIX_EPOCH + Duration::from_secs(s)));
/// ```
pub fn times_ending_at(end: SystemTime, count: usize, step: Duration) -> Vec<SystemTime> {
    let end = unix_nanos(end);
    let step = i64::try_from(step.as_nanos()).unwrap_or(i64::MAX);
    (0..count)
        .map(|i| {
            let steps_before_end = i64::try_from(count - 1 - i).unwrap_or(i64::MAX);
            time_from_unix_nanos(end.saturating_sub(step.saturating_mul(steps_before_end)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::data::FieldValues;

    fn secs(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn a_series_frame_is_typed_multi_with_the_time_field_first() {
        let frame = Frame::time_series(
            "cpu",
            vec![secs(1), secs(2)],
            Field::new(VALUE_FIELD_NAME, vec![Some(1.0), None]).with_labels([("host", "a")]),
        );
        frame.validate().unwrap();
        assert_eq!(frame.name, "cpu");
        assert_eq!(frame.fields[0].name, TIME_FIELD_NAME);
        assert!(matches!(frame.fields[0].values, FieldValues::Time(_)));
        assert!(
            frame.fields[0].labels.is_empty(),
            "time fields carry no labels"
        );
        assert_eq!(frame.fields[1].labels["host"], "a");
        let meta = frame.meta.unwrap();
        assert_eq!(meta.frame_type.as_deref(), Some("timeseries-multi"));
        assert_eq!(meta.type_version, [0, 1]);
    }

    #[test]
    fn a_wide_frame_shares_one_time_field() {
        let frame = Frame::wide_time_series(
            "cpu",
            vec![secs(1)],
            ["a", "b"].map(|host| Field::new("cpu", vec![1_i64]).with_labels([("host", host)])),
        );
        frame.validate().unwrap();
        assert_eq!(frame.fields.len(), 3);
        assert_eq!(frame.fields[2].labels["host"], "b");
        let meta = frame.meta.unwrap();
        assert_eq!(meta.frame_type.as_deref(), Some("timeseries-wide"));
    }

    #[test]
    fn times_end_at_the_end_and_saturate_where_frames_end() {
        let step = Duration::from_secs(10);
        assert_eq!(
            times_ending_at(secs(100), 3, step),
            [secs(80), secs(90), secs(100)]
        );
        assert_eq!(times_ending_at(secs(100), 1, step), [secs(100)]);
        assert!(times_ending_at(secs(100), 0, step).is_empty());
        assert_eq!(
            times_ending_at(secs(5), 2, step)[0],
            UNIX_EPOCH - Duration::from_secs(5),
            "times before the epoch are fine"
        );
        let earliest = times_ending_at(UNIX_EPOCH - Duration::from_secs(1), 2, Duration::MAX)[0];
        assert_eq!(unix_nanos(earliest), i64::MIN);
    }
}
