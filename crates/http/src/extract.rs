//! Request pieces shared by every surface, each refusing bad input with a core error.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cohort_app::App;
use cohort_core::Error;
use cohort_core::auth::Principal;
use cohort_core::policy::table::{Operation, Who};
use serde::de::DeserializeOwned;

/// The secret a request carries: `Authorization: Bearer …`, a bare `Authorization` value
/// (as the PocketBase SDK sends it), or `X-API-Key`.
pub fn credential(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        let token = match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => v,
        };
        if !token.is_empty() {
            return Some(token);
        }
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The authenticated caller; 401 without valid credentials, 403 when the credential lacks
/// the scope the route's operation needs ([`crate::routes`]), whatever the handler does.
pub struct Auth(pub std::sync::Arc<Principal>);

/// The operation of the route a request matched; a route missing from the table is refused
/// for everyone (and logged), so a new route cannot go out without a rule.
pub fn route_operation(parts: &Parts) -> Result<Operation, Error> {
    let path = parts.extensions.get::<axum::extract::MatchedPath>().map(|m| m.as_str()).unwrap_or("");
    crate::routes::operation(&parts.method, path).ok_or_else(|| {
        tracing::error!(method = %parts.method, %path, "a route that is not in the policy table was called");
        Error::denied("this route has no rule in the policy table")
    })
}

/// The caller holding `secret`, named by kind on the request's log span (the access log says
/// which kind of credential was used, never which one).
pub async fn authenticate(app: &App, secret: &str) -> Result<std::sync::Arc<Principal>, Error> {
    let p = app.authenticate(secret).await?;
    tracing::Span::current().record("principal", p.kind());
    Ok(p)
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let op = route_operation(parts)?;
        let secret = credential(&parts.headers).ok_or_else(|| Error::Unauthenticated("authentication required".into()))?;
        let p = authenticate(app, secret).await?;
        let rule = op.rule();
        // A user reads their own record whatever their credential's scopes; everything else
        // needs the scope before any handler decides.
        if let Some(scope) = rule.scope
            && rule.who != Who::SelfOrReader
        {
            p.require(scope)?;
        }
        Ok(Auth(p))
    }
}

/// A caller of the scoped admin API (seed 004): [`Auth`], and for a user's credential the
/// route's scope held through their groups' scope sets as well ([`App::scoped_api`]).
pub struct ScopedAuth(pub std::sync::Arc<Principal>);

impl FromRequestParts<App> for ScopedAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Auth(p) = Auth::from_request_parts(parts, app).await?;
        if let Some(scope) = route_operation(parts)?.rule().scope {
            app.scoped_api(&p, scope).await?;
        }
        Ok(ScopedAuth(p))
    }
}

/// A JSON body read whatever its content type, with errors that name the field.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let route = route_of(&req);
        let bytes = read_body(req.into_body()).await?;
        Ok(Body(parse_checked(route, &bytes)?))
    }
}

/// The method and route template a request matched, for [`parse_checked`].
fn route_of(req: &Request) -> Option<(axum::http::Method, axum::extract::MatchedPath)> {
    let path = req.extensions().get::<axum::extract::MatchedPath>()?;
    Some((req.method().clone(), path.clone()))
}

/// Parses a body and refuses an array where the operation documents an object (see
/// [`crate::shape`]); only bodies with an array anywhere are looked at.
fn parse_checked<T: DeserializeOwned>(
    route: Option<(axum::http::Method, axum::extract::MatchedPath)>,
    bytes: &[u8],
) -> Result<T, ApiError> {
    if let Some((method, path)) = route.filter(|_| bytes.contains(&b'['))
        && let Some(at) = crate::shape::misplaced_array(&method, path.as_str(), bytes)
    {
        return Err(Error::invalid(format!("{at}: expected an object, not an array")).into());
    }
    parse_json(bytes)
}

/// Why a body could not be read.
pub enum Unread {
    /// Longer than [`crate::BODY_LIMIT`] (413).
    TooLarge,
    /// The connection failed mid-body, or the like.
    Failed(String),
}

