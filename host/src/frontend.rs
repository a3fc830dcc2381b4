//! The frontend a package ships. Grafana's UI loads `module.js` for every
//! plugin: without one a datasource cannot even be added. A plugin that has
//! no frontend of its own gets the generic one (`frontend/` in the source
//! tree, built from Grafana's npm packages and embedded here): a settings
//! page with Grafana's HTTP settings and the plugin's own fields, and a
//! query editor for the query JSON, described by the plugin's
//! `editors.json` and baked into the module.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The file describing the generic editors, next to `plugin.json`.
pub const EDITORS_FILE: &str = "editors.json";

/// The file Grafana loads.
pub const MODULE_FILE: &str = "module.js";

/// The generic frontend, built by `frontend/build.mjs`.
const GENERIC_MODULE: &str = include_str!("../../frontend/dist/module.js");

/// Where the configuration goes in [`GENERIC_MODULE`]: the `{}` between
/// these markers.
const EDITORS_START: &str = "/*grafana-wasm:editors*/";
const EDITORS_END: &str = "/*grafana-wasm:end*/";

/// What the generic editors show (the schema `frontend/README.md`
/// describes); unknown keys are refused, so that a typo is not silently
/// ignored by the browser.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Editors {
    /// `datasource` or `app`; plugin.json's `type` when absent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    kind: Option<Kind>,
    /// Grafana's standard HTTP settings (URL, auth, TLS, headers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http: Option<bool>,
    /// The URL input's placeholder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_url: Option<String>,
    /// The plugin's own settings, stored in `jsonData`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    json_data: Vec<Field>,
    /// The plugin's secrets, stored in `secureJsonData`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    secure_json_data: Vec<Field>,
    /// The query editor's default query and help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    query: Option<QueryEditor>,
    /// An app's resource paths, linked from its page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Datasource,
    App,
}

/// One field of the settings page: a setting, or a secret (which has no
/// `type`: secrets are strings).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Field {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    kind: Option<FieldKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    required: Option<bool>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum FieldKind {
    String,
    Number,
    Boolean,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct QueryEditor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    help: Option<String>,
}

impl Editors {
    /// Reads and checks `path`, for a plugin of plugin.json's `plugin_type`.
    ///
    /// # Errors
    /// Names the file and what is wrong, with line and column.
    pub fn read(path: &Path, plugin_type: &str) -> anyhow::Result<Self> {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let editors: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid editors description", path.display()))?;
        editors
            .checked(plugin_type)
            .with_context(|| format!("{}", path.display()))
    }

    /// The editors every datasource gets without an `editors.json`.
    pub fn default_for(plugin_type: &str) -> anyhow::Result<Self> {
        Self::default().checked(plugin_type)
    }

    /// Fills the kind from plugin.json and refuses what the browser could
    /// only ignore.
    fn checked(mut self, plugin_type: &str) -> anyhow::Result<Self> {
        let plugin_kind = match plugin_type {
            "datasource" => Kind::Datasource,
            "app" => Kind::App,
            other => bail!(
                "the generic frontend serves datasources and apps, not a plugin of type {other:?}: bring your own with --frontend"
            ),
        };
        match self.kind {
            Some(kind) if kind != plugin_kind => bail!(
                "`type` is {kind:?} but plugin.json says {plugin_type:?}",
                kind = format!("{kind:?}").to_lowercase()
            ),
            _ => self.kind = Some(plugin_kind),
        }
        let mut keys = HashSet::new();
        let json_keys = self.json_data.iter().map(|f| ("jsonData", &f.key));
        let secret_keys = self
            .secure_json_data
            .iter()
            .map(|f| ("secureJsonData", &f.key));
        if let Some(field) = self.secure_json_data.iter().find(|f| f.kind.is_some()) {
            bail!(
                "secureJsonData: {:?} has a `type`, but secrets are always strings",
                field.key
            );
        }
        for (section, key) in json_keys.chain(secret_keys) {
            if key.trim().is_empty() {
                bail!("{section}: a field has an empty `key`");
            }
            if !keys.insert((section, key.as_str())) {
                bail!("{section}: the key {key:?} is declared twice");
            }
        }
        if let Some(path) = self.resources.iter().find(|path| path.trim().is_empty()) {
            bail!("resources: {path:?} is not a resource path");
        }
        Ok(self)
    }

