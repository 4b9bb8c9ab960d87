//! Operations: `/healthz`, `/readyz`, `/api/openapi.json`, `/docs`.

use crate::error::{ApiResult, ErrorBody};
use axum::Json;
use axum::Router;
use axum::extract::State;
use cohort_app::App;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_swagger_ui::SwaggerUi;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

pub fn health_router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// The OpenAPI document and the interactive docs (assets built into the binary).
pub fn router(openapi: utoipa::openapi::OpenApi) -> Router<App> {
    Router::new().merge(SwaggerUi::new("/docs").url("/api/openapi.json", openapi))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", security(()), responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// The database answers (503 `unavailable` with `Retry-After` when it does not).
#[utoipa::path(get, path = "/readyz", tag = "ops", security(()), responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn readyz(State(app): State<App>) -> ApiResult<Json<Health>> {
    app.ready().await?;
    Ok(Json(Health { status: "ready".into() }))
}

/// Adds `X-Cohort-Revision` to the answers of writes: the change-log position this instance
/// has applied, which a later check may pass as `at_least_revision` (read-your-writes across
/// instances).
pub async fn revision(
    axum::extract::State(app): State<App>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let write = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    let mut res = next.run(req).await;
    if write && let Ok(v) = axum::http::HeaderValue::from_str(&app.index().revision().to_string()) {
        res.headers_mut().insert("x-cohort-revision", v);
    }
    res
}
