//! Round trips through the conversion layer: every protobuf field must
//! reach the WIT side (requests) and every WIT field the protobuf side
//! (answers). The inverse conversions below exist only to prove that no
//! field is dropped; a field added to one side but not converted fails here.

use std::collections::HashMap;

use grafana_wasm_proto::pluginv2 as pb;

use super::{from_proto, to_proto};
use crate::wit::types as wit;

fn map(pairs: wit::StringMap) -> HashMap<String, String> {
    pairs.into_iter().collect()
}

fn back_context(ctx: wit::PluginContext) -> pb::PluginContext {
    pb::PluginContext {
        org_id: ctx.org_id,
        plugin_id: ctx.plugin_id,
        user: ctx.user.map(|u| pb::User {
            login: u.login,
            name: u.name,
            email: u.email,
            role: u.role,
        }),
        app_instance_settings: ctx.app_instance_settings.map(|s| pb::AppInstanceSettings {
            json_data: s.json_data,
            decrypted_secure_json_data: map(s.decrypted_secure_json_data),
            last_updated_ms: s.last_updated_ms,
            api_version: s.api_version,
        }),
        data_source_instance_settings: ctx.data_source_instance_settings.map(|s| {
            pb::DataSourceInstanceSettings {
                id: s.id,
                name: s.name,
                url: s.url,
                user: s.user,
                database: s.database,
                basic_auth_enabled: s.basic_auth_enabled,
                basic_auth_user: s.basic_auth_user,
                json_data: s.json_data,
                decrypted_secure_json_data: map(s.decrypted_secure_json_data),
                last_updated_ms: s.last_updated_ms,
                uid: s.uid,
                api_version: s.api_version,
            }
        }),
        grafana_config: map(ctx.grafana_config),
        plugin_version: ctx.plugin_version,
        user_agent: ctx.user_agent,
        api_version: ctx.api_version,
        namespace: ctx.namespace,
    }
}

fn string_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A context with every field set to a distinct non-default value.
fn full_context() -> pb::PluginContext {
    pb::PluginContext {
        org_id: 3,
        plugin_id: "my-ds".into(),
        user: Some(pb::User {
            login: "ann".into(),
            name: "Ann".into(),
            email: "ann@example.com".into(),
            role: "Editor".into(),
        }),
        app_instance_settings: Some(pb::AppInstanceSettings {
            json_data: br#"{"a":1}"#.to_vec(),
            decrypted_secure_json_data: string_map(&[("key", "s3cret")]),
            last_updated_ms: 11,
            api_version: "v1".into(),
        }),
        data_source_instance_settings: Some(pb::DataSourceInstanceSettings {
            id: 4,
            name: "prod".into(),
            url: "https://example.com".into(),
            user: "u".into(),
            database: "db".into(),
            basic_auth_enabled: true,
            basic_auth_user: "bu".into(),
            json_data: br#"{"b":2}"#.to_vec(),
            decrypted_secure_json_data: string_map(&[("basicAuthPassword", "pw"), ("token", "t")]),
            last_updated_ms: 12,
            uid: "uid-1".into(),
            api_version: "v2".into(),
        }),
        grafana_config: string_map(&[("GF_APP_URL", "http://g/"), ("GF_SQL_ROW_LIMIT", "100")]),
        plugin_version: "1.2.3".into(),
        user_agent: "Grafana/11.5.0 (linux; amd64)".into(),
        api_version: "v0alpha1".into(),
        namespace: "stacks-1".into(),
    }
}

fn full_query(ref_id: &str) -> pb::DataQuery {
    pb::DataQuery {
        ref_id: ref_id.into(),
        max_data_points: 500,
        interval_ms: 1000,
        time_range: Some(pb::TimeRange {
            from_epoch_ms: 1,
            to_epoch_ms: 2,
        }),
        json: br#"{"refId":"A"}"#.to_vec(),
        query_type: "range".into(),
    }
}

