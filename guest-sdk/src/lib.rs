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
//! * [`backend`]: handler traits, requests and responses, errors with their
//!   source, instance management and a resource router.
//! * [`data`]: frames and fields (Go's `data` package), with time-series
//!   helpers.
//! * [`http`]: outgoing HTTP through the sandbox.
//! * [`log`]: structured logging into Grafana's log.
//!
//! ```
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
//!
//! // Handlers are plain Rust: unit-test them natively by calling them.
//! let req = QueryDataRequest {
//!     queries: vec![DataQuery { ref_id: "A".into(), ..DataQuery::default() }],
//!     ..QueryDataRequest::default()
//! };
//! let response = Hello.query_data(req)?;
//! assert_eq!(response.responses["A"].frames[0].rows(), 2);
//! # Ok::<(), Error>(())
//! ```

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
/// `grafana:plugin/plugin` world: the one line that turns handlers into a
/// component Grafana can call (Go: `backend.Manage` / `backend.Serve`).
///
/// The argument is an expression evaluating to [`backend::ServeOpts`]; it is
/// evaluated once, on the first call into the component. Invoke it once, at
/// the top level of the plugin crate (a `cdylib`). In native builds (unit
/// tests) it exports nothing and only type-checks the expression, so the
/// crate's tests still build.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// fn serve_opts() -> ServeOpts {
///     let health = |_: CheckHealthRequest| Ok(CheckHealthResult::ok("ok"));
///     ServeOpts {
///         check_health_handler: Some(Rc::new(health)),
///         ..ServeOpts::default()
///     }
/// }
///
/// grafana_wasm_sdk::export_plugin!(serve_opts());
/// ```
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
