//! The admin console: a page and its script and styles, built into the binary and served at
//! `/console/`. It is a client of the native API like any other (`console/console.js`); a
//! browser asking for `/` (or `/admin`, or PocketBase's `/_/`) is sent there.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use cohort_app::App;

const PAGE: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLES: &str = include_str!("../console/console.css");

/// The page may run its own script and call this origin, and nothing else; it is never
/// framed (clickjacking).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                      form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(root))
        .route("/_/", get(root))
        .route("/admin", get(root))
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(|| async { asset(PAGE, "text/html; charset=utf-8") }))
        .route("/console/index.html", get(|| async { asset(PAGE, "text/html; charset=utf-8") }))
        .route("/console/console.js", get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/console/console.css", get(|| async { asset(STYLES, "text/css; charset=utf-8") }))
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The assets change with the binary: a browser asks again each time.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// A browser is sent to the console; an API client gets the API's 404.
async fn root(headers: HeaderMap) -> Response {
    let browser = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if browser { Redirect::to("/console/").into_response() } else { crate::error::no_route().await.into_response() }
}
