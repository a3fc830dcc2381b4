//! Traces, through the real host: with Grafana's tracing variables set, a
//! query's spans reach an OTLP collector (the trace service of the
//! official protobuf definitions, run here) as one tree under the span
//! Grafana sent in the call's metadata, the outgoing HTTP request carries
//! the trace on, and the guest's log lines name the trace. With the
//! collector down, calls are unaffected.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grafana_wasm_client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::json;

use crate::support::*;

/// The trace Grafana's own span belongs to, and that span.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const GRAFANA_SPAN: &str = "00f067aa0ba902b7";

/// The spans a collector received.
#[derive(Default, Clone)]
struct Collector(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans);
        self.0.lock().unwrap().extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Starts a collector on loopback: its port and what it receives.
async fn start_collector() -> (u16, Collector) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let collector = Collector::default();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(collector.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    (port, collector)
}

/// The sandbox probe with Grafana's tracing variables pointing at
/// `collector_port`, propagating `propagation`, loopback reachable.
async fn launch_traced(collector_port: u16, propagation: &str) -> PluginProcess {
    let mut command = host_command(SANDBOX);
    command
        .env(
            "GF_INSTANCE_OTLP_ADDRESS",
            format!("127.0.0.1:{collector_port}"),
        )
        .env("GF_INSTANCE_OTLP_PROPAGATION", propagation)
        .env("GF_INSTANCE_OTLP_SAMPLER_TYPE", "const")
        .env("GF_INSTANCE_OTLP_SAMPLER_PARAM", "1.000000")
        .env("GF_PLUGIN_VERSION", "1.0.0")
        .env("GF_PLUGIN_ALLOW_ADDRESSES", "127.0.0.1/32");
    PluginProcess::launch(command)
        .await
        .expect("launching the host")
}

/// A query running the probe `args` for the datasource `traced-ds` at
/// `url`, continuing Grafana's span in W3C's `traceparent`.
fn traced_query(url: &str, args: &serde_json::Value) -> tonic::Request<pb::QueryDataRequest> {
    let traceparent = format!("00-{TRACE_ID}-{GRAFANA_SPAN}-01");
    query_in_trace(url, args, "traceparent", &traceparent)
}

/// [`traced_query`] with Grafana's span in metadata `key`.
fn query_in_trace(
    url: &str,
    args: &serde_json::Value,
    key: &'static str,
    value: &str,
) -> tonic::Request<pb::QueryDataRequest> {
    let mut ctx = context();
    let ds = ctx.data_source_instance_settings.as_mut().unwrap();
    ds.uid = "traced-ds".into();
    ds.name = "Traced".into();
    ds.url = url.into();
    let mut request = query_request(vec![query("A", &args.to_string(), 1_000)]);
    request.plugin_context = Some(ctx);
    let mut request = tonic::Request::new(request);
    request.metadata_mut().insert(key, value.parse().unwrap());
    request
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<AnyValue> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone()?.value)
}

fn string_attribute(span: &Span, key: &str) -> String {
    match attribute(span, key) {
        Some(AnyValue::StringValue(value)) => value,
        other => panic!("span {:?}: attribute {key} is {other:?}", span.name),
    }
}

/// The spans of our trace by name, once every one of `names` came.
async fn spans_named(collector: &Collector, names: &[&str]) -> HashMap<String, Span> {
    let complete = || {
        let spans = collector.0.lock().unwrap();
        let present: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        std::future::ready(names.iter().all(|name| present.contains(name)))
    };
    eventually_within(
        "the query's spans at the collector",
        Duration::from_secs(20),
        complete,
    )
    .await;
    let spans = collector.0.lock().unwrap();
    spans
        .iter()
        .filter(|span| hex(&span.trace_id) == TRACE_ID)
        .map(|span| (span.name.clone(), span.clone()))
        .collect()
}

