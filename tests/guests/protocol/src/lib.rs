//! Exercises every handler family through the SDK, for the protocol tests:
//! it reports what reached it (request fields, plugin context) and
//! misbehaves on request (bad status codes, silent handlers, errors, bad
//! stream packets).

use std::rc::Rc;
use std::time::Duration;

use grafana_wasm_sdk::backend::*;
use grafana_wasm_sdk::data::{Field, Frame, FrameMeta};
use serde_json::{Value, json};

struct Protocol;

/// A datasource instance, as the SDK's instance manager keeps it; its
/// disposal is logged so that tests can see it.
struct Session {
    settings_version: u128,
}

impl InstanceDisposer for Session {
    fn dispose(&self) {
        grafana_wasm_sdk::log::info(
            "instance disposed",
            &[("settingsVersion", &self.settings_version.to_string())],
        );
    }
}

thread_local! {
    static SESSIONS: InstanceManager<Session> = InstanceManager::for_datasource(|settings| {
        let since_epoch = settings.updated.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Ok(Session { settings_version: since_epoch.as_millis() })
    });
}

thread_local! {
    /// The datasource URL of the first call this guest instance served: a
    /// cache that is not keyed at all, as a careless plugin keeps one. Only
    /// the host keeps it from being seen by other datasources.
    static FIRST_SEEN: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Everything of the plugin context, as JSON.
fn context_json(ctx: &PluginContext) -> Value {
    let ds = ctx.data_source_instance_settings.as_ref();
    let config = &ctx.grafana_config;
    json!({
        "orgId": ctx.org_id,
        "pluginId": ctx.plugin_id,
        "pluginVersion": ctx.plugin_version,
        "userAgent": ctx.user_agent,
        "apiVersion": ctx.api_version,
        "namespace": ctx.namespace,
        "user": ctx.user.as_ref().map(|u| json!({ "login": u.login, "role": u.role })),
        "datasource": ds.map(|s| json!({
            "uid": s.uid,
            "url": s.url,
            "basicAuthUser": s.basic_auth_user,
            "jsonData": s.json_data::<Value>().unwrap_or(Value::Null),
            "secure": s.decrypted_secure_json_data,
            "apiVersion": s.api_version,
        })),
        "app": ctx.app_instance_settings.as_ref().map(|s| s.json_data::<Value>().unwrap_or(Value::Null)),
        "appUrl": config.app_url(),
        "concurrentQueryCount": config.concurrent_query_count(),
        "featureToggles": config.feature_toggles().enabled().collect::<Vec<_>>(),
    })
}

impl CallResourceHandler for Protocol {
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        match req.path.as_str() {
            "inspect" => sender.send(CallResourceResponse::json(
                200,
                &json!({
                    "method": req.method,
                    "url": req.url,
                    "path": req.path,
                    "headers": req.headers,
                    "body": String::from_utf8_lossy(&req.body),
                    "context": context_json(&req.plugin_context),
                }),
            )),
            "chunks" => {
                for i in 0..5 {
                    sender.send(CallResourceResponse {
                        status: 200,
                        headers: [("X-Chunked".to_owned(), vec!["yes".to_owned()])].into(),
                        body: format!("part-{i};").into_bytes(),
                    })?;
                }
                Ok(())
            }
            // Header names and values a browser must never see.
            "bad-headers" => sender.send(CallResourceResponse {
                status: 200,
                headers: [
                    ("X-Good".to_owned(), vec!["kept".to_owned()]),
                    (
                        "X-Split".to_owned(),
                        vec!["a\r\nSet-Cookie: forged=1".to_owned(), "fine".to_owned()],
                    ),
                    (
                        "X-Bad\r\nSet-Cookie".to_owned(),
                        vec!["forged=2".to_owned()],
                    ),
                    ("X-Nul".to_owned(), vec!["a\0b".to_owned()]),
                ]
                .into(),
                body: b"{}".to_vec(),
            }),
            "bad-status" => sender.send(CallResourceResponse {
                status: 1000,
                ..CallResourceResponse::default()
            }),
            "silent" => Ok(()),
            "instance" => {
                let session = SESSIONS.with(|sessions| sessions.get(&req.plugin_context))?;
                sender.send(CallResourceResponse::json(
                    200,
                    &json!({ "settingsVersion": session.settings_version as u64 }),
                ))
            }
            "first-seen" => {
                let url = req
                    .plugin_context
                    .data_source_instance_settings
                    .as_ref()
                    .map(|ds| ds.url.clone())
                    .unwrap_or_default();
                let first = FIRST_SEEN.with(|seen| seen.borrow_mut().get_or_insert(url).clone());
                sender.send(CallResourceResponse::json(200, &json!({ "url": first })))
            }
            "slow" => {
                SESSIONS.with(|sessions| sessions.get(&req.plugin_context))?;
                std::thread::sleep(Duration::from_millis(400));
                sender.send(CallResourceResponse::json(200, &json!("slow")))
            }
            "fail-after" => {
                sender.send(CallResourceResponse {
                    status: 200,
                    body: b"partial".to_vec(),
                    ..CallResourceResponse::default()
                })?;
                Err(Error::downstream("broke after the first chunk"))
            }
            other => Err(Error::plugin(format!("no resource {other}"))),
        }
    }
}