fn back_query(q: wit::DataQuery) -> pb::DataQuery {
    pb::DataQuery {
        ref_id: q.ref_id,
        max_data_points: q.max_data_points,
        interval_ms: q.interval_ms,
        time_range: Some(pb::TimeRange {
            from_epoch_ms: q.time_range.from_ms,
            to_epoch_ms: q.time_range.to_ms,
        }),
        json: q.json,
        query_type: q.query_type,
    }
}

fn back_format(format: wit::FrameFormat) -> i32 {
    match format {
        wit::FrameFormat::Arrow => pb::DataFrameFormat::Arrow.into(),
        wit::FrameFormat::Json => pb::DataFrameFormat::Json.into(),
    }
}

#[test]
fn query_data_request_round_trips() {
    let original = pb::QueryDataRequest {
        plugin_context: Some(full_context()),
        headers: string_map(&[("FromAlert", "true"), ("http_X-Rule-Uid", "r1")]),
        queries: vec![full_query("A"), full_query("B")],
        format: pb::DataFrameFormat::Json.into(),
    };
    let wit = from_proto::query_data_request(original.clone());
    assert_eq!(wit.format, wit::FrameFormat::Json);
    let back = pb::QueryDataRequest {
        plugin_context: Some(back_context(wit.plugin_context)),
        headers: map(wit.headers),
        queries: wit.queries.into_iter().map(back_query).collect(),
        format: back_format(wit.format),
    };
    assert_eq!(back, original);
}

#[test]
fn query_chunked_data_request_round_trips() {
    let original = pb::QueryChunkedDataRequest {
        plugin_context: Some(full_context()),
        headers: string_map(&[("Authorization", "Bearer x")]),
        queries: vec![full_query("C")],
        format: pb::DataFrameFormat::Arrow.into(),
    };
    let wit = from_proto::query_chunked_data_request(original.clone());
    let back = pb::QueryChunkedDataRequest {
        plugin_context: Some(back_context(wit.plugin_context)),
        headers: map(wit.headers),
        queries: wit.queries.into_iter().map(back_query).collect(),
        format: back_format(wit.format),
    };
    assert_eq!(back, original);
}

#[test]
fn call_resource_request_round_trips() {
    let original = pb::CallResourceRequest {
        plugin_context: Some(full_context()),
        path: "api/v1/things".into(),
        method: "PUT".into(),
        url: "api/v1/things?x=1&y=%20".into(),
        headers: HashMap::from([(
            "Accept".to_owned(),
            pb::StringList {
                values: vec!["a/b".into(), "c/d".into()],
            },
        )]),
        body: vec![0, 159, 146, 150],
    };
    let wit = from_proto::call_resource_request(original.clone());
    let back = pb::CallResourceRequest {
        plugin_context: Some(back_context(wit.plugin_context)),
        path: wit.path,
        method: wit.method,
        url: wit.url,
        headers: to_proto::http_headers(wit.headers),
        body: wit.body,
    };
    assert_eq!(back, original);
}

#[test]
fn diagnostics_requests_round_trip() {
    let health = pb::CheckHealthRequest {
        plugin_context: Some(full_context()),
        headers: string_map(&[("http_X-Grafana-Id", "id")]),
    };
    let wit = from_proto::check_health_request(health.clone());
    let back = pb::CheckHealthRequest {
        plugin_context: Some(back_context(wit.plugin_context)),
        headers: map(wit.headers),
    };
    assert_eq!(back, health);

    let metrics = pb::CollectMetricsRequest {
        plugin_context: Some(full_context()),
    };
    let wit = from_proto::collect_metrics_request(metrics.clone());
    assert_eq!(
        Some(back_context(wit.plugin_context)),
        metrics.plugin_context
    );
}

