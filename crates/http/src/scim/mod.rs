//! SCIM 2.0 (RFC 7643/7644) at `/scim/v2`, as identity providers (Okta, Entra ID) drive it:
//! discovery, `Users` and `Groups` with filters, paging, PUT and PATCH.
//!
//! A plain axum router (not the OpenAPI one): SCIM documents itself through its discovery
//! endpoints. Callers are API keys with the `scim` scope bound to a space; the rules of what
//! such a key may do live in [`cohort_app::scim`]. Every response is
//! `application/scim+json`, and every error, extractor rejections included, has SCIM's
//! error body (`status` as a string, `scimType` where one applies).

mod bulk;
mod discovery;
mod groups;
mod kept;
mod users;

use crate::extract::{Unread, credential, parse_query};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use cohort_app::App;
use cohort_app::scim::ScimCaller;
use cohort_core::Error;
use cohort_core::scim_filter::{self, Filter};
use serde_json::{Map, Value, json};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub use cohort_core::scim_filter::{GROUP_SCHEMA, USER_SCHEMA};
pub const CONTENT_TYPE: &str = "application/scim+json";
/// The enterprise User extension (RFC 7643 §4.3), kept as the directory wrote it.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The most resources one list answers (`filter.maxResults`).
pub const MAX_COUNT: i64 = 1000;
/// Resources per list page when the caller does not say.
pub const DEFAULT_COUNT: i64 = 100;

pub fn router() -> Router<App> {
    Router::new()
        .route("/scim/v2/ServiceProviderConfig", get(discovery::service_provider_config).fallback(no_method))
        .route("/scim/v2/ResourceTypes", get(discovery::resource_types).fallback(no_method))
        .route("/scim/v2/ResourceTypes/{id}", get(discovery::resource_type).fallback(no_method))
        .route("/scim/v2/Schemas", get(discovery::schemas).fallback(no_method))
        .route("/scim/v2/Schemas/{id}", get(discovery::schema).fallback(no_method))
        .route("/scim/v2/Users", get(users::list).post(users::create).fallback(no_method))
        .route("/scim/v2/Users/.search", post(users::search).fallback(no_method))
        .route("/scim/v2/Users/{id}", get(users::get).put(users::replace).patch(users::patch).delete(users::delete).fallback(no_method))
        .route("/scim/v2/Groups", get(groups::list).post(groups::create).fallback(no_method))
        .route("/scim/v2/Groups/.search", post(groups::search).fallback(no_method))
        .route(
            "/scim/v2/Groups/{id}",
            get(groups::get).put(groups::replace).patch(groups::patch).delete(groups::delete).fallback(no_method),
        )
        .route("/scim/v2/.search", post(search_all).fallback(no_method))
        .route("/scim/v2/Bulk", post(bulk::bulk).fallback(no_method))
        .route("/scim/v2/Me", get(users::me).fallback(no_method))
        .route("/scim/v2", any(not_found))
        .route("/scim/v2/", any(not_found))
        .route("/scim/v2/{*rest}", any(not_found))
        .layer(axum::middleware::from_fn(scim_layer))
}

/// `POST /.search` at the root: users, then groups, as one list (see
/// [`App::scim_search_all`]).
async fn search_all(axum::extract::State(app): axum::extract::State<App>, s: Scim, ScimJson(body): ScimJson) -> ScimResult {
    let q = ListQuery::from_search(&body)?;
    let (total, users, groups) = app.scim_search_all(&s.caller, q.filter.as_ref(), q.sort.as_ref(), q.start, q.count).await?;
    let mut resources = users::render(&app, &s, &users, &q.projection).await?;
    resources.extend(groups::render(&app, &s, &groups, &q.projection).await?);
    Ok(list_response(total, q.start, resources))
}

/// A method the path does not take (the router's own 405 would answer the native body).
async fn no_method() -> ScimError {
    ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, "this path does not take that method")
}

async fn not_found() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, "no such SCIM endpoint; see /scim/v2/ResourceTypes")
}

