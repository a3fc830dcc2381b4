//! Every example plugin a person would copy, built, called through `call`
//! and packaged the way its README says. The Rust examples are built by the
//! test artifacts; the Python one is built here with componentize-py.

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

/// The Python example's component, built once per test run with the
/// componentize-py version its requirements.txt pins (installed into the
/// target directory, so nothing on the machine changes).
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
        let output = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-sine.wasm");
        run(Command::new("python3")
            .args([
                "-c",
                "import sys; from componentize_py import script; sys.exit(script())",
            ])
            .env("PYTHONPATH", &tools)
            .arg("-d")
            .arg(Path::new(ROOT).join("wit"))
            .args(["-w", "query-plugin", "componentize", "-p"])
            .arg(&source)
            .args(["app", "-o"])
            .arg(&output));
        output.to_str().unwrap().to_owned()
    })
}

/// Runs a build step, failing the test with its output when it fails.
fn run(command: &mut Command) {
    let output = command.output().expect("starting python3");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `call` on `component` with `args`, as JSON.
fn call_json(component: &str, args: &[&str]) -> serde_json::Value {
    let out = cli_stdout(&[&["call", "--component", component, "--json"], args].concat());
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
    let json = call_json(
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
    let call = |args: &[&str]| {
        cli_stdout(
            &[
                &[
                    "call",
                    "--component",
                    HELLO_APP,
                    "--app",
                    "--settings",
                    settings,
                ],
                args,
            ]
            .concat(),
        )
    };
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
    let missing = call(&["resource", "nowhere"]);
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
        health.contains("status: OK, message: \"sine wave generator ready\""),
        "{health}"
    );

    let json = cli_stdout(&[
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