#[test]
fn stream_requests_round_trip() {
    let run = pb::RunStreamRequest {
        plugin_context: Some(full_context()),
        path: "walk".into(),
        data: br#"{"q":1}"#.to_vec(),
        headers: string_map(&[("k", "v")]),
    };
    let wit = from_proto::run_stream_request(run.clone());
    let back = pb::RunStreamRequest {
        plugin_context: Some(back_context(wit.plugin_context)),
        path: wit.path,
        data: wit.data,
        headers: map(wit.headers),
    };
    assert_eq!(back, run);

    let subscribe = pb::SubscribeStreamRequest {
        plugin_context: Some(full_context()),
        path: "a".into(),
        data: b"{}".to_vec(),
        headers: string_map(&[("h", "1")]),
    };
    let wit = from_proto::subscribe_stream_request(subscribe.clone());
    assert_eq!(
        (wit.path.as_str(), wit.data.as_slice()),
        ("a", b"{}".as_slice())
    );
    assert_eq!(map(wit.headers), subscribe.headers);

    let publish = pb::PublishStreamRequest {
        plugin_context: None,
        path: "b".into(),
        data: b"[1]".to_vec(),
        headers: HashMap::new(),
    };
    let wit = from_proto::publish_stream_request(publish);
    assert_eq!(
        back_context(wit.plugin_context),
        pb::PluginContext::default()
    );
    assert_eq!(wit.data, b"[1]");
}

#[test]
fn admission_and_conversion_requests_round_trip() {
    let admission = pb::AdmissionRequest {
        plugin_context: Some(full_context()),
        operation: pb::admission_request::Operation::Update.into(),
        kind: Some(pb::GroupVersionKind {
            group: "g".into(),
            version: "v".into(),
            kind: "K".into(),
        }),
        object_bytes: b"new".to_vec(),
        old_object_bytes: b"old".to_vec(),
    };
    let wit = from_proto::admission_request(admission.clone()).unwrap();
    assert_eq!(wit.operation, wit::AdmissionOperation::Update);
    let back = pb::AdmissionRequest {
        plugin_context: Some(back_context(wit.plugin_context)),
        operation: admission.operation,
        kind: Some(pb::GroupVersionKind {
            group: wit.kind.group,
            version: wit.kind.version,
            kind: wit.kind.kind,
        }),
        object_bytes: wit.object_bytes,
        old_object_bytes: wit.old_object_bytes,
    };
    assert_eq!(back, admission);
    let unknown = pb::AdmissionRequest {
        operation: 9,
        ..Default::default()
    };
    assert!(from_proto::admission_request(unknown).is_none());

    let conversion = pb::ConversionRequest {
        plugin_context: Some(full_context()),
        uid: "u".into(),
        objects: vec![pb::RawObject {
            raw: b"{}".to_vec(),
            content_type: "application/json".into(),
        }],
        target_version: Some(pb::GroupVersion {
            group: "g".into(),
            version: "v2".into(),
        }),
    };
    let wit = from_proto::conversion_request(conversion.clone());
    let back = pb::ConversionRequest {
        plugin_context: Some(back_context(wit.plugin_context)),
        uid: wit.uid,
        objects: wit
            .objects
            .into_iter()
            .map(|o| pb::RawObject {
                raw: o.raw,
                content_type: o.content_type,
            })
            .collect(),
        target_version: Some(pb::GroupVersion {
            group: wit.target_version.group,
            version: wit.target_version.version,
        }),
    };
    assert_eq!(back, conversion);
}

