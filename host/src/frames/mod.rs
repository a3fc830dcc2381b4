//! Data frames as Grafana reads them: the guest's columnar frames encoded as
//! Arrow IPC files with the schema metadata grafana-plugin-sdk-go writes
//! (protocol.md §4).

mod arrow;

pub use arrow::to_arrow;

/// Why a guest frame cannot be sent to Grafana.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A field's length differs from the frame's first field.
    #[error("field {field:?} has {got} rows, expected {expected} like the first field")]
    LengthMismatch {
        /// Field name.
        field: String,
        /// Rows of the first field.
        expected: usize,
        /// Rows of this field.
        got: usize,
    },
    /// A field's values or validity bitmap are malformed.
    #[error("field {field:?}: {reason}")]
    InvalidField {
        /// Field name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Frame meta, field config or labels are not what Grafana accepts.
    #[error("{what} must be a JSON object: {reason}")]
    InvalidMetadata {
        /// Which metadata.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// Arrow rejected the data or failed to write it.
    #[error("arrow encoding failed: {0}")]
    Arrow(#[from] ::arrow_schema::ArrowError),
}
