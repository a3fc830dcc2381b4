//! Data frames, as the Go SDK's `data` package: a [`Frame`] is a named
//! table of typed [`Field`]s (columns) of equal length.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use grafana_wasm_sdk::data::{Field, Frame};
//!
//! let times: Vec<_> = (0..3).map(|s| UNIX_EPOCH + Duration::from_secs(s)).collect();
//! let frame = Frame::new("cpu")
//!     .with_field(Field::new("time", times))
//!     .with_field(Field::new("value", vec![Some(1.5), None, Some(2.0)]).with_labels([("host", "a")]));
//! assert_eq!(frame.rows(), 3);
//! ```
//!
//! For time series, [`Frame::time_series`] and [`Frame::wide_time_series`]
//! build frames in the shapes of Grafana's data plane contract, and
//! [`times_ending_at`], [`unix_millis`] and friends produce and convert
//! their timestamps.
//!
//! Frames leave the guest as columnar buffers in Arrow's layout; the host
//! encodes them as Grafana expects.

mod field;
mod meta;
mod time;
mod timeseries;

pub use field::{Appendable, EnumItemIndex, Field, FieldValues};
pub use meta::{
    EnumFieldConfig, FieldConfig, FieldTypeConfig, FrameMeta, Notice, QueryStat, Severity,
};
pub use time::{UnixNanos, time_from_unix_millis, time_from_unix_nanos, unix_millis, unix_nanos};
pub use timeseries::{
    FRAME_TYPE_TIMESERIES_LONG, FRAME_TYPE_TIMESERIES_MULTI, FRAME_TYPE_TIMESERIES_WIDE,
    TIME_FIELD_NAME, VALUE_FIELD_NAME, times_ending_at,
};

use crate::backend::Error;
use crate::bindings::grafana::plugin::frames as wit;

/// Which parts of a frame a JSON encoding carries (Go: `data.FrameInclude`).
/// A live stream sends the schema once, then data only, so that each
/// packet stays small.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::FrameInclude;
///
/// let mut parts = FrameInclude::All;
/// // ... send the first frame of a stream with `parts`, then:
/// parts = FrameInclude::DataOnly;
/// assert_ne!(parts, FrameInclude::All);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameInclude {
    /// Schema and data.
    #[default]
    All,
    /// Only the values.
    DataOnly,
    /// Only the schema (names, types, labels, config, meta).
    SchemaOnly,
}

impl From<FrameInclude> for wit::FrameInclude {
    fn from(parts: FrameInclude) -> Self {
        match parts {
            FrameInclude::All => Self::All,
            FrameInclude::DataOnly => Self::DataOnly,
            FrameInclude::SchemaOnly => Self::SchemaOnly,
        }
    }
}

/// A table of fields, with a name and metadata: the unit of data Grafana
/// panels, Explore and alerting consume (Go: `data.Frame`).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::{Field, Frame, FrameMeta};
///
/// let frame = Frame::new("hosts")
///     .with_field(Field::new("host", vec!["a", "b"]))
///     .with_field(Field::new("up", vec![true, false]))
///     .with_meta(FrameMeta {
///         executed_query_string: Some("SELECT host, up FROM hosts".into()),
///         ..FrameMeta::default()
///     });
/// assert_eq!(frame.rows(), 2);
/// assert!(frame.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Frame name.
    pub name: String,
    /// The query this frame answers; filled in from the response key when
    /// empty.
    pub ref_id: String,
    /// Metadata: data type, executed query, notices, custom values, ...
    pub meta: Option<FrameMeta>,
    /// The columns.
    pub fields: Vec<Field>,
}

