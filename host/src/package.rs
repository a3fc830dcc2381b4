//! `grafana-wasm-host package`: assembles an installable Grafana plugin
//! directory (and optionally a zip of it) from a component and its
//! `plugin.json`:
//!
//! ```text
//! <out>/<plugin id>/
//!     plugin.json
//!     plugin.wasm                       the component
//!     sandbox.toml                      when given (or next to plugin.json)
//!     module.js                         the frontend: the generic editors (with
//!                                       editors.json baked in), or --frontend's files
//!     <executable>_<goos>_<goarch>      the host for each platform (.exe on Windows)
//! <out>/<plugin id>-<version>.zip       with --zip, the directory zipped
//! ```

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::Value;

use crate::{frontend, host_builds};
use grafana_wasm_serve::plugin_files::{self, DEFAULT_COMPONENT_FILE, SANDBOX_FILE};
use grafana_wasm_serve::{metrics, runtime, sandbox};

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
    /// What the generic frontend's editors show (the plugin's own settings
    /// and secrets, the default query). Default: `editors.json` next to
    /// `plugin.json`, if there is one.
    #[arg(long, conflicts_with = "frontend")]
    pub editors: Option<PathBuf>,
    /// The plugin's own built frontend (a directory with `module.js`,
    /// such as a create-plugin project's `dist`), shipped instead of the
    /// generic one.
    #[arg(long, value_name = "DIR")]
    pub frontend: Option<PathBuf>,
    /// Where to put the plugin directory.
    #[arg(long, default_value = "dist")]
    pub out: PathBuf,
    /// Also write `<id>-<version>.zip` next to the directory.
    #[arg(long)]
    pub zip: bool,
    /// A prebuilt host executable for a platform, as
    /// `<goos>_<goarch>=PATH` (e.g. `linux_arm64=./grafana-wasm-host`);
    /// repeat for each platform.
    #[arg(long = "host-binary", value_name = "GOOS_GOARCH=PATH")]
    pub host_binaries: Vec<String>,
    /// Build the host for these platforms (`all`, or a comma-separated
    /// list of linux_amd64, linux_arm64) with cargo-zigbuild: static musl
    /// executables, stripped.
    #[arg(long, value_name = "PLATFORMS")]
    pub build_hosts: Option<String>,
    /// The cargo profile of `--build-hosts`.
    #[arg(long, default_value = "release")]
    pub host_profile: String,
}

/// Runs `package`; prints what it wrote and the size of each host
/// executable.
pub fn run(args: PackageArgs) -> ExitCode {
    crate::drive::run_to_exit(async move {
        for path in package(&args).await? {
            println!("wrote {}", path.display());
        }
        Ok(())
    })
}

/// What `plugin.json` must say for Grafana to launch a backend plugin.
struct Manifest {
    id: String,
    /// `datasource`, `app`, ...
    kind: String,
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
        kind: field("type")?,
        version: json["info"]["version"]
            .as_str()
            .unwrap_or("0.0.0")
            .to_owned(),
        executable,
    })
}

async fn package(args: &PackageArgs) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = read_manifest(&args.plugin_json)?;
    check_component(&args.component)?;
    let sandbox =
        plugin_files::sandbox_file(args.sandbox_config.as_deref(), args.plugin_json.parent());
    let frontend = Frontend::of(args, &manifest)?;
    load_check(&args.component, sandbox.as_deref(), &manifest.id).await?;
    let hosts = host_executables(args).await?;
    let dir = args.out.join(&manifest.id);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = vec![
        copy(&args.plugin_json, &dir.join("plugin.json"))?,
        copy(&args.component, &dir.join(DEFAULT_COMPONENT_FILE))?,
    ];
    println!("host executables (one component serves them all):");
    for (go, host) in hosts {
        let target = dir.join(host_builds::file_name(&manifest.executable, &go));
        copy(&host, &target)?;
        make_executable(&target)?;
        let size = fs::metadata(&target).map_or(0, |m| m.len());
        println!(
            "  {go:<14} {:>6.1} MB  {}",
            size as f64 / 1e6,
            target.display()
        );
        written.push(target);
    }
    if let Some(sandbox) = sandbox {
        written.push(copy(&sandbox, &dir.join(SANDBOX_FILE))?);
    }
    written.extend(frontend.write(&dir)?);
    if args.zip {
        let zip = args
            .out
            .join(format!("{}-{}.zip", manifest.id, manifest.version));
        zip_dir(&dir, &manifest.id, &written, &zip)?;
        written.push(zip);
    }
    Ok(written)
}

