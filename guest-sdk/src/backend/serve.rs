//! The bridge between the WIT exports and the handler traits: what
//! [`crate::export_plugin!`] wires up. Conversions between the generated WIT
//! types and the SDK's types live here and nowhere else.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use super::*;
use crate::bindings::grafana::plugin::types as wit;
use crate::data::time_from_unix_millis;

/// The handlers a plugin implements; `None` where it has none, and Grafana
/// then gets the answer of a Go SDK plugin without that handler (Go:
/// `backend.ServeOpts`). Pass it to [`crate::export_plugin!`].
///
/// One type usually implements several handler traits; share it between
/// the slots with `Rc` clones.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// struct Plugin;
///
/// impl QueryDataHandler for Plugin {
///     fn query_data(&self, _: QueryDataRequest) -> Result<QueryDataResponse, Error> {
///         Ok(QueryDataResponse::new())
///     }
/// }
///
/// impl CheckHealthHandler for Plugin {
///     fn check_health(&self, _: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
///         Ok(CheckHealthResult::ok("ok"))
///     }
/// }
///
/// fn serve_opts() -> ServeOpts {
///     let plugin = Rc::new(Plugin);
///     ServeOpts {
///         query_data_handler: Some(plugin.clone()),
///         check_health_handler: Some(plugin),
///         // Refuse to start (or to replace the running version) without
///         // what the plugin needs.
///         self_check: Some(Rc::new(|| Ok(()))),
///         ..ServeOpts::default()
///     }
/// }
///
/// let opts = serve_opts();
/// assert!(opts.call_resource_handler.is_none());
/// assert!((opts.self_check.unwrap())().is_ok());
/// ```
#[derive(Default, Clone)]
pub struct ServeOpts {
    /// Answers queries. Required for a datasource.
    pub query_data_handler: Option<Rc<dyn QueryDataHandler>>,
    /// Answers health checks.
    pub check_health_handler: Option<Rc<dyn CheckHealthHandler>>,
    /// Reports metrics.
    pub collect_metrics_handler: Option<Rc<dyn CollectMetricsHandler>>,
    /// Answers resource calls.
    pub call_resource_handler: Option<Rc<dyn CallResourceHandler>>,
    /// Serves Grafana Live streams.
    pub stream_handler: Option<Rc<dyn StreamHandler>>,
    /// Answers queries in chunks (experimental in Grafana).
    pub query_chunked_data_handler: Option<Rc<dyn QueryChunkedDataHandler>>,
    /// Validates and mutates app-platform objects.
    pub admission_handler: Option<Rc<dyn AdmissionHandler>>,
    /// Converts app-platform objects between versions.
    pub conversion_handler: Option<Rc<dyn ConversionHandler>>,
    /// Checks that the plugin can work before the host swaps this version
    /// in (or starts with it): an error rejects the version.
    pub self_check: Option<Rc<dyn Fn() -> Result<(), Error>>>,
}

/// Implemented by [`crate::export_plugin!`] for the exported type.
pub trait Plugin {
    /// The plugin's handlers.
    fn serve_opts() -> ServeOpts;
}

thread_local! {
    static OPTS: Cell<Option<&'static ServeOpts>> = const { Cell::new(None) };
}

/// The plugin's handlers, created on first use.
pub fn opts<P: Plugin>() -> &'static ServeOpts {
    OPTS.with(|cell| {
        cell.get().unwrap_or_else(|| {
            let opts: &'static ServeOpts = Box::leak(Box::new(P::serve_opts()));
            cell.set(Some(opts));
            opts
        })
    })
}

/// The plugin's self-check, passing when it has none.
pub fn self_check(opts: &ServeOpts) -> Result<(), String> {
    match &opts.self_check {
        Some(check) => check().map_err(|err| err.message),
        None => Ok(()),
    }
}

/// The host is dropping this guest instance: every [`InstanceManager`]
/// disposes of its instances.
pub fn dispose() {
    super::instance::dispose_all();
}

/// The handler in `slot`, or the answer for a plugin without one.
fn handler<H: ?Sized>(slot: &Option<Rc<H>>) -> Result<&H, wit::HandlerError> {
    slot.as_deref().ok_or(wit::HandlerError::Unimplemented)
}

fn failed(err: Error) -> wit::HandlerError {
    wit::HandlerError::Failed(plugin_error(err))
}