impl Frame {
    /// An empty frame named `name`, to add fields to with
    /// [`Frame::with_field`]. An empty frame is also Grafana's "no data"
    /// answer.
    ///
    /// # Examples
    ///
    /// ```
    /// let frame = grafana_wasm_sdk::data::Frame::new("empty");
    /// assert_eq!((frame.name.as_str(), frame.rows()), ("empty", 0));
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Adds a field after the existing ones, so frames read top to bottom
    /// as builder chains.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::{Field, Frame};
    ///
    /// let frame = Frame::new("f").with_field(Field::new("n", vec![1_i64, 2]));
    /// assert_eq!(frame.fields[0].name, "n");
    /// ```
    pub fn with_field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Sets the metadata (replacing any), which tells Grafana how to read
    /// the frame and what produced it.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::{Frame, FrameMeta};
    ///
    /// let meta = FrameMeta { preferred_visualisation_type: Some("table".into()), ..FrameMeta::default() };
    /// let frame = Frame::new("f").with_meta(meta.clone());
    /// assert_eq!(frame.meta, Some(meta));
    /// ```
    pub fn with_meta(mut self, meta: FrameMeta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Rows: the length of the first field (0 without fields). Fields of
    /// other lengths make the frame invalid, see [`Frame::validate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::{Field, Frame};
    ///
    /// assert_eq!(Frame::new("f").with_field(Field::new("v", vec![1.0, 2.0])).rows(), 2);
    /// ```
    pub fn rows(&self) -> usize {
        self.fields.first().map_or(0, Field::len)
    }

    /// Checks the frame before it leaves the guest: equal field lengths and
    /// enum values within their configured names. The SDK runs it on every
    /// returned frame; call it in tests to catch mistakes early.
    ///
    /// # Errors
    /// Names the field at fault.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::{Field, Frame};
    ///
    /// let ragged = Frame::new("f")
    ///     .with_field(Field::new("a", vec![1_i32, 2]))
    ///     .with_field(Field::new("b", vec![1_i32]));
    /// let err = ragged.validate().unwrap_err();
    /// assert!(err.message.contains(r#"field "b" has 1 rows, expected 2"#));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        let rows = self.rows();
        for field in &self.fields {
            if field.len() != rows {
                return Err(Error::plugin(format!(
                    "frame {:?}: field {:?} has {} rows, expected {rows}",
                    self.name,
                    field.name,
                    field.len()
                )));
            }
        }
        for field in &self.fields {
            field
                .validate()
                .map_err(|e| Error::plugin(format!("frame {:?}: {}", self.name, e.message)))?;
        }
        Ok(())
    }

    /// The frame in the contract's columnar form, validated.
    ///
    /// # Errors
    /// See [`Frame::validate`].
    pub(crate) fn into_wit(self) -> Result<wit::Frame, Error> {
        self.validate()?;
        Ok(wit::Frame {
            name: self.name,
            ref_id: self.ref_id,
            meta: self
                .meta
                .map(|m| serde_json::to_string(&m).unwrap_or_default()),
            fields: self.fields.into_iter().map(Field::into_wit).collect(),
        })
    }
}

/// Something that can be turned into frames, like the Go SDK's
/// `data.Framer`: implement it for your query results so that handlers
/// turn them into responses with [`DataResponse::from_framer`].
///
/// [`DataResponse::from_framer`]: crate::backend::DataResponse::from_framer
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::{DataResponse, Error};
/// use grafana_wasm_sdk::data::{Field, Frame, Framer};
///
/// struct Rows(Vec<(String, f64)>);
///
/// impl Framer for Rows {
///     fn frames(self) -> Result<Vec<Frame>, Error> {
///         let (names, values): (Vec<String>, Vec<f64>) = self.0.into_iter().unzip();
///         Ok(vec![Frame::new("rows")
///             .with_field(Field::new("name", names))
///             .with_field(Field::new("value", values))])
///     }
/// }
///
/// let response = DataResponse::from_framer(Rows(vec![("a".into(), 1.0)]));
/// assert_eq!(response.frames[0].rows(), 1);
/// ```
pub trait Framer {
    /// The frames.
    ///
    /// # Errors
    /// When the data cannot be represented as frames.
    fn frames(self) -> Result<Vec<Frame>, Error>;
}

impl Framer for Frame {
    fn frames(self) -> Result<Vec<Frame>, Error> {
        Ok(vec![self])
    }
}

impl Framer for Vec<Frame> {
    fn frames(self) -> Result<Vec<Frame>, Error> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use serde_json::json;

    use super::*;
    use crate::bindings::grafana::plugin::frames::Values;