impl CheckHealthHandler for Protocol {
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        if req.headers.contains_key("fail") {
            return Err(Error::downstream("health check failed"));
        }
        Ok(CheckHealthResult {
            status: HealthStatus::Error,
            message: "down".into(),
            json_details: json!({ "headers": req.headers }).to_string().into_bytes(),
        })
    }
}

impl QueryDataHandler for Protocol {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        let mut response = QueryDataResponse::new();
        for query in &req.queries {
            let model: Value = query.model().unwrap_or(Value::Null);
            let answer = match model["fail"].as_str() {
                Some("handler") => return Err(Error::plugin("the handler failed")),
                Some("handler-downstream") => return Err(Error::downstream("the API is down")),
                Some("loop") => loop {
                    std::hint::black_box(());
                },
                Some("downstream") => {
                    DataResponse::error(Error::downstream("upstream answered 503")).with_status(503)
                }
                _ => {
                    let custom = json!({
                        "format": format!("{:?}", req.format),
                        "headers": req.headers,
                        "queryType": query.query_type,
                        "maxDataPoints": query.max_data_points,
                        "intervalMs": query.interval.as_millis() as u64,
                        "context": context_json(&req.plugin_context),
                    });
                    DataResponse::frames(vec![Frame::new("inspect").with_meta(FrameMeta {
                        custom: Some(custom),
                        ..FrameMeta::default()
                    })])
                }
            };
            response.insert(query.ref_id.clone(), answer);
        }
        Ok(response)
    }
}

impl QueryChunkedDataHandler for Protocol {
    fn query_chunked_data(
        &self,
        req: QueryDataRequest,
        writer: &mut dyn ChunkedDataWriter,
    ) -> Result<(), Error> {
        for query in &req.queries {
            if query.ref_id == "E" {
                writer.write_error(&query.ref_id, 502, Error::downstream("no data for E"))?;
                continue;
            }
            for chunk in 0..2_i64 {
                let frame = Frame::new("chunked")
                    .with_field(Field::new("n", vec![chunk * 2, chunk * 2 + 1]));
                writer.write_frame(&query.ref_id, "f1", frame)?;
            }
        }
        Ok(())
    }
}

impl StreamHandler for Protocol {
    fn subscribe_stream(
        &self,
        req: SubscribeStreamRequest,
    ) -> Result<SubscribeStreamResponse, Error> {
        let (status, data) = match req.path.as_str() {
            "denied" => (StreamStatus::PermissionDenied, Vec::new()),
            "missing" => (StreamStatus::NotFound, Vec::new()),
            _ => (
                StreamStatus::Ok,
                json!({ "initial": req.path, "subscription": String::from_utf8_lossy(&req.data) })
                    .to_string()
                    .into_bytes(),
            ),
        };
        Ok(SubscribeStreamResponse { status, data })
    }