/// A SCIM error: `{"schemas": [Error], "status": "400", "scimType": "…", "detail": "…"}`.
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into() }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidValue", detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidSyntax", detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::bad("mutability", detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::bad("noTarget", detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::bad("invalidPath", detail)
    }
}

/// SCIM's status and `scimType` for a native status and error code.
fn scim_of(status: StatusCode, code: &str) -> (StatusCode, Option<&'static str>) {
    match code {
        "invalid_request" => (StatusCode::BAD_REQUEST, Some("invalidSyntax")),
        "invalid_filter" => (StatusCode::BAD_REQUEST, Some("invalidFilter")),
        "validation_failed" | "group_full" | "cycle" => (StatusCode::BAD_REQUEST, Some("invalidValue")),
        "name_taken" | "conflict" | "member_exists" => (StatusCode::CONFLICT, Some("uniqueness")),
        _ => (status, None),
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        let (status, body) = crate::error::body(&e);
        let (status, scim_type) = scim_of(status, body["error"].as_str().unwrap_or(""));
        let detail = match &e {
            // The field is named in the text already ("username: must be …").
            Error::Validation { .. } | Error::GroupFull { .. } => e.to_string(),
            _ => body["message"].as_str().unwrap_or("error").to_string(),
        };
        ScimError { status, scim_type, detail }
    }
}

impl ScimError {
    /// The error's body (also a bulk operation's `response`).
    pub fn body(&self) -> Value {
        let mut body = json!({"schemas": [ERROR_SCHEMA], "status": self.status.as_u16().to_string(), "detail": self.detail});
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.body().to_string()).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"cohort-scim\""));
        }
        res
    }
}

pub type ScimResult<T = Response> = Result<T, ScimError>;

fn is_scim(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with(CONTENT_TYPE))
}

/// Gives every response SCIM's content type, and rewrites errors made outside the SCIM
/// handlers (the router's 405, a native body) into SCIM's error body.
async fn scim_layer(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status().as_u16() >= 400 && !is_scim(res.headers()) {
        let status = res.status();
        let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap_or_default();
        let native: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let (status, scim_type) = scim_of(status, native["error"].as_str().unwrap_or(""));
        let detail = native["message"].as_str().map(str::to_string).unwrap_or_else(|| status.canonical_reason().unwrap_or("error").into());
        return ScimError::new(status, scim_type, detail).into_response();
    }
    let (mut parts, body) = res.into_parts();
    let json = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if json {
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    }
    Response::from_parts(parts, body)
}

/// The authenticated SCIM caller, and the base URL resources are located under.
#[derive(Clone)]
pub struct Scim {
    pub caller: ScimCaller,
    pub base: String,
}

impl FromRequestParts<App> for Scim {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let who = Subject::from_request_parts(parts, app).await?;
        Ok(Scim { caller: app.scim_caller(&who.principal)?, base: who.base })
    }
}

/// Whoever a credential belongs to (any credential, not only SCIM's: `/Me` takes a user's
/// own), and the base URL.
pub struct Subject {
    pub principal: std::sync::Arc<cohort_core::auth::Principal>,
    pub base: String,
}

impl FromRequestParts<App> for Subject {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        crate::extract::route_operation(parts)?;
        let secret = credential(&parts.headers).ok_or_else(|| {
            ScimError::new(
                StatusCode::UNAUTHORIZED,
                None,
                "authentication required: send your key or token as Authorization: Bearer <secret>",
            )
        })?;
        let principal = crate::extract::authenticate(app, secret).await?;
        Ok(Subject { principal, base: base_url(&parts.headers) })
    }
}

/// `http://host/scim/v2` from the request's `Host` (and `X-Forwarded-Proto`).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty() && h.len() <= 255 && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let proto = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    format!("{proto}://{host}/scim/v2")
}