    #[test]
    fn nullable_fields_cross_as_values_plus_a_validity_bitmap() {
        let field = Field::new("v", vec![Some(1.5), None, Some(3.0)]).into_wit();
        assert!(field.nullable);
        assert_eq!(field.validity, vec![0b101]);
        assert_eq!(field.values, Values::Float64(vec![1.5, 0.0, 3.0]));

        let strings =
            Field::new("s", vec![Some("ab".to_owned()), None, Some("c".to_owned())]).into_wit();
        let Values::String(bytes) = strings.values else {
            panic!("strings")
        };
        assert_eq!(
            (bytes.offsets, bytes.data),
            (vec![0, 2, 2, 3], b"abc".to_vec())
        );

        let plain = Field::new("n", vec![1_i64, 2]).into_wit();
        assert!(!plain.nullable && plain.validity.is_empty());
    }

    #[test]
    fn times_json_and_enums_use_grafanas_representations() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_500_000_123);
        let time = Field::new("t", vec![t]).into_wit();
        assert_eq!(time.values, Values::Time(vec![1_500_000_123]));

        let json = Field::new("j", vec![json!({"a": 1}), json!([1, 2])]).into_wit();
        let Values::Json(bytes) = json.values else {
            panic!("json")
        };
        assert_eq!(String::from_utf8(bytes.data).unwrap(), r#"{"a":1}[1,2]"#);

        let level = Field::new("level", vec![EnumItemIndex(1), EnumItemIndex(0)])
            .with_config(FieldConfig::enum_names(["low", "high"]));
        let wit = level.clone().into_wit();
        assert_eq!(wit.values, Values::Enum(vec![1, 0]));
        assert_eq!(
            wit.config.as_deref(),
            Some(r#"{"type":{"enum":{"text":["low","high"]}}}"#)
        );
    }

    #[test]
    fn validation_catches_what_grafana_would_reject() {
        let unequal = Frame::new("f")
            .with_field(Field::new("a", vec![1_i8, 2]))
            .with_field(Field::new("b", vec![1_i8]));
        let err = unequal.validate().unwrap_err();
        assert!(
            err.message.contains("field \"b\" has 1 rows, expected 2"),
            "{err}"
        );

        let out_of_range = Frame::new("f").with_field(
            Field::new("e", vec![EnumItemIndex(2)])
                .with_config(FieldConfig::enum_names(["a", "b"])),
        );
        assert!(
            out_of_range
                .validate()
                .unwrap_err()
                .message
                .contains("only 2 names")
        );
    }

    #[test]
    fn append_checks_the_type() {
        let mut field = Field::new("v", Vec::<Option<f64>>::new());
        field.append(1.0).unwrap();
        field.append(None::<f64>).unwrap();
        assert_eq!(field.len(), 2);
        let err = field.append("text").unwrap_err();
        assert!(err.message.contains("cannot append"), "{err}");
        let mut names = Field::new("s", Vec::<String>::new());
        names.append("x").unwrap();
        assert!(
            names.append(None::<String>).is_err(),
            "a plain field takes no nulls"
        );
    }

    #[test]
    fn meta_and_config_serialize_with_grafanas_keys() {
        let meta = FrameMeta {
            frame_type: Some("timeseries-wide".into()),
            executed_query_string: Some("SELECT 1".into()),
            notices: vec![Notice {
                severity: Severity::Warning,
                text: "partial".into(),
                link: None,
                inspect: None,
            }],
            ..FrameMeta::default()
        };
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            json!({"type":"timeseries-wide","typeVersion":[0,0],"executedQueryString":"SELECT 1","notices":[{"severity":"warning","text":"partial"}]})
        );
        let config = FieldConfig {
            display_name_from_ds: Some("CPU".into()),
            unit: Some("percent".into()),
            ..FieldConfig::default()
        };
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            json!({"displayNameFromDS":"CPU","unit":"percent"})
        );
    }

    #[test]
    fn framers_become_responses() {
        let ok = crate::backend::DataResponse::from_framer(Frame::new("a"));
        assert_eq!(ok.frames.len(), 1);
        struct Broken;
        impl Framer for Broken {
            fn frames(self) -> Result<Vec<Frame>, Error> {
                Err(Error::downstream("upstream said no"))
            }
        }
        let failed = crate::backend::DataResponse::from_framer(Broken);
        assert_eq!(
            failed.error.unwrap().source,
            crate::backend::ErrorSource::Downstream
        );
    }
}
