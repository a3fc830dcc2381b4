//! `grafana-wasm-host call`: one handler of a component, without Grafana.

use std::process::Command;

use crate::support::*;

/// Runs `call` on `component` with `args`: (success, stdout, stderr).
fn call(component: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(HOST)
        .args(["call", "--component", component])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn call_invokes_each_handler_of_the_example_and_prints_readable_answers() {
    let (ok, out, err) = call(RANDOM_WALK, &["health"]);
    assert!(ok, "{err}");
    assert!(out.contains("status: OK, message: \"ok\""), "{out}");

    let (ok, out, err) = call(RANDOM_WALK, &["query", "--query", r#"{"points":3}"#]);
    assert!(ok, "{err}");
    assert!(out.contains("frame \"random-walk\""), "{out}");
    assert!(out.contains("| 1.0   |"), "a table of values: {out}");

    let (ok, out, err) = call(
        RANDOM_WALK,
        &["--json", "query", "--query", r#"{"points":2}"#],
    );
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["results"]["A"]["frames"][0]["data"]["values"][1],
        serde_json::json!([0.0, 0.5])
    );

    let (ok, out, err) = call(
        RANDOM_WALK,
        &["resource", "echo", "--method", "POST", "--body", "hi"],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("status 200") && out.contains("body hi"),
        "{out}"
    );

    let (ok, out, err) = call(RANDOM_WALK, &["stream", "walk", "--packets", "2"]);
    assert!(ok, "{err}");
    assert!(out.contains(r#"{"seq":1,"#), "{out}");

    let (ok, out, err) = call(RANDOM_WALK, &["metrics"]);
    assert!(ok, "{err}");
    assert!(out.contains("grafana_wasm_calls_total"), "{out}");
}

#[test]
fn settings_reach_the_guest_and_errors_name_the_value_at_fault() {
    let settings = r#"{"uid":"my-ds","url":"http://db","jsonData":{"timeout":5},"secureJsonData":{"token":"t"}}"#;
    let (ok, out, err) = call(PROTOCOL, &["--settings", settings, "resource", "inspect"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(r#""uid":"my-ds""#) && out.contains(r#""token":"t""#),
        "{out}"
    );

    let (ok, _, err) = call(RANDOM_WALK, &["--settings", "{bad", "health"]);
    assert!(!ok);
    assert!(err.contains("--settings is not JSON"), "{err}");
    let (ok, _, err) = call(
        RANDOM_WALK,
        &["--settings", "@/nonexistent/settings.json", "health"],
    );
    assert!(!ok);
    assert!(err.contains("/nonexistent/settings.json"), "{err}");
    let (ok, _, err) = call("/nonexistent/plugin.wasm", &["health"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/plugin.wasm"), "{err}");
}
