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
    /// Depend on the SDK at this path instead of its released version.
    #[arg(long)]
    pub sdk_path: Option<PathBuf>,
}

/// Runs `new`; prints what was created and what to run next.
pub fn run(args: NewArgs) -> ExitCode {
    match scaffold(&args) {
        Ok(name) => {
            println!("created {} (crate {name})", args.path.display());
            println!("next:");
            println!("  cd {}", args.path.display());
            println!("  cargo test                                   # the handler, natively");
            println!("  cargo build --release --target wasm32-wasip2 # the component");
            println!(
                "  grafana-wasm-host call --component target/wasm32-wasip2/release/{}.wasm query",
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
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("{}-{name}-datasource", args.org));
    let sdk = match &args.sdk_path {
        Some(path) => {
            let path =
                fs::canonicalize(path).with_context(|| format!("--sdk-path {}", path.display()))?;
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        None => format!("{:?}", env!("CARGO_PKG_VERSION")),
    };
    let files = [
        ("Cargo.toml", cargo_toml(&name, &sdk)),
        ("rust-toolchain.toml", TOOLCHAIN.to_owned()),
        ("src/lib.rs", LIB_RS.to_owned()),
        ("plugin.json", plugin_json(&name, &id)),
        ("sandbox.toml", SANDBOX.to_owned()),
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

fn plugin_json(name: &str, id: &str) -> String {
    let json = serde_json::json!({
        "type": "datasource",
        "name": name,
        "id": id,
        "backend": true,
        "executable": format!("gpx_{}", name.replace('-', "_")),
        "alerting": true,
        "info": {
            "description": format!("{name}: a sandboxed WebAssembly datasource"),
            "author": { "name": "" },
            "version": "0.1.0"
        },
        "dependencies": { "grafanaDependency": ">=10.0.0" }
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&json).expect("static JSON")
    )
}

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
