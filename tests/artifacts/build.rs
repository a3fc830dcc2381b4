//! Builds every guest component (example plugins and test guests) for
//! `wasm32-wasip2` with the `guest` profile, in a target directory of its
//! own (a nested cargo on the outer target directory would wait forever on
//! its lock), and writes one path constant per component.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// (constant name, package, crate file name) of each guest.
const GUESTS: &[(&str, &str, &str)] = &[
    ("RANDOM_WALK", "random-walk", "random_walk"),
    ("HTTP_JSON", "http-json", "http_json"),
    ("TESTDATA", "testdata", "testdata"),
    ("HELLO_APP", "hello-app", "hello_app"),
    ("DATA_ONLY", "data-only", "data_only"),
    ("FRAME_ECHO", "frame-echo", "frame_echo"),
    ("PROTOCOL", "protocol", "protocol"),
    ("SANDBOX", "sandbox", "sandbox"),
    ("WRONG_WORLD", "wrongworld", "wrongworld"),
    ("FUTURE_CONTRACT", "future-contract", "future_contract"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.join("../..").canonicalize().unwrap();
    for dir in [
        "wit",
        "guest-sdk",
        "example-plugins",
        "tests/guests",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let target_dir = root.join("target/guests");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "guest"])
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host build must not leak into the guests'.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for (_, package, _) in GUESTS {
        command.args(["-p", package]);
    }
    let status = command
        .status()
        .expect("running cargo to build the guest components");
    assert!(
        status.success(),
        "building the guest components failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`)"
    );
    let mut constants = String::new();
    for (name, _, file) in GUESTS {
        let path = target_dir.join(format!("wasm32-wasip2/guest/{file}.wasm"));
        assert!(path.exists(), "missing component {}", path.display());
        writeln!(
            constants,
            "/// The `{file}` component.\npub const {name}: &str = {:?};",
            path.display().to_string()
        )
        .unwrap();
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("components.rs");
    std::fs::write(out, constants).unwrap();
}
