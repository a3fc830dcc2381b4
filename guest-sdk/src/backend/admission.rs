//! Admission control and conversion of app-platform resources (Grafana 12's
//! Kubernetes-style API server), as the Go SDK's `AdmissionHandler` and
//! `ConversionHandler`.

use super::{Error, PluginContext};

/// What happens to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionOperation {
    /// It is created.
    Create,
    /// It is updated.
    Update,
    /// It is deleted.
    Delete,
}

/// A Kubernetes group, version and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupVersionKind {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

/// A request to admit an object.
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

/// A subset of Kubernetes' `metav1.Status`.
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

/// The verdict of a validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationResponse {
    /// Whether the object is admitted.
    pub allowed: bool,
    /// Details, typically when refused.
    pub result: Option<StatusResult>,
    /// Warnings shown to the client.
    pub warnings: Vec<String>,
}

/// The verdict of a mutation, with the changed object.
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

/// Validates and mutates objects before they are stored.
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

/// A raw object and its content type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawObject {
    /// The object.
    pub raw: Vec<u8>,
    /// Its content type, e.g. `application/json`.
    pub content_type: String,
}

/// Objects to convert to another version.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The converted objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversionResponse {
    /// The request's id.
    pub uid: String,
    /// Details, typically on failure.
    pub result: Option<StatusResult>,
    /// The converted objects, in request order.
    pub objects: Vec<RawObject>,
}

/// Converts objects between API versions.
pub trait ConversionHandler {
    /// Converts every object to the target version.
    ///
    /// # Errors
    /// An error failing the request.
    fn convert_objects(&self, req: ConversionRequest) -> Result<ConversionResponse, Error>;
}
