//! Sandbox configuration files and `GF_PLUGIN_<KEY>` overrides, as an
//! operator may write them: accepted or refused with an error, never a
//! panic.
#![no_main]

use grafana_wasm_serve::sandbox::SandboxConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    // The part after a NUL is one override, `KEY=value`.
    let (file, env) = text.split_once('\0').unwrap_or((&text, ""));
    let (key, value) = env.split_once('=').unwrap_or(("", ""));
    let env = |name: &str| {
        (name == format!("GF_PLUGIN_{}", key.to_uppercase())).then(|| value.to_owned())
    };
    let _ = SandboxConfig::parse(file, "fuzz.toml", env);
});
