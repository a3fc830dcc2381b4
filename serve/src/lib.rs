//! grafana-wasm's serving library: what runs when Grafana launches a
//! plugin. The `grafana-wasm-host` executable (`host/`) serves with it and
//! builds its developer commands on it.
//!
//! Data flows one way: gRPC request ([`grpc`]) -> conversion to the WIT
//! contract ([`convert`]) -> a call into a sandboxed component instance
//! ([`runtime`], using the [`capabilities`] the [`sandbox`] grants) ->
//! conversion back, with frames encoded as Arrow ([`frames`]) -> gRPC
//! response. [`server`] implements go-plugin's start-up contract (the
//! handshake itself is `grafana_wasm_client`'s, which also holds Grafana's
//! side of the protocol) and [`logging`] its stderr log format.

pub mod api_json;
pub mod capabilities;
pub mod convert;
pub mod frames;
pub mod grpc;
pub mod instance_key;
pub mod logging;
pub mod logtext;
pub mod metrics;
pub mod plugin_files;
pub mod reload;
pub mod rpc;
pub mod runtime;
pub mod sandbox;
pub mod server;
pub mod standalone;
pub mod traces;
pub mod wit;
