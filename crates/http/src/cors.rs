//! Cross-origin requests from browser apps (`--cors-origins`): which origins may call the API
//! from a page, the preflight answer, and which answer headers their scripts may read.
//!
//! Off unless origins are configured (a server with none answers no `Access-Control-*`
//! header, and its routes pay nothing). Credentials are bearer tokens in `Authorization`,
//! never cookies, so `Access-Control-Allow-Credentials` is never sent: a page must hold a
//! token to act, and an allowed origin cannot ride on a browser's ambient session.

use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use std::time::Duration;
use tower::Layer;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// The answer headers a script on an allowed origin may read, beside the always-readable ones.
const EXPOSED: [&str; 4] = ["etag", "x-cohort-revision", "retry-after", "location"];

/// The allowed origins as configured: exact origins (`https://app.example.com`), or `*` for
/// any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    #[default]
    None,
    Any,
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Reads `--cors-origins` values; an origin is `scheme://host[:port]`, nothing after it.
    pub fn parse(values: &[String]) -> Result<CorsOrigins, String> {
        let values: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            return Ok(CorsOrigins::None);
        }
        if values.contains(&"*") {
            if values.len() > 1 {
                return Err("--cors-origins: `*` allows every origin; list origins or give `*` alone".into());
            }
            return Ok(CorsOrigins::Any);
        }
        let mut out = Vec::new();
        for v in values {
            let (scheme, rest) = v.split_once("://").ok_or_else(|| format!("--cors-origins: {v} is not an origin (https://host)"))?;
            if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
                return Err(format!("--cors-origins: {v} is not an origin (scheme://host[:port], no path)"));
            }
            out.push(HeaderValue::from_str(v).map_err(|_| format!("--cors-origins: {v} is not an origin"))?);
        }
        Ok(CorsOrigins::List(out))
    }
}

/// An answer made before the router (a rate limit, a deadline, an index still building),
/// with the same CORS headers the router's answers get: a page must be able to read a 429's
/// `Retry-After` as well as a 200.
pub async fn decorate(layer: &CorsLayer, method: Method, origin: Option<HeaderValue>, res: Response) -> Response {
    use tower::{ServiceExt, service_fn};
    let Some(origin) = origin else { return res };
    let mut req = axum::extract::Request::new(axum::body::Body::empty());
    *req.method_mut() = method;
    req.headers_mut().insert(header::ORIGIN, origin);
    // Called once: the answer moves out on that call.
    let mut res = Some(res);
    let answered = service_fn(move |_| std::future::ready(Ok::<_, std::convert::Infallible>(res.take().unwrap_or_default())));
    match layer.clone().layer(answered).oneshot(req).await {
        Ok(res) => res.map(axum::body::Body::new),
        Err(never) => match never {},
    }
}

/// The CORS layer for `origins` (none when there are none).
pub fn layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow = match origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.clone()),
    };
    let layer = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        // Whatever headers the page asks to send (Authorization, If-Match, Idempotency-Key, a
        // client's own): no cookie rides along, so a header grants nothing by itself.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(EXPOSED.map(HeaderName::from_static))
        .max_age(Duration::from_secs(600))
        .vary([header::ORIGIN, header::ACCESS_CONTROL_REQUEST_METHOD, header::ACCESS_CONTROL_REQUEST_HEADERS]);
    Some(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_strictly() {
        assert_eq!(CorsOrigins::parse(&[]), Ok(CorsOrigins::None));
        assert_eq!(CorsOrigins::parse(&["*".into()]), Ok(CorsOrigins::Any));
        assert!(
            matches!(CorsOrigins::parse(&["https://a.example".into(), "http://localhost:5173".into()]), Ok(CorsOrigins::List(l)) if l.len() == 2)
        );
        for bad in ["a.example", "https://a.example/app", "ftp://a.example", "https://"] {
            assert!(CorsOrigins::parse(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(CorsOrigins::parse(&["*".into(), "https://a.example".into()]).is_err());
    }
}
