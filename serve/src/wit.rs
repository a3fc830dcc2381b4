//! The one place the WIT contract (`wit/`) becomes Rust types and calls.

wasmtime::component::bindgen!({
    path: "../wit",
    // Every handler interface the host calls: the `plugin` world's, and
    // `health` (which no single guest world pairs with `diagnostics`).
    inline: "
        package grafana-wasm:host;
        world contract {
            include grafana:plugin/plugin@0.1.1;
            export grafana:plugin/health@0.1.1;
        }
    ",
    world: "grafana-wasm:host/contract",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use exports::grafana::plugin as handlers;
pub use grafana::plugin::frames;
pub use grafana::plugin::types;
