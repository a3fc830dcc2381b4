//! `package --build-hosts all`: static Linux executables for amd64 and
//! arm64, cross-built with cargo-zigbuild, each completing go-plugin's
//! handshake and answering a query: amd64 natively, arm64 under qemu-user.

use std::path::{Path, PathBuf};
use std::process::Command;

use grafana_wasm_client::PluginProcess;

use crate::support::*;

/// The random-walk example's plugin.json.
const PLUGIN_JSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../example-plugins/random-walk/plugin.json"
);

/// The emulator running arm64 executables.
const QEMU_ARM64: &str = "qemu-aarch64";

/// How long a host may take to start: under emulation, compiling the
/// component takes a minute or two instead of a second.
const START_UNDER_EMULATION: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether cargo-zigbuild and qemu-user are here (see [`tool_present`]).
fn tools_present() -> bool {
    tool_present(
        runs("cargo-zigbuild", "--version"),
        "cargo-zigbuild",
        "pip install cargo-zigbuild ziglang",
    ) && tool_present(
        runs(QEMU_ARM64, "--version"),
        QEMU_ARM64,
        "apt-get install qemu-user",
    )
}

/// What `file` says of `path`.
fn file_type(path: &Path) -> String {
    let output = Command::new("file").arg("-b").arg(path).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Launches `executable` (through `emulator`, if any) as Grafana would,
/// serving the component packaged next to it, and queries it.
async fn serves_a_query(executable: &Path, emulator: Option<&str>) {
    let mut command = match emulator {
        Some(emulator) => {
            let mut command = tokio::process::Command::new(emulator);
            command.arg(executable);
            command
        }
        None => tokio::process::Command::new(executable),
    };
    // qemu-user keeps bookkeeping for every page the host reserves, and the
    // default instance pool reserves terabytes of address space: a pool of
    // two instances keeps the emulator within a few hundred MiB.
    command
        .env_clear()
        .env("GF_PLUGIN_LOG_LEVEL", "info")
        .env("GF_PLUGIN_MAX_INSTANCES", "2");
    let plugin = PluginProcess::launch_within(command, START_UNDER_EMULATION)
        .await
        .unwrap_or_else(|err| panic!("launching {}: {err:#}", executable.display()));
    let response = plugin
        .data()
        .query_data(query_request(vec![query("A", r#"{"points": 5}"#, 1_000)]))
        .await
        .unwrap()
        .into_inner();
    let answer = &response.responses["A"];
    assert!(answer.error.is_empty(), "{}", answer.error);
    let (_, batches) = decode_frame(&answer.frames[0]);
    assert_eq!(batches[0].num_rows(), 5);
}

#[tokio::test]
async fn packaged_linux_hosts_are_static_and_serve_on_amd64_and_arm64() {
    if !tools_present() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cross-built-hosts");
    eprintln!("cross-building the host for linux_amd64 and linux_arm64 (about ten minutes)");
    let status = std::process::Command::new(HOST)
        .args([
            "package",
            "--component",
            RANDOM_WALK,
            "--plugin-json",
            PLUGIN_JSON,
        ])
        .args([
            "--build-hosts",
            "all",
            "--host-profile",
            "cross-test",
            "--out",
        ])
        .arg(out.path())
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success(), "package --build-hosts all failed");

    let dir = out.path().join("grafana-wasm-randomwalk-datasource");
    for (platform, machine, emulator) in [
        ("linux_amd64", "x86-64", None),
        ("linux_arm64", "aarch64", Some(QEMU_ARM64)),
    ] {
        let executable = dir.join(format!("gpx_randomwalk_{platform}"));
        let kind = file_type(&executable);
        assert!(kind.contains(machine), "{platform}: {kind}");
        assert!(
            kind.contains("statically linked") || kind.contains("static-pie linked"),
            "{platform} must need no libc of the image: {kind}"
        );
        assert!(
            kind.contains("stripped") && !kind.contains("not stripped"),
            "{kind}"
        );
        serves_a_query(&executable, emulator).await;
    }
}