#[test]
fn answers_keep_every_field() {
    let health = to_proto::check_health_result(wit::CheckHealthResult {
        status: wit::HealthStatus::Error,
        message: "down".into(),
        json_details: br#"{"why":"x"}"#.to_vec(),
    });
    assert_eq!(
        health.status(),
        pb::check_health_response::HealthStatus::Error
    );
    assert_eq!(
        (health.message.as_str(), health.json_details.as_slice()),
        ("down", br#"{"why":"x"}"#.as_slice())
    );

    let metrics = to_proto::collect_metrics_result(wit::CollectMetricsResult {
        prometheus: b"m 1\n".to_vec(),
    });
    assert_eq!(metrics.metrics.unwrap().prometheus, b"m 1\n");

    let resource = to_proto::call_resource_response(wit::CallResourceResponse {
        status: 201,
        headers: vec![("X-A".into(), vec!["1".into(), "2".into()])],
        body: b"body".to_vec(),
    });
    assert_eq!(resource.code, 201);
    assert_eq!(resource.headers["X-A"].values, ["1", "2"]);
    assert_eq!(resource.body, b"body");

    let subscribe = to_proto::subscribe_stream_response(wit::StreamResponse {
        status: wit::StreamStatus::PermissionDenied,
        data: b"{}".to_vec(),
    });
    assert_eq!(
        subscribe.status(),
        pb::subscribe_stream_response::Status::PermissionDenied
    );
    let publish = to_proto::publish_stream_response(wit::StreamResponse {
        status: wit::StreamStatus::NotFound,
        data: b"[]".to_vec(),
    });
    assert_eq!(
        publish.status(),
        pb::publish_stream_response::Status::NotFound
    );
    assert_eq!(publish.data, b"[]");

    let status = wit::StatusResult {
        status: "Failure".into(),
        message: "no".into(),
        reason: "Invalid".into(),
        code: 422,
    };
    let mutation = to_proto::mutation_response(wit::MutationResponse {
        allowed: false,
        result: Some(status.clone()),
        warnings: vec!["w".into()],
        object_bytes: b"o".to_vec(),
    });
    assert_eq!(
        mutation,
        pb::MutationResponse {
            allowed: false,
            result: Some(pb::StatusResult {
                status: "Failure".into(),
                message: "no".into(),
                reason: "Invalid".into(),
                code: 422,
            }),
            warnings: vec!["w".into()],
            object_bytes: b"o".to_vec(),
        }
    );
    let validation = to_proto::validation_response(wit::ValidationResponse {
        allowed: true,
        result: None,
        warnings: vec![],
    });
    assert!(validation.allowed && validation.result.is_none());
    let conversion = to_proto::conversion_response(wit::ConversionResponse {
        uid: "u".into(),
        result: Some(status),
        objects: vec![wit::RawObject {
            raw: b"r".to_vec(),
            content_type: "c".into(),
        }],
    });
    assert_eq!(
        (
            conversion.uid.as_str(),
            conversion.objects[0].content_type.as_str()
        ),
        ("u", "c")
    );
}

fn arrow_response(response: wit::DataResponse) -> pb::DataResponse {
    to_proto::data_response("A", response, wit::FrameFormat::Arrow)
}

#[test]
fn data_responses_get_grafanas_status_and_error_source() {
    let ok = arrow_response(wit::DataResponse {
        frames: vec![],
        error: None,
        status: None,
    });
    assert_eq!(
        (ok.status, ok.error.as_str(), ok.error_source.as_str()),
        (200, "", "")
    );

    let failed = arrow_response(wit::DataResponse {
        frames: vec![],
        error: Some(wit::PluginError {
            message: "upstream down".into(),
            source: wit::ErrorSource::Downstream,
        }),
        status: None,
    });
    assert_eq!(
        (
            failed.status,
            failed.error.as_str(),
            failed.error_source.as_str()
        ),
        (500, "upstream down", "downstream")
    );

    let explicit = arrow_response(wit::DataResponse {
        frames: vec![],
        error: None,
        status: Some(206),
    });
    assert_eq!(explicit.status, 206);
    let invalid = arrow_response(wit::DataResponse {
        frames: vec![],
        error: None,
        status: Some(42),
    });
    assert_eq!(
        invalid.status, 500,
        "Grafana turns a status outside 100-599 into 500"
    );
}
