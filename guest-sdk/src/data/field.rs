//! Typed columns.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::Value;

use super::meta::FieldConfig;
use super::time::{UnixNanos, unix_nanos};
use crate::backend::Error;
use crate::bindings::grafana::plugin::frames as wit;

/// An index into the names of an enum field (`FieldConfig::enum_names`),
/// like the Go SDK's `EnumItemIndex`: enum fields store small indexes and
/// Grafana shows the configured names, which keeps repeated states cheap.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::{EnumItemIndex, Field, FieldConfig};
///
/// let state = Field::new("state", vec![EnumItemIndex(0), EnumItemIndex(1)])
///     .with_config(FieldConfig::enum_names(["ok", "alerting"]));
/// assert!(state.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnumItemIndex(pub u16);

/// Adds one value to a field of the matching type (see [`Field::append`]):
/// implemented for every value type a field holds, so that rows can be
/// appended one at a time with a type check instead of a panic.
pub trait Appendable {
    /// Pushes `self` onto `values`; gives it back if the types differ.
    ///
    /// # Errors
    /// The value, when `values` holds another type.
    fn append_to(self, values: &mut FieldValues) -> Result<(), Self>
    where
        Self: Sized;
}

macro_rules! field_values {
    ($( $plain:ident, $nullable:ident, $t:ty, $to_plain:expr, $to_nullable:expr; )*) => {
        /// The values of a field: one variant per Grafana field type, plain
        /// or nullable (`Option`). Built from a `Vec` with `From`, so
        /// [`Field::new`] takes vectors directly; match on it to read a
        /// field's values back, e.g. in tests.
        ///
        /// # Examples
        ///
        /// ```
        /// use grafana_wasm_sdk::data::FieldValues;
        ///
        /// let values = FieldValues::from(vec![Some(1.5), None]);
        /// assert_eq!(values, FieldValues::NullableFloat64(vec![Some(1.5), None]));
        /// assert_eq!((values.len(), values.type_name()), (2, "Option<f64>"));
        /// ```
        #[derive(Debug, Clone, PartialEq)]
        pub enum FieldValues {
            $(
                #[doc = concat!("`", stringify!($t), "` values.")]
                $plain(Vec<$t>),
                #[doc = concat!("Nullable `", stringify!($t), "` values.")]
                $nullable(Vec<Option<$t>>),
            )*
        }

        $(
            impl From<Vec<$t>> for FieldValues {
                fn from(v: Vec<$t>) -> Self { FieldValues::$plain(v) }
            }
            impl From<Vec<Option<$t>>> for FieldValues {
                fn from(v: Vec<Option<$t>>) -> Self { FieldValues::$nullable(v) }
            }
            impl Appendable for $t {
                fn append_to(self, values: &mut FieldValues) -> Result<(), Self> {
                    match values {
                        FieldValues::$plain(v) => v.push(self),
                        FieldValues::$nullable(v) => v.push(Some(self)),
                        _ => return Err(self),
                    }
                    Ok(())
                }
            }
            impl Appendable for Option<$t> {
                fn append_to(self, values: &mut FieldValues) -> Result<(), Self> {
                    match values {
                        FieldValues::$nullable(v) => v.push(self),
                        _ => return Err(self),
                    }
                    Ok(())
                }
            }
        )*

        impl FieldValues {
            /// Number of values.
            pub fn len(&self) -> usize {
                match self {
                    $( FieldValues::$plain(v) => v.len(), FieldValues::$nullable(v) => v.len(), )*
                }
            }

            /// Name of the Rust type of one value (`f64`, `Option<String>`,
            /// ...), for error messages.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $( FieldValues::$plain(_) => stringify!($t), FieldValues::$nullable(_) => concat!("Option<", stringify!($t), ">"), )*
                }
            }

            /// The contract's form: values, nullability, validity bitmap.
            fn into_wit(self) -> (wit::Values, bool, Vec<u8>) {
                match self {
                    $(
                        FieldValues::$plain(v) => ($to_plain(v), false, Vec::new()),
                        FieldValues::$nullable(v) => {
                            let validity = validity(&v);
                            ($to_nullable(v), true, validity)
                        }
                    )*
                }
            }
        }
    };
}

/// Nulls become the type's zero value; the validity bitmap marks them.
fn zeroed<T: Default>(values: Vec<Option<T>>) -> Vec<T> {
    values.into_iter().map(Option::unwrap_or_default).collect()
}

fn strings<'a>(values: impl ExactSizeIterator<Item = Option<&'a str>> + Clone) -> wit::Values {
    wit::Values::String(var_bytes(values.map(|s| s.map(str::as_bytes))))
}