    fn publish_stream(&self, req: PublishStreamRequest) -> Result<PublishStreamResponse, Error> {
        Ok(PublishStreamResponse {
            status: StreamStatus::Ok,
            data: req.data,
        })
    }

    fn run_stream(
        &self,
        req: RunStreamRequest,
        sender: &mut dyn StreamPacketSender,
    ) -> Result<(), Error> {
        match req.path.as_str() {
            "bad-json" => sender.send(b"not json".to_vec()),
            // `nested-<depth>`: one packet of arrays nested that deep.
            path if path.starts_with("nested-") => {
                let depth: usize = path["nested-".len()..].parse().unwrap_or(1);
                sender.send(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes())
            }
            // Three packets, then a trap: the packets must still arrive.
            "trap-after" => {
                for seq in 0..3 {
                    sender.send(format!(r#"{{"seq":{seq}}}"#).into_bytes())?;
                }
                panic!("the stream guest trapped on purpose")
            }
            // 16 MiB packets as fast as the host takes them, until the
            // stream is cancelled.
            "flood" => {
                let packet = format!("\"{}\"", "x".repeat(16 << 20)).into_bytes();
                loop {
                    sender.send(packet.clone())?;
                }
            }
            // One packet, then a loop that never looks at cancellation.
            "busy" => {
                sender.send(br#"{"busy":true}"#.to_vec())?;
                #[allow(clippy::empty_loop)]
                loop {}
            }
            // One packet (the stream holds its instance), then wait.
            "ready" => {
                sender.send(br#"{"ready":true}"#.to_vec())?;
                while sender.wait(Duration::from_millis(50)).is_ok() {}
                Ok(())
            }
            _ => {
                while sender.wait(Duration::from_millis(50)).is_ok() {}
                Ok(())
            }
        }
    }
}

impl AdmissionHandler for Protocol {
    fn validate_admission(&self, req: AdmissionRequest) -> Result<ValidationResponse, Error> {
        let allowed = !req.object_bytes.is_empty();
        Ok(ValidationResponse {
            allowed,
            result: (!allowed).then(|| StatusResult {
                status: "Failure".into(),
                message: format!("empty {} refused", req.kind.kind),
                reason: "Invalid".into(),
                code: 422,
            }),
            warnings: vec![format!("{:?}", req.operation)],
        })
    }

    fn mutate_admission(&self, req: AdmissionRequest) -> Result<MutationResponse, Error> {
        let mut object: Value = serde_json::from_slice(&req.object_bytes)?;
        object["mutated"] = Value::Bool(true);
        Ok(MutationResponse {
            allowed: true,
            result: None,
            warnings: Vec::new(),
            object_bytes: object.to_string().into_bytes(),
        })
    }
}

impl ConversionHandler for Protocol {
    fn convert_objects(&self, req: ConversionRequest) -> Result<ConversionResponse, Error> {
        let objects = req
            .objects
            .into_iter()
            .map(|o| {
                let mut object: Value = serde_json::from_slice(&o.raw)?;
                object["apiVersion"] =
                    Value::String(format!("{}/{}", req.target_group, req.target_version));
                Ok(RawObject {
                    raw: object.to_string().into_bytes(),
                    content_type: o.content_type,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(ConversionResponse {
            uid: req.uid,
            result: None,
            objects,
        })
    }
}

fn serve_opts() -> ServeOpts {
    let p = Rc::new(Protocol);
    ServeOpts {
        query_data_handler: Some(p.clone()),
        check_health_handler: Some(p.clone()),
        call_resource_handler: Some(p.clone()),
        stream_handler: Some(p.clone()),
        query_chunked_data_handler: Some(p.clone()),
        admission_handler: Some(p.clone()),
        conversion_handler: Some(p),
        ..ServeOpts::default()
    }
}

grafana_wasm_sdk::export_plugin!(serve_opts());
