//! `grafana-wasm-host new`: scaffolds a datasource plugin crate that builds
//! for `wasm32-wasip2`, passes its own test natively, and packages with
//! `grafana-wasm-host package`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

/// Options of `new`.
#[derive(Debug, Clone, Args)]
pub struct NewArgs {
    /// Directory to create; its name becomes the crate's name.
    pub path: PathBuf,
    /// The plugin id for plugin.json. Default: `<org>-<name>-datasource`.
    #[arg(long)]
    pub id: Option<String>,
    /// The organisation part of the default id.
    #[arg(long, default_value = "myorg")]
    pub org: String,
    /// The SDK to depend on. Default: the SDK of the source tree this
    /// host was built from, when it is still there (the SDK is not
    /// published on crates.io yet).
    #[arg(long)]
    pub sdk_path: Option<PathBuf>,
    /// What kind of plugin: a datasource (queries and health) or an app
    /// (resources its pages call, and health).
    #[arg(long, value_enum, default_value = "datasource")]
    pub template: Template,
}

/// The plugin kinds `new` scaffolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// A datasource: QueryData and CheckHealth.
    Datasource,
    /// An app: CallResource routes and CheckHealth, configured by the
    /// app's settings.
    App,
}

impl Template {
    /// The plugin id's suffix and plugin.json's `type`.
    fn kind(self) -> &'static str {
        match self {
            Template::Datasource => "datasource",
            Template::App => "app",
        }
    }

    /// What the generic frontend's editors show (see `package`).
    fn editors_json(self) -> &'static str {
        match self {
            Template::Datasource => DATASOURCE_EDITORS,
            Template::App => APP_EDITORS,
        }
    }

    fn lib_rs(self) -> &'static str {
        match self {
            Template::Datasource => LIB_RS,
            Template::App => APP_LIB_RS,
        }
    }
}

/// The SDK next to this host's sources when it was built (`cargo install
/// --path host` from a clone), if that directory still exists.
fn built_in_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
    sdk.join("Cargo.toml").is_file().then_some(sdk)
}

/// The SDK dependency line: `--sdk-path`, else the built-in SDK, else a
/// refusal saying exactly what to pass.
fn sdk_dependency(explicit: Option<&Path>, built_in: Option<PathBuf>) -> anyhow::Result<String> {
    let Some(path) = explicit.map(Path::to_path_buf).or(built_in) else {
        bail!(
            "grafana-wasm-sdk is not published on crates.io yet, and the SDK this host was built from is gone: \
             pass --sdk-path with the guest-sdk directory of a grafana-wasm clone \
             (git clone https://github.com/grafana-wasm/grafana-wasm; ... --sdk-path grafana-wasm/guest-sdk)"
        );
    };
    let path = fs::canonicalize(&path).with_context(|| format!("--sdk-path {}", path.display()))?;
    if !path.join("Cargo.toml").is_file() {
        bail!(
            "--sdk-path {}: no Cargo.toml there; pass the guest-sdk directory of a grafana-wasm clone",
            path.display()
        );
    }
    Ok(format!("{{ path = {:?} }}", path.display().to_string()))
}

