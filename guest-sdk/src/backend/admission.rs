//! Admission control and conversion of app-platform resources (Grafana 12's
//! Kubernetes-style API server), as the Go SDK's `AdmissionHandler` and
//! `ConversionHandler`.

use super::{Error, PluginContext};

/// What happens to the object, so validation can differ between create,
/// update and delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionOperation {
    /// It is created.
    Create,
    /// It is updated.
    Update,
    /// It is deleted.
    Delete,
}

/// A Kubernetes group, version and kind: which resource type an admission
/// request is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupVersionKind {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

/// A request to admit an object into Grafana's API server storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionRequest {
    /// Who asks.
    pub plugin_context: PluginContext,
    /// The operation.
    pub operation: AdmissionOperation,
    /// The object's kind.
    pub kind: GroupVersionKind,
    /// The object (JSON).
    pub object_bytes: Vec<u8>,
    /// The object before an update (JSON).
    pub old_object_bytes: Vec<u8>,
}

/// A subset of Kubernetes' `metav1.Status`: why an object was refused, in
/// the form API clients expect.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::StatusResult;
///
/// let refused = StatusResult {
///     status: "Failure".into(),
///     message: "spec.interval must be positive".into(),
///     reason: "Invalid".into(),
///     code: 422,
/// };
/// assert_eq!(refused.code, 422);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusResult {
    /// `Success` or `Failure`.
    pub status: String,
    /// A human-readable message.
    pub message: String,
    /// A machine-readable reason.
    pub reason: String,
    /// Suggested HTTP code (0 = unset).
    pub code: i32,
}

/// The verdict of a validation; `Default` refuses without a reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationResponse {
    /// Whether the object is admitted.
    pub allowed: bool,
    /// Details, typically when refused.
    pub result: Option<StatusResult>,
    /// Warnings shown to the client.
    pub warnings: Vec<String>,
}

/// The verdict of a mutation, with the changed object (defaults filled in,
/// fields normalized, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MutationResponse {
    /// Whether the object is admitted.
    pub allowed: bool,
    /// Details, typically when refused.
    pub result: Option<StatusResult>,
    /// Warnings shown to the client.
    pub warnings: Vec<String>,
    /// The mutated object (JSON).
    pub object_bytes: Vec<u8>,
}

/// Validates and mutates objects before they are stored (Go:
/// `backend.AdmissionHandler`).
///
/// There is no closure adapter for it, unlike the single-method handlers:
/// validation and mutation are two methods, usually sharing the parsing of
/// the object.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::*;
///
/// struct Specs;
///
/// impl AdmissionHandler for Specs {
///     fn validate_admission(&self, req: AdmissionRequest) -> Result<ValidationResponse, Error> {
///         let object: serde_json::Value = serde_json::from_slice(&req.object_bytes)?;
///         let allowed = object["spec"]["title"].is_string();
///         Ok(ValidationResponse { allowed, ..ValidationResponse::default() })
///     }
///
///     fn mutate_admission(&self, req: AdmissionRequest) -> Result<MutationResponse, Error> {
///         Ok(MutationResponse { allowed: true, object_bytes: req.object_bytes, ..MutationResponse::default() })
///     }
/// }
///
/// let req = AdmissionRequest {
///     plugin_context: PluginContext::default(),
///     operation: AdmissionOperation::Create,
///     kind: GroupVersionKind { group: "example.grafana.app".into(), version: "v1".into(), kind: "Thing".into() },
///     object_bytes: br#"{"spec": {}}"#.to_vec(),
///     old_object_bytes: Vec::new(),
/// };
/// assert!(!Specs.validate_admission(req)?.allowed);
/// # Ok::<(), Error>(())
/// ```
pub trait AdmissionHandler {
    /// Accepts or refuses the object.
    ///
    /// # Errors
    /// An error failing the request.
    fn validate_admission(&self, req: AdmissionRequest) -> Result<ValidationResponse, Error>;