fn plugin_error(err: Error) -> wit::PluginError {
    wit::PluginError {
        message: err.message,
        source: match err.source {
            ErrorSource::Plugin => wit::ErrorSource::Plugin,
            ErrorSource::Downstream => wit::ErrorSource::Downstream,
        },
    }
}

fn string_map(pairs: Vec<(String, String)>) -> StringMap {
    pairs.into_iter().collect()
}

fn user(u: wit::User) -> User {
    User {
        login: u.login,
        name: u.name,
        email: u.email,
        role: u.role,
    }
}

fn plugin_context(ctx: wit::PluginContext) -> PluginContext {
    PluginContext {
        org_id: ctx.org_id,
        plugin_id: ctx.plugin_id,
        plugin_version: ctx.plugin_version,
        user: ctx.user.map(user),
        app_instance_settings: ctx.app_instance_settings.map(|s| AppInstanceSettings {
            json_data: s.json_data,
            decrypted_secure_json_data: string_map(s.decrypted_secure_json_data),
            updated: time_from_unix_millis(s.last_updated_ms),
            api_version: s.api_version,
        }),
        data_source_instance_settings: ctx.data_source_instance_settings.map(|s| {
            DataSourceInstanceSettings {
                id: s.id,
                uid: s.uid,
                name: s.name,
                url: s.url,
                user: s.user,
                database: s.database,
                basic_auth_enabled: s.basic_auth_enabled,
                basic_auth_user: s.basic_auth_user,
                json_data: s.json_data,
                decrypted_secure_json_data: string_map(s.decrypted_secure_json_data),
                updated: time_from_unix_millis(s.last_updated_ms),
                api_version: s.api_version,
            }
        }),
        grafana_config: GrafanaConfig {
            values: string_map(ctx.grafana_config),
        },
        user_agent: ctx.user_agent,
        api_version: ctx.api_version,
        namespace: ctx.namespace,
    }
}

fn data_query(q: wit::DataQuery) -> DataQuery {
    DataQuery {
        ref_id: q.ref_id,
        query_type: q.query_type,
        max_data_points: q.max_data_points,
        interval: Duration::from_millis(q.interval_ms.max(0).unsigned_abs()),
        time_range: TimeRange {
            from: time_from_unix_millis(q.time_range.from_ms),
            to: time_from_unix_millis(q.time_range.to_ms),
        },
        json: q.json,
    }
}

fn query_data_request(req: wit::QueryDataRequest) -> QueryDataRequest {
    QueryDataRequest {
        plugin_context: plugin_context(req.plugin_context),
        headers: string_map(req.headers),
        queries: req.queries.into_iter().map(data_query).collect(),
        format: match req.format {
            wit::FrameFormat::Arrow => FrameFormat::Arrow,
            wit::FrameFormat::Json => FrameFormat::Json,
        },
    }
}

fn data_response(r: DataResponse) -> Result<wit::DataResponse, wit::HandlerError> {
    let frames = r
        .frames
        .into_iter()
        .map(|f| {
            f.into_wit()
                .map(crate::bindings::grafana::plugin::frames::FrameData::Columnar)
        })
        .collect::<Result<Vec<_>, _>>();
    // An invalid frame fails its own query only, with the reason.
    match frames {
        Ok(frames) => Ok(wit::DataResponse {
            frames,
            error: r.error.map(plugin_error),
            status: r.status,
        }),
        Err(err) => Ok(wit::DataResponse {
            frames: Vec::new(),
            error: Some(plugin_error(err)),
            status: Some(500),
        }),
    }
}

/// `data.query-data`.
pub fn query_data(
    opts: &ServeOpts,
    req: wit::QueryDataRequest,
) -> Result<wit::QueryDataResponse, wit::HandlerError> {
    let handler = handler(&opts.query_data_handler)?;
    let req = query_data_request(req);
    let response = handler.query_data(req).map_err(failed)?;
    let responses = response
        .responses
        .into_iter()
        .map(|(ref_id, r)| data_response(r).map(|r| (ref_id, r)))
        .collect::<Result<_, _>>()?;
    Ok(wit::QueryDataResponse { responses })
}

