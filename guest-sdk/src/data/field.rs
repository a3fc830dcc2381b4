//! Typed columns.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::backend::serve::unix_nanos;
use crate::bindings::grafana::plugin::frames as wit;

macro_rules! field_values {
    ($( $plain:ident, $nullable:ident, $t:ty; )*) => {
        /// The values of a field: one variant per Grafana field type, plain
        /// or nullable (`Option`).
        #[derive(Debug, Clone, PartialEq)]
        pub enum FieldValues {
            $(
                #[doc = concat!("`", stringify!($t), "` values.")]
                $plain(Vec<$t>),
                #[doc = concat!("Nullable `", stringify!($t), "` values.")]
                $nullable(Vec<Option<$t>>),
            )*
            /// Strings.
            String(Vec<String>),
            /// Nullable strings.
            NullableString(Vec<Option<String>>),
            /// Times (nanosecond precision).
            Time(Vec<SystemTime>),
            /// Nullable times.
            NullableTime(Vec<Option<SystemTime>>),
        }

        $(
            impl From<Vec<$t>> for FieldValues {
                fn from(v: Vec<$t>) -> Self { FieldValues::$plain(v) }
            }
            impl From<Vec<Option<$t>>> for FieldValues {
                fn from(v: Vec<Option<$t>>) -> Self { FieldValues::$nullable(v) }
            }
        )*

        impl FieldValues {
            /// Number of values.
            pub fn len(&self) -> usize {
                match self {
                    $( FieldValues::$plain(v) => v.len(), FieldValues::$nullable(v) => v.len(), )*
                    FieldValues::String(v) => v.len(),
                    FieldValues::NullableString(v) => v.len(),
                    FieldValues::Time(v) => v.len(),
                    FieldValues::NullableTime(v) => v.len(),
                }
            }

            /// Whether there are no values.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// The contract's form: values, nullability, validity bitmap.
            fn into_wit(self) -> (wit::Values, bool, Vec<u8>) {
                match self {
                    $(
                        FieldValues::$plain(v) => (wit::Values::$plain(v), false, Vec::new()),
                        FieldValues::$nullable(v) => {
                            let validity = validity(&v);
                            (wit::Values::$plain(v.into_iter().map(Option::unwrap_or_default).collect()), true, validity)
                        }
                    )*
                    FieldValues::String(v) => (wit::Values::String(var_bytes(v.iter().map(|s| Some(s.as_bytes())))), false, Vec::new()),
                    FieldValues::NullableString(v) => {
                        let validity = validity(&v);
                        (wit::Values::String(var_bytes(v.iter().map(|s| s.as_deref().map(str::as_bytes)))), true, validity)
                    }
                    FieldValues::Time(v) => (wit::Values::Time(v.into_iter().map(unix_nanos).collect()), false, Vec::new()),
                    FieldValues::NullableTime(v) => {
                        let validity = validity(&v);
                        (wit::Values::Time(v.into_iter().map(|t| t.map_or(0, unix_nanos)).collect()), true, validity)
                    }
                }
            }
        }
    };
}

field_values! {
    Int8, NullableInt8, i8;
    Int16, NullableInt16, i16;
    Int32, NullableInt32, i32;
    Int64, NullableInt64, i64;
    Uint8, NullableUint8, u8;
    Uint16, NullableUint16, u16;
    Uint32, NullableUint32, u32;
    Uint64, NullableUint64, u64;
    Float32, NullableFloat32, f32;
    Float64, NullableFloat64, f64;
    Bool, NullableBool, bool;
}

impl From<Vec<String>> for FieldValues {
    fn from(v: Vec<String>) -> Self {
        FieldValues::String(v)
    }
}

impl From<Vec<Option<String>>> for FieldValues {
    fn from(v: Vec<Option<String>>) -> Self {
        FieldValues::NullableString(v)
    }
}

impl From<Vec<&str>> for FieldValues {
    fn from(v: Vec<&str>) -> Self {
        FieldValues::String(v.into_iter().map(str::to_owned).collect())
    }
}

impl From<Vec<SystemTime>> for FieldValues {
    fn from(v: Vec<SystemTime>) -> Self {
        FieldValues::Time(v)
    }
}

impl From<Vec<Option<SystemTime>>> for FieldValues {
    fn from(v: Vec<Option<SystemTime>>) -> Self {
        FieldValues::NullableTime(v)
    }
}

/// Arrow validity bitmap: bit i set when value i is present.
fn validity<T>(values: &[Option<T>]) -> Vec<u8> {
    let mut bitmap = vec![0u8; values.len().div_ceil(8)];
    for (i, v) in values.iter().enumerate() {
        if v.is_some() {
            bitmap[i / 8] |= 1 << (i % 8);
        }
    }
    bitmap
}

/// Variable-width values as one buffer plus offsets (nulls are empty).
fn var_bytes<'a>(values: impl ExactSizeIterator<Item = Option<&'a [u8]>>) -> wit::VarBytes {
    let mut offsets = Vec::with_capacity(values.len() + 1);
    let mut data = Vec::new();
    offsets.push(0);
    for value in values {
        data.extend_from_slice(value.unwrap_or_default());
        offsets.push(u32::try_from(data.len()).unwrap_or(u32::MAX));
    }
    wit::VarBytes { offsets, data }
}

/// A named, typed column with labels and display config.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// The values.
    pub values: FieldValues,
    /// Labels (series dimensions).
    pub labels: BTreeMap<String, String>,
    /// Grafana `FieldConfig` JSON object (unit, displayName, ...).
    pub config: Option<serde_json::Value>,
}

impl Field {
    /// A field named `name` holding `values` (a `Vec` of any supported
    /// type, or of `Option`s of it for a nullable field).
    pub fn new(name: impl Into<String>, values: impl Into<FieldValues>) -> Self {
        Self {
            name: name.into(),
            values: values.into(),
            labels: BTreeMap::new(),
            config: None,
        }
    }

    /// Sets labels.
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sets the `FieldConfig` JSON object.
    pub fn with_config(mut self, config: serde_json::Value) -> Self {
        self.config = Some(config);
        self
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the field has no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub(crate) fn into_wit(self) -> wit::Field {
        let (values, nullable, validity) = self.values.into_wit();
        wit::Field {
            name: self.name,
            values,
            nullable,
            validity,
            labels: (!self.labels.is_empty()).then(|| self.labels.into_iter().collect()),
            config: self.config.map(|c| c.to_string()),
        }
    }
}