    /// Accepts, refuses or changes the object.
    ///
    /// # Errors
    /// An error failing the request.
    fn mutate_admission(&self, req: AdmissionRequest) -> Result<MutationResponse, Error>;
}

/// A raw object and its content type, as the API server stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawObject {
    /// The object.
    pub raw: Vec<u8>,
    /// Its content type, e.g. `application/json`.
    pub content_type: String,
}

/// Objects to convert to another version. `Default` gives an empty
/// request, handy in native tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversionRequest {
    /// Who asks.
    pub plugin_context: PluginContext,
    /// Request id, echoed in the response.
    pub uid: String,
    /// The objects.
    pub objects: Vec<RawObject>,
    /// Target API group.
    pub target_group: String,
    /// Target API version.
    pub target_version: String,
}

/// The converted objects, echoing the request's `uid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversionResponse {
    /// The request's id.
    pub uid: String,
    /// Details, typically on failure.
    pub result: Option<StatusResult>,
    /// The converted objects, in request order.
    pub objects: Vec<RawObject>,
}

/// Converts objects between API versions (Go: `backend.ConversionHandler`),
/// so clients of an older version keep working.
///
/// # Examples
///
/// ```
/// use grafana_wasm_sdk::backend::*;
///
/// struct Upgrade;
///
/// impl ConversionHandler for Upgrade {
///     fn convert_objects(&self, req: ConversionRequest) -> Result<ConversionResponse, Error> {
///         let objects = req
///             .objects
///             .into_iter()
///             .map(|o| -> Result<RawObject, Error> {
///                 let mut object: serde_json::Value = serde_json::from_slice(&o.raw)?;
///                 object["apiVersion"] = format!("{}/{}", req.target_group, req.target_version).into();
///                 Ok(RawObject { raw: serde_json::to_vec(&object)?, content_type: o.content_type })
///             })
///             .collect::<Result<_, _>>()?;
///         Ok(ConversionResponse { uid: req.uid, objects, ..ConversionResponse::default() })
///     }
/// }
///
/// let req = ConversionRequest {
///     uid: "r1".into(),
///     objects: vec![RawObject { raw: br#"{"apiVersion":"x.app/v1"}"#.to_vec(), content_type: "application/json".into() }],
///     target_group: "x.app".into(),
///     target_version: "v2".into(),
///     ..ConversionRequest::default()
/// };
/// let response = Upgrade.convert_objects(req)?;
/// assert_eq!(response.uid, "r1");
/// assert_eq!(response.objects[0].raw, br#"{"apiVersion":"x.app/v2"}"#);
/// # Ok::<(), Error>(())
/// ```
pub trait ConversionHandler {
    /// Converts every object to the target version.
    ///
    /// # Errors
    /// An error failing the request.
    fn convert_objects(&self, req: ConversionRequest) -> Result<ConversionResponse, Error>;
}

/// Any function or closure taking a [`ConversionRequest`] is a
/// [`ConversionHandler`] (Go: `backend.ConvertObjectsFunc`).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use grafana_wasm_sdk::backend::*;
///
/// let unchanged = |req: ConversionRequest| {
///     Ok(ConversionResponse { uid: req.uid, objects: req.objects, ..ConversionResponse::default() })
/// };
/// let opts = ServeOpts { conversion_handler: Some(Rc::new(unchanged)), ..ServeOpts::default() };
/// let req = ConversionRequest { uid: "r1".into(), ..ConversionRequest::default() };
/// assert_eq!(opts.conversion_handler.unwrap().convert_objects(req)?.uid, "r1");
/// # Ok::<(), Error>(())
/// ```
impl<F: Fn(ConversionRequest) -> Result<ConversionResponse, Error>> ConversionHandler for F {
    fn convert_objects(&self, req: ConversionRequest) -> Result<ConversionResponse, Error> {
        self(req)
    }
}
