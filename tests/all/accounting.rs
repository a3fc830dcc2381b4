//! What each datasource costs, through the real host: CollectMetrics
//! labels guest CPU time, calls, errors, instances, memory and outgoing
//! HTTP by datasource uid, and counts requests as a Go SDK plugin does
//! (`grafana_plugin_request_total`, `grpc_server_*`).

use grafana_wasm_client::PluginProcess;
use serde_json::json;

use crate::support::*;

/// A query running the probe `args` for the datasource `uid` at `url`:
/// whether the call succeeded.
async fn query_as(plugin: &PluginProcess, uid: &str, url: &str, args: serde_json::Value) -> bool {
    let mut ctx = context();
    let ds = ctx.data_source_instance_settings.as_mut().unwrap();
    ds.uid = uid.into();
    ds.url = url.into();
    let mut request = query_request(vec![query("A", &args.to_string(), 1_000)]);
    request.plugin_context = Some(ctx);
    plugin.data().query_data(request).await.is_ok()
}

fn value(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    metric_value(text, metric, labels)
        .unwrap_or_else(|| panic!("no {metric} {labels:?} in\n{text}"))
}

#[tokio::test]
async fn collect_metrics_says_what_each_datasource_costs() {
    let (api_port, _) = recording_api();
    let mut command = host_command(SANDBOX);
    command.env("GF_PLUGIN_ALLOW_ADDRESSES", "127.0.0.1/32");
    let plugin = PluginProcess::launch(command)
        .await
        .expect("launching the host");
    let url = format!("http://127.0.0.1:{api_port}");
    let fetch = json!({"probe": "fetch-datasource", "path": "/"});
    for _ in 0..3 {
        assert!(query_as(&plugin, "costly", &url, fetch.clone()).await);
    }
    assert!(query_as(&plugin, "cheap", "", json!({"probe": "alloc", "mb": 1})).await);
    assert!(!query_as(&plugin, "cheap", "", json!({"probe": "panic"})).await);

    let text = scrape_metrics(&plugin).await;
    // (family without its prefix, datasource, expected value).
    let exact = [
        ("calls_total", "costly", 3.0),
        ("errors_total", "costly", 0.0),
        ("calls_total", "cheap", 2.0),
        ("errors_total", "cheap", 1.0),
        ("http_requests_total", "costly", 3.0),
        // Three bodies of `{}`.
        ("http_received_bytes_total", "costly", 6.0),
        // Its one instance trapped and is gone.
        ("instances", "cheap", 0.0),
    ];
    let of = |family: &str, uid: &str| {
        let name = format!("grafana_wasm_datasource_{family}");
        value(&text, &name, &[("datasource", uid)])
    };
    for (family, uid, expected) in exact {
        assert_eq!(of(family, uid), expected, "{family} of {uid}");
    }
    assert!(of("guest_cpu_seconds_total", "costly") > 0.0);
    assert!(of("instances", "costly") >= 1.0, "a warm instance");
    assert!(of("guest_memory_bytes", "costly") > 0.0);

    let requests = |status: &str| {
        let labels = [
            ("endpoint", "queryData"),
            ("status", status),
            ("status_source", "plugin"),
        ];
        value(&text, "grafana_plugin_request_total", &labels)
    };
    assert_eq!(requests("ok"), 4.0);
    assert_eq!(requests("error"), 1.0);

    let query_data = [
        ("grpc_type", "unary"),
        ("grpc_service", "pluginv2.Data"),
        ("grpc_method", "QueryData"),
    ];
    let handled = |code: &str| {
        let mut labels = query_data.to_vec();
        labels.push(("grpc_code", code));
        value(&text, "grpc_server_handled_total", &labels)
    };
    assert_eq!(value(&text, "grpc_server_started_total", &query_data), 5.0);
    assert_eq!(
        value(&text, "grpc_server_msg_received_total", &query_data),
        5.0
    );
    assert_eq!(
        value(&text, "grpc_server_msg_sent_total", &query_data),
        4.0,
        "errors send no message"
    );
    assert_eq!(handled("OK"), 4.0);
    assert_eq!(handled("Internal"), 1.0, "the trapped query");
    assert!(
        text.contains("grpc_server_handling_seconds_bucket{grpc_method=\"QueryData\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_datasource_whose_queries_fail_downstream_is_counted_so() {
    let plugin = launch(SANDBOX).await;
    let mut ctx = context();
    ctx.data_source_instance_settings.as_mut().unwrap().uid = "flaky".into();
    let mut request = query_request(vec![query("A", r#"{"probe": "downstream-error"}"#, 1_000)]);
    request.plugin_context = Some(ctx);
    let response = plugin
        .data()
        .query_data(request)
        .await
        .expect("the query")
        .into_inner();
    assert!(!response.responses["A"].error.is_empty(), "{response:?}");
    let text = scrape_metrics(&plugin).await;
    let labels = [
        ("endpoint", "queryData"),
        ("status", "error"),
        ("status_source", "downstream"),
    ];
    assert_eq!(value(&text, "grafana_plugin_request_total", &labels), 1.0);
    assert_eq!(
        value(
            &text,
            "grafana_wasm_datasource_errors_total",
            &[("datasource", "flaky")]
        ),
        1.0
    );
}
