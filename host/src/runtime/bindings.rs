//! The one place the WIT contract (`wit/`) becomes Rust types and calls.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "grafana:plugin/plugin",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use exports::grafana::plugin as handlers;
pub use grafana::plugin::frames;
pub use grafana::plugin::types;
