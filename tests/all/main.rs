//! Integration tests: the real `grafana-wasm-host` binary, launched the way
//! Grafana launches a backend plugin, serving real components built from
//! `example-plugins/` and `tests/guests/`.

mod accounting;
mod bad_input;
mod broken;
mod cache;
mod call;
mod connections;
mod contract;
mod examples;
mod fairness;
mod families;
mod faults;
mod frontend;
mod go_plugin;
mod handshake;
mod instances;
mod lifecycle;
mod logs;
mod package;
mod platforms;
mod properties;
mod protocol;
mod rpc;
mod sandbox;
mod scaffold;
mod soak;
mod standalone;
mod support;
mod swap;
mod traces;
