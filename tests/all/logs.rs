//! Logs on stderr in the hclog JSON format go-plugin parses.

use grafana_wasm_proto::pluginv2 as pb;

use crate::support::*;

/// go-plugin parses `@timestamp` with `2006-01-02T15:04:05.000000Z07:00`:
/// exactly six fractional digits, then `Z` or `±hh:mm`.
fn is_go_plugin_timestamp(ts: &str) -> bool {
    let Some((seconds, rest)) = ts.split_once('.') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let zone = &rest[digits..];
    let zone_ok =
        zone == "Z" || (zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')));
    seconds.len() == 19 && digits == 6 && zone_ok
}

#[tokio::test]
async fn every_stderr_line_is_hclog_json_and_guest_logs_carry_the_plugin_id() {
    let plugin = launch(RANDOM_WALK).await;
    plugin
        .diagnostics()
        .check_health(pb::CheckHealthRequest {
            plugin_context: Some(context()),
            ..Default::default()
        })
        .await
        .unwrap();
    let entries = log_entries_when(&plugin, |entries| {
        entries.iter().any(|e| e["@message"] == "health check")
    })
    .await;
    plugin.shutdown().await.unwrap();

    assert!(!entries.is_empty());
    for entry in &entries {
        let level = entry["@level"].as_str().expect("@level is a string");
        assert!(
            ["trace", "debug", "info", "warn", "error"].contains(&level),
            "{entry}"
        );
        assert!(
            entry["@message"].is_string(),
            "@message is a string: {entry}"
        );
        let ts = entry["@timestamp"]
            .as_str()
            .expect("@timestamp is a string");
        assert!(
            is_go_plugin_timestamp(ts),
            "timestamp {ts} needs exactly 6 fractional digits"
        );
    }
    assert!(
        entries
            .iter()
            .any(|e| e["@level"] == "info" && e["@message"] == "plugin host serving")
    );
    let guest = entries
        .iter()
        .find(|e| e["@message"] == "health check")
        .expect("the guest's log call reaches the log");
    assert_eq!(guest["@level"], "info");
    assert_eq!(guest["pluginId"], "random_walk");
}

#[test]
fn timestamp_check_rejects_other_precisions() {
    assert!(is_go_plugin_timestamp("2024-05-01T12:00:00.123456Z"));
    assert!(is_go_plugin_timestamp("2024-05-01T12:00:00.123456+02:00"));
    assert!(!is_go_plugin_timestamp("2024-05-01T12:00:00.123Z"));
    assert!(!is_go_plugin_timestamp("2024-05-01T12:00:00.123456789Z"));
    assert!(!is_go_plugin_timestamp("2024-05-01T12:00:00Z"));
}
