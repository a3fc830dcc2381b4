//! Probes the sandbox from the inside, for the sandbox tests. Each call
//! (a query's JSON, or a resource call's JSON body) names one probe:
//! misbehaviour (`loop`, `alloc`, `panic`, `log-flood`, `print-flood`,
//! `log-big`, `hoard-fields`), a capability (`read-file`, `env`, `socket`,
//! `fetch`, `fetch-datasource`, `print`) or the instance's own state
//! (`seen`, `secrets`). The answer is JSON: `{"ok": value}` or
//! `{"error": message}`; as a query, `downstream-error` answers a query
//! error blamed on downstream. Its health check answers OK, or runs the probe
//! named by its `probe` header (`loop`, `panic`). Its self-check fails when
//! it can read the variable `PROBE_FAIL_SELF_CHECK`.

use std::cell::RefCell;
use std::rc::Rc;

use grafana_wasm_sdk::backend::*;
use grafana_wasm_sdk::data::{Field, Frame};
use grafana_wasm_sdk::http::Request;
use serde_json::{Value, json};

thread_local! {
    /// Everything this instance has been shown: datasource uids and
    /// secret values. Another instance must never see any of it.
    static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Host-side `wasi:http` fields this instance keeps alive between
    /// calls, as a hostile guest hoards host memory.
    static HOARD: RefCell<Vec<wasip2::http::types::Fields>> = const { RefCell::new(Vec::new()) };
}

struct Probe;

/// Records what the call shows this instance.
fn remember(ctx: &PluginContext) {
    if let Some(ds) = &ctx.data_source_instance_settings {
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            seen.push(ds.uid.clone());
            seen.extend(ds.decrypted_secure_json_data.values().cloned());
        });
    }
}

fn text(args: &Value, key: &str) -> String {
    args[key].as_str().unwrap_or_default().to_owned()
}

/// Runs the probe `args["probe"]`.
fn probe(ctx: &PluginContext, args: &Value) -> Result<Value, String> {
    remember(ctx);
    match args["probe"].as_str().unwrap_or_default() {
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "alloc" => {
            let bytes = args["mb"].as_u64().unwrap_or(1) as usize * (1 << 20);
            let block = std::hint::black_box(vec![1_u8; bytes]);
            Ok(json!(block.len()))
        }
        "panic" => panic!("the probe panicked on purpose"),
        "read-file" => std::fs::read_to_string(text(args, "path"))
            .map(Value::String)
            .map_err(|e| e.to_string()),
        "env" => std::env::var(text(args, "name"))
            .map(Value::String)
            .map_err(|e| e.to_string()),
        "socket" => std::net::TcpStream::connect(text(args, "address"))
            .map(|_| json!("connected"))
            .map_err(|e| e.to_string()),
        "fetch" => fetch(Request::new("GET", text(args, "url"))),
        "fetch-datasource" => {
            let ds = ctx
                .data_source_instance_settings
                .as_ref()
                .ok_or("no datasource")?;
            fetch(ds.http_client().get(&text(args, "path")))
        }
        "log-flood" => {
            let count = args["count"].as_u64().unwrap_or(1);
            for n in 0..count {
                grafana_wasm_sdk::log::info("flood", &[("n", &n.to_string())]);
            }
            Ok(json!(count))
        }
        "print-flood" => {
            let count = args["count"].as_u64().unwrap_or(1);
            for n in 0..count {
                println!("flood line {n}");
            }
            Ok(json!(count))
        }
        "log-big" => {
            let bytes = args["mb"].as_u64().unwrap_or(1) as usize * (1 << 20);
            grafana_wasm_sdk::log::info(&"\u{1}".repeat(bytes), &[]);
            Ok(json!(bytes))
        }
        "print" => {
            println!("{}", text(args, "text"));
            eprintln!("{} (stderr)", text(args, "text"));
            Ok(Value::Null)
        }
        "seen" => Ok(SEEN.with(|seen| json!(*seen.borrow()))),
        "hoard-fields" => hoard_fields(
            args["count"].as_u64().unwrap_or(1),
            args["kb"].as_u64().unwrap_or(1),
        ),
        "secrets" => Ok(json!(ctx.data_source_instance_settings.as_ref().map(
            |ds| {
                ds.decrypted_secure_json_data
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
            }
        ))),
        other => Err(format!("no probe {other:?}")),
    }
}

/// Creates `count` `wasi:http` fields resources, each holding one header
/// of `kb` KiB, and keeps them; answers how many the instance holds.
fn hoard_fields(count: u64, kb: u64) -> Result<Value, String> {
    let value = vec![b'x'; kb as usize * 1024];
    HOARD.with(|hoard| {
        let mut hoard = hoard.borrow_mut();
        for _ in 0..count {
            let fields = wasip2::http::types::Fields::new();
            fields
                .append("x-hoard", &value)
                .map_err(|e| format!("append refused: {e:?}"))?;
            hoard.push(fields);
        }
        Ok(json!(hoard.len()))
    })
}

fn fetch(request: Request) -> Result<Value, String> {
    let response = request.send().map_err(|e| e.to_string())?;
    Ok(json!({ "status": response.status, "body": response.text() }))
}

fn answer(outcome: Result<Value, String>) -> Value {
    match outcome {
        Ok(value) => json!({ "ok": value }),
        Err(message) => json!({ "error": message }),
    }
}

impl QueryDataHandler for Probe {
    fn query_data(&self, req: QueryDataRequest) -> Result<QueryDataResponse, Error> {
        let mut response = QueryDataResponse::new();
        for q in req.queries {
            let args: Value = serde_json::from_slice(&q.json).unwrap_or(Value::Null);
            if args["probe"] == "downstream-error" {
                let failed = Error::downstream("the datasource's API failed");
                response.insert(q.ref_id, DataResponse::error(failed));
                continue;
            }
            let result = answer(probe(&req.plugin_context, &args)).to_string();
            let frame = Frame::new("probe").with_field(Field::new("result", vec![result]));
            response.insert(q.ref_id, DataResponse::frames(vec![frame]));
        }
        Ok(response)
    }
}

impl CallResourceHandler for Probe {
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        let args: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let body = answer(probe(&req.plugin_context, &args));
        sender.send(CallResourceResponse::json(200, &body))
    }
}

impl CheckHealthHandler for Probe {
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        if let Some(name) = req.headers.get("probe") {
            probe(&req.plugin_context, &json!({ "probe": name }))?;
        }
        Ok(CheckHealthResult::ok("probe healthy"))
    }
}

grafana_wasm_sdk::export_plugin!({
    let probe = Rc::new(Probe);
    ServeOpts {
        query_data_handler: Some(probe.clone()),
        check_health_handler: Some(probe.clone()),
        call_resource_handler: Some(probe),
        // Fails when the host grants and sets PROBE_FAIL_SELF_CHECK.
        self_check: Some(Rc::new(|| match std::env::var("PROBE_FAIL_SELF_CHECK") {
            Ok(reason) => Err(Error::plugin(format!("failing on purpose: {reason}"))),
            Err(_) => Ok(()),
        })),
        ..ServeOpts::default()
    }
});
