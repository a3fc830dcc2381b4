//! OpenTelemetry traces that join Grafana's: configured from the variables
//! Grafana sets when tracing is on for the plugin (off when they are
//! absent), continuing the trace context each call carries in its gRPC
//! metadata, and exported over OTLP off the call path.
//!
//! A call's spans: one per RPC (`sdk.<endpoint>`, with the attributes the
//! Go SDK's tracing middleware sets), and under it one per sandbox stage
//! (admission, instance checkout, guest execution, encoding) and per
//! outgoing HTTP request, whose context goes out in the request's headers.
//! With tracing off a [`CallTrace`] is empty and costs nothing.

mod config;
mod export;
mod sampler;

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{
    SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

pub use config::{Propagation, SamplerSetting, TraceConfig, TraceConfigError};

/// The process's tracing, once turned on.
struct Tracing {
    tracer: SdkTracer,
    propagator: TextMapCompositePropagator,
    provider: SdkTracerProvider,
}

static TRACING: OnceLock<Tracing> = OnceLock::new();

/// Turns tracing on as `config` says, for the plugin `plugin_id` (the
/// service name and the tracer's name, as for a Go SDK plugin). Runs in
/// the async runtime that carries the exports.
///
/// # Errors
/// The collector's address or the sampling server's is unusable.
pub fn start(config: &TraceConfig, plugin_id: &str) -> Result<(), String> {
    let sampler = sampler::of(&config.sampler, plugin_id)?;
    let resource = Resource::builder()
        .with_service_name(plugin_id.to_owned())
        .with_attribute(KeyValue::new("service.version", config.version.clone()))
        .build();
    let provider = export::provider(&config.endpoint, resource, sampler)?;
    let tracing = Tracing {
        tracer: provider.tracer(plugin_id.to_owned()),
        propagator: propagator(&config.propagation),
        provider,
    };
    TRACING
        .set(tracing)
        .map_err(|_| "tracing was already started".to_owned())
}

/// Turns tracing on when Grafana asked for it in `env` (see
/// [`TraceConfig::from_env`]); unusable settings are logged and leave it
/// off, the plugin serving regardless.
pub fn start_from_env(
    plugin_id: &str,
    manifest_version: &str,
    env: impl Fn(&str) -> Option<String>,
) {
    let started = TraceConfig::from_env(env, manifest_version)
        .map_err(|err| err.to_string())
        .and_then(|config| match config {
            Some(config) => start(&config, plugin_id).map(|()| Some(config)),
            None => Ok(None),
        });
    match started {
        Ok(Some(config)) => tracing::info!(
            collector = config.endpoint,
            sampler = ?config.sampler,
            "tracing: spans go to the OTLP collector"
        ),
        Ok(None) => {}
        Err(err) => tracing::error!(error = %err, "tracing settings unusable; tracing is off"),
    }
}

/// Exports the spans still queued, within `budget`, and stops tracing.
pub async fn shut_down(budget: Duration) {
    let Some(active) = TRACING.get() else {
        return;
    };
    let provider = active.provider.clone();
    let flushed = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(budget)).await;
    if let Ok(Err(err)) = flushed {
        tracing::warn!(error = %err, "spans still queued at shutdown were not all exported");
    }
}

/// The propagators of `formats`, in order (W3C trace context with baggage
/// when W3C is the only one, as the Go SDK's default).
fn propagator(formats: &[Propagation]) -> TextMapCompositePropagator {
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    let mut propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = formats
        .iter()
        .map(|format| -> Box<dyn TextMapPropagator + Send + Sync> {
            match format {
                Propagation::W3c => Box::new(TraceContextPropagator::new()),
                // Deprecated by Jaeger, still offered by Grafana.
                #[allow(deprecated)]
                Propagation::Jaeger => Box::new(opentelemetry_jaeger_propagator::Propagator::new()),
            }
        })
        .collect();
    if formats == [Propagation::W3c] {
        propagators.push(Box::new(BaggagePropagator::new()));
    }
    TextMapCompositePropagator::new(propagators)
}

/// Where a call is in its trace: the context of its innermost open span,
/// handed down to what the call does next. Empty with tracing off.
#[derive(Clone, Default)]
pub struct CallTrace(Option<Context>);

impl CallTrace {
    /// A child span named `name` (a sandbox stage), ended when dropped.
    pub fn stage(&self, name: &'static str) -> Span {
        self.child(name, SpanKind::Internal, Vec::new())
    }

