//! Every example plugin a person would copy, built, called through `call`
//! and packaged the way its README says. The Rust examples are built by the
//! test artifacts; the Python and JavaScript ones are built here with
//! componentize-py and componentize-js.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::*;

/// The repository root.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// An example's directory.
fn example(name: &str) -> PathBuf {
    Path::new(ROOT).join("example-plugins").join(name)
}

/// Packages `component` with the example's plugin.json and sandbox.toml
/// (when it has one) and checks what Grafana needs: the host named after
/// `executable` for this platform, executable, beside the component.
fn assert_packages(component: &str, example_name: &str, id: &str, executable: &str) {
    let out = tempfile::tempdir().unwrap();
    let dir = example(example_name);
    let plugin_json = dir.join("plugin.json");
    let mut args = vec![
        "package",
        "--component",
        component,
        "--plugin-json",
        plugin_json.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ];
    let sandbox = dir.join("sandbox.toml");
    if sandbox.exists() {
        args.extend(["--sandbox-config", sandbox.to_str().unwrap()]);
    }
    cli_stdout(&args);
    let (os, arch) = go_platform();
    let packaged = out.path().join(id);
    let host = packaged.join(format!("{executable}_{os}_{arch}"));
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&host).unwrap().permissions().mode();
    assert_eq!(mode & 0o755, 0o755, "{} is executable", host.display());
    assert!(packaged.join("plugin.wasm").is_file());
    assert_eq!(sandbox.exists(), packaged.join("sandbox.toml").is_file());
}

/// Where the component built from `inputs` (files or directories) is:
/// named by a digest of their contents and built by `build` only when
/// missing, so that an unchanged example keeps its compiled code in the
/// host's cache (componentize-js and componentize-py builds are not
/// reproducible: each build is a new component to compile).
fn built_component(name: &str, inputs: &[PathBuf], build: impl FnOnce(&Path)) -> String {
    let output =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}.wasm", digest(inputs)));
    if !output.exists() {
        let partial = output.with_extension("partial.wasm");
        build(&partial);
        std::fs::rename(&partial, &output).unwrap();
    }
    output.to_str().unwrap().to_owned()
}

/// A short SHA-256 of the names and contents of the files under `inputs`.
fn digest(inputs: &[PathBuf]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut files = Vec::new();
    for input in inputs {
        collect_files(input, &mut files);
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap());
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The files under `path`, without Python's byte-code caches.
fn collect_files(path: &Path, files: &mut Vec<PathBuf>) {
    if !path.is_dir() {
        files.push(path.to_owned());
        return;
    }
    for entry in std::fs::read_dir(path).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name() != Some("__pycache__".as_ref()) {
            collect_files(&path, files);
        }
    }
}

/// The Python example's component, built with the componentize-py
/// version its requirements.txt pins (installed into the target
/// directory, so nothing on the machine changes).
fn python_sine() -> &'static str {
    static COMPONENT: OnceLock<String> = OnceLock::new();
    COMPONENT.get_or_init(|| {
        let tools = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-tools");
        let source = example("python-sine");
        if !tools.join("componentize_py").is_dir() {
            run(Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg("--target")
                .arg(&tools)
                .arg("-r")
                .arg(source.join("requirements.txt")));
        }
        let wit = Path::new(ROOT).join("wit");
        let inputs = [
            source.join("app.py"),
            source.join("requirements.txt"),
            wit.clone(),
        ];
        built_component("python-sine", &inputs, |output| {
            run(Command::new("python3")
                .args([
                    "-c",
                    "import sys; from componentize_py import script; sys.exit(script())",
                ])
                .env("PYTHONPATH", &tools)
                .arg("-d")
                .arg(&wit)
                .args(["-w", "datasource", "componentize", "-p"])
                .arg(&source)
                .args(["app", "-o"])
                .arg(output));
        })
    })
}

/// The JavaScript example's component, built with the componentize-js
/// its package-lock.json pins (installed into the target
/// directory), or `None` when npm is missing on a machine outside CI,
/// where the test is skipped; under `CI` a missing npm fails.
fn js_json() -> Option<&'static str> {
    static COMPONENT: OnceLock<Option<String>> = OnceLock::new();
    COMPONENT
        .get_or_init(|| {
            if !tool_present(runs("npm", "--version"), "npm", "apt-get install npm") {
                return None;
            }
            let tools = Path::new(env!("CARGO_TARGET_TMPDIR")).join("js-tools");
            let source = example("js-json");
            let componentize = tools.join("node_modules/.bin/componentize-js");
            if !componentize.exists() {
                std::fs::create_dir_all(&tools).unwrap();
                for file in ["package.json", "package-lock.json"] {
                    std::fs::copy(source.join(file), tools.join(file)).unwrap();
                }
                run(Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&tools));
            }
            let wit = Path::new(ROOT).join("wit");
            let inputs = [
                source.join("app.js"),
                source.join("package-lock.json"),
                wit.clone(),
            ];
            Some(built_component("js-json", &inputs, |output| {
                run(Command::new(&componentize)
                    .arg(source.join("app.js"))
                    .arg("--wit")
                    .arg(&wit)
                    .args(["--world-name", "datasource", "-o"])
                    .arg(output));
            }))
        })
        .as_deref()
}

