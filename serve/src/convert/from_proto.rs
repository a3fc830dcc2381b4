//! Requests: Grafana's protobuf messages -> WIT types handed to the guest.

use std::collections::HashMap;

use grafana_wasm_proto::pluginv2 as pb;

use crate::wit::types as wit;

/// A protobuf map as a list of pairs, sorted by key so guests see a stable
/// order.
pub fn string_map(map: HashMap<String, String>) -> wit::StringMap {
    let mut pairs: Vec<_> = map.into_iter().collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    pairs
}

/// HTTP headers (`map<string, StringList>`), sorted by name.
pub fn http_headers(map: HashMap<String, pb::StringList>) -> wit::HttpHeaders {
    let mut pairs: Vec<_> = map.into_iter().map(|(k, v)| (k, v.values)).collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    pairs
}

/// The Grafana user.
pub fn user(user: pb::User) -> wit::User {
    wit::User {
        login: user.login,
        name: user.name,
        email: user.email,
        role: user.role,
    }
}

/// App instance settings.
pub fn app_instance_settings(s: pb::AppInstanceSettings) -> wit::AppInstanceSettings {
    wit::AppInstanceSettings {
        json_data: s.json_data,
        decrypted_secure_json_data: string_map(s.decrypted_secure_json_data),
        last_updated_ms: s.last_updated_ms,
        api_version: s.api_version,
    }
}

/// Datasource instance settings.
pub fn data_source_instance_settings(
    s: pb::DataSourceInstanceSettings,
) -> wit::DataSourceInstanceSettings {
    wit::DataSourceInstanceSettings {
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
        last_updated_ms: s.last_updated_ms,
        api_version: s.api_version,
    }
}

/// The plugin context; an absent one (never sent by Grafana, but possible on
/// the wire) becomes an empty context.
pub fn plugin_context(ctx: Option<pb::PluginContext>) -> wit::PluginContext {
    let ctx = ctx.unwrap_or_default();
    wit::PluginContext {
        org_id: ctx.org_id,
        plugin_id: ctx.plugin_id,
        plugin_version: ctx.plugin_version,
        user: ctx.user.map(user),
        app_instance_settings: ctx.app_instance_settings.map(app_instance_settings),
        data_source_instance_settings: ctx
            .data_source_instance_settings
            .map(data_source_instance_settings),
        grafana_config: string_map(ctx.grafana_config),
        user_agent: ctx.user_agent,
        api_version: ctx.api_version,
        namespace: ctx.namespace,
    }
}

/// A query's time range (absent = zero range).
pub fn time_range(range: Option<pb::TimeRange>) -> wit::TimeRange {
    let range = range.unwrap_or_default();
    wit::TimeRange {
        from_ms: range.from_epoch_ms,
        to_ms: range.to_epoch_ms,
    }
}

/// One query.
pub fn data_query(q: pb::DataQuery) -> wit::DataQuery {
    wit::DataQuery {
        ref_id: q.ref_id,
        query_type: q.query_type,
        max_data_points: q.max_data_points,
        interval_ms: q.interval_ms,
        time_range: time_range(q.time_range),
        json: q.json,
    }
}

/// The requested frame encoding; unknown values mean Arrow, the default
/// every Grafana version reads.
pub fn frame_format(format: i32) -> wit::FrameFormat {
    match pb::DataFrameFormat::try_from(format) {
        Ok(pb::DataFrameFormat::Json) => wit::FrameFormat::Json,
        Ok(pb::DataFrameFormat::Arrow) | Err(_) => wit::FrameFormat::Arrow,
    }
}

/// A QueryData request.
pub fn query_data_request(req: pb::QueryDataRequest) -> wit::QueryDataRequest {
    wit::QueryDataRequest {
        plugin_context: plugin_context(req.plugin_context),
        headers: string_map(req.headers),
        queries: req.queries.into_iter().map(data_query).collect(),
        format: frame_format(req.format),
    }
}