/// `diagnostics.check-health`.
pub fn check_health(
    opts: &ServeOpts,
    req: wit::CheckHealthRequest,
) -> Result<wit::CheckHealthResult, wit::HandlerError> {
    let handler = handler(&opts.check_health_handler)?;
    let result = handler
        .check_health(CheckHealthRequest {
            plugin_context: plugin_context(req.plugin_context),
            headers: string_map(req.headers),
        })
        .map_err(failed)?;
    Ok(wit::CheckHealthResult {
        status: match result.status {
            HealthStatus::Unknown => wit::HealthStatus::Unknown,
            HealthStatus::Ok => wit::HealthStatus::Ok,
            HealthStatus::Error => wit::HealthStatus::Error,
        },
        message: result.message,
        json_details: result.json_details,
    })
}

/// `diagnostics.collect-metrics`.
pub fn collect_metrics(
    opts: &ServeOpts,
    req: wit::CollectMetricsRequest,
) -> Result<wit::CollectMetricsResult, wit::HandlerError> {
    let handler = handler(&opts.collect_metrics_handler)?;
    let result = handler
        .collect_metrics(CollectMetricsRequest {
            plugin_context: plugin_context(req.plugin_context),
        })
        .map_err(failed)?;
    Ok(wit::CollectMetricsResult {
        prometheus: result.prometheus_metrics,
    })
}

/// Sends resource messages through the host.
struct HostResourceSender;

fn send_error(err: wit::SendError) -> Error {
    match err {
        wit::SendError::Closed => Error::plugin("cancelled: Grafana no longer reads this call"),
        wit::SendError::Invalid(reason) => Error::plugin(reason),
    }
}

impl CallResourceResponseSender for HostResourceSender {
    fn send(&mut self, response: CallResourceResponse) -> Result<(), Error> {
        let response = wit::CallResourceResponse {
            status: response.status,
            headers: response.headers.into_iter().collect(),
            body: response.body,
        };
        crate::bindings::grafana::plugin::resource_sender::send(&response).map_err(send_error)
    }
}

/// `resource.call-resource`.
pub fn call_resource(
    opts: &ServeOpts,
    req: wit::CallResourceRequest,
) -> Result<(), wit::HandlerError> {
    let handler = handler(&opts.call_resource_handler)?;
    let req = CallResourceRequest {
        plugin_context: plugin_context(req.plugin_context),
        path: req.path,
        method: req.method,
        url: req.url,
        headers: req.headers.into_iter().collect(),
        body: req.body,
    };
    handler
        .call_resource(req, &mut HostResourceSender)
        .map_err(failed)
}

fn stream_request(req: wit::StreamRequest) -> SubscribeStreamRequest {
    SubscribeStreamRequest {
        plugin_context: plugin_context(req.plugin_context),
        path: req.path,
        data: req.data,
        headers: string_map(req.headers),
    }
}

/// A subscribe or publish answer.
fn stream_answer(status: StreamStatus, data: Vec<u8>) -> wit::StreamResponse {
    let status = match status {
        StreamStatus::Ok => wit::StreamStatus::Ok,
        StreamStatus::NotFound => wit::StreamStatus::NotFound,
        StreamStatus::PermissionDenied => wit::StreamStatus::PermissionDenied,
    };
    wit::StreamResponse { status, data }
}

/// `streaming.subscribe-stream`.
pub fn subscribe_stream(
    opts: &ServeOpts,
    req: wit::StreamRequest,
) -> Result<wit::StreamResponse, wit::HandlerError> {
    let handler = handler(&opts.stream_handler)?;
    let r = handler
        .subscribe_stream(stream_request(req))
        .map_err(failed)?;
    Ok(stream_answer(r.status, r.data))
}

/// `streaming.publish-stream`.
pub fn publish_stream(
    opts: &ServeOpts,
    req: wit::StreamRequest,
) -> Result<wit::StreamResponse, wit::HandlerError> {
    let handler = handler(&opts.stream_handler)?;
    let r = handler
        .publish_stream(stream_request(req))
        .map_err(failed)?;
    Ok(stream_answer(r.status, r.data))
}

/// Sends stream packets through the host.
struct HostPacketSender;

impl StreamPacketSender for HostPacketSender {
    fn send(&mut self, data: Vec<u8>) -> Result<(), Error> {
        crate::bindings::grafana::plugin::stream_sender::send(&data).map_err(send_error)
    }

