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
//! Frames leave the guest as columnar buffers in Arrow's layout; the host
//! encodes them as Grafana expects.

mod field;

pub use field::{Field, FieldValues};

use crate::backend::Error;
use crate::bindings::grafana::plugin::frames as wit;

/// A table of fields, with a name and metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Frame name.
    pub name: String,
    /// The query this frame answers; filled in from the response key when
    /// empty.
    pub ref_id: String,
    /// Grafana `FrameMeta` (type, executedQueryString, custom, ...).
    pub meta: Option<serde_json::Value>,
    /// The columns.
    pub fields: Vec<Field>,
}

impl Frame {
    /// An empty frame named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Adds a field.
    pub fn with_field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Sets the `FrameMeta` JSON object.
    pub fn with_meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Rows: the length of the first field (0 without fields).
    pub fn rows(&self) -> usize {
        self.fields.first().map_or(0, Field::len)
    }

    /// Checks the frame as the host would: equal field lengths and valid
    /// metadata.
    ///
    /// # Errors
    /// Names the field at fault.
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
        if let Some(meta) = &self.meta
            && !meta.is_object()
        {
            return Err(Error::plugin(format!(
                "frame {:?}: meta must be a JSON object",
                self.name
            )));
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
            meta: self.meta.map(|m| m.to_string()),
            fields: self.fields.into_iter().map(Field::into_wit).collect(),
        })
    }
}