    /// A client span for one outgoing HTTP request, ended when dropped;
    /// inject its context into the request with [`CallTrace::inject`].
    pub fn http_request(&self, method: &str, host: &str, port: u16, path: &str) -> Span {
        if !self.is_on() {
            return Span::none();
        }
        let attributes = vec![
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("server.address", host.to_owned()),
            KeyValue::new("server.port", i64::from(port)),
            KeyValue::new("url.path", path.to_owned()),
        ];
        self.child(method.to_owned(), SpanKind::Client, attributes)
    }

    fn child(
        &self,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        attributes: Vec<KeyValue>,
    ) -> Span {
        let (Some(cx), Some(tracing)) = (&self.0, TRACING.get()) else {
            return Span::none();
        };
        let span = tracing
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start_with_context(&tracing.tracer, cx);
        Span(Self(Some(cx.with_span(span))))
    }

    /// Whether the call is traced (tracing on, and a span open): what
    /// building attributes costs is worth paying.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Sets an attribute of the innermost span.
    pub fn set(&self, key: &'static str, value: impl Into<Value>) {
        if let Some(cx) = &self.0 {
            cx.span().set_attribute(KeyValue::new(key, value));
        }
    }

    /// Marks the innermost span failed, with `message` (its status and an
    /// `exception` event, as the Go SDK records an error).
    pub fn fail(&self, message: &str) {
        if let Some(cx) = &self.0 {
            let span = cx.span();
            span.set_status(Status::error(message.to_owned()));
            span.add_event(
                "exception",
                vec![KeyValue::new("exception.message", message.to_owned())],
            );
        }
    }

    /// Puts the context into outgoing request headers, in every format
    /// Grafana asked for, so that the called service's spans join.
    pub fn inject(&self, headers: &mut http::HeaderMap) {
        if let (Some(cx), Some(tracing)) = (&self.0, TRACING.get()) {
            tracing
                .propagator
                .inject_context(cx, &mut opentelemetry_http::HeaderInjector(headers));
        }
    }

    /// The trace id, for log lines (none with tracing off).
    pub fn trace_id(&self) -> Option<String> {
        let cx = self.0.as_ref()?;
        let context = cx.span().span_context().clone();
        context.is_valid().then(|| context.trace_id().to_string())
    }
}

/// A span, ended when dropped; [`Span::trace`] hands its context to what
/// runs inside it.
#[must_use = "the span ends when dropped"]
pub struct Span(CallTrace);

impl Span {
    /// No span (tracing off, or a call Grafana did not make).
    pub fn none() -> Self {
        Self(CallTrace(None))
    }

    /// The context of this span, for its children.
    pub fn trace(&self) -> CallTrace {
        self.0.clone()
    }
}

impl std::ops::Deref for Span {
    type Target = CallTrace;

    fn deref(&self) -> &CallTrace {
        &self.0
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some(cx) = &self.0.0 {
            cx.span().end();
        }
    }
}

/// The span of one RPC Grafana called, `sdk.<endpoint>` as the Go SDK
/// names it, continuing the trace in the call's gRPC metadata.
pub fn incoming(
    metadata: &tonic::metadata::MetadataMap,
    endpoint: &str,
    service: &'static str,
    method: &'static str,
) -> Span {
    let Some(tracing) = TRACING.get() else {
        return Span::none();
    };
    let parent = tracing.propagator.extract(&Metadata(metadata));
    let span = tracing
        .tracer
        .span_builder(format!("sdk.{endpoint}"))
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service),
            KeyValue::new("rpc.method", method),
        ])
        .start_with_context(&tracing.tracer, &parent);
    let trace = CallTrace(Some(parent.with_span(span)));
    // As the Go SDK's tracer adds the tenant Grafana names, if any.
    if let Some(tenant) = Metadata(metadata).get(TENANT_ID).filter(|t| !t.is_empty()) {
        trace.set("tenant_id", tenant.to_owned());
    }
    Span(trace)
}

/// The metadata key of the tenant a multi-tenant Grafana calls for.
const TENANT_ID: &str = "tenantid";

/// gRPC metadata as a propagator reads it.
struct Metadata<'a>(&'a tonic::metadata::MetadataMap);

impl Extractor for Metadata<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(|key| match key {
                tonic::metadata::KeyRef::Ascii(key) => key.as_str(),
                tonic::metadata::KeyRef::Binary(key) => key.as_str(),
            })
            .collect()
    }
}
