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