    fn send_frame(
        &mut self,
        frame: crate::data::Frame,
        parts: crate::data::FrameInclude,
    ) -> Result<(), Error> {
        let frame =
            crate::bindings::grafana::plugin::frames::FrameData::Columnar(frame.into_wit()?);
        crate::bindings::grafana::plugin::stream_sender::send_frame(&frame, parts.into())
            .map_err(send_error)
    }

    fn wait(&mut self, duration: Duration) -> Result<(), Error> {
        let millis = u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
        crate::bindings::grafana::plugin::stream_sender::wait(millis).map_err(send_error)
    }
}

/// `streaming.run-stream`.
pub fn run_stream(opts: &ServeOpts, req: wit::StreamRequest) -> Result<(), wit::HandlerError> {
    let handler = handler(&opts.stream_handler)?;
    handler
        .run_stream(stream_request(req), &mut HostPacketSender)
        .map_err(failed)
}

/// Writes chunks through the host.
struct HostChunkWriter;

impl HostChunkWriter {
    fn send(chunk: wit::DataChunk) -> Result<(), Error> {
        crate::bindings::grafana::plugin::chunk_sender::send(&chunk).map_err(send_error)
    }
}

impl ChunkedDataWriter for HostChunkWriter {
    fn write_frame(
        &mut self,
        ref_id: &str,
        frame_id: &str,
        frame: crate::data::Frame,
    ) -> Result<(), Error> {
        let frame = frame.into_wit()?;
        Self::send(wit::DataChunk {
            ref_id: ref_id.to_owned(),
            frame_id: frame_id.to_owned(),
            frame: Some(crate::bindings::grafana::plugin::frames::FrameData::Columnar(frame)),
            error: None,
            status: None,
        })
    }

    fn write_error(&mut self, ref_id: &str, status: u16, error: Error) -> Result<(), Error> {
        Self::send(wit::DataChunk {
            ref_id: ref_id.to_owned(),
            frame_id: String::new(),
            frame: None,
            error: Some(plugin_error(error)),
            status: Some(status),
        })
    }
}

/// `chunked-data.query-chunked-data`.
pub fn query_chunked_data(
    opts: &ServeOpts,
    req: wit::QueryDataRequest,
) -> Result<(), wit::HandlerError> {
    let handler = handler(&opts.query_chunked_data_handler)?;
    handler
        .query_chunked_data(query_data_request(req), &mut HostChunkWriter)
        .map_err(failed)
}

fn admission_request(req: wit::AdmissionRequest) -> AdmissionRequest {
    AdmissionRequest {
        plugin_context: plugin_context(req.plugin_context),
        operation: match req.operation {
            wit::AdmissionOperation::Create => AdmissionOperation::Create,
            wit::AdmissionOperation::Update => AdmissionOperation::Update,
            wit::AdmissionOperation::Delete => AdmissionOperation::Delete,
        },
        kind: GroupVersionKind {
            group: req.kind.group,
            version: req.kind.version,
            kind: req.kind.kind,
        },
        object_bytes: req.object_bytes,
        old_object_bytes: req.old_object_bytes,
    }
}

fn status_result(r: StatusResult) -> wit::StatusResult {
    wit::StatusResult {
        status: r.status,
        message: r.message,
        reason: r.reason,
        code: r.code,
    }
}

/// `admission.validate-admission`.
pub fn validate_admission(
    opts: &ServeOpts,
    req: wit::AdmissionRequest,
) -> Result<wit::ValidationResponse, wit::HandlerError> {
    let r = handler(&opts.admission_handler)?
        .validate_admission(admission_request(req))
        .map_err(failed)?;
    Ok(wit::ValidationResponse {
        allowed: r.allowed,
        result: r.result.map(status_result),
        warnings: r.warnings,
    })
}

/// `admission.mutate-admission`.
pub fn mutate_admission(
    opts: &ServeOpts,
    req: wit::AdmissionRequest,
) -> Result<wit::MutationResponse, wit::HandlerError> {
    let r = handler(&opts.admission_handler)?
        .mutate_admission(admission_request(req))
        .map_err(failed)?;
    Ok(wit::MutationResponse {
        allowed: r.allowed,
        result: r.result.map(status_result),
        warnings: r.warnings,
        object_bytes: r.object_bytes,
    })
}