/// Reads a whole request body, at most [`crate::BODY_LIMIT`] bytes: every surface's body
/// extractor and the idempotency check read through here (rather than a router-wide limit
/// layer, which wraps each route in a second service and boxes another future on every
/// request).
pub async fn limited_body(body: axum::body::Body) -> Result<Bytes, Unread> {
    axum::body::to_bytes(body, crate::BODY_LIMIT).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.is::<http_body_util::LengthLimitError>() { Unread::TooLarge } else { Unread::Failed(inner.to_string()) }
    })
}

/// Reads the whole body, refusing one over [`crate::BODY_LIMIT`] with 413.
pub async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
    limited_body(body).await.map_err(|e| {
        ApiError(match e {
            Unread::TooLarge => Error::PayloadTooLarge(format!("the body is larger than {} bytes", crate::BODY_LIMIT)),
            Unread::Failed(e) => Error::invalid(format!("could not read the body: {e}")),
        })
    })
}

/// Parses JSON with the path of the offending field in the message.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("a JSON body is required").into());
    }
    // Most bodies are fine and read straight; a refused one is read again, keeping the path
    // to the offending field for the message (tracking the path slows every parse).
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let first = read_typed(&mut de).and_then(|v| {
        // Anything after the value but whitespace is not JSON of one value.
        de.end().map_err(|e| format!("{e} after the JSON value"))?;
        Ok(v)
    });
    match first {
        Err(e) if e.contains("invalid type: floating point") => {
            // JSON Schema counts `5.0` as an integer, serde does not: read whole-valued
            // numbers as integers and try once more (only bodies that failed pay for it).
            let mut value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("invalid JSON body: {e}")))?;
            whole_numbers_as_integers(&mut value);
            read_typed(value).map_err(|m| ApiError(Error::invalid(format!("invalid JSON body: {m}"))))
        }
        other => other.map_err(|m| ApiError(Error::invalid(format!("invalid JSON body: {m}")))),
    }
}

/// Deserializes with the path of the offending field in the message.
fn read_typed<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(de: D) -> Result<T, String> {
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." { inner.to_string() } else { format!("{path}: {inner}") }
    })
}

fn whole_numbers_as_integers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0) {
                *n = serde_json::Number::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// Query parameters; a bad value is 400 `invalid_request`.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        parse_query(q).map(Query)
    }
}

/// Parses a query string into `T`.
pub fn parse_query<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{q}").parse().map_err(|_| Error::invalid("bad query string"))?)
        .map(|axum::extract::Query(v)| v)
        .map_err(|e| ApiError(Error::invalid(format!("invalid query: {}", e.body_text()))))
}

/// Path parameters; a bad value is 404.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|_| ApiError(Error::NotFound("resource")))
    }
}

/// `If-Match`: the version the caller read. `*` or no header accepts any version; an ETag
/// of ours (`"3"`, `W/"3"`) names one. Anything else cannot be read, so it is refused (400):
/// ignoring it would let a stale write through.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(raw) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let raw = raw.to_str().map_err(|_| Error::invalid("If-Match must be an ETag such as \"3\" or *"))?;
        Ok(IfMatch::parse(raw)?)
    }
}

impl IfMatch {
    /// Reads an `If-Match` value (also a SCIM bulk operation's `version`).
    pub fn parse(raw: &str) -> Result<IfMatch, Error> {
        let raw = raw.trim();
        // An empty header names no version; `*` matches any.
        if raw == "*" || raw.is_empty() {
            return Ok(IfMatch(None));
        }
        let v = raw.strip_prefix("W/").unwrap_or(raw);
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        // A value that reads as an ETag but is no version of ours can never match (412).
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b',') {
            return Ok(IfMatch(Some(v.parse().unwrap_or(-1))));
        }
        Err(Error::invalid("If-Match must be an ETag such as \"3\" or *"))
    }
}

/// A response with `ETag: "<version>"`.
pub fn with_etag(version: i64, status: StatusCode, body: impl IntoResponse) -> Response {
    let mut res = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// A JSON body that may be left out: an empty body reads as `T::default()`.
pub struct BodyOrDefault<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for BodyOrDefault<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let route = route_of(&req);
        let bytes = read_body(req.into_body()).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.as_ref() == b"null" {
            return Ok(BodyOrDefault(T::default()));
        }
        Ok(BodyOrDefault(parse_checked(route, &bytes)?))
    }
}
