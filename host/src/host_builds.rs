//! The host executables a plugin package ships: one per platform Grafana
//! runs on, named as Grafana looks for them (`<executable>_<goos>_<goarch>`),
//! all serving the same component. Linux builds are static (musl), so they
//! start in any image, Alpine's included; they are cross-compiled with
//! `cargo zigbuild` (zig as the linker) and stripped.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// A platform Grafana runs plugins on, and the Rust target building the
/// host for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// Go's `<goos>_<goarch>`, as Grafana appends it to `executable`.
    pub go: &'static str,
    /// The Rust target triple.
    pub triple: &'static str,
}

/// The platforms `--build-hosts` builds. Windows is not among them: the
/// host serves go-plugin over Unix sockets and uses Unix signals. macOS
/// executables can be shipped with `--host-binary` (built on a Mac).
pub const PLATFORMS: &[Platform] = &[
    Platform {
        go: "linux_amd64",
        triple: "x86_64-unknown-linux-musl",
    },
    Platform {
        go: "linux_arm64",
        triple: "aarch64-unknown-linux-musl",
    },
];

/// The host's binary target.
const HOST_BIN: &str = "grafana-wasm-host";

/// The file name Grafana looks for on `go` (`.exe` on Windows).
pub fn file_name(executable: &str, go: &str) -> String {
    let suffix = if go.starts_with("windows_") {
        ".exe"
    } else {
        ""
    };
    format!("{executable}_{go}{suffix}")
}

/// Parses `--build-hosts`: `all`, or platforms separated by commas.
///
/// # Errors
/// Names an unknown platform and lists the known ones.
pub fn parse_platforms(text: &str) -> anyhow::Result<Vec<Platform>> {
    if text.trim() == "all" {
        return Ok(PLATFORMS.to_vec());
    }
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            PLATFORMS
                .iter()
                .find(|p| p.go == name)
                .copied()
                .with_context(|| {
                    format!(
                        "--build-hosts: unknown platform {name:?} (known: all, {})",
                        known()
                    )
                })
        })
        .collect()
}

fn known() -> String {
    PLATFORMS
        .iter()
        .map(|p| p.go)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses one `--host-binary goos_goarch=PATH`.
///
/// # Errors
/// When the text has no `=`, or the platform is not `<goos>_<goarch>`.
pub fn parse_prebuilt(text: &str) -> anyhow::Result<(String, PathBuf)> {
    let (go, path) = text.split_once('=').with_context(|| {
        format!("--host-binary {text:?}: expected <goos>_<goarch>=<path>, e.g. linux_arm64=./host")
    })?;
    let valid = go.split_once('_').is_some_and(|(os, arch)| {
        !os.is_empty()
            && !arch.is_empty()
            && go.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if !valid {
        bail!(
            "--host-binary {text:?}: {go:?} is not <goos>_<goarch> (as linux_amd64, darwin_arm64)"
        );
    }
    Ok((go.to_owned(), PathBuf::from(path)))
}

/// The host's source tree, when this executable was built from one that
/// is still there.
fn source_tree() -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("host/Cargo.toml").is_file() {
        bail!(
            "--build-hosts builds the host from its sources, and {} is gone: build the executables elsewhere and pass them with --host-binary",
            root.display()
        );
    }
    Ok(root)
}

/// Builds the host for `platforms` with one `cargo zigbuild` in
/// `profile` (build scripts and proc-macros are compiled once for all of
/// them), stripped, and returns each platform's executable.
///
/// # Errors
/// When cargo-zigbuild or zig are missing (the message says how to install
/// them) or the build fails.
pub async fn build(
    platforms: &[Platform],
    profile: &str,
) -> anyhow::Result<Vec<(Platform, PathBuf)>> {
    let root = source_tree()?;
    let names: Vec<&str> = platforms.iter().map(|p| p.go).collect();
    eprintln!("==> building the host for {}", names.join(", "));
    let strip = format!(
        "CARGO_PROFILE_{}_STRIP",
        profile.to_uppercase().replace('-', "_")
    );
    let env = [(strip, "symbols".to_owned())];
    let mut args = vec![
        "zigbuild",
        "-p",
        HOST_BIN,
        "--bin",
        HOST_BIN,
        "--profile",
        profile,
    ];
    for platform in platforms {
        args.extend(["--target", platform.triple]);
    }
    let triples: Vec<&str> = platforms.iter().map(|p| p.triple).collect();
    let artifacts = crate::cargo_build::run(&root, &args, &env).await.with_context(|| {
        format!(
            "building the host for {}: needs cargo-zigbuild and zig (`pip install cargo-zigbuild ziglang`) and `rustup target add {}`",
            names.join(", "),
            triples.join(" ")
        )
    })?;
    platforms
        .iter()
        .map(|platform| {
            let built = crate::cargo_build::executables(&artifacts, HOST_BIN)
                .find(|path| path.components().any(|c| c.as_os_str() == platform.triple))
                .with_context(|| format!("cargo built no {HOST_BIN} for {}", platform.go))?;
            Ok((*platform, built))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_and_prebuilt_executables_parse_with_clear_errors() {
        let all = parse_platforms("all").unwrap();
        assert_eq!(all.len(), PLATFORMS.len());
        let two = parse_platforms("linux_amd64, linux_arm64").unwrap();
        assert_eq!(two[1].triple, "aarch64-unknown-linux-musl");
        let err = parse_platforms("linux_amd64,plan9_mips").unwrap_err();
        assert!(err.to_string().contains("plan9_mips") && err.to_string().contains("linux_arm64"));

        assert_eq!(
            parse_prebuilt("windows_amd64=C:/h.exe").unwrap(),
            ("windows_amd64".to_owned(), PathBuf::from("C:/h.exe"))
        );
        assert!(parse_prebuilt("linux_amd64").is_err());
        assert!(parse_prebuilt("linux=./h").is_err());
        assert!(parse_prebuilt("../x_y=./h").is_err());
        assert_eq!(
            file_name("gpx_a", "windows_amd64"),
            "gpx_a_windows_amd64.exe"
        );
        assert_eq!(file_name("gpx_a", "linux_arm64"), "gpx_a_linux_arm64");
    }
}