/// A QueryChunkedData request (same shape as QueryData's).
pub fn query_chunked_data_request(req: pb::QueryChunkedDataRequest) -> wit::QueryDataRequest {
    wit::QueryDataRequest {
        plugin_context: plugin_context(req.plugin_context),
        headers: string_map(req.headers),
        queries: req.queries.into_iter().map(data_query).collect(),
        format: frame_format(req.format),
    }
}

/// A CallResource request.
pub fn call_resource_request(req: pb::CallResourceRequest) -> wit::CallResourceRequest {
    wit::CallResourceRequest {
        plugin_context: plugin_context(req.plugin_context),
        path: req.path,
        method: req.method,
        url: req.url,
        headers: http_headers(req.headers),
        body: req.body,
    }
}

/// A CheckHealth request.
pub fn check_health_request(req: pb::CheckHealthRequest) -> wit::CheckHealthRequest {
    wit::CheckHealthRequest {
        plugin_context: plugin_context(req.plugin_context),
        headers: string_map(req.headers),
    }
}

/// A CollectMetrics request.
pub fn collect_metrics_request(req: pb::CollectMetricsRequest) -> wit::CollectMetricsRequest {
    wit::CollectMetricsRequest {
        plugin_context: plugin_context(req.plugin_context),
    }
}

fn stream_request(
    ctx: Option<pb::PluginContext>,
    path: String,
    data: Vec<u8>,
    headers: HashMap<String, String>,
) -> wit::StreamRequest {
    wit::StreamRequest {
        plugin_context: plugin_context(ctx),
        path,
        data,
        headers: string_map(headers),
    }
}

/// A SubscribeStream request.
pub fn subscribe_stream_request(req: pb::SubscribeStreamRequest) -> wit::StreamRequest {
    stream_request(req.plugin_context, req.path, req.data, req.headers)
}

/// A PublishStream request.
pub fn publish_stream_request(req: pb::PublishStreamRequest) -> wit::StreamRequest {
    stream_request(req.plugin_context, req.path, req.data, req.headers)
}

/// A RunStream request.
pub fn run_stream_request(req: pb::RunStreamRequest) -> wit::StreamRequest {
    stream_request(req.plugin_context, req.path, req.data, req.headers)
}

/// An admission operation; unknown values are rejected by the caller.
pub fn admission_operation(op: i32) -> Option<wit::AdmissionOperation> {
    match pb::admission_request::Operation::try_from(op).ok()? {
        pb::admission_request::Operation::Create => Some(wit::AdmissionOperation::Create),
        pb::admission_request::Operation::Update => Some(wit::AdmissionOperation::Update),
        pb::admission_request::Operation::Delete => Some(wit::AdmissionOperation::Delete),
    }
}

/// An admission request, or `None` for an unknown operation.
pub fn admission_request(req: pb::AdmissionRequest) -> Option<wit::AdmissionRequest> {
    let kind = req.kind.unwrap_or_default();
    Some(wit::AdmissionRequest {
        plugin_context: plugin_context(req.plugin_context),
        operation: admission_operation(req.operation)?,
        kind: wit::GroupVersionKind {
            group: kind.group,
            version: kind.version,
            kind: kind.kind,
        },
        object_bytes: req.object_bytes,
        old_object_bytes: req.old_object_bytes,
    })
}

/// A raw object of a conversion request.
pub fn raw_object(o: pb::RawObject) -> wit::RawObject {
    wit::RawObject {
        raw: o.raw,
        content_type: o.content_type,
    }
}

/// A ConvertObjects request.
pub fn conversion_request(req: pb::ConversionRequest) -> wit::ConversionRequest {
    let target = req.target_version.unwrap_or_default();
    wit::ConversionRequest {
        plugin_context: plugin_context(req.plugin_context),
        uid: req.uid,
        objects: req.objects.into_iter().map(raw_object).collect(),
        target_version: wit::GroupVersion {
            group: target.group,
            version: target.version,
        },
    }
}
