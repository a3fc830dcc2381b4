//! Getting spans to the collector: OTLP over gRPC (insecure, as the Go SDK
//! does with Grafana's address), batched off the call path. A call only
//! puts its finished spans on a bounded queue (2048 spans; more are
//! dropped while the collector is slow or down), and one background
//! thread sends them in batches, each export bounded in time.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};

/// Longest wait for the collector to take one batch.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Spans waiting for export; beyond this they are dropped.
const QUEUE_SPANS: usize = 2048;

/// How long finished spans wait before a batch goes out.
const BATCH_DELAY: Duration = Duration::from_secs(1);

/// A tracer provider exporting to `endpoint`, with `resource` and
/// `sampler`. Must run inside the async runtime that will carry the
/// exports.
///
/// # Errors
/// The endpoint is not a valid URI.
pub fn provider(
    endpoint: &str,
    resource: Resource,
    sampler: opentelemetry_sdk::trace::Sampler,
) -> Result<SdkTracerProvider, String> {
    let otlp = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|err| format!("the OTLP exporter for {endpoint}: {err}"))?;
    let exporter = OnRuntime {
        inner: Arc::new(otlp),
        runtime: tokio::runtime::Handle::current(),
    };
    let batches = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(QUEUE_SPANS)
                .with_scheduled_delay(BATCH_DELAY)
                .build(),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_sampler(sampler)
        .with_resource(resource)
        .build())
}

/// The OTLP exporter, its exports run on the host's async runtime: the
/// batch processor's thread has none, and tonic's connections need one.
struct OnRuntime {
    inner: Arc<opentelemetry_otlp::SpanExporter>,
    runtime: tokio::runtime::Handle,
}

impl fmt::Debug for OnRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnRuntime").finish_non_exhaustive()
    }
}

impl SpanExporter for OnRuntime {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let inner = self.inner.clone();
        // Bounded by the exporter's own timeout, which runs there too.
        let sent = self.runtime.spawn(async move { inner.export(batch).await });
        sent.await
            .unwrap_or_else(|err| Err(OTelSdkError::InternalFailure(err.to_string())))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}