/// A JSON object body sent as `application/scim+json` or `application/json`.
pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ScimError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let media = ct.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if !(media.is_empty() || media == "application/json" || media == CONTENT_TYPE) {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!("send the body as {CONTENT_TYPE} or application/json, not {media}"),
                ));
            }
        }
        let bytes = crate::extract::limited_body(req.into_body()).await.map_err(|e| match e {
            Unread::TooLarge => {
                ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, format!("the body is larger than {} bytes", crate::BODY_LIMIT))
            }
            Unread::Failed(e) => ScimError::invalid_syntax(format!("could not read the body: {e}")),
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ScimError::invalid_syntax("a JSON body is required"));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| ScimError::invalid_syntax(format!("the body is not JSON: {e}")))?;
        if !v.is_object() {
            return Err(ScimError::invalid_syntax("the body must be a JSON object"));
        }
        Ok(ScimJson(v))
    }
}

/// Which attributes a response carries (`attributes`, `excludedAttributes`), lower-cased
/// and without schema URNs.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

/// Attribute names, lower-cased: a core attribute by its name (`name.givenName`), an
/// extension's as `<its schema>.<attribute>` (the extension is one key of the resource), the
/// whole extension by its schema.
fn attr_list(raw: &str) -> Vec<String> {
    let extension = ENTERPRISE_SCHEMA.to_lowercase();
    raw.split(',')
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .map(|a| match a.strip_prefix(&extension) {
            Some("") => a.clone(),
            Some(rest) if rest.starts_with(':') => format!("{extension}.{}", &rest[1..]),
            _ => a.rsplit_once(':').map_or(a.as_str(), |(_, rest)| rest).to_string(),
        })
        .collect()
}

impl Projection {
    fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Projection { attributes: attributes.map(attr_list).unwrap_or_default(), excluded: excluded.map(attr_list).unwrap_or_default() }
    }

    /// Whether the response shows top-level attribute `name` (lower case) at all.
    pub fn wants(&self, name: &str) -> bool {
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(|a| a == name || a.strip_prefix(name).is_some_and(|r| r.starts_with('.')));
        }
        !self.excluded.iter().any(|a| a == name)
    }

    /// Trims a resource to what was asked for; `id` and `schemas` always stay.
    pub fn apply(&self, mut v: Value) -> Value {
        let Some(obj) = v.as_object_mut() else {
            return v;
        };
        let keys: Vec<String> = obj.keys().cloned().collect();
        for k in keys {
            let kl = k.to_lowercase();
            if kl == "id" || kl == "schemas" {
                continue;
            }
            let prefix = format!("{kl}.");
            if !self.attributes.is_empty() {
                if self.attributes.contains(&kl) {
                    continue;
                }
                let subs: Vec<&str> = self.attributes.iter().filter_map(|a| a.strip_prefix(&prefix)).collect();
                if subs.is_empty() {
                    obj.remove(&k);
                } else if let Some(inner) = obj.get_mut(&k) {
                    keep_subs(inner, &subs);
                }
            } else if self.excluded.contains(&kl) {
                obj.remove(&k);
            } else {
                let subs: Vec<&str> = self.excluded.iter().filter_map(|a| a.strip_prefix(&prefix)).collect();
                if let (false, Some(inner)) = (subs.is_empty(), obj.get_mut(&k)) {
                    drop_subs(inner, &subs);
                }
            }
        }
        v
    }
}

fn keep_subs(v: &mut Value, subs: &[&str]) {
    match v {
        Value::Object(o) => o.retain(|k, _| subs.contains(&k.to_lowercase().as_str())),
        Value::Array(a) => a.iter_mut().for_each(|e| keep_subs(e, subs)),
        _ => {}
    }
}

fn drop_subs(v: &mut Value, subs: &[&str]) {
    match v {
        Value::Object(o) => o.retain(|k, _| !subs.contains(&k.to_lowercase().as_str())),
        Value::Array(a) => a.iter_mut().for_each(|e| drop_subs(e, subs)),
        _ => {}
    }
}

/// A list request: `filter`, `sortBy`/`sortOrder`, `startIndex` (1-based), `count`, and the
/// projection.
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<scim_filter::SortBy>,
    pub start: i64,
    pub count: i64,
    pub projection: Projection,
}

