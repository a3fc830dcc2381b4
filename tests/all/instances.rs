//! Plugin instances per datasource: recreated when settings change,
//! disposed of once their calls end, evicted when idle.

use std::time::Duration;

use grafana_wasm_client::PluginProcess;
use grafana_wasm_proto::pluginv2 as pb;
use serde_json::Value;

use crate::support::*;

/// The test datasource with settings last changed at `updated_ms`.
fn settings_at(updated_ms: i64) -> pb::PluginContext {
    let mut ctx = context();
    ctx.data_source_instance_settings
        .as_mut()
        .unwrap()
        .last_updated_ms = updated_ms;
    ctx
}

/// The JSON answer of resource `path` of the protocol guest.
async fn resource_json(plugin: &PluginProcess, ctx: pb::PluginContext, path: &str) -> Value {
    let request = pb::CallResourceRequest {
        plugin_context: Some(ctx),
        path: path.into(),
        method: "GET".into(),
        ..Default::default()
    };
    first_resource_json(plugin, request).await
}

/// Settings versions whose instance the guest logged as disposed.
fn disposed(plugin: &PluginProcess) -> Vec<String> {
    log_entries(plugin)
        .into_iter()
        .filter(|e| e["@message"] == "instance disposed")
        .map(|e| e["settingsVersion"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn wait_until_disposed(plugin: &PluginProcess, version: &str) {
    let what = format!("instance {version} disposed");
    eventually_within(&what, Duration::from_secs(10), || async {
        disposed(plugin).iter().any(|v| v == version)
    })
    .await;
}

#[tokio::test]
async fn new_settings_make_a_new_instance_and_the_old_is_disposed_after_its_calls() {
    let plugin = launch(PROTOCOL).await;
    let first = resource_json(&plugin, settings_at(1_000), "instance").await;
    assert_eq!(first["settingsVersion"], 1_000);
    // A call on the old settings is still running when new settings arrive.
    let slow_done = std::sync::atomic::AtomicBool::new(false);
    let slow = async {
        let answer = resource_json(&plugin, settings_at(1_000), "slow").await;
        slow_done.store(true, std::sync::atomic::Ordering::SeqCst);
        answer
    };
    let newer = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = resource_json(&plugin, settings_at(2_000), "instance").await;
        // Read before the disposals, so that a slow call that ended in the
        // meantime (a loaded machine) cannot pass for an early disposal.
        let still_running = !slow_done.load(std::sync::atomic::Ordering::SeqCst);
        let disposed_early = still_running && disposed(&plugin).contains(&"1000".to_owned());
        (answer, disposed_early)
    };
    let (slow, (newer, disposed_early)) = tokio::join!(slow, newer);
    assert_eq!(
        newer["settingsVersion"], 2_000,
        "a new instance for the new settings"
    );
    assert!(!disposed_early, "not disposed while its call ran");
    assert_eq!(slow, "slow");
    wait_until_disposed(&plugin, "1000").await;
    assert!(!disposed(&plugin).contains(&"2000".to_owned()));
}

/// The test datasource as org `org_id` has it: same uid, same settings
/// time, its own URL.
fn in_org(org_id: i64) -> pb::PluginContext {
    let mut ctx = settings_at(1_000);
    ctx.org_id = org_id;
    ctx.data_source_instance_settings.as_mut().unwrap().url = format!("http://org-{org_id}.test");
    ctx
}

#[tokio::test]
async fn datasources_of_two_orgs_with_the_same_uid_and_settings_time_never_share_an_instance() {
    let plugin = launch(PROTOCOL).await;
    for _ in 0..2 {
        for org_id in [1, 2] {
            let seen = resource_json(&plugin, in_org(org_id), "first-seen").await;
            assert_eq!(
                seen["url"],
                format!("http://org-{org_id}.test"),
                "org {org_id} ran in another org's instance"
            );
        }
    }
}

#[tokio::test]
async fn idle_instances_are_evicted_and_disposed_of() {
    let mut command = host_command(PROTOCOL);
    command.env("GF_PLUGIN_IDLE_TIMEOUT_SECONDS", "0.3");
    let plugin = PluginProcess::launch(command).await.unwrap();
    resource_json(&plugin, settings_at(5_000), "instance").await;
    wait_until_disposed(&plugin, "5000").await;
    // The next call starts afresh.
    let again = resource_json(&plugin, settings_at(5_000), "instance").await;
    assert_eq!(again["settingsVersion"], 5_000);
}
