//! Write Grafana backend plugins as sandboxed WebAssembly components.
//!
//! The API mirrors grafana-plugin-sdk-go's `backend` package: implement the
//! handler traits you need ([`backend::QueryDataHandler`],
//! [`backend::CheckHealthHandler`], [`backend::CallResourceHandler`],
//! [`backend::CollectMetricsHandler`], [`backend::StreamHandler`]), put them
//! in [`backend::ServeOpts`], and export the plugin with [`export_plugin!`].
//! Build with `cargo build --target wasm32-wasip2` and the result is a
//! component the grafana-wasm host serves to Grafana.
//!
//! ```no_run
//! use std::rc::Rc;
//! use grafana_wasm_sdk::backend::*;
//! use grafana_wasm_sdk::data::{Field, Frame};
//!
//! struct Hello;
//!
//! impl QueryDataHandler for Hello {
//!     fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
//!         let mut response = QueryDataResponse::new();
//!         for q in req.queries {
//!             let frame = Frame::new("hello").with_field(Field::new("value", vec![1.0_f64, 2.0]));
//!             response.insert(q.ref_id, DataResponse::frames(vec![frame]));
//!         }
//!         Ok(response)
//!     }
//! }
//!
//! grafana_wasm_sdk::export_plugin!(ServeOpts {
//!     query_data_handler: Some(Rc::new(Hello)),
//!     ..ServeOpts::default()
//! });
//! ```
//!
//! Handlers are plain Rust: unit-test them natively by calling them.

#![deny(missing_docs)]

pub mod backend;
pub mod data;
pub mod http;
pub mod log;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "grafana:plugin/plugin",
        pub_export_macro: true,
        default_bindings_module: "grafana_wasm_sdk::bindings",
        additional_derives: [PartialEq],
    });
}

#[doc(hidden)]
pub mod __private {
    pub use crate::backend::serve::*;
}

/// Exports a plugin as the component's implementation of the
/// `grafana:plugin/plugin` world.
///
/// The argument is an expression evaluating to [`backend::ServeOpts`]; it is
/// evaluated once, on the first call into the component.
#[macro_export]
macro_rules! export_plugin {
    ($opts:expr) => {
        // Exported only when building the component: native builds (unit
        // tests) must not carry the component's export symbols, whose names
        // native linkers reject. There the expression is still type-checked.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() -> $crate::backend::ServeOpts = || $opts;

        #[cfg(target_arch = "wasm32")]
        struct __GrafanaWasmPlugin;

        #[cfg(target_arch = "wasm32")]
        impl $crate::__private::Plugin for __GrafanaWasmPlugin {
            fn serve_opts() -> $crate::backend::ServeOpts {
                $opts
            }
        }

        #[cfg(target_arch = "wasm32")]
        $crate::__private::export_guest_traits!(__GrafanaWasmPlugin);
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export!(__GrafanaWasmPlugin with_types_in $crate::bindings);
    };
}