fn query_pairs(q: Option<&str>) -> ScimResult<Vec<(String, String)>> {
    parse_query::<Vec<(String, String)>>(q.unwrap_or("")).map_err(|e| ScimError::from(e.0))
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn number(pairs: &[(String, String)], name: &str) -> ScimResult<Option<i64>> {
    match param(pairs, name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {v:?}"))),
    }
}

impl ListQuery {
    pub fn from_uri(q: Option<&str>) -> ScimResult<Self> {
        let pairs = query_pairs(q)?;
        let filter = match param(&pairs, "filter").filter(|f| !f.trim().is_empty()) {
            Some(f) => Some(scim_filter::parse(f)?),
            None => None,
        };
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
        let start = number(&pairs, "startIndex")?.unwrap_or(1).max(1);
        let count = number(&pairs, "count")?.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT);
        let sort = match param(&pairs, "sortBy").filter(|b| !b.trim().is_empty()) {
            Some(by) => Some(scim_filter::parse_sort(by, param(&pairs, "sortOrder"))?),
            None => None,
        };
        Ok(ListQuery { filter, sort, start, count, projection: projection(&pairs) })
    }
}

/// The schema of a `POST …/.search` body (RFC 7644 §3.4.3).
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

impl ListQuery {
    /// A `POST …/.search` body: the list parameters of a GET as JSON members (`attributes`
    /// and `excludedAttributes` as arrays of names), for filters too long or too private
    /// for a URL.
    pub fn from_search(body: &Value) -> ScimResult<Self> {
        if let Some(schemas) = get_ci(body, "schemas")
            && !schemas.as_array().is_some_and(|a| a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_SCHEMA))))
        {
            return Err(ScimError::invalid_syntax(format!("a search request's schemas are [\"{SEARCH_SCHEMA}\"]")));
        }
        let text = |name: &str| -> ScimResult<Option<String>> {
            match get_ci(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(ScimError::invalid_value(format!("{name} must be a string, not {other}"))),
            }
        };
        let names = |name: &str| -> ScimResult<Option<String>> {
            match get_ci(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|v| v.as_str().ok_or_else(|| ScimError::invalid_value(format!("{name} must list attribute names"))))
                    .collect::<ScimResult<Vec<&str>>>()
                    .map(|v| Some(v.join(","))),
                Some(other) => Err(ScimError::invalid_value(format!("{name} must be an array of attribute names, not {other}"))),
            }
        };
        let int = |name: &str| -> ScimResult<Option<i64>> {
            match get_ci(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer, not {v}"))),
            }
        };
        let filter = match text("filter")?.filter(|f| !f.trim().is_empty()) {
            Some(f) => Some(scim_filter::parse(&f)?),
            None => None,
        };
        let sort = match text("sortBy")?.filter(|b| !b.trim().is_empty()) {
            Some(by) => Some(scim_filter::parse_sort(&by, text("sortOrder")?.as_deref())?),
            None => None,
        };
        Ok(ListQuery {
            filter,
            sort,
            start: int("startIndex")?.unwrap_or(1).max(1),
            count: int("count")?.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT),
            projection: Projection::new(names("attributes")?.as_deref(), names("excludedAttributes")?.as_deref()),
        })
    }
}

fn projection(pairs: &[(String, String)]) -> Projection {
    Projection::new(param(pairs, "attributes"), param(pairs, "excludedAttributes"))
}

/// The projection of a single-resource request.
pub fn projection_of(q: Option<&str>) -> ScimResult<Projection> {
    Ok(projection(&query_pairs(q)?))
}