/// `conversion.convert-objects`.
pub fn convert_objects(
    opts: &ServeOpts,
    req: wit::ConversionRequest,
) -> Result<wit::ConversionResponse, wit::HandlerError> {
    let req = ConversionRequest {
        plugin_context: plugin_context(req.plugin_context),
        uid: req.uid,
        objects: req
            .objects
            .into_iter()
            .map(|o| RawObject {
                raw: o.raw,
                content_type: o.content_type,
            })
            .collect(),
        target_group: req.target_version.group,
        target_version: req.target_version.version,
    };
    let r = handler(&opts.conversion_handler)?
        .convert_objects(req)
        .map_err(failed)?;
    Ok(wit::ConversionResponse {
        uid: r.uid,
        result: r.result.map(status_result),
        objects: r
            .objects
            .into_iter()
            .map(|o| wit::RawObject {
                raw: o.raw,
                content_type: o.content_type,
            })
            .collect(),
    })
}

/// Implements the WIT export traits for `$ty` by dispatching to the
/// handlers of its [`ServeOpts`].
#[doc(hidden)]
#[macro_export]
macro_rules! __export_guest_traits {
    ($ty:ident) => {
        const _: () = {
            use $crate::__private as serve;
            use $crate::bindings::exports::grafana::plugin as exports;
            use $crate::bindings::grafana::plugin::types as wit;

            impl exports::data::Guest for $ty {
                fn query_data(
                    req: wit::QueryDataRequest,
                ) -> Result<wit::QueryDataResponse, wit::HandlerError> {
                    serve::query_data(serve::opts::<$ty>(), req)
                }
            }
            impl exports::diagnostics::Guest for $ty {
                fn check_health(
                    req: wit::CheckHealthRequest,
                ) -> Result<wit::CheckHealthResult, wit::HandlerError> {
                    serve::check_health(serve::opts::<$ty>(), req)
                }
                fn collect_metrics(
                    req: wit::CollectMetricsRequest,
                ) -> Result<wit::CollectMetricsResult, wit::HandlerError> {
                    serve::collect_metrics(serve::opts::<$ty>(), req)
                }
            }
            impl exports::resource::Guest for $ty {
                fn call_resource(req: wit::CallResourceRequest) -> Result<(), wit::HandlerError> {
                    serve::call_resource(serve::opts::<$ty>(), req)
                }
            }
            impl exports::streaming::Guest for $ty {
                fn subscribe_stream(
                    req: wit::StreamRequest,
                ) -> Result<wit::StreamResponse, wit::HandlerError> {
                    serve::subscribe_stream(serve::opts::<$ty>(), req)
                }
                fn publish_stream(
                    req: wit::StreamRequest,
                ) -> Result<wit::StreamResponse, wit::HandlerError> {
                    serve::publish_stream(serve::opts::<$ty>(), req)
                }
                fn run_stream(req: wit::StreamRequest) -> Result<(), wit::HandlerError> {
                    serve::run_stream(serve::opts::<$ty>(), req)
                }
            }
            impl exports::chunked_data::Guest for $ty {
                fn query_chunked_data(req: wit::QueryDataRequest) -> Result<(), wit::HandlerError> {
                    serve::query_chunked_data(serve::opts::<$ty>(), req)
                }
            }
            impl exports::admission::Guest for $ty {
                fn validate_admission(
                    req: wit::AdmissionRequest,
                ) -> Result<wit::ValidationResponse, wit::HandlerError> {
                    serve::validate_admission(serve::opts::<$ty>(), req)
                }
                fn mutate_admission(
                    req: wit::AdmissionRequest,
                ) -> Result<wit::MutationResponse, wit::HandlerError> {
                    serve::mutate_admission(serve::opts::<$ty>(), req)
                }
            }
            impl exports::lifecycle::Guest for $ty {
                fn self_check() -> Result<(), String> {
                    serve::self_check(serve::opts::<$ty>())
                }
                fn dispose() {
                    serve::dispose()
                }
            }
            impl exports::conversion::Guest for $ty {
                fn convert_objects(
                    req: wit::ConversionRequest,
                ) -> Result<wit::ConversionResponse, wit::HandlerError> {
                    serve::convert_objects(serve::opts::<$ty>(), req)
                }
            }
        };
    };
}

pub use crate::__export_guest_traits as export_guest_traits;
