//! Frame metadata (`FrameMeta`) and field display configuration
//! (`FieldConfig`), serialized with the JSON keys Grafana reads. Grafana
//! decodes them into typed structs: a wrong type fails the whole response,
//! which typed Rust structs rule out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Metadata of a frame: how to interpret it and what produced it (Go:
/// `data.FrameMeta`). Grafana shows the executed query, notices and stats
/// in the query inspector, and reads the type to pick a shape.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::{FRAME_TYPE_TIMESERIES_MULTI, FrameMeta, Notice, Severity};
///
/// let meta = FrameMeta {
///     frame_type: Some(FRAME_TYPE_TIMESERIES_MULTI.into()),
///     type_version: [0, 1],
///     executed_query_string: Some("rate(http_requests_total[5m])".into()),
///     notices: vec![Notice::new(Severity::Warning, "results truncated to 1000 series")],
///     ..FrameMeta::default()
/// };
/// let json = serde_json::to_value(&meta)?;
/// assert_eq!(json["type"], "timeseries-multi");
/// assert_eq!(json["notices"][0]["severity"], "warning");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameMeta {
    /// Data shape, e.g. `timeseries-wide`, `timeseries-multi`, `table`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub frame_type: Option<String>,
    /// Version of that shape, `[major, minor]`.
    pub type_version: [u32; 2],
    /// Path of the data, for hierarchical sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Separator of `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_separator: Option<String>,
    /// Datasource-specific metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// Query statistics shown in the inspector.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub stats: Vec<QueryStat>,
    /// Messages shown with the data.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notices: Vec<Notice>,
    /// Grafana Live channel of the data, for streaming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Visualisation to prefer: `graph`, `table`, `logs`, `trace`, `nodeGraph`, `flamegraph`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_visualisation_type: Option<String>,
    /// A panel plugin to prefer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_visualisation_plugin_id: Option<String>,
    /// The query as executed, shown in the inspector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_query_string: Option<String>,
    /// `annotations` or `alerts` when the frame is not plain data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_topic: Option<String>,
    /// Fields whose values identify a row.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub unique_row_id_fields: Vec<usize>,
}

/// One query statistic: a display config and a value, shown in the query
/// inspector's Stats tab (rows scanned, bytes read, ...).
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::{FieldConfig, QueryStat};
///
/// let stat = QueryStat {
///     config: FieldConfig { display_name: Some("Rows scanned".into()), ..FieldConfig::default() },
///     value: 1200.0,
/// };
/// assert_eq!(serde_json::to_value(&stat)?["displayName"], "Rows scanned");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryStat {
    /// How to show the value (`displayName`, `unit`, ...).
    #[serde(flatten)]
    pub config: FieldConfig,
    /// The value.
    pub value: f64,
}

/// How serious a notice is; Grafana styles the notice accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information.
    Info,
    /// A warning.
    Warning,
    /// An error.
    Error,
}

/// A message shown with the data, for what the user should know but is
/// not an error: truncated results, deprecated query syntax, ...
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::{Notice, Severity};
///
/// let notice = Notice {
///     link: Some("https://example.com/limits".into()),
///     ..Notice::new(Severity::Info, "sampled data")
/// };
/// assert_eq!(notice.text, "sampled data");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// How serious it is.
    pub severity: Severity,
    /// The message.
    pub text: String,
    /// A link for more information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Inspector tab to open: `meta`, `error`, `data` or `stats`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspect: Option<String>,
}

/// Display configuration of a field (Go: `data.FieldConfig`): what the
/// datasource knows about how to show its values, like the unit, which
/// panels use unless the user overrides it.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::data::FieldConfig;
///
/// let config = FieldConfig {
///     display_name_from_ds: Some("Requests".into()),
///     unit: Some("reqps".into()),
///     decimals: Some(1),
///     ..FieldConfig::default()
/// };
/// assert_eq!(
///     serde_json::to_string(&config)?,
///     r#"{"displayNameFromDS":"Requests","unit":"reqps","decimals":1}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldConfig {
    /// Name shown instead of the field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Name set by the datasource, overriding everything else.
    #[serde(rename = "displayNameFromDS", skip_serializing_if = "Option::is_none")]
    pub display_name_from_ds: Option<String>,
    /// Path of the field, for hierarchical sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Human-readable description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether ad-hoc filters may use this field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filterable: Option<bool>,
    /// Whether the field may be edited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writeable: Option<bool>,
    /// Unit, e.g. `ms`, `bytes`, `percent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Decimals to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u16>,
    /// Minimum of the value range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum of the value range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Expected interval between values, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// Value mappings (Grafana's JSON model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Value>,
    /// Thresholds (Grafana's JSON model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Value>,
    /// Color scheme (Grafana's JSON model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Value>,
    /// Data links (Grafana's JSON model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Text shown where there is no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_value: Option<String>,
    /// Type-specific configuration (enum names).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_config: Option<FieldTypeConfig>,
    /// Panel-specific options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
}

/// Type-specific field configuration; today the names of enum values
/// (see [`FieldConfig::enum_names`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldTypeConfig {
    /// The names of an enum field's values.
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    pub enum_config: Option<EnumFieldConfig>,
}

/// Names (and optional colors, icons, descriptions) of enum values, indexed
/// by the field's values. Usually built with [`FieldConfig::enum_names`];
/// set the optional lists directly for colors or icons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnumFieldConfig {
    /// Name of each value.
    pub text: Vec<String>,
    /// Color of each value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Vec<String>>,
    /// Icon of each value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<Vec<String>>,
    /// Description of each value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Vec<String>>,
}

impl FieldConfig {
    /// A config naming the values of an enum field: value `i` of the field
    /// shows as `names[i]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::FieldConfig;
    ///
    /// let config = FieldConfig::enum_names(["ok", "degraded", "down"]);
    /// assert_eq!(config.enum_text().map(<[String]>::len), Some(3));
    /// ```
    pub fn enum_names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Self {
            type_config: Some(FieldTypeConfig {
                enum_config: Some(EnumFieldConfig {
                    text: names.into_iter().map(Into::into).collect(),
                    ..EnumFieldConfig::default()
                }),
            }),
            ..Self::default()
        }
    }

    /// The enum value names, if configured: what [`crate::data::Field::validate`]
    /// checks enum values against.
    pub fn enum_text(&self) -> Option<&[String]> {
        self.type_config
            .as_ref()?
            .enum_config
            .as_ref()
            .map(|e| e.text.as_slice())
    }
}

impl Notice {
    /// A notice of `severity` saying `text`, without link or inspector tab.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::data::{Notice, Severity};
    ///
    /// let notice = Notice::new(Severity::Warning, "partial data");
    /// assert_eq!((notice.severity, notice.link), (Severity::Warning, None));
    /// ```
    pub fn new(severity: Severity, text: impl Into<String>) -> Self {
        Self {
            severity,
            text: text.into(),
            link: None,
            inspect: None,
        }
    }
}