/// Runs `new`; prints what was created and what to run next.
pub fn run(args: NewArgs) -> ExitCode {
    match scaffold(&args) {
        Ok(name) => {
            let handler = match args.template {
                Template::Datasource => "query",
                Template::App => "resource hello",
            };
            println!("created {} (crate {name})", args.path.display());
            println!("next:");
            println!("  cd {}", args.path.display());
            println!("  cargo test                                   # the handlers, natively");
            println!("  cargo build --release --target wasm32-wasip2 # the component");
            println!(
                "  grafana-wasm-host call --component target/wasm32-wasip2/release/{}.wasm {handler}",
                name.replace('-', "_")
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn scaffold(args: &NewArgs) -> anyhow::Result<String> {
    if args.path.exists() {
        bail!("{} already exists", args.path.display());
    }
    let name = args
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_ascii_lowercase)
        .with_context(|| format!("{} has no usable directory name", args.path.display()))?;
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphabetic());
    if !valid {
        bail!(
            "{name:?} is not a valid crate name (letters, digits, - and _; starting with a letter)"
        );
    }
    let kind = args.template.kind();
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("{}-{name}-{kind}", args.org));
    let sdk = sdk_dependency(args.sdk_path.as_deref(), built_in_sdk())?;
    let files = [
        ("Cargo.toml", cargo_toml(&name, &sdk)),
        ("rust-toolchain.toml", TOOLCHAIN.to_owned()),
        ("src/lib.rs", args.template.lib_rs().to_owned()),
        ("plugin.json", plugin_json(&name, &id, args.template)),
        ("sandbox.toml", SANDBOX.to_owned()),
        ("editors.json", args.template.editors_json().to_owned()),
        (".gitignore", "/target\n/dist\n".to_owned()),
    ];
    for (file, text) in files {
        write(&args.path.join(file), &text)?;
    }
    Ok(name)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn cargo_toml(name: &str, sdk: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

# A component (cdylib) for the host, and a library for native tests.
[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
grafana-wasm-sdk = {sdk}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# A crate of its own, even when created inside another workspace.
[workspace]

[profile.release]
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#
    )
}

fn plugin_json(name: &str, id: &str, template: Template) -> String {
    let kind = template.kind();
    let mut json = serde_json::json!({
        "type": kind,
        "name": name,
        "id": id,
        "backend": true,
        "executable": format!("gpx_{}", name.replace('-', "_")),
        "info": {
            "description": format!("{name}: a sandboxed WebAssembly {kind}"),
            "author": { "name": "" },
            "version": "0.1.0"
        },
        "dependencies": { "grafanaDependency": ">=10.0.0" }
    });
    match template {
        Template::Datasource => json["alerting"] = true.into(),
        Template::App => json["includes"] = serde_json::json!([]),
    }
    format!(
        "{}\n",
        serde_json::to_string_pretty(&json).expect("static JSON")
    )
}

/// The datasource's settings page and query editor: Grafana's HTTP
/// settings, no settings of its own yet, and the query model's default.
const DATASOURCE_EDITORS: &str = r#"{
  "http": true,
  "jsonData": [],
  "secureJsonData": [],
  "query": {
    "default": { "count": 10 },
    "help": "count: how many values to return"
  }
}
"#;

/// The app's page, linking the resources it serves.
const APP_EDITORS: &str = r#"{
  "resources": ["hello"]
}
"#;

const TOOLCHAIN: &str = r#"[toolchain]
channel = "1.95"
targets = ["wasm32-wasip2"]
profile = "minimal"
"#;

const SANDBOX: &str = r#"# The sandbox of this plugin: every key is optional (defaults shown in
# grafana-wasm's README) and an operator can override each one in
# Grafana's ini, e.g. [plugin.<id>] max_memory_mb = 64.
max_memory_mb = 128
query_timeout_seconds = 30.0
# Hosts besides the datasource's URL the plugin may call:
allow_hosts = []
"#;

const LIB_RS: &str = r##"//! A datasource plugin for Grafana, run as a sandboxed WebAssembly
//! component by grafana-wasm.

use std::rc::Rc;

use grafana_wasm_sdk::backend::*;
use grafana_wasm_sdk::data::{Field, Frame};
use serde::Deserialize;

/// The query model the frontend sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Query {
    /// How many values to return.
    count: usize,
}

/// The plugin: one instance answers every handler.
pub struct Plugin;

impl QueryDataHandler for Plugin {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        let mut response = QueryDataResponse::new();
        for query in req.queries {
            let answer = match query.model::<Query>() {
                Ok(model) => {
                    let values: Vec<f64> = (0..model.count.max(1)).map(|i| i as f64).collect();
                    DataResponse::frames(vec![Frame::new("values").with_field(Field::new("value", values))])
                }
                Err(err) => DataResponse::error(err),
            };
            response.insert(query.ref_id, answer);
        }
        Ok(response)
    }
}

