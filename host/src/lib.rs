//! grafana-wasm's host: the executable Grafana launches as a backend plugin.
//!
//! Data flows one way: gRPC request ([`grpc`]) -> conversion to the WIT
//! contract ([`convert`]) -> a call into a sandboxed component instance
//! ([`runtime`]) -> conversion back, with frames encoded as Arrow
//! ([`frames`]) -> gRPC response. [`server`] implements go-plugin's
//! start-up contract (the handshake itself is `grafana_wasm_client`'s,
//! which also holds Grafana's side of the protocol) and [`logging`] its
//! stderr log format.

pub mod api_json;
mod call;
pub mod capabilities;
mod cargo_build;
pub mod cli;
pub mod convert;
mod demo;
mod drive;
pub mod frames;
mod frontend;
pub mod grpc;
mod host_builds;
pub mod instance_key;
pub mod logging;
pub mod logtext;
pub mod metrics;
mod package;
mod plugin_files;
mod rebuild;
pub mod reload;
pub mod rpc;
pub mod runtime;
pub mod sandbox;
mod scaffold;
pub mod server;
pub mod standalone;
mod timerange;
pub mod traces;
pub mod wit;
