//! The seed dialects: each seed's API at its own paths, over the same services and rules,
//! translating shapes only.
//!
//! - [`seed000_pocketbase`]: seed 000, PocketBase-style collections and the SDK's auth routes.
//! - [`seed001_organizations`]: seed 001, organization groups (Bitwarden style) under
//!   `/api/organizations/{orgId}/groups`.
//! - [`seed002_compat`]: seed 002, the read-only namespace under `/compat/v1`.
//! - [`seed004_scoped_admin`]: seed 004, the scoped groups API under `/api/admin/groups`.
//!
//! What they share: each renders errors in its own body. A dialect's router is wrapped with
//! [`errors`], which rewrites the native error body (made by the one mapping in
//! [`crate::error`], extractor rejections included) into the dialect's shape.

pub mod seed000_pocketbase;
pub mod seed001_organizations;
pub mod seed002_compat;
pub mod seed004_scoped_admin;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// A dialect's error shape: from the status and the native body to the dialect's status
/// and body.
pub type Render = fn(StatusCode, &Value) -> (StatusCode, Value);

/// Rewrites native error bodies with `render`.
pub async fn errors(render: Render, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status().as_u16() < 400 {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let native: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::json!({"error": "error", "message": String::from_utf8_lossy(&bytes)}));
    let (status, out) = render(parts.status, &native);
    parts.status = status;
    let text = out.to_string();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(text))
}