/// The frontend a package ships.
enum Frontend {
    /// The generic editors' `module.js`.
    Generic(String),
    /// The plugin's own: `dir` and its files.
    Own { dir: PathBuf, files: Vec<PathBuf> },
}

impl Frontend {
    /// `--frontend`'s files, else the generic editors described by
    /// `--editors` or the `editors.json` next to plugin.json (default
    /// editors without one).
    fn of(args: &PackageArgs, manifest: &Manifest) -> anyhow::Result<Self> {
        if let Some(dir) = &args.frontend {
            let files = frontend::own_files(dir)?;
            return Ok(Self::Own {
                dir: dir.clone(),
                files,
            });
        }
        let editors = plugin_files::file_beside(
            args.editors.as_deref(),
            args.plugin_json.parent(),
            frontend::EDITORS_FILE,
        );
        let editors = match editors {
            Some(path) => frontend::Editors::read(&path, &manifest.kind)?,
            None => frontend::Editors::default_for(&manifest.kind)?,
        };
        Ok(Self::Generic(editors.module_js()))
    }

    /// Writes the frontend into the plugin directory `dir`.
    fn write(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        match self {
            Self::Generic(module) => {
                let path = dir.join(frontend::MODULE_FILE);
                fs::write(&path, module)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(vec![path])
            }
            Self::Own { dir: from, files } => files
                .iter()
                .map(|file| {
                    let to = dir.join(file);
                    if let Some(parent) = to.parent() {
                        fs::create_dir_all(parent)
                            .with_context(|| format!("cannot create {}", parent.display()))?;
                    }
                    copy(&from.join(file), &to)
                })
                .collect(),
        }
    }
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

/// Loads the component as the host will in Grafana (same code: the
/// contract version, the world's imports and exports, the self-check),
/// with the sandbox it ships with, and refuses what the host would refuse.
async fn load_check(
    component: &Path,
    sandbox: Option<&Path>,
    plugin_id: &str,
) -> anyhow::Result<()> {
    let config = match sandbox {
        Some(path) => sandbox::SandboxConfig::load(path, true, |_| None),
        None => Ok(sandbox::SandboxConfig::default()),
    };
    let settings = runtime::RuntimeSettings {
        plugin_id: plugin_id.into(),
        ..Default::default()
    };
    let metrics = metrics::Metrics::new().context("creating the host's metrics")?;
    let runtime = runtime::Runtime::new(component, settings, config, metrics).await?;
    match runtime.load_error() {
        Some(err) => bail!("the host would refuse this plugin: {err}"),
        None => Ok(()),
    }
}

/// The host executables to ship, by Go platform name: the prebuilt ones,
/// then the ones built; without either, this executable for this machine.
async fn host_executables(args: &PackageArgs) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut hosts = Vec::new();
    for text in &args.host_binaries {
        let (go, path) = host_builds::parse_prebuilt(text)?;
        if !path.is_file() {
            bail!("--host-binary {text}: {} is not a file", path.display());
        }
        hosts.push((go, path));
    }
    if let Some(list) = &args.build_hosts {
        let platforms = host_builds::parse_platforms(list)?;
        for (platform, built) in host_builds::build(&platforms, &args.host_profile).await? {
            hosts.push((platform.go.to_owned(), built));
        }
    }
    if hosts.is_empty() {
        let this = std::env::current_exe().context("cannot find this executable")?;
        eprintln!(
            "note: shipping this executable for {} only; --build-hosts all builds static executables for every platform",
            plugin_files::this_platform()
        );
        hosts.push((plugin_files::this_platform(), this));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((go, _)) = hosts.iter().find(|(go, _)| !seen.insert(go.clone())) {
        bail!("two host executables for {go}");
    }
    Ok(hosts)
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
