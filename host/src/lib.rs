//! grafana-wasm's host: the executable Grafana launches as a backend plugin.
//!
//! Data flows one way: gRPC request ([`grpc`]) -> conversion to the WIT
//! contract ([`convert`]) -> a call into a sandboxed component instance
//! ([`runtime`]) -> conversion back, with frames encoded as Arrow
//! ([`frames`]) -> gRPC response. [`server`] and [`handshake`] implement
//! go-plugin's start-up contract, [`logging`] its stderr log format, and
//! [`client`] the Grafana side of it (for tests and the `demo` command).

pub mod api_json;
mod call;
mod cargo_build;
pub mod cli;
pub mod client;
pub mod convert;
mod demo;
mod drive;
pub mod frames;
pub mod grpc;
pub mod handshake;
mod host_builds;
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
