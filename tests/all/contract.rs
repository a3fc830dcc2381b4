//! Components built against an older version of the contract keep loading
//! and answering: the checked-in `tests/fixtures/contract-0.1.0` were
//! compiled before the contract grew, and each of their families is called.

use grafana_wasm_proto::pluginv2 as pb;
use tokio_stream::StreamExt as _;

use crate::support::*;

/// The random-walk example as built against `grafana:plugin@0.1.0`.
const RANDOM_WALK_0_1_0: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/contract-0.1.0/random_walk.wasm"
);

#[tokio::test]
async fn a_component_built_against_contract_0_1_0_keeps_answering_every_family() {
    let plugin = launch(RANDOM_WALK_0_1_0).await;

    let health = check_health(&plugin).await.expect("CheckHealth answers");
    assert_eq!(health.status(), pb::check_health_response::HealthStatus::Ok);
    assert_eq!(health.message, "ok");

    let response = plugin
        .data()
        .query_data(query_request(vec![query("A", r#"{"points":3}"#, 10_000)]))
        .await
        .expect("QueryData answers")
        .into_inner();
    let (schema, batches) = decode_frame(&response.responses["A"].frames[0]);
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(
        batches
            .iter()
            .map(arrow_array::RecordBatch::num_rows)
            .sum::<usize>(),
        3
    );

    let echoed = first_resource_json(
        &plugin,
        pb::CallResourceRequest {
            plugin_context: Some(context()),
            path: "echo".into(),
            method: "POST".into(),
            body: br#"{"a":1}"#.to_vec(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(echoed["a"], 1, "{echoed}");

    let mut stream = running_stream(&plugin, "walk").await;
    assert!(stream.next().await.unwrap().is_ok(), "a second packet");

    let metrics = scrape_metrics(&plugin).await;
    assert!(
        metric_families(&metrics)
            .iter()
            .any(|family| !family.starts_with("grafana_wasm_") && !family.starts_with("process_")),
        "the guest's own metrics: {metrics}"
    );
}
