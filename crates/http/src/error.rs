//! The native error body: `{"error": "<code>", "message": "<text>", ...details}`.
//!
//! [`ApiError`] wraps the core error; its `IntoResponse` is the one place a core error gets
//! a status and a body on the native API. Internal errors are logged and answered without
//! their detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cohort_core::Error;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// The body of every native error: a stable code, a message for people, and the details
/// some codes carry.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid_request`, `invalid_filter`, `unauthenticated`,
    /// `permission_denied`, `not_found`, `name_taken` (and the other 409 codes),
    /// `invitation_expired`, `precondition_failed`, `payload_too_large`, `validation_failed`,
    /// `group_full`, `cycle`, `rate_limited`, `unavailable`, `not_ready`.
    #[schema(example = "permission_denied")]
    pub error: String,
    #[schema(example = "You don't have permission to manage this group")]
    pub message: String,
    /// `validation_failed`: the field that is not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "name")]
    pub field: Option<String>,
    /// `group_full`: the group's limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 50)]
    pub max_members: Option<i64>,
    /// `group_full`: its members now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 50)]
    pub current_members: Option<i64>,
    /// `invalid_filter`: where in the filter it stopped making sense (0-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 7)]
    pub position: Option<usize>,
    /// `precondition_failed`: the version the resource has now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 4)]
    pub current_version: Option<i64>,
}

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The status, code and extra fields of a core error.
pub fn parts(e: &Error) -> (StatusCode, &'static str, Map<String, Value>) {
    let mut extra = Map::new();
    let (status, code) = match e {
        Error::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        Error::InvalidFilter { position, .. } => {
            extra.insert("position".into(), json!(position));
            (StatusCode::BAD_REQUEST, "invalid_filter")
        }
        Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        Error::PermissionDenied(_) => (StatusCode::FORBIDDEN, "permission_denied"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        Error::Conflict { kind, .. } => (StatusCode::CONFLICT, kind.code()),
        Error::Gone(_) => (StatusCode::GONE, "invitation_expired"),
        Error::PreconditionFailed { current } => {
            extra.insert("current_version".into(), json!(current));
            (StatusCode::PRECONDITION_FAILED, "precondition_failed")
        }
        Error::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        Error::Validation { field, .. } => {
            extra.insert("field".into(), json!(field));
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
        }
        Error::GroupFull { max_members, current_members } => {
            extra.insert("max_members".into(), json!(max_members));
            extra.insert("current_members".into(), json!(current_members));
            (StatusCode::UNPROCESSABLE_ENTITY, "group_full")
        }
        Error::Cycle => (StatusCode::UNPROCESSABLE_ENTITY, "cycle"),
        Error::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        Error::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Error::NotReady { .. } => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    (status, code, extra)
}

/// The error's body as JSON, with its status.
pub fn body(e: &Error) -> (StatusCode, Value) {
    let (status, code, extra) = parts(e);
    if let Error::Internal(detail) = e {
        tracing::error!(%detail, "internal error");
    }
    let mut obj = Map::new();
    obj.insert("error".into(), json!(code));
    obj.insert("message".into(), json!(e.to_string()));
    obj.extend(extra);
    (status, Value::Object(obj))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = body(&self.0);
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = self.0.retry_after() {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        res
    }
}

pub async fn no_route() -> ApiError {
    ApiError(Error::NotFound("route"))
}

pub async fn no_method() -> Response {
    let body = json!({"error": "method_not_allowed", "message": "this path does not take that method"});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

pub type ApiResult<T> = Result<T, ApiError>;
