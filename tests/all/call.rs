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

/// Runs `call` expecting failure: (stdout, stderr).
fn call_fails(component: &str, args: &[&str]) -> (String, String) {
    let (ok, out, err) = call(component, args);
    assert!(!ok, "{args:?} succeeded:\n{out}\n{err}");
    (out, err)
}

#[test]
fn call_exits_non_zero_on_every_failed_answer_with_grpc_code_names() {
    let (out, err) = call_fails(WRONG_WORLD, &["health"]);
    assert!(out.contains("status: ERROR"), "{out}");
    assert!(err.contains("did not report OK"), "{err}");

    let (_, err) = call_fails(WRONG_WORLD, &["query"]);
    assert!(err.contains("FAILED_PRECONDITION: "), "{err}");
    assert!(!err.contains("The system is not in a state"), "{err}");

    let (out, err) = call_fails(
        RANDOM_WALK,
        &[
            "query",
            "--query",
            r#"{"points":2}"#,
            "--query",
            r#"{"points":-1}"#,
        ],
    );
    assert!(
        out.contains("refId B: status 400, error: points must be"),
        "{out}"
    );
    assert!(err.contains("queries B answered an error"), "{err}");

    let (out, err) = call_fails(RANDOM_WALK, &["resource", "nowhere"]);
    assert!(out.contains("status 404"), "{out}");
    assert!(err.contains("HTTP status 404"), "{err}");
}

#[test]
fn query_takes_a_time_range_and_prints_a_limited_number_of_rows() {
    let (ok, out, err) = call(
        RANDOM_WALK,
        &[
            "--json",
            "query",
            "--query",
            r#"{"points":2}"#,
            "--from",
            "2026-01-31T11:00:00Z",
            "--to",
            "2026-01-31T12:00:00Z",
        ],
    );
    assert!(ok, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["results"]["A"]["frames"][0]["data"]["values"][0][1], 1_769_860_800_000_i64,
        "the last point is at --to: {json}"
    );

    let (ok, out, err) = call(
        RANDOM_WALK,
        &["query", "--query", r#"{"points":50}"#, "--max-rows", "3"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("(3 of 50 rows shown"), "{out}");
    assert!(
        out.contains("| 1.0   |") && !out.contains("| 1.5   |"),
        "{out}"
    );

    let (_, err) = call_fails(RANDOM_WALK, &["query", "--from", "yesterday"]);
    assert!(err.contains("--from") && err.contains("now-6h"), "{err}");
    let (_, err) = call_fails(RANDOM_WALK, &["query", "--from", "now", "--to", "now-1h"]);
    assert!(err.contains("is after --to"), "{err}");
}

/// A crate directory as `new` makes it, with `sandbox` as its
/// sandbox.toml and the component built into its `target/`.
fn crate_with_sandbox(component: &str, sandbox: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugin.json"),
        r#"{"id":"crate-ds","type":"datasource"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("sandbox.toml"), sandbox).unwrap();
    let built = dir.path().join("target/wasm32-wasip2/release");
    std::fs::create_dir_all(&built).unwrap();
    let copy = built.join("plugin.wasm");
    std::fs::copy(component, &copy).unwrap();
    (dir, copy.to_str().unwrap().to_owned())
}

#[test]
fn call_uses_the_crates_sandbox_toml_or_the_one_given() {
    // A syntax error on line 2 of the crate's sandbox.toml: the host
    // refuses to run the plugin, and says where the error is.
    let (dir, component) =
        crate_with_sandbox(RANDOM_WALK, "max_memory_mb = 64\nallow_hosts = [,]\n");
    let (out, _) = call_fails(&component, &["health"]);
    let crate_sandbox = dir.path().join("sandbox.toml");
    assert!(
        out.contains(&crate_sandbox.canonicalize().unwrap().display().to_string())
            && out.contains("line 2, column 16"),
        "{out}"
    );

    // --sandbox-config wins over the crate's file.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "max_memory_mb = 64\n").unwrap();
    let (ok, out, err) = call(
        &component,
        &["--sandbox-config", good.to_str().unwrap(), "health"],
    );
    assert!(ok, "{out}\n{err}");
}

#[test]
fn logs_print_as_text_for_people() {
    let (ok, _, err) = call(RANDOM_WALK, &["--logs", "--log-format", "text", "health"]);
    assert!(ok, "{err}");
    assert!(err.contains(" INFO  "), "{err}");
    assert!(!err.contains(r#""@level""#), "{err}");
    let (ok, _, err) = call(RANDOM_WALK, &["--logs", "--log-format", "json", "health"]);
    assert!(ok, "{err}");
    assert!(err.contains(r#""@level":"info""#), "{err}");
}
