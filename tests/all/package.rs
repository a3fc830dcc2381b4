//! `grafana-wasm-host package`: the plugin directory and zip Grafana
//! installs.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// The random-walk example's plugin.json.
const PLUGIN_JSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../example-plugins/random-walk/plugin.json"
);

fn package(args: &[&str]) -> std::process::Output {
    run_cli(&[&["package"], args].concat())
}

#[test]
fn packages_a_plugin_directory_and_zip_grafana_can_install() {
    let out = tempfile::tempdir().unwrap();
    let sandbox = out.path().join("sandbox.toml");
    std::fs::write(&sandbox, "max_memory_mb = 64\n").unwrap();
    let output = package(&[
        "--component",
        RANDOM_WALK,
        "--plugin-json",
        PLUGIN_JSON,
        "--sandbox-config",
        sandbox.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--zip",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = out.path().join("grafana-wasm-randomwalk-datasource");
    let (os, arch) = go_platform();
    let executable = dir.join(format!("gpx_randomwalk_{os}_{arch}"));
    for file in ["plugin.json", "plugin.wasm", "sandbox.toml", "module.js"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let module = std::fs::read_to_string(dir.join("module.js")).unwrap();
    assert!(module.starts_with("/* grafana-wasm generic plugin frontend"));
    assert!(
        module.contains(r#"/*grafana-wasm:editors*/{"type":"datasource","http":false,"query":{"default":{"points":100}"#),
        "the example's editors.json is baked in"
    );
    assert_eq!(
        std::fs::read(dir.join("plugin.wasm")).unwrap(),
        std::fs::read(RANDOM_WALK).unwrap()
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&executable).unwrap().permissions().mode();
        assert_eq!(mode & 0o755, 0o755, "the host is executable");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plugin.json")).unwrap()).unwrap();
    assert_eq!(manifest["executable"], "gpx_randomwalk");
    assert_eq!(manifest["backend"], true);

    // The packaged executable is the host: it refuses to run without
    // Grafana's cookie, with go-plugin's message.
    let direct = Command::new(&executable).output().unwrap();
    assert_eq!(direct.status.code(), Some(1));

    let zip_path = out
        .path()
        .join("grafana-wasm-randomwalk-datasource-0.1.0.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut names: Vec<String> = zip
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    names.sort();
    let top = "grafana-wasm-randomwalk-datasource";
    assert_eq!(
        names,
        [
            format!("{top}/gpx_randomwalk_{os}_{arch}"),
            format!("{top}/module.js"),
            format!("{top}/plugin.json"),
            format!("{top}/plugin.wasm"),
            format!("{top}/sandbox.toml"),
        ]
    );
    let host = zip
        .by_name(&format!("{top}/gpx_randomwalk_{os}_{arch}"))
        .unwrap();
    assert_eq!(host.unix_mode().unwrap() & 0o777, 0o755);
}

#[test]
fn package_errors_name_the_file_at_fault() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let stderr = |output: std::process::Output| {
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let not_backend = out.path().join("plugin.json");
    std::fs::write(&not_backend, r#"{"id":"x","executable":"gpx_x"}"#).unwrap();
    let message = stderr(package(&[
        "--component",
        RANDOM_WALK,
        "--plugin-json",
        not_backend.to_str().unwrap(),
        "--out",
        dir,
    ]));
    assert!(
        message.contains("plugin.json") && message.contains("backend"),
        "{message}"
    );

    let message = stderr(package(&[
        "--component",
        PLUGIN_JSON,
        "--plugin-json",
        PLUGIN_JSON,
        "--out",
        dir,
    ]));
    assert!(
        message.contains("is not a WebAssembly component"),
        "{message}"
    );

    let missing = Path::new(dir).join("nope.json");
    let message = stderr(package(&[
        "--component",
        RANDOM_WALK,
        "--plugin-json",
        missing.to_str().unwrap(),
        "--out",
        dir,
    ]));
    assert!(message.contains("nope.json"), "{message}");
}

#[test]
fn package_refuses_what_the_host_would_refuse_with_the_hosts_reason() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let refused = |component: &str| {
        let output = package(&[
            "--component",
            component,
            "--plugin-json",
            PLUGIN_JSON,
            "--out",
            dir,
        ]);
        assert!(!output.status.success());
        assert!(
            !out.path()
                .join("grafana-wasm-randomwalk-datasource")
                .exists(),
            "nothing is written for a refused component"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let message = refused(WRONG_WORLD);
    assert!(
        message.contains("the host would refuse this plugin") && message.contains("wrongworld"),
        "{message}"
    );
    let message = refused(FUTURE_CONTRACT);
    assert!(
        message.contains("built against grafana:plugin@9.0.0")
            && message.contains("this host serves grafana:plugin@0.1.x"),
        "{message}"
    );
}

#[test]
fn package_ships_prebuilt_host_executables_per_platform_with_their_sizes() {
    let arm = format!("linux_arm64={HOST}");
    let amd = format!("linux_amd64={HOST}");
    let (output, out) = package_random_walk(&["--host-binary", &arm, "--host-binary", &amd]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let packaged = out.path().join("grafana-wasm-randomwalk-datasource");
    for go in ["linux_arm64", "linux_amd64"] {
        let executable = packaged.join(format!("gpx_randomwalk_{go}"));
        assert_eq!(
            std::fs::read(&executable).unwrap(),
            std::fs::read(HOST).unwrap()
        );
        assert!(
            stdout.lines().any(|l| l.contains(go) && l.contains(" MB ")),
            "a size line for {go}: {stdout}"
        );
    }

    let refused = |args: &[&str]| {
        let (output, _) = package_random_walk(args);
        assert!(!output.status.success(), "{args:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let twice = refused(&["--host-binary", &arm, "--host-binary", &arm]);
    assert!(
        twice.contains("two host executables for linux_arm64"),
        "{twice}"
    );
    let malformed = refused(&["--host-binary", HOST]);
    assert!(
        malformed.contains("expected <goos>_<goarch>=<path>"),
        "{malformed}"
    );
    let missing = refused(&["--host-binary", "linux_amd64=/nonexistent/host"]);
    assert!(
        missing.contains("/nonexistent/host is not a file"),
        "{missing}"
    );
    let unknown = refused(&["--build-hosts", "plan9_mips"]);
    assert!(
        unknown.contains("unknown platform \"plan9_mips\""),
        "{unknown}"
    );
}

/// `package` of random-walk with `args` added, into a new directory: the
/// output and the directory.
fn package_random_walk(args: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let base = [
        "--component",
        RANDOM_WALK,
        "--plugin-json",
        PLUGIN_JSON,
        "--out",
        out.path().to_str().unwrap(),
    ];
    (package(&[&base[..], args].concat()), out)
}

#[test]
fn a_plugin_with_its_own_frontend_ships_it_instead_of_the_generic_one() {
    let own = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(own.path().join("img")).unwrap();
    std::fs::write(
        own.path().join("module.js"),
        "define([], function () { return {}; });",
    )
    .unwrap();
    std::fs::write(own.path().join("img/logo.svg"), "<svg/>").unwrap();
    std::fs::write(own.path().join("plugin.json"), "{}").unwrap();
    let (output, out) = package_random_walk(&["--frontend", own.path().to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = out.path().join("grafana-wasm-randomwalk-datasource");
    let module = std::fs::read_to_string(dir.join("module.js")).unwrap();
    assert!(module.starts_with("define([]"), "{module}");
    assert!(dir.join("img/logo.svg").is_file());
    let manifest = std::fs::read_to_string(dir.join("plugin.json")).unwrap();
    assert!(
        manifest.contains("gpx_randomwalk"),
        "the backend's plugin.json wins"
    );

    let empty = tempfile::tempdir().unwrap();
    let (output, _) = package_random_walk(&["--frontend", empty.path().to_str().unwrap()]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("no module.js there"), "{message}");
}

#[test]
fn an_editors_description_with_a_mistake_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let editors = dir.path().join("editors.json");
    let cases = [
        ("{\n  \"jsonDta\": []\n}", "unknown field `jsonDta`"),
        (
            r#"{"jsonData": [{"key": "a", "type": "date"}]}"#,
            "unknown variant `date`",
        ),
        (
            r#"{"secureJsonData": [{"key": "k"}, {"key": "k"}]}"#,
            "declared twice",
        ),
        (r#"{"type": "app"}"#, "plugin.json says \"datasource\""),
    ];
    for (text, expected) in cases {
        std::fs::write(&editors, text).unwrap();
        let (output, _) = package_random_walk(&["--editors", editors.to_str().unwrap()]);
        assert!(!output.status.success(), "{text} accepted");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(
            message.contains("editors.json") && message.contains(expected),
            "{text}: {message}"
        );
    }
    std::fs::write(&editors, "{\n  \"jsonDta\": []\n}").unwrap();
    let (output, _) = package_random_walk(&["--editors", editors.to_str().unwrap()]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("line 2 column"), "{message}");
}