    /// The generic `module.js` showing these editors.
    pub fn module_js(&self) -> String {
        let config = serde_json::to_string(self).expect("editors serialise as JSON");
        bake(GENERIC_MODULE, &config)
    }
}

/// `module` with `config` between the editor markers.
fn bake(module: &str, config: &str) -> String {
    let start = module
        .find(EDITORS_START)
        .expect("the generic module has its marker")
        + EDITORS_START.len();
    let end = start
        + module[start..]
            .find(EDITORS_END)
            .expect("the generic module has its end marker");
    format!("{}{config}{}", &module[..start], &module[end..])
}

/// The files of a plugin's own built frontend (`--frontend DIR`, a
/// create-plugin `dist/`), relative to `dir`; its `plugin.json` is left
/// out: the backend's is the one shipped.
///
/// # Errors
/// When `dir` has no `module.js` or cannot be read.
pub fn own_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !dir.join(MODULE_FILE).is_file() {
        bail!(
            "--frontend {}: no {MODULE_FILE} there (build the frontend first, e.g. `npm run build` in a create-plugin project, and pass its dist directory)",
            dir.display()
        );
    }
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = fs::read_dir(dir.join(&relative))
            .with_context(|| format!("cannot read {}", dir.join(&relative).display()))?;
        for entry in entries {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else if path != Path::new("plugin.json") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, plugin_type: &str) -> anyhow::Result<Editors> {
        let editors: Editors = serde_json::from_str(text)?;
        editors.checked(plugin_type)
    }

    #[test]
    fn the_configuration_replaces_the_placeholder_and_nothing_else() {
        let editors = parse(
            r#"{"jsonData": [{"key": "path", "type": "string"}], "query": {"default": {"path": "/x"}}}"#,
            "datasource",
        )
        .unwrap();
        let module = editors.module_js();
        assert_eq!(module.len() - GENERIC_MODULE.len(), {
            let config = serde_json::to_string(&editors).unwrap();
            config.len() - 2
        });
        assert!(module.contains(
            r#"/*grafana-wasm:editors*/{"type":"datasource","jsonData":[{"key":"path","type":"string"}],"query":{"default":{"path":"/x"}}}/*grafana-wasm:end*/"#
        ));
        assert!(module.starts_with(&GENERIC_MODULE[..200]));
    }

    #[test]
    fn a_typo_a_wrong_type_or_a_duplicate_key_is_refused() {
        let typo = parse(r#"{"jsonDta": []}"#, "datasource").unwrap_err();
        assert!(
            format!("{typo:#}").contains("unknown field `jsonDta`"),
            "{typo:#}"
        );
        let kind = parse(
            r#"{"jsonData": [{"key": "a", "type": "date"}]}"#,
            "datasource",
        );
        assert!(format!("{:#}", kind.unwrap_err()).contains("unknown variant `date`"));
        let twice = parse(
            r#"{"jsonData": [{"key": "a"}, {"key": "a"}]}"#,
            "datasource",
        );
        assert!(format!("{:#}", twice.unwrap_err()).contains("declared twice"));
        let mismatch = parse(r#"{"type": "app"}"#, "datasource").unwrap_err();
        assert!(format!("{mismatch:#}").contains("plugin.json says \"datasource\""));
        assert!(parse("{}", "panel").is_err());
    }

    #[test]
    fn without_a_description_the_kind_comes_from_plugin_json() {
        let app = Editors::default_for("app").unwrap();
        assert!(
            app.module_js()
                .contains(r#"/*grafana-wasm:editors*/{"type":"app"}/*"#)
        );
    }
}
