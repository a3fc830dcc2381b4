//! The wire protocol between Grafana and a backend plugin.
//!
//! * [`pluginv2`]: Grafana's plugin services (Data, Resource, Diagnostics,
//!   Stream, AdmissionControl, ResourceConversion), field-for-field identical
//!   to grafana-plugin-sdk-go's `proto/backend.proto`.
//! * [`goplugin`]: the side services a hashicorp go-plugin server exposes
//!   (GRPCController, GRPCStdio, GRPCBroker), package `plugin` on the wire.
//!
//! Both clients and servers are generated: the host serves them, tests and
//! tools call them.

/// Grafana's `pluginv2` protocol.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pluginv2 {
    tonic::include_proto!("pluginv2");
}

/// hashicorp go-plugin's side services (package `plugin`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod goplugin {
    tonic::include_proto!("plugin");
}
