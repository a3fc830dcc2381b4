//! Which versions of the grafana:plugin contract this host serves, and
//! which a component was built against: a component of another contract
//! version is refused with both named, not with a missing-import riddle.

use std::sync::OnceLock;

use wasmtime::Engine;
use wasmtime::component::Component;

/// The contract's WIT package name.
pub const PACKAGE: &str = "grafana:plugin";

/// The contract version this host was built with (`wit/`'s package
/// version).
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let wit = include_str!("../../../wit/types.wit");
        wit.lines()
            .find_map(|line| line.trim().strip_prefix("package grafana:plugin@"))
            .map(|rest| rest.trim_end_matches(';').to_owned())
            .expect("wit/types.wit declares the grafana:plugin package version")
    })
}

/// The versions this host serves, as people read them: `0.1.x` for
/// 0.1.0 (semver: within 0.1 a version only adds).
pub fn supported() -> String {
    let version = version();
    let track = match version.split('.').collect::<Vec<_>>().as_slice() {
        ["0", minor, ..] => format!("0.{minor}"),
        [major, ..] => (*major).to_owned(),
        [] => version.to_owned(),
    };
    format!("{PACKAGE}@{track}.x")
}

/// Whether `other` is served by this host's version (same semver track).
fn compatible(other: &str) -> bool {
    let track = |v: &str| -> Vec<String> {
        let parts: Vec<String> = v.split('.').map(str::to_owned).collect();
        let keep = if parts.first().is_some_and(|p| p == "0") {
            2
        } else {
            1
        };
        parts.into_iter().take(keep).collect()
    };
    track(other) == track(version())
}

/// The contract versions the component imports or exports that this host
/// does not serve, sorted, each once.
pub fn unsupported_versions(engine: &Engine, component: &Component) -> Vec<String> {
    let ty = component.component_type();
    let names = ty
        .imports(engine)
        .map(|(name, _)| name)
        .chain(ty.exports(engine).map(|(name, _)| name));
    let mut versions: Vec<String> = names
        .filter_map(|name| name.strip_prefix(PACKAGE)?.strip_prefix('/'))
        .filter_map(|rest| rest.split_once('@').map(|(_, v)| v.to_owned()))
        .filter(|v| !compatible(v))
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_wit_and_its_track_is_served() {
        assert!(version().starts_with("0."), "{}", version());
        assert!(compatible(version()));
        assert!(!compatible("9.0.0"));
        assert!(supported().starts_with("grafana:plugin@0."));
        assert!(supported().ends_with(".x"));
    }
}
