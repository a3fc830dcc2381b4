//! The generic frontend (`frontend/`): its browser test renders the
//! editors of the committed `module.js` in headless Chromium against
//! Grafana's own npm packages, typing and clicking as a user would; what
//! the editors saved then configures a real backend, which must receive it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use grafana_wasm_client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;
use serde_json::Value;

use crate::support::*;

fn frontend_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend")
}

/// The browser the test drives.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Whether the frontend's pinned packages are installed (`npm ci`, again
/// only when package-lock.json changed) and a browser is there (see
/// [`tool_present`]).
fn prepared() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let present = tool_present(runs("npm", "--version"), "npm", "apt-get install npm")
            && tool_present(
                chromium().is_file(),
                "chromium",
                "apt-get install chromium, or set CHROMIUM",
            );
        if !present {
            return false;
        }
        let dir = frontend_dir();
        let lock = std::fs::read(dir.join("package-lock.json")).unwrap();
        let stamp = dir.join("node_modules/.installed-package-lock.json");
        if std::fs::read(&stamp).ok().as_deref() != Some(lock.as_slice()) {
            eprintln!("installing the frontend's packages (npm ci, about a minute)");
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "npm ci in frontend/ failed");
            std::fs::write(&stamp, &lock).unwrap();
        }
        true
    })
}

/// What the editors saved: the settings as Grafana stores them and the
/// query as Grafana sends it.
struct Saved {
    settings: Value,
    query: Value,
}

/// Runs the browser test with the URL `url` typed into the settings page.
fn run_browser_test(url: &str) -> Saved {
    let output_file = tempfile::NamedTempFile::new().unwrap();
    let output = Command::new("node")
        .arg(frontend_dir().join("test/run.mjs"))
        .env("CHROMIUM", chromium())
        .env("EDITOR_OUTPUT", output_file.path())
        .env("EDITOR_URL", url)
        .env("EDITOR_QUERY", r#"{"path": "/metrics"}"#)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    let saved: Value = serde_json::from_slice(&std::fs::read(output_file.path()).unwrap()).unwrap();
    Saved {
        settings: saved["settings"].clone(),
        query: saved["query"].clone(),
    }
}

/// The plugin context Grafana builds from saved settings: jsonData as
/// JSON, the secrets decrypted.
fn context_of(settings: &Value) -> pb::PluginContext {
    let url = settings["url"].as_str().unwrap();
    let mut ctx = datasource("editors", url, settings["jsonData"].clone(), &[]);
    let ds = ctx.data_source_instance_settings.as_mut().unwrap();
    ds.decrypted_secure_json_data = settings["secureJsonData"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap().to_owned()))
        .collect();
    ds.basic_auth_enabled = settings["basicAuth"] == true;
    ds.basic_auth_user = settings["basicAuthUser"]
        .as_str()
        .unwrap_or_default()
        .into();
    ctx
}

#[tokio::test]
async fn the_generic_editors_render_with_grafanas_packages_and_the_backend_gets_what_they_save() {
    if !prepared() {
        return;
    }
    // base64("alice:s3cret-pw"), lowercased: the credentials the test
    // types into the settings page.
    let port = json_api(
        "basic ywxpy2u6cznjcmv0lxb3",
        &[("/metrics", r#"[{"value": 1.5}]"#), ("/health", "[]")],
    );
    let url = format!("http://127.0.0.1:{port}");
    let saved = tokio::task::spawn_blocking(move || run_browser_test(&url))
        .await
        .unwrap();
    assert_eq!(saved.settings["jsonData"]["healthPath"], "/health");

    let mut command = host_command(HTTP_JSON);
    command.env("GF_PLUGIN_ALLOW_ADDRESSES", "127.0.0.1/32");
    let plugin = PluginProcess::launch(command)
        .await
        .expect("launching the host");
    let ctx = context_of(&saved.settings);
    let health = plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            plugin_context: Some(ctx.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        health.status,
        pb::check_health_response::HealthStatus::Ok as i32,
        "{health:?}"
    );

    let mut request = query_request(vec![query("A", &saved.query.to_string(), 1_000)]);
    request.plugin_context = Some(ctx);
    let response = plugin
        .data()
        .query_data(request)
        .await
        .unwrap()
        .into_inner();
    let answer = &response.responses["A"];
    assert!(answer.error.is_empty(), "{}", answer.error);
    let (schema, batches) = decode_frame(&answer.frames[0]);
    assert_eq!(schema.field(0).name(), "value");
    let values = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap();
    assert_eq!(values.value(0), 1.5);
}