#[tokio::test]
async fn a_querys_spans_join_grafanas_trace_and_its_http_call_carries_it_on() {
    let (collector_port, collector) = start_collector().await;
    let (api_port, heads) = recording_api();
    let plugin = launch_traced(collector_port, "w3c").await;
    let url = format!("http://127.0.0.1:{api_port}");
    let args = json!({"probe": "fetch-datasource", "path": "/items"});
    let mut request = traced_query(&url, &args);
    request
        .metadata_mut()
        .insert("tenantid", "tenant-1".parse().unwrap());
    let response = plugin
        .data()
        .query_data(request)
        .await
        .expect("the query")
        .into_inner();
    assert!(response.responses["A"].error.is_empty(), "{response:?}");

    let stages = [
        "sandbox.admission",
        "sandbox.checkout",
        "sandbox.guest",
        "encode",
    ];
    let mut names = vec!["sdk.queryData", "GET"];
    names.extend(stages);
    let spans = spans_named(&collector, &names).await;
    let rpc = &spans["sdk.queryData"];
    assert_eq!(
        hex(&rpc.parent_span_id),
        GRAFANA_SPAN,
        "the RPC continues Grafana's span"
    );
    assert_eq!(string_attribute(rpc, "plugin_id"), "test-ds");
    assert_eq!(string_attribute(rpc, "datasource_uid"), "traced-ds");
    assert_eq!(string_attribute(rpc, "datasource_name"), "Traced");
    assert_eq!(string_attribute(rpc, "request_status"), "ok");
    assert_eq!(string_attribute(rpc, "status_source"), "plugin");
    assert_eq!(string_attribute(rpc, "tenant_id"), "tenant-1");
    assert!(matches!(
        attribute(rpc, "org_id"),
        Some(AnyValue::IntValue(_))
    ));
    for stage in stages {
        assert_eq!(
            spans[stage].parent_span_id, rpc.span_id,
            "{stage} is a child of the RPC's span"
        );
    }
    let http = &spans["GET"];
    assert_eq!(
        http.parent_span_id, spans["sandbox.guest"].span_id,
        "the HTTP request is made by the guest"
    );
    assert_eq!(string_attribute(http, "url.path"), "/items");
    assert!(matches!(
        attribute(http, "http.response.status_code"),
        Some(AnyValue::IntValue(200))
    ));

    let head = heads.lock().unwrap()[0].clone();
    let traceparent = format!("traceparent: 00-{TRACE_ID}-{}-01", hex(&http.span_id));
    assert!(
        head.contains(&traceparent),
        "the datasource's API sees the trace: {head}"
    );
}

#[tokio::test]
async fn jaeger_propagation_continues_grafanas_uber_trace_id_and_carries_it_on() {
    let (collector_port, collector) = start_collector().await;
    let (api_port, heads) = recording_api();
    let plugin = launch_traced(collector_port, "jaeger").await;
    let url = format!("http://127.0.0.1:{api_port}");
    let args = json!({"probe": "fetch-datasource", "path": "/"});
    let grafanas = format!("{TRACE_ID}:{GRAFANA_SPAN}:0:1");
    plugin
        .data()
        .query_data(query_in_trace(&url, &args, "uber-trace-id", &grafanas))
        .await
        .expect("the query");
    let spans = spans_named(&collector, &["sdk.queryData", "GET"]).await;
    assert_eq!(hex(&spans["sdk.queryData"].parent_span_id), GRAFANA_SPAN);
    let head = heads.lock().unwrap()[0].clone();
    let carried = format!("uber-trace-id: {TRACE_ID}:{}:", hex(&spans["GET"].span_id));
    assert!(head.contains(&carried), "in Jaeger's format: {head}");
    assert!(!head.contains("traceparent"), "and only in it: {head}");
}

#[tokio::test]
async fn the_guests_log_lines_name_the_trace() {
    let (collector_port, _collector) = start_collector().await;
    let plugin = launch_traced(collector_port, "w3c").await;
    let args = json!({"probe": "print", "text": "hello from the guest"});
    plugin
        .data()
        .query_data(traced_query("", &args))
        .await
        .expect("the query");
    let line = logged(&plugin, "hello from the guest").await;
    assert_eq!(line["traceId"], TRACE_ID, "{line}");
}

#[tokio::test]
async fn with_the_collector_down_calls_are_unaffected() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plugin = launch_traced(closed, "w3c").await;
    let args = json!({"probe": "alloc", "mb": 1});
    for _ in 0..200 {
        let response = plugin
            .data()
            .query_data(traced_query("", &args))
            .await
            .expect("a query with the collector down")
            .into_inner();
        assert!(response.responses["A"].error.is_empty(), "{response:?}");
    }
    assert_serving(&plugin).await;
}