impl CheckHealthHandler for Plugin {
    fn check_health(&self, _: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        Ok(CheckHealthResult::ok("plugin is working"))
    }
}

grafana_wasm_sdk::export_plugin!({
    let plugin = Rc::new(Plugin);
    ServeOpts {
        query_data_handler: Some(plugin.clone()),
        check_health_handler: Some(plugin),
        ..ServeOpts::default()
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_returns_count_values() {
        let request = QueryDataRequest {
            queries: vec![DataQuery {
                ref_id: "A".into(),
                json: br#"{"count":3}"#.to_vec(),
                ..DataQuery::default()
            }],
            ..QueryDataRequest::default()
        };
        let response = Plugin.query_data(request).unwrap();
        let frame = &response.responses["A"].frames[0];
        assert_eq!(frame.rows(), 3);
    }
}
"##;

const APP_LIB_RS: &str = r##"//! An app plugin for Grafana, run as a sandboxed WebAssembly component by
//! grafana-wasm: its backend serves resources to the app's pages, under
//! `/api/plugins/<id>/resources/`.

use std::rc::Rc;

use grafana_wasm_sdk::backend::*;
use serde::Deserialize;
use serde_json::json;

/// The app's settings (`jsonData`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The word greetings start with.
    pub greeting: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self { greeting: "Hello".into() }
    }
}

/// One app instance: its settings, parsed once per settings version.
pub struct App {
    settings: Settings,
}

impl App {
    /// Parses the app's settings; none means the defaults.
    ///
    /// # Errors
    /// When `jsonData` is not a valid settings object.
    pub fn new(settings: &AppInstanceSettings) -> Result<Self, Error> {
        let settings = if settings.json_data.is_empty() {
            Settings::default()
        } else {
            settings.json_data()?
        };
        Ok(Self { settings })
    }
}

/// Nothing to release: an instance holds only its settings.
impl InstanceDisposer for App {}

/// The plugin: app instances, and the routes that use them.
pub struct Plugin {
    instances: InstanceManager<App>,
}

impl Default for Plugin {
    fn default() -> Self {
        Self { instances: InstanceManager::for_app(App::new) }
    }
}

impl CallResourceHandler for Plugin {
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        let app = self.instances.get(&req.plugin_context)?;
        let router = ResourceRouter::new().get("hello", move |_| {
            Ok(CallResourceResponse::json(
                200,
                &json!({ "message": format!("{}, Grafana!", app.settings.greeting) }),
            ))
        });
        sender.send(router.answer(&req)?)
    }
}

impl CheckHealthHandler for Plugin {
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        Ok(match self.instances.get(&req.plugin_context) {
            Ok(_) => CheckHealthResult::ok("app is working"),
            Err(err) => CheckHealthResult::error(format!("invalid app settings: {err}")),
        })
    }
}

grafana_wasm_sdk::export_plugin!({
    let plugin = Rc::new(Plugin::default());
    ServeOpts {
        call_resource_handler: Some(plugin.clone()),
        check_health_handler: Some(plugin),
        ..ServeOpts::default()
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_greets_with_the_configured_greeting() {
        let req = CallResourceRequest {
            plugin_context: PluginContext {
                app_instance_settings: Some(AppInstanceSettings {
                    json_data: br#"{"greeting":"Hi"}"#.to_vec(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            method: "GET".into(),
            path: "hello".into(),
            ..Default::default()
        };
        let mut sent: Vec<CallResourceResponse> = Vec::new();
        Plugin::default().call_resource(req, &mut sent).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(body["message"], "Hi, Grafana!");
    }
}
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_sdk_new_refuses_with_the_flag_to_pass() {
        let err = sdk_dependency(None, None).unwrap_err();
        assert!(format!("{err:#}").contains("--sdk-path"), "{err:#}");
        let dir = tempfile::tempdir().unwrap();
        let err = sdk_dependency(Some(dir.path()), None).unwrap_err();
        assert!(format!("{err:#}").contains("no Cargo.toml"), "{err:#}");
    }
}
