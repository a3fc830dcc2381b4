//! An example app plugin built with grafana-wasm-sdk: its backend serves
//! resources to the app's pages, configured by the app's settings.
//!
//! * Settings (`jsonData`): `greeting` (default `Hello`); secure settings
//!   are never returned, only their names.
//! * Resources, under `/api/plugins/grafana-wasm-hello-app/resources/`:
//!   * `GET settings`: the greeting and the names of the secure settings;
//!   * `POST greet` with `{"name": "Ada"}`: `{"message": "Hello, Ada!"}`;
//!   * `POST reverse`: the request body reversed, as text;
//!   * anything else: 404 (405 for a known path with another method).
//! * CheckHealth: OK when the settings parse, with the greeting in use.

use std::rc::Rc;

use grafana_wasm_sdk::backend::*;
use serde::Deserialize;
use serde_json::json;

/// The app's `jsonData`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    /// The word greetings start with.
    pub greeting: String,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            greeting: "Hello".into(),
        }
    }
}

/// One app instance: its settings, parsed once per settings version.
pub struct App {
    settings: AppSettings,
    secure_keys: Vec<String>,
}

impl App {
    /// Parses the app's settings; an empty `jsonData` means the defaults.
    ///
    /// # Errors
    /// When `jsonData` is not a valid settings object.
    pub fn new(settings: &AppInstanceSettings) -> Result<Self, Error> {
        let parsed = if settings.json_data.is_empty() {
            AppSettings::default()
        } else {
            settings.json_data()?
        };
        let mut secure_keys: Vec<String> = settings
            .decrypted_secure_json_data
            .keys()
            .cloned()
            .collect();
        secure_keys.sort();
        Ok(Self {
            settings: parsed,
            secure_keys,
        })
    }

    fn settings(&self) -> CallResourceResponse {
        CallResourceResponse::json(
            200,
            &json!({ "greeting": self.settings.greeting, "secureSettings": self.secure_keys }),
        )
    }

    fn greet(&self, req: &CallResourceRequest) -> CallResourceResponse {
        #[derive(Deserialize)]
        struct Greet {
            name: String,
        }
        match serde_json::from_slice::<Greet>(&req.body) {
            Ok(Greet { name }) => CallResourceResponse::json(
                200,
                &json!({ "message": format!("{}, {name}!", self.settings.greeting) }),
            ),
            Err(err) => CallResourceResponse::json(
                400,
                &json!({ "message": format!("expected {{\"name\": \"...\"}}: {err}") }),
            ),
        }
    }
}

/// Nothing to release: an app instance holds only its parsed settings.
impl InstanceDisposer for App {}

/// The reversed request body, as text.
fn reverse(req: &CallResourceRequest) -> CallResourceResponse {
    let text = String::from_utf8_lossy(&req.body);
    CallResourceResponse::text(200, text.chars().rev().collect::<String>())
}

/// The plugin: app instances, and the routes that use them.
pub struct HelloApp {
    instances: InstanceManager<App>,
}

impl Default for HelloApp {
    fn default() -> Self {
        Self {
            instances: InstanceManager::for_app(App::new),
        }
    }
}

impl CallResourceHandler for HelloApp {
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        let app = self.instances.get(&req.plugin_context)?;
        let (for_settings, for_greet) = (app.clone(), app);
        let router = ResourceRouter::new()
            .get("settings", move |_| Ok(for_settings.settings()))
            .post("greet", move |req| Ok(for_greet.greet(req)))
            .post("reverse", |req| Ok(reverse(req)));
        sender.send(router.answer(&req)?)
    }
}

impl CheckHealthHandler for HelloApp {
    fn check_health(&self, req: CheckHealthRequest) -> Result<CheckHealthResult, Error> {
        Ok(match self.instances.get(&req.plugin_context) {
            Ok(app) => CheckHealthResult::ok(format!(
                "app is configured; greeting {:?}",
                app.settings.greeting
            )),
            Err(err) => CheckHealthResult::error(format!("invalid app settings: {err}")),
        })
    }
}

fn serve_opts() -> ServeOpts {
    let app = Rc::new(HelloApp::default());
    ServeOpts {
        call_resource_handler: Some(app.clone()),
        check_health_handler: Some(app),
        ..ServeOpts::default()
    }
}

grafana_wasm_sdk::export_plugin!(serve_opts());

#[cfg(test)]
mod tests {
    use super::*;

    fn context(json_data: &str) -> PluginContext {
        PluginContext {
            app_instance_settings: Some(AppInstanceSettings {
                json_data: json_data.as_bytes().to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn call(json_data: &str, method: &str, path: &str, body: &str) -> CallResourceResponse {
        let req = CallResourceRequest {
            plugin_context: context(json_data),
            method: method.into(),
            path: path.into(),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        };
        let mut sent: Vec<CallResourceResponse> = Vec::new();
        HelloApp::default().call_resource(req, &mut sent).unwrap();
        sent.remove(0)
    }

    #[test]
    fn greets_with_the_configured_greeting() {
        let answer = call(
            r#"{"greeting":"Bonjour"}"#,
            "POST",
            "greet",
            r#"{"name":"Ada"}"#,
        );
        assert_eq!(answer.status, 200);
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["message"], "Bonjour, Ada!");
    }

    #[test]
    fn a_bad_body_is_a_bad_request_and_unknown_paths_are_404() {
        assert_eq!(call("{}", "POST", "greet", "nope").status, 400);
        assert_eq!(call("{}", "GET", "greet", "").status, 405);
        assert_eq!(call("{}", "GET", "nowhere", "").status, 404);
        assert_eq!(call("", "POST", "reverse", "abc").body, b"cba");
    }

    #[test]
    fn health_reports_invalid_settings() {
        let health = |json: &str| {
            HelloApp::default()
                .check_health(CheckHealthRequest {
                    plugin_context: context(json),
                    ..Default::default()
                })
                .unwrap()
        };
        assert_eq!(health("{}").status, HealthStatus::Ok);
        assert_eq!(health(r#"{"greeting":7}"#).status, HealthStatus::Error);
    }
}
