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
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Metrics in the OpenMetrics text format Prometheus scrapes: requests by route, method and status and their
/// latency, requests in flight, the access index (revision, lag, size), checks by kind and
/// outcome, sign-ins by outcome, database connections.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "ops", security(()),
    responses((status = 200, description = "The OpenMetrics text format", content_type = "application/openmetrics-text", body = String,
        example = json!("# HELP cohort_index_revision The change-log position this instance's access index has applied.\n# TYPE cohort_index_revision gauge\ncohort_index_revision 42\n"))))]
async fn metrics(
    State(app): State<App>,
    requests: Option<axum::Extension<std::sync::Arc<crate::metrics::Requests>>>,
) -> axum::response::Response {
    crate::metrics::scrape(app, requests.map(|r| r.0)).await
}

/// The OpenAPI document and the interactive docs (assets built into the binary). The docs
/// page is Cohort's own, titled for the product; Swagger UI's assets are under `/docs/ui/`.
pub fn router(openapi: serde_json::Value) -> Router<App> {
    Router::new()
        .route("/docs", axum::routing::get(|| async { axum::response::Redirect::permanent("/docs/") }))
        .route("/docs/", axum::routing::get(docs_page))
        .route("/docs/index.html", axum::routing::get(docs_page))
        .merge(SwaggerUi::new("/docs/ui").external_url_unchecked("/api/openapi.json", openapi))
}

async fn docs_page() -> axum::response::Html<&'static str> {
    axum::response::Html(DOCS_PAGE)
}

const DOCS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>Cohort API</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" type="text/css" href="/docs/ui/swagger-ui.css">
  <link rel="stylesheet" type="text/css" href="/docs/ui/index.css">
  <link rel="icon" type="image/png" href="/docs/ui/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/ui/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="/docs/ui/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="/docs/ui/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
"#;

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "getHealth", tag = "ops", security(()), responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// The database answers (503 `unavailable` with `Retry-After` when it does not).
#[utoipa::path(get, path = "/readyz", operation_id = "getReadiness", tag = "ops", security(()), responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn readyz(State(app): State<App>) -> ApiResult<Json<Health>> {
    app.ready().await?;
    Ok(Json(Health { status: "ready".into() }))
}

/// Until the access index is built, every request but the probes and the API document is
/// answered 503 `not_ready` with `Retry-After`: an answer from an empty index would be wrong.
pub fn refuse_until_built(app: &App, req: &axum::extract::Request) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    if app.index().is_built() {
        return None;
    }
    let path = req.uri().path();
    let always = matches!(path, "/healthz" | "/readyz" | "/metrics" | "/api/openapi.json") || path.starts_with("/docs");
    match app.index_built() {
        Err(e) if !always => Some(crate::error::ApiError(e).into_response()),
        _ => None,
    }
}

/// Adds `X-Cohort-Revision` to an answer: the change-log position this instance has
/// applied (after a write, at least that write's), which a later check may pass as
/// `at_least_revision` (read-your-writes across instances).
pub fn stamp_revision(app: &App, res: &mut axum::response::Response) {
    const REVISION: axum::http::HeaderName = axum::http::HeaderName::from_static("x-cohort-revision");
    res.headers_mut().insert(REVISION, axum::http::HeaderValue::from(app.index().revision()));
}
