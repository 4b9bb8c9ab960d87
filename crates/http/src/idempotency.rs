//! `Idempotency-Key` on every POST of the native API: the same caller sending the same
//! request with the same key within 24 hours gets the first answer again (status, body and
//! `ETag`, marked `Idempotent-Replayed: true`) and changes nothing; the same key with another
//! request is 422; a duplicate sent while the first still runs waits for its answer.
//!
//! The caller is the credential (its fingerprint), the request its method, path, query and
//! body. Answers of 500 and up, 429 and 503 are not kept: trying again may succeed.

use crate::error::ApiError;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cohort_app::App;
use cohort_app::idempotency::{Began, fingerprint};
use cohort_core::Error;
use std::future::Future;
use std::time::Duration;

/// How long a duplicate waits for the first request's answer.
const WAIT: Duration = Duration::from_secs(10);

fn keeps(status: StatusCode) -> bool {
    status.as_u16() < 500 && status != StatusCode::TOO_MANY_REQUESTS
}

fn replay(status: u16, etag: Option<String>, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(v) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        h.insert(header::ETAG, v);
    }
    res
}

/// Runs the request through `next`, once per key: only POSTs under `/api/v1/` that carry
/// the header and a credential are remembered.
pub async fn idempotent<F: Future<Output = Response>>(app: &App, req: Request, next: impl FnOnce(Request) -> F) -> Response {
    if req.method() != Method::POST || !req.uri().path().starts_with("/api/v1/") {
        return next(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").map(|v| v.to_str().map(str::to_string)) else {
        return next(req).await;
    };
    let Ok(key) = key else {
        return ApiError(Error::invalid("Idempotency-Key must be 1 to 255 visible ASCII characters")).into_response();
    };
    let Some(caller) = crate::extract::credential(req.headers()).map(|s| fingerprint(s.as_bytes())) else {
        return next(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match crate::extract::read_body(body).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused.into_response(),
    };
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let mut described = Vec::with_capacity(bytes.len() + target.len() + 8);
    described.extend_from_slice(parts.method.as_str().as_bytes());
    described.push(b' ');
    described.extend_from_slice(target.as_bytes());
    described.push(b'\n');
    described.extend_from_slice(&bytes);
    let request = fingerprint(&described);

    let started = tokio::time::Instant::now();
    loop {
        match app.idempotency_begin(&caller, &key, &request).await {
            Err(e) => return ApiError(e).into_response(),
            Ok(Began::Replay { status, etag, body }) => return replay(status, etag, body),
            Ok(Began::Mismatch) => {
                return ApiError(Error::validation("Idempotency-Key", "this key was used for another request; send a new key"))
                    .into_response();
            }
            Ok(Began::Running) if started.elapsed() < WAIT => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(Began::Running) => {
                return ApiError(Error::conflict(
                    cohort_core::error::Conflict::Other,
                    "a request with this Idempotency-Key is still running",
                ))
                .into_response();
            }
            Ok(Began::Fresh) => break,
        }
    }

    let res = next(Request::from_parts(parts, Body::from(bytes))).await;
    if !keeps(res.status()) {
        if let Err(e) = app.idempotency_release(&caller, &key).await {
            tracing::warn!(error = %e, "releasing an idempotency key");
        }
        return res;
    }
    let (parts, body) = res.into_parts();
    // Answers are built in memory, so reading one whole costs nothing more.
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let _ = app.idempotency_release(&caller, &key).await;
            return ApiError(Error::internal(format!("reading an answer to keep: {e}"))).into_response();
        }
    };
    let etag = parts.headers.get(header::ETAG).and_then(|v| v.to_str().ok());
    if let Err(e) = app.idempotency_finish(&caller, &key, parts.status.as_u16(), etag, &String::from_utf8_lossy(&bytes)).await {
        tracing::warn!(error = %e, "keeping an idempotent answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}