fn json<'a>(values: impl ExactSizeIterator<Item = Option<&'a Value>>) -> wit::Values {
    let encoded: Vec<Option<Vec<u8>>> = values
        .map(|v| v.map(|v| v.to_string().into_bytes()))
        .collect();
    wit::Values::Json(var_bytes(encoded.iter().map(Option::as_deref)))
}

fn times(values: impl Iterator<Item = Option<SystemTime>>) -> wit::Values {
    wit::Values::Time(values.map(|t| t.map_or(0, unix_nanos)).collect())
}

fn enums(values: impl Iterator<Item = Option<EnumItemIndex>>) -> wit::Values {
    wit::Values::Enum(values.map(|e| e.map_or(0, |e| e.0)).collect())
}

field_values! {
    Int8, NullableInt8, i8, wit::Values::Int8, |v| wit::Values::Int8(zeroed(v));
    Int16, NullableInt16, i16, wit::Values::Int16, |v| wit::Values::Int16(zeroed(v));
    Int32, NullableInt32, i32, wit::Values::Int32, |v| wit::Values::Int32(zeroed(v));
    Int64, NullableInt64, i64, wit::Values::Int64, |v| wit::Values::Int64(zeroed(v));
    Uint8, NullableUint8, u8, wit::Values::Uint8, |v| wit::Values::Uint8(zeroed(v));
    Uint16, NullableUint16, u16, wit::Values::Uint16, |v| wit::Values::Uint16(zeroed(v));
    Uint32, NullableUint32, u32, wit::Values::Uint32, |v| wit::Values::Uint32(zeroed(v));
    Uint64, NullableUint64, u64, wit::Values::Uint64, |v| wit::Values::Uint64(zeroed(v));
    Float32, NullableFloat32, f32, wit::Values::Float32, |v| wit::Values::Float32(zeroed(v));
    Float64, NullableFloat64, f64, wit::Values::Float64, |v| wit::Values::Float64(zeroed(v));
    Bool, NullableBool, bool, wit::Values::Bool, |v| wit::Values::Bool(zeroed(v));
    String, NullableString, String,
        |v: Vec<String>| strings(v.iter().map(|s| Some(s.as_str()))),
        |v: Vec<Option<String>>| strings(v.iter().map(Option::as_deref));
    Time, NullableTime, SystemTime,
        |v: Vec<SystemTime>| times(v.into_iter().map(Some)),
        |v: Vec<Option<SystemTime>>| times(v.into_iter());
    UnixTime, NullableUnixTime, UnixNanos,
        |v: Vec<UnixNanos>| wit::Values::Time(v.into_iter().map(|t| t.0).collect()),
        |v: Vec<Option<UnixNanos>>| wit::Values::Time(v.into_iter().map(|t| t.map_or(0, |t| t.0)).collect());
    Json, NullableJson, Value,
        |v: Vec<Value>| json(v.iter().map(Some)),
        |v: Vec<Option<Value>>| json(v.iter().map(Option::as_ref));
    Enum, NullableEnum, EnumItemIndex,
        |v: Vec<EnumItemIndex>| enums(v.into_iter().map(Some)),
        |v: Vec<Option<EnumItemIndex>>| enums(v.into_iter());
}

impl FieldValues {
    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<&str>> for FieldValues {
    fn from(v: Vec<&str>) -> Self {
        FieldValues::String(v.into_iter().map(str::to_owned).collect())
    }
}

impl Appendable for &str {
    fn append_to(self, values: &mut FieldValues) -> Result<(), Self> {
        self.to_owned().append_to(values).map_err(|_| self)
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

/// Variable-width values as one buffer plus offsets (nulls are empty),
/// sized up front so the buffer is written once.
fn var_bytes<'a>(values: impl ExactSizeIterator<Item = Option<&'a [u8]>> + Clone) -> wit::VarBytes {
    let total = values.clone().map(|v| v.map_or(0, <[u8]>::len)).sum();
    let mut offsets = Vec::with_capacity(values.len() + 1);
    let mut data = Vec::with_capacity(total);
    offsets.push(0);
    for value in values {
        data.extend_from_slice(value.unwrap_or_default());
        offsets.push(u32::try_from(data.len()).unwrap_or(u32::MAX));
    }
    wit::VarBytes { offsets, data }
}

/// A named, typed column with labels and display config (Go:
/// `data.Field`). Labels carry a series' dimensions; the config how Grafana
/// displays it.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::{Field, FieldConfig};
///
/// let field = Field::new("latency", vec![Some(12.5), None])
///     .with_labels([("service", "api")])
///     .with_config(FieldConfig { unit: Some("ms".into()), ..FieldConfig::default() });
/// assert_eq!(field.len(), 2);
/// assert_eq!(field.labels["service"], "api");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// The values.
    pub values: FieldValues,
    /// Labels (series dimensions).
    pub labels: BTreeMap<String, String>,
    /// Display configuration (unit, displayName, enum names, ...).
    pub config: Option<FieldConfig>,
}

impl Field {
    /// A field named `name` holding `values`: a `Vec` of any supported type
    /// (numbers, `bool`, `String`/`&str`, `SystemTime`,
    /// `serde_json::Value`, [`EnumItemIndex`]), or of `Option`s of it for a
    /// nullable field.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::UNIX_EPOCH;
    /// use grafana_wasm_sdk::data::{Field, FieldValues};
    ///
    /// assert!(matches!(Field::new("t", vec![UNIX_EPOCH]).values, FieldValues::Time(_)));
    /// assert!(matches!(Field::new("s", vec!["a"]).values, FieldValues::String(_)));
    /// assert!(matches!(Field::new("n", vec![None::<i64>]).values, FieldValues::NullableInt64(_)));
    /// ```
    pub fn new(name: impl Into<String>, values: impl Into<FieldValues>) -> Self {
        Self {
            name: name.into(),
            values: values.into(),
            labels: BTreeMap::new(),
            config: None,
        }
    }

