//! `grafana-wasm-host call`: one handler of a component, without Grafana.

use crate::support::*;

/// Runs `call` on `component` with `args`: (success, stdout, stderr).
fn call(component: &str, args: &[&str]) -> (bool, String, String) {
    let output = run_cli(&[&["call", "--component", component], args].concat());
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `demo`, which the README's main command (`cargo xtask demo`) runs.
#[test]
fn the_demo_drives_every_handler_and_shuts_the_host_down() {
    let out = cli_stdout(&["demo", "--component", RANDOM_WALK]);
    for expected in [
        "CheckHealth",
        "frame \"random-walk\"",
        "CallResource",
        "RunStream",
        "CollectMetrics",
        "Shutdown",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }
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

#[test]
fn the_http_json_example_reads_its_api_with_credentials_applied_by_the_host() {
    let port = json_api(
        BASIC_AUTH,
        &[
            ("/", "{}"),
            (
                "/metrics",
                r#"[{"host":"a","load":0.5},{"host":"b","load":1.5}]"#,
            ),
        ],
    );
    let run = |args: &[&str]| call_api_datasource(HTTP_JSON, "http-json", port, args);
    let health = run(&["health"]);
    assert!(
        health.contains("status: OK") && health.contains("answered 200"),
        "{health}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "--json",
        "query",
        "--query",
        r#"{"path":"/metrics"}"#,
    ]))
    .unwrap();
    let frame = &json["results"]["A"]["frames"][0];
    assert_eq!(
        frame["data"]["values"],
        serde_json::json!([["a", "b"], [0.5, 1.5]]),
        "{json}"
    );
}
