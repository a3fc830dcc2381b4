//! A small router for resource calls, in the spirit of the Go SDK's
//! `resource/httpadapter` with a `http.ServeMux`: handlers by method and
//! path, answering one message; unknown paths get 404 and known paths with
//! another method 405, both with a JSON error body.

use super::{
    CallResourceHandler, CallResourceRequest, CallResourceResponse, CallResourceResponseSender,
    Error,
};

type Route = Box<dyn Fn(&CallResourceRequest) -> Result<CallResourceResponse, Error>>;

/// Resource handlers by method and path (without the query string): a
/// [`CallResourceHandler`] for plugins whose resources answer in one
/// message each, without writing the dispatch by hand.
///
/// # Examples
///
/// Route handlers receive the request, plugin context included:
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// let router = ResourceRouter::new().get("whoami", |req| {
///     let login = req.plugin_context.user.as_ref().map_or("anonymous", |u| u.login.as_str());
///     Ok(CallResourceResponse::text(200, login))
/// });
///
/// let req = CallResourceRequest {
///     method: "GET".into(),
///     path: "/whoami".into(),
///     plugin_context: PluginContext {
///         user: Some(User { login: "alice".into(), ..User::default() }),
///         ..PluginContext::default()
///     },
///     ..CallResourceRequest::default()
/// };
/// assert_eq!(router.answer(&req)?.body, b"alice");
///
/// // Serve it:
/// let opts = ServeOpts { call_resource_handler: Some(Rc::new(router)), ..ServeOpts::default() };
/// # Ok::<(), Error>(())
/// ```
#[derive(Default)]
pub struct ResourceRouter {
    routes: Vec<(String, String, Route)>,
}

impl ResourceRouter {
    /// A router without routes: every path answers 404 until routes are
    /// added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `method` on `path` (leading and trailing slashes ignored) to
    /// `handler`; the request carries the plugin context. The first route
    /// matching a request answers it.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::*;
    ///
    /// let router = ResourceRouter::new()
    ///     .route("DELETE", "cache", |_| Ok(CallResourceResponse::text(204, "")));
    /// let req = CallResourceRequest { method: "DELETE".into(), path: "cache".into(), ..CallResourceRequest::default() };
    /// assert_eq!(router.answer(&req)?.status, 204);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn route(
        mut self,
        method: &str,
        path: &str,
        handler: impl Fn(&CallResourceRequest) -> Result<CallResourceResponse, Error> + 'static,
    ) -> Self {
        self.routes.push((
            method.to_ascii_uppercase(),
            normalize(path).to_owned(),
            Box::new(handler),
        ));
        self
    }

    /// [`ResourceRouter::route`] for GET, the method of most resources
    /// (option lists for query editors, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::*;
    ///
    /// let router = ResourceRouter::new()
    ///     .get("scenarios", |_req| Ok(CallResourceResponse::json(200, &serde_json::json!(["walk", "csv"]))))
    ///     .post("echo", |req| Ok(CallResourceResponse::text(200, String::from_utf8_lossy(&req.body))));
    ///
    /// let mut sent: Vec<CallResourceResponse> = Vec::new();
    /// let req = CallResourceRequest {
    ///     path: "scenarios".into(),
    ///     method: "GET".into(),
    ///     ..CallResourceRequest::default()
    /// };
    /// router.call_resource(req, &mut sent)?;
    /// assert_eq!(sent[0].status, 200);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn get(
        self,
        path: &str,
        handler: impl Fn(&CallResourceRequest) -> Result<CallResourceResponse, Error> + 'static,
    ) -> Self {
        self.route("GET", path, handler)
    }

    /// [`ResourceRouter::route`] for POST, for resources taking a body; see
    /// the example of [`ResourceRouter::get`].
    pub fn post(
        self,
        path: &str,
        handler: impl Fn(&CallResourceRequest) -> Result<CallResourceResponse, Error> + 'static,
    ) -> Self {
        self.route("POST", path, handler)
    }

    /// The answer of the route matching `req`, or a 404/405 answer with a
    /// JSON `message`: what [`CallResourceHandler::call_resource`] sends,
    /// and a direct way to test the routes.
    ///
    /// # Errors
    /// The handler's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use grafana_wasm_sdk::backend::*;
    ///
    /// let router = ResourceRouter::new().get("items", |_| Ok(CallResourceResponse::text(200, "[]")));
    /// let get = |method: &str, path: &str| CallResourceRequest {
    ///     method: method.into(),
    ///     path: path.into(),
    ///     ..CallResourceRequest::default()
    /// };
    /// assert_eq!(router.answer(&get("GET", "items?limit=5"))?.status, 200);
    /// assert_eq!(router.answer(&get("POST", "items"))?.status, 405);
    /// assert_eq!(router.answer(&get("GET", "other"))?.status, 404);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn answer(&self, req: &CallResourceRequest) -> Result<CallResourceResponse, Error> {
        let path = normalize(req.path.split('?').next().unwrap_or_default());
        let mut path_known = false;
        for (method, route, handler) in &self.routes {
            if route == path {
                path_known = true;
                if method.eq_ignore_ascii_case(&req.method) {
                    return handler(req);
                }
            }
        }
        let (status, message) = if path_known {
            (405, format!("method {} not allowed on {path}", req.method))
        } else {
            (404, format!("no resource {path}"))
        };
        Ok(CallResourceResponse::json(
            status,
            &serde_json::json!({ "message": message }),
        ))
    }
}

fn normalize(path: &str) -> &str {
    path.trim_matches('/')
}

impl CallResourceHandler for ResourceRouter {
    fn call_resource(
        &self,
        req: CallResourceRequest,
        sender: &mut dyn CallResourceResponseSender,
    ) -> Result<(), Error> {
        let response = self.answer(&req)?;
        sender.send(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str) -> CallResourceRequest {
        CallResourceRequest {
            method: method.into(),
            path: path.into(),
            ..CallResourceRequest::default()
        }
    }

    #[test]
    fn routes_by_method_and_path_with_404_and_405() {
        let router = ResourceRouter::new()
            .get("/items/", |_| Ok(CallResourceResponse::text(200, "list")))
            .post("items", |req| {
                Ok(CallResourceResponse::text(
                    201,
                    String::from_utf8_lossy(&req.body),
                ))
            });
        assert_eq!(
            router.answer(&request("get", "items?x=1")).unwrap().body,
            b"list"
        );
        assert_eq!(
            router.answer(&request("POST", "/items")).unwrap().status,
            201
        );
        let missing = router.answer(&request("GET", "nope")).unwrap();
        assert_eq!(missing.status, 404);
        assert!(String::from_utf8_lossy(&missing.body).contains("no resource nope"));
        assert_eq!(
            router.answer(&request("DELETE", "items")).unwrap().status,
            405
        );
    }
}