/// `meta` of a resource.
pub fn meta(resource_type: &str, created: i64, modified: i64, version: i64, location: &str) -> Value {
    json!({
        "resourceType": resource_type,
        "created": cohort_core::time::rfc3339(created),
        "lastModified": cohort_core::time::rfc3339(modified),
        "location": location,
        "version": etag(version),
    })
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// `304 Not Modified` for a read whose `If-None-Match` names the resource's current version
/// (or is `*`); `None` when the resource is to be sent. Tags compare weakly, as RFC 9110
/// asks of `If-None-Match`.
pub fn not_modified(headers: &HeaderMap, version: i64) -> Option<Response> {
    let ours = version.to_string();
    let matches = headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) == Some(ours.as_str())
    });
    matches.then(|| {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag(version)) {
            res.headers_mut().insert(header::ETAG, v);
        }
        res
    })
}

/// A single resource with its `ETag` (and `Location` when created).
pub fn resource(status: StatusCode, version: i64, location: Option<&str>, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        h.insert(header::ETAG, v);
    }
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        h.insert(header::LOCATION, l);
    }
    res
}

/// A `ListResponse`.
pub fn list_response(total: i64, start: i64, resources: Vec<Value>) -> Response {
    let body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    json_response(StatusCode::OK, body)
}

pub fn json_response(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res
}

pub fn no_content() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    *res.body_mut() = Body::empty();
    res
}

/// A PATCH operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

/// One operation of a PATCH body, its path parsed.
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<scim_filter::PatchPath>,
    pub value: Option<Value>,
}

/// Reads a `PatchOp` body: `Operations` of `op` (any case, as Entra ID sends `Replace`),
/// optional `path` and `value`.
pub fn patch_ops(body: &Value) -> ScimResult<Vec<PatchOp>> {
    let ops = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs Operations, a list of {op, path, value}"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("Operations is empty"));
    }
    let mut out = Vec::with_capacity(ops.len());
    for (i, o) in ops.iter().enumerate() {
        if !o.is_object() {
            return Err(ScimError::invalid_syntax(format!("Operations[{i}] is not an object")));
        }
        let name = get_ci(o, "op").and_then(Value::as_str).unwrap_or("");
        let op = match name.to_ascii_lowercase().as_str() {
            "add" => OpKind::Add,
            "remove" => OpKind::Remove,
            "replace" => OpKind::Replace,
            _ => return Err(ScimError::invalid_syntax(format!("Operations[{i}].op must be add, remove or replace, not {name:?}"))),
        };
        let path = match get_ci(o, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => {
                Some(scim_filter::parse_path(p).map_err(|e| ScimError::invalid_path(format!("Operations[{i}].path {p:?}: {e}")))?)
            }
            Some(_) => return Err(ScimError::invalid_path(format!("Operations[{i}].path must be a string"))),
        };
        let value = get_ci(o, "value").filter(|v| !v.is_null()).cloned();
        if op != OpKind::Remove && value.is_none() {
            return Err(ScimError::invalid_value(format!("Operations[{i}] ({name}) needs a value")));
        }
        if op == OpKind::Remove && path.is_none() {
            return Err(ScimError::no_target(format!("Operations[{i}]: remove needs a path")));
        }
        out.push(PatchOp { op, path, value });
    }
    Ok(out)
}

pub use scim_filter::get_ci;

/// Whether a path's schema URN, if any, is `schema`; attributes of other schemas (such as
/// the enterprise extension) are not kept, and writes to them are ignored.
pub fn own_schema(urn: Option<&str>, schema: &str) -> bool {
    urn.is_none_or(|u| u.eq_ignore_ascii_case(schema))
}

/// A text attribute's new value: a string, or null / absent to clear it.
pub fn opt_string(name: &str, v: Option<&Value>) -> ScimResult<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ScimError::invalid_value(format!("{name} must be a string, not {other}"))),
    }
}

/// A boolean, also in the string form Entra ID sends (`"False"`).
pub fn boolean(name: &str, v: &Value) -> ScimResult<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!("{name} must be true or false, not {other}"))),
    }
}

/// The objects of a pathless operation's value, keyed by path.
pub fn value_object(v: &Value) -> ScimResult<&Map<String, Value>> {
    v.as_object().ok_or_else(|| ScimError::invalid_value("an operation without a path needs an object of attributes as its value"))
}
