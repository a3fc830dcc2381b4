//! `grafana-wasm-host package`: assembles an installable Grafana plugin
//! directory (and optionally a zip of it) from a component and its
//! `plugin.json`:
//!
//! ```text
//! <out>/<plugin id>/
//!     plugin.json
//!     plugin.wasm                       the component
//!     sandbox.toml                      when given (or next to plugin.json)
//!     <executable>_<os>_<arch>          this host, with Go's OS/arch names
//! <out>/<plugin id>-<version>.zip       with --zip, the directory zipped
//! ```

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::Value;

use crate::cli::DEFAULT_COMPONENT_FILE;
use crate::sandbox::config::FILE_NAME as SANDBOX_FILE;

/// Options of `package`.
#[derive(Debug, Clone, Args)]
pub struct PackageArgs {
    /// The plugin component (built for wasm32-wasip2).
    #[arg(long)]
    pub component: PathBuf,
    /// The plugin's `plugin.json` (needs `id`, `"backend": true` and
    /// `executable`).
    #[arg(long)]
    pub plugin_json: PathBuf,
    /// The sandbox configuration. Default: `sandbox.toml` next to
    /// `plugin.json`, if there is one.
    #[arg(long)]
    pub sandbox_config: Option<PathBuf>,
    /// Where to put the plugin directory.
    #[arg(long, default_value = "dist")]
    pub out: PathBuf,
    /// Also write `<id>-<version>.zip` next to the directory.
    #[arg(long)]
    pub zip: bool,
}

/// Runs `package`; prints what it wrote.
pub fn run(args: PackageArgs) -> ExitCode {
    match package(&args) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// What `plugin.json` must say for Grafana to launch a backend plugin.
struct Manifest {
    id: String,
    version: String,
    executable: String,
}

fn read_manifest(path: &Path) -> anyhow::Result<Manifest> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let field = |name: &str| {
        json[name]
            .as_str()
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .with_context(|| format!("{}: `{name}` is missing or not a string", path.display()))
    };
    if json["backend"] != Value::Bool(true) {
        bail!(
            "{}: `backend` must be true for Grafana to launch the host",
            path.display()
        );
    }
    let executable = field("executable")?;
    if executable.contains(['/', '\\']) {
        bail!(
            "{}: `executable` {executable:?} must be a file name",
            path.display()
        );
    }
    Ok(Manifest {
        id: field("id")?,
        version: json["info"]["version"]
            .as_str()
            .unwrap_or("0.0.0")
            .to_owned(),
        executable,
    })
}

/// Go's name for this machine's OS and architecture, as Grafana appends
/// them to `executable`.
pub(crate) fn go_platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    (os, arch)
}

fn package(args: &PackageArgs) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = read_manifest(&args.plugin_json)?;
    check_component(&args.component)?;
    let sandbox = match &args.sandbox_config {
        Some(path) => Some(path.clone()),
        None => args
            .plugin_json
            .parent()
            .map(|dir| dir.join(SANDBOX_FILE))
            .filter(|path| path.exists()),
    };
    let dir = args.out.join(&manifest.id);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (os, arch) = go_platform();
    let suffix = if os == "windows" { ".exe" } else { "" };
    let host = std::env::current_exe().context("cannot find this executable")?;
    let mut written = vec![
        copy(&args.plugin_json, &dir.join("plugin.json"))?,
        copy(&args.component, &dir.join(DEFAULT_COMPONENT_FILE))?,
        copy(
            &host,
            &dir.join(format!("{}_{os}_{arch}{suffix}", manifest.executable)),
        )?,
    ];
    make_executable(&written[2])?;
    if let Some(sandbox) = sandbox {
        crate::sandbox::SandboxConfig::load(&sandbox, true, |_| None)?;
        written.push(copy(&sandbox, &dir.join(SANDBOX_FILE))?);
    }
    if args.zip {
        let zip = args
            .out
            .join(format!("{}-{}.zip", manifest.id, manifest.version));
        zip_dir(&dir, &manifest.id, &written, &zip)?;
        written.push(zip);
    }
    Ok(written)
}

/// Refuses files that are not WebAssembly components before they reach a
/// Grafana server.
fn check_component(path: &Path) -> anyhow::Result<()> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read component {}", path.display()))?;
    // A component's preamble: magic, then version 0x0d and layer 1.
    if bytes.get(..8) != Some(b"\0asm\x0d\0\x01\0".as_slice()) {
        bail!(
            "{} is not a WebAssembly component (build it with `cargo build --target wasm32-wasip2`)",
            path.display()
        );
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<PathBuf> {
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(to.to_owned())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Zips `files` (all in `dir`) under the top folder `top`, as Grafana's
/// plugin archives are laid out; the host keeps its executable bit.
fn zip_dir(dir: &Path, top: &str, files: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let file = fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    for path in files {
        let name = path.strip_prefix(dir).unwrap_or(path);
        let mode = if is_executable(path) { 0o755 } else { 0o644 };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode);
        zip.start_file(format!("{top}/{}", name.display()), options)?;
        zip.write_all(&fs::read(path)?)?;
    }
    zip.finish()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}
