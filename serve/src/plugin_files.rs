//! Where a plugin's files are found during development: one manifest for
//! every command. The crate's `plugin.json` and the `sandbox.toml` next to
//! it are what `call`, `--standalone --watch` and `package` all use, unless
//! `--sandbox-config` names another file.

use std::path::{Path, PathBuf};

/// The plugin's manifest file name.
pub const PLUGIN_JSON: &str = "plugin.json";

/// The sandbox configuration's file name, next to the component (or to
/// plugin.json during development).
pub const SANDBOX_FILE: &str = "sandbox.toml";

/// Environment variable naming the component to serve
/// (`[plugin.<id>] wasm_component` in Grafana's ini).
pub const COMPONENT_ENV: &str = "GF_PLUGIN_WASM_COMPONENT";

/// Environment variable naming the sandbox configuration
/// (`[plugin.<id>] wasm_sandbox_config` in Grafana's ini).
pub const SANDBOX_CONFIG_ENV: &str = "GF_PLUGIN_WASM_SANDBOX_CONFIG";

/// File name of the component looked up next to the executable when no
/// path is given.
pub const DEFAULT_COMPONENT_FILE: &str = "plugin.wasm";

/// The crate a built component belongs to: the nearest directory above
/// `component` holding a `plugin.json` (cargo's `target/` is inside the
/// crate), else the current directory when it holds one (a target
/// directory elsewhere, `CARGO_TARGET_DIR`).
pub fn crate_dir_of(component: &Path) -> Option<PathBuf> {
    let component = std::fs::canonicalize(component).ok()?;
    let has_manifest = |dir: &Path| dir.join(PLUGIN_JSON).is_file();
    component
        .ancestors()
        .skip(1)
        .find(|dir| has_manifest(dir))
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok().filter(|dir| has_manifest(dir)))
}

/// The sandbox configuration to use: `explicit` when given, else the
/// `sandbox.toml` in `dir` when there is one.
pub fn sandbox_file(explicit: Option<&Path>, dir: Option<&Path>) -> Option<PathBuf> {
    file_beside(explicit, dir, SANDBOX_FILE)
}

/// A plugin file: `explicit` when given, else the file `name` in `dir`
/// (where plugin.json is) when there is one.
pub fn file_beside(explicit: Option<&Path>, dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| dir.map(|dir| dir.join(name)).filter(|path| path.is_file()))
}

/// The parsed `plugin.json` in `dir`, if there is a readable one.
pub fn manifest(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join(PLUGIN_JSON)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Go's name of the machine this executable runs on.
pub fn this_platform() -> String {
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
    format!("{os}_{arch}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_is_the_nearest_directory_with_a_plugin_json() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("target/wasm32-wasip2/release");
        std::fs::create_dir_all(&built).unwrap();
        let component = built.join("p.wasm");
        std::fs::write(&component, b"").unwrap();
        std::fs::write(dir.path().join(PLUGIN_JSON), "{}").unwrap();
        let found = crate_dir_of(&component).unwrap();
        assert_eq!(found, dir.path().canonicalize().unwrap());

        assert_eq!(sandbox_file(None, Some(&found)), None);
        std::fs::write(found.join(SANDBOX_FILE), "").unwrap();
        assert_eq!(
            sandbox_file(None, Some(&found)),
            Some(found.join(SANDBOX_FILE))
        );
        let explicit = Path::new("/elsewhere/sandbox.toml");
        assert_eq!(
            sandbox_file(Some(explicit), Some(&found)).as_deref(),
            Some(explicit)
        );
    }
}