/// The API the JavaScript and Python examples read: a health path and a
/// series of two points.
const SERIES_API: &[(&str, &str)] = &[
    ("/", "{}"),
    (
        "/series",
        r#"[{"time":1000,"value":0.5},{"time":2000,"value":1.5}]"#,
    ),
];

/// Asserts that the datasource `component` (of `example`) answers health
/// by calling [`SERIES_API`] and QueryData with its series, both with the
/// credentials the host adds, and that a failing API path fails only its
/// query, blamed on the API.
fn assert_reads_the_series_api(component: &str, example: &str) {
    let port = json_api(BASIC_AUTH, SERIES_API);
    let health = call_api_datasource(component, example, port, &["health"]);
    assert!(
        health.contains("status: OK") && health.contains("answered 200"),
        "{health}"
    );
    // Query B fails, so the call exits non-zero after printing both.
    let out = call_api_datasource_failing(
        component,
        example,
        port,
        &[
            "--json",
            "query",
            "--query",
            r#"{"path":"/series"}"#,
            "--query",
            r#"{"path":"/missing"}"#,
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let frame = &json["results"]["A"]["frames"][0];
    assert_eq!(frame["schema"]["fields"][0]["type"], "time", "{json}");
    assert_eq!(
        frame["data"]["values"],
        serde_json::json!([[1000, 2000], [0.5, 1.5]]),
        "{json}"
    );
    let failed = &json["results"]["B"];
    assert_eq!(failed["status"], 502, "{json}");
    assert!(
        failed["error"].as_str().unwrap().contains("status 404"),
        "{json}"
    );
    assert_eq!(failed["errorSource"], "downstream", "{json}");
}

/// Runs a build step, failing the test with its output when it fails.
fn run(command: &mut Command) {
    let output = command.output().expect("starting the build tool");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `call` on `component` with `args` that make one query fail (so the call
/// exits non-zero), as JSON.
fn call_json_failing(component: &str, args: &[&str]) -> serde_json::Value {
    let out = cli_stdout_failing(&[&["call", "--component", component, "--json"], args].concat());
    serde_json::from_str(&out).unwrap_or_else(|err| panic!("{err}: {out}"))
}

#[test]
fn the_testdata_example_answers_each_scenario_its_resource_and_stream() {
    let health = cli_stdout(&["call", "--component", TESTDATA, "health"]);
    assert!(health.contains("Data source is working"), "{health}");

    let csv = serde_json::json!({
        "scenarioId": "csv_content",
        "csvContent": "time,host,up\n1000,a,true\n2000,b,\n"
    })
    .to_string();
    let json = call_json_failing(
        TESTDATA,
        &[
            "query",
            "--query",
            r#"{"seriesCount":2,"seed":1}"#,
            "--query",
            &csv,
            "--query",
            r#"{"scenarioId":"table_static"}"#,
            "--query",
            r#"{"scenarioId":"nope"}"#,
        ],
    );
    let results = &json["results"];
    assert_eq!(results["A"]["frames"].as_array().unwrap().len(), 2);
    let labels = &results["A"]["frames"][1]["schema"]["fields"][1]["labels"];
    assert_eq!(labels["series"], "1");
    let csv_fields = &results["B"]["frames"][0]["schema"]["fields"];
    let types: Vec<&str> = (0..3)
        .map(|i| csv_fields[i]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["time", "string", "boolean"]);
    assert_eq!(
        results["B"]["frames"][0]["data"]["values"][2],
        serde_json::json!([true, null])
    );
    assert_eq!(results["C"]["frames"][0]["data"]["values"][1][2], "down");
    assert_eq!(results["D"]["status"], 400);
    assert!(
        results["D"]["error"]
            .as_str()
            .unwrap()
            .contains("unknown scenario")
    );

    let scenarios = cli_stdout(&["call", "--component", TESTDATA, "resource", "scenarios"]);
    assert!(
        scenarios.contains("status 200") && scenarios.contains(r#""id":"csv_content""#),
        "{scenarios}"
    );

    // The live stream sends frame JSON: the schema with the first point,
    // then data only.
    let stream = cli_stdout(&[
        "call",
        "--component",
        TESTDATA,
        "stream",
        "random-walk",
        "--packets",
        "2",
    ]);
    let packets: Vec<serde_json::Value> = stream
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(packets.len(), 2, "{stream}");
    assert_eq!(packets[0]["schema"]["fields"][0]["type"], "time");
    assert!(packets[1].get("schema").is_none() && packets[1]["data"]["values"].is_array());

    let metrics = cli_stdout(&["call", "--component", TESTDATA, "metrics"]);
    assert!(
        metrics.contains("testdata_stream_points_total"),
        "{metrics}"
    );

    assert_packages(
        TESTDATA,
        "testdata",
        "grafana-wasm-testdata-datasource",
        "gpx_testdata",
    );
}

#[test]
fn the_app_example_serves_resources_configured_by_the_app_settings() {
    let settings = r#"{"jsonData":{"greeting":"Bonjour"},"secureJsonData":{"apiKey":"s3cret"}}"#;
    let app = [
        "call",
        "--component",
        HELLO_APP,
        "--app",
        "--settings",
        settings,
    ];
    let call = |args: &[&str]| cli_stdout(&[&app[..], args].concat());
    let greeting = call(&[
        "resource",
        "greet",
        "--method",
        "POST",
        "--body",
        r#"{"name":"Ada"}"#,
    ]);
    assert!(greeting.contains("Bonjour, Ada!"), "{greeting}");
    let shown = call(&["resource", "settings"]);
    assert!(shown.contains(r#""secureSettings":["apiKey"]"#), "{shown}");
    assert!(!shown.contains("s3cret"), "secrets never leave: {shown}");
    let missing = cli_stdout_failing(&[&app[..], &["resource", "nowhere"]].concat());
    assert!(missing.contains("status 404"), "{missing}");
    let health = call(&["health"]);
    assert!(health.contains("status: OK"), "{health}");
    assert_packages(
        HELLO_APP,
        "hello-app",
        "grafana-wasm-hello-app",
        "gpx_hello_app",
    );
}

#[test]
fn the_http_json_example_packages_with_its_sandbox_configuration() {
    assert_packages(
        HTTP_JSON,
        "http-json",
        "grafana-wasm-httpjson-datasource",
        "gpx_httpjson",
    );
}

#[test]
fn the_python_example_answers_through_the_same_contract() {
    let component = python_sine();
    let health = cli_stdout(&["call", "--component", component, "health"]);
    assert!(
        health.contains("status: OK, message: \"sine wave generator ready"),
        "{health}"
    );

    // Query B fails, so the call exits non-zero after printing both.
    let json = cli_stdout_failing(&[
        "call",
        "--component",
        component,
        "--json",
        "query",
        "--query",
        r#"{"points":4,"periodSeconds":4}"#,
        "--query",
        r#"{"points":0}"#,
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let frame = &json["results"]["A"]["frames"][0];
    assert_eq!(frame["schema"]["name"], "sine");
    let values = frame["data"]["values"][1].as_array().unwrap();
    assert_eq!(values.len(), 4);
    // A period of 4 points: consecutive values are a quarter turn apart.
    let (a, b) = (values[0].as_f64().unwrap(), values[2].as_f64().unwrap());
    assert!((a + b).abs() < 1e-9, "half a period apart: {values:?}");
    let times = frame["data"]["values"][0].as_array().unwrap();
    assert_eq!(
        times[1].as_i64().unwrap() - times[0].as_i64().unwrap(),
        1000
    );
    // The bad query fails alone, with the plugin's message and status.
    assert_eq!(json["results"]["B"]["status"], 400);
    assert!(
        json["results"]["B"]["error"]
            .as_str()
            .unwrap()
            .contains("points must be between 1 and 100000"),
        "{json}"
    );

    assert_packages(
        component,
        "python-sine",
        "grafana-wasm-pythonsine-datasource",
        "gpx_pythonsine",
    );
}

#[test]
fn the_python_example_reads_its_api_with_credentials_applied_by_the_host() {
    assert_reads_the_series_api(python_sine(), "python-sine");
}

#[test]
fn the_javascript_example_reads_its_api_serves_a_resource_and_packages() {
    let Some(component) = js_json() else { return };
    assert_reads_the_series_api(component, "js-json");

    let port = json_api(BASIC_AUTH, SERIES_API);
    let relayed = call_api_datasource(component, "js-json", port, &["resource", "api/series"]);
    assert!(
        relayed.contains("status 200") && relayed.contains(r#"{"time":1000,"value":0.5}"#),
        "{relayed}"
    );
    let missing = call_api_datasource_failing(component, "js-json", port, &["resource", "nowhere"]);
    assert!(missing.contains("status 404"), "{missing}");

    assert_packages(
        component,
        "js-json",
        "grafana-wasm-jsjson-datasource",
        "gpx_jsjson",
    );
}