    /// Sets labels (replacing any): the dimensions that tell this series
    /// apart from others of the same name, like Prometheus labels.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::Field;
    ///
    /// let field = Field::new("cpu", vec![0.5]).with_labels([("host", "a"), ("dc", "eu")]);
    /// assert_eq!(field.labels.len(), 2);
    /// ```
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

    /// Sets the display configuration (replacing any): unit, display name,
    /// thresholds, enum names, ... as the datasource knows them.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::{Field, FieldConfig};
    ///
    /// let config = FieldConfig { unit: Some("bytes".into()), ..FieldConfig::default() };
    /// let field = Field::new("size", vec![1_u64]).with_config(config);
    /// assert_eq!(field.config.unwrap().unit.as_deref(), Some("bytes"));
    /// ```
    pub fn with_config(mut self, config: FieldConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Appends one value of the field's type (a `T` or, for nullable
    /// fields, an `Option<T>`): for building a field row by row, as rows
    /// arrive from a database or API.
    ///
    /// # Errors
    /// When the value's type differs from the field's.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::Field;
    ///
    /// let mut field = Field::new("v", Vec::<Option<f64>>::new());
    /// field.append(1.0)?;
    /// field.append(None::<f64>)?;
    /// assert_eq!(field.len(), 2);
    /// assert!(field.append("text").is_err());
    /// # Ok::<(), grafana_wasm_sdk::backend::Error>(())
    /// ```
    pub fn append<A: Appendable>(&mut self, value: A) -> Result<(), Error> {
        value.append_to(&mut self.values).map_err(|_| {
            Error::plugin(format!(
                "cannot append a {} to field {:?} of {} values",
                std::any::type_name::<A>(),
                self.name,
                self.values.type_name()
            ))
        })
    }

    /// Number of values: the rows this field contributes to its frame.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the field has no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Checks what the types cannot: enum values must name an entry of the
    /// configured enum names, when names are configured. Grafana would show
    /// an out-of-range value as blank; this names it instead.
    ///
    /// # Errors
    /// Names the first value out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::{EnumItemIndex, Field, FieldConfig};
    ///
    /// let field = Field::new("e", vec![EnumItemIndex(2)])
    ///     .with_config(FieldConfig::enum_names(["a", "b"]));
    /// assert!(field.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        let Some(names) = self.config.as_ref().and_then(FieldConfig::enum_text) else {
            return Ok(());
        };
        let indexes: Vec<u16> = match &self.values {
            FieldValues::Enum(v) => v.iter().map(|e| e.0).collect(),
            FieldValues::NullableEnum(v) => v.iter().flatten().map(|e| e.0).collect(),
            _ => return Ok(()),
        };
        match indexes.iter().find(|&&i| usize::from(i) >= names.len()) {
            Some(i) => Err(Error::plugin(format!(
                "enum field {:?} has value {i} but only {} names",
                self.name,
                names.len()
            ))),
            None => Ok(()),
        }
    }

    pub(crate) fn into_wit(self) -> wit::Field {
        let (values, nullable, validity) = self.values.into_wit();
        wit::Field {
            name: self.name,
            values,
            nullable,
            validity,
            labels: (!self.labels.is_empty()).then(|| self.labels.into_iter().collect()),
            config: self
                .config
                .map(|c| serde_json::to_string(&c).unwrap_or_default()),
        }
    }
}
