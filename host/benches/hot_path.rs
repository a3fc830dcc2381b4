//! criterion micro-benchmarks of the QueryData hot path's pieces:
//!
//! * `convert/proto_to_wit`: a Grafana QueryData request (plugin context
//!   with datasource settings and Grafana's per-request config, one query)
//!   converted to the WIT request the guest receives;
//! * `guest_call/pooled` and `guest_call/fresh`: a CheckHealth through the
//!   runtime on a warm pooled instance, and on an instance created for the
//!   call (new settings each time);
//! * `frame/{rows}`: the random-walk example answering a query of `rows`
//!   points, the frame crossing the boundary and encoded to Arrow IPC as
//!   Grafana receives it, at 1 k, 100 k and 1 M rows.
//!
//! Run: `cargo bench -p grafana-wasm-host --bench hot_path`.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use grafana_wasm_proto::pluginv2 as pb;
use grafana_wasm_serve::convert::{from_proto, to_proto};
use grafana_wasm_serve::rpc::{Incoming, Rpc};
use grafana_wasm_serve::runtime::Runtime;
use grafana_wasm_serve::wit::handlers::data;

/// A QueryData request as Grafana sends it for one panel query.
fn grafana_request(points: usize) -> pb::QueryDataRequest {
    let config = [
        ("GF_APP_URL", "http://localhost:3000/"),
        ("GF_CONCURRENT_QUERY_COUNT", "10"),
        ("GF_INSTANCE_FEATURE_TOGGLES_ENABLE", "a,b,c"),
        ("GF_RESPONSE_LIMIT", "0"),
        (
            "GF_USER_FACING_DEFAULT_ERROR",
            "Please inspect the Grafana server log for details.",
        ),
    ];
    pb::QueryDataRequest {
        plugin_context: Some(pb::PluginContext {
            org_id: 1,
            plugin_id: "grafana-wasm-randomwalk-datasource".into(),
            plugin_version: "0.1.0".into(),
            user: Some(pb::User {
                login: "admin".into(),
                name: "Admin".into(),
                email: "admin@localhost".into(),
                role: "Admin".into(),
            }),
            data_source_instance_settings: Some(pb::DataSourceInstanceSettings {
                id: 1,
                uid: "bench".into(),
                name: "Random walk".into(),
                url: "http://localhost:9090".into(),
                json_data: br#"{"httpMethod":"POST","timeout":30}"#.to_vec(),
                decrypted_secure_json_data: [("token".to_owned(), "s3cret".to_owned())].into(),
                last_updated_ms: 1,
                ..Default::default()
            }),
            grafana_config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            user_agent: "Grafana/12.0.0 (linux; amd64)".into(),
            ..Default::default()
        }),
        headers: [("http_X-Grafana-Org-Id".to_owned(), "1".to_owned())].into(),
        queries: vec![pb::DataQuery {
            ref_id: "A".into(),
            max_data_points: 1000,
            interval_ms: 1000,
            time_range: Some(pb::TimeRange {
                from_epoch_ms: 1_700_000_000_000 - 3_600_000,
                to_epoch_ms: 1_700_000_000_000,
            }),
            json: format!(r#"{{"refId":"A","points":{points},"datasource":{{"uid":"bench"}}}}"#)
                .into_bytes(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn convert(c: &mut Criterion) {
    let request = grafana_request(100);
    c.bench_function("convert/proto_to_wit", |b| {
        b.iter_batched(
            || request.clone(),
            |request| black_box(from_proto::query_data_request(request)),
            BatchSize::SmallInput,
        );
    });
}

fn guest_call(c: &mut Criterion) {
    let (tokio, runtime) = common::runtime(grafana_wasm_test_artifacts::RANDOM_WALK);
    let mut group = c.benchmark_group("guest_call");
    group.bench_function("pooled", |b| {
        b.to_async(&tokio).iter(|| common::health_call(&runtime, 0));
    });
    let version = AtomicI64::new(1);
    group.bench_function("fresh", |b| {
        b.to_async(&tokio)
            .iter(|| common::health_call(&runtime, version.fetch_add(1, Ordering::Relaxed)));
    });
    group.finish();
}

/// The random-walk query of `points` through the runtime, then the answer
/// encoded as Grafana receives it.
async fn query_to_arrow(runtime: &Arc<Runtime>, points: usize) -> pb::QueryDataResponse {
    let mut request = from_proto::query_data_request(grafana_request(points));
    let scope = runtime.scope_withholding_secrets(
        &Incoming::internal(Rpc::QueryData),
        &mut request.plugin_context,
    );
    let format = request.format;
    let response = runtime
        .unary::<data::GuestIndices, _>(scope, |guest, store| {
            Box::pin(async move { guest.call_query_data(store, &request).await })
        })
        .await
        .expect("query");
    let response = to_proto::query_data_response(response, format);
    assert!(response.responses["A"].error.is_empty());
    response
}

fn frame(c: &mut Criterion) {
    let (tokio, runtime) = common::runtime(grafana_wasm_test_artifacts::RANDOM_WALK);
    let mut group = c.benchmark_group("frame");
    for rows in [1_000, 100_000, 1_000_000] {
        if rows >= 100_000 {
            group.sample_size(10);
        }
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &rows, |b, &rows| {
            b.to_async(&tokio).iter(|| query_to_arrow(&runtime, rows));
        });
    }
    group.finish();
}

criterion_group!(benches, convert, guest_call, frame);
criterion_main!(benches);
