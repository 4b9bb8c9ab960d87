//! Seed 000: the PocketBase-style surface — `groups` and `group_members` collections, the
//! posts list, the auth routes and the realtime subscriptions the `pocketbase` JavaScript
//! SDK calls. PocketBase envelopes, camelCase fields, its timestamp form and its error body.
//! A group's `moderators` are its owners; a `group_members` role is the membership's role.

use super as dialect;
use crate::error::ApiResult;
use crate::extract::{Auth, Body, IfMatch, Path, Query, with_etag};
use crate::limits::{Client, Deadline};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cohort_app::App;
use cohort_app::groups::GroupFilter;
use cohort_app::members::{MemberPatch, NewMember};
use cohort_app::realtime::{Connection, Record};
use cohort_core::auth::Principal;
use cohort_core::group::{GroupInput, GroupPatch};
use cohort_core::list::parse_sort;
use cohort_core::list::{Listing, Paging};
use cohort_core::model::{Group, Member, Post, User, Visibility};
use cohort_core::page::{Page, PageRequest};
use cohort_core::policy::site;
use cohort_core::{Error, Result, time};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/collections/users/auth-with-password", post(auth_with_password))
        .route("/api/collections/users/auth-refresh", post(auth_refresh))
        .route("/api/collections/groups/records", get(list_groups).post(create_group))
        .route("/api/collections/groups/records/{id}", get(get_group).patch(update_group).delete(delete_group))
        .route("/api/collections/group_members/records", get(list_members).post(create_member))
        .route("/api/collections/group_members/records/{id}", get(get_member).patch(update_member).delete(delete_member))
        .route("/api/posts", get(list_posts))
        .route("/api/realtime", get(realtime_connect).post(realtime_subscribe))
        .layer(axum::middleware::from_fn(|req, next| dialect::errors(render_error, req, next)))
}

/// PocketBase's error body: `{status, message, data}`, validation failures as 400 with
/// `data.{field}: {code, message}`.
fn render_error(status: StatusCode, native: &Value) -> (StatusCode, Value) {
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { status };
    let message = native["message"].as_str().unwrap_or("Something went wrong while processing your request.").to_string();
    let mut data = Map::new();
    if let Some(field) = native["field"].as_str() {
        let code = if message.contains("must not be empty") || message.contains("required") {
            "validation_required"
        } else {
            "validation_invalid_value"
        };
        data.insert(field.to_string(), json!({"code": code, "message": message}));
    }
    (status, json!({"status": status.as_u16(), "message": message, "data": data}))
}

const GROUPS_ID: &str = "pbc_cohort_groups";
const MEMBERS_ID: &str = "pbc_cohort_group_members";
const USERS_ID: &str = "_pb_users_auth_";
const POSTS_ID: &str = "pbc_cohort_posts";

fn pb_time(ms: i64) -> String {
    time::pocketbase(ms)
}

/// A users record; as PocketBase does, `email` is empty unless the caller may see it.
fn user_record(u: &User, p: Option<&Principal>) -> Value {
    let shown = p.is_none_or(|p| site::sees_private_fields(p, &u.id));
    json!({
        "id": u.id, "collectionId": USERS_ID, "collectionName": "users", "username": u.username,
        "email": if shown { u.email.clone().unwrap_or_default() } else { String::new() }, "emailVisibility": shown,
        "verified": u.email_verified,
        "name": u.full_name.clone().unwrap_or_default(), "avatar": u.avatar_url.clone().unwrap_or_default(),
        "created": pb_time(u.created_at), "updated": pb_time(u.updated_at)
    })
}

fn group_record(g: &Group, moderators: &[String]) -> Value {
    json!({
        "id": g.id, "collectionId": GROUPS_ID, "collectionName": "groups", "name": g.name,
        "description": g.description.clone().unwrap_or_default(), "space": g.space_id,
        "isPublic": g.visibility == Visibility::Public, "moderators": moderators,
        "created": pb_time(g.created_at), "updated": pb_time(g.updated_at)
    })
}

fn member_record(m: &Member) -> Value {
    let ms = &m.membership;
    json!({
        "id": ms.id, "collectionId": MEMBERS_ID, "collectionName": "group_members", "group": ms.group_id,
        "user": ms.user_id, "role": ms.role, "status": ms.status.as_str(),
        "created": pb_time(ms.joined_at), "updated": pb_time(ms.updated_at)
    })
}

fn post_record(p: &Post) -> Value {
    json!({
        "id": p.id, "collectionId": POSTS_ID, "collectionName": "posts", "group": p.group_id,
        "author": p.author_id.clone().unwrap_or_default(), "title": p.title.clone().unwrap_or_default(),
        "content": p.body, "created": pb_time(p.created_at), "updated": pb_time(p.updated_at)
    })
}

/// PocketBase's list parameters, read leniently: bad numbers fall back, `perPage` is clamped.
#[derive(Debug, Default, Deserialize)]
struct ListParams {
    page: Option<String>,
    #[serde(rename = "perPage")]
    per_page: Option<String>,
    sort: Option<String>,
    filter: Option<String>,
    expand: Option<String>,
    #[serde(rename = "skipTotal")]
    skip_total: Option<String>,
}

impl ListParams {
    fn page(&self) -> PageRequest {
        let page = self.page.as_deref().and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(1).clamp(1, 1_000_000_000);
        let limit = self.per_page.as_deref().and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(30).clamp(1, 500);
        let skip = matches!(self.skip_total.as_deref(), Some("1" | "true" | "True" | "TRUE"));
        PageRequest { page, limit, with_total: !skip }
    }

    /// Filter, sort and page as the SDK sends them.
    fn listing(&self) -> Result<Listing> {
        Ok(Listing {
            filter: crate::native::schema::parse_filter(self.filter.as_deref())?,
            sort: parse_sort(self.sort.as_deref().unwrap_or(""))?,
            paging: Paging::Offset(self.page()),
            hide_private: false,
        })
    }

    fn expands(&self) -> Vec<String> {
        self.expand.as_deref().unwrap_or("").split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    }
}

fn envelope<T>(page: &Page<T>, items: Vec<Value>) -> Value {
    let (total, pages) = match page.total {
        Some(t) => (t, if t == 0 { 0 } else { (t + page.limit - 1) / page.limit }),
        None => (-1, -1),
    };
    json!({"page": page.page, "perPage": page.limit, "totalItems": total, "totalPages": pages, "items": items})
}

async fn group_records(app: &App, p: &Principal, groups: &[Group], expand: &[String]) -> Result<Vec<Value>> {
    let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let owners = app.group_owners(&ids).await?;
    let mut users: HashMap<String, User> = HashMap::new();
    if expand.iter().any(|e| e == "moderators") {
        for id in owners.values().flatten() {
            if !users.contains_key(id)
                && let Ok(u) = app.user_record(p, id).await
            {
                users.insert(id.clone(), u);
            }
        }
    }
    let mut spaces = HashMap::new();
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let mods = owners.get(&g.id).cloned().unwrap_or_default();
        let mut rec = group_record(g, &mods);
        let mut exp = Map::new();
        if expand.iter().any(|e| e == "space") {
            if !spaces.contains_key(&g.space_id) {
                spaces.insert(g.space_id.clone(), app.get_space(p, &g.space_id).await.ok());
            }
            if let Some(Some(s)) = spaces.get(&g.space_id) {
                exp.insert(
                    "space".into(),
                    json!({"id": s.id, "collectionName": "spaces", "name": s.name, "description": s.description.clone().unwrap_or_default(),
                        "created": pb_time(s.created_at), "updated": pb_time(s.updated_at)}),
                );
            }
        }
        if expand.iter().any(|e| e == "moderators") {
            exp.insert(
                "moderators".into(),
                Value::Array(mods.iter().filter_map(|m| users.get(m)).map(|u| user_record(u, Some(p))).collect()),
            );
        }
        if !exp.is_empty() {
            rec["expand"] = Value::Object(exp);
        }
        out.push(rec);
    }
    Ok(out)
}

async fn member_records(app: &App, p: &Principal, members: &[Member], expand: &[String]) -> Result<Vec<Value>> {
    let mut groups: HashMap<String, Value> = HashMap::new();
    if expand.iter().any(|e| e == "group") {
        for m in members {
            let gid = &m.membership.group_id;
            if !groups.contains_key(gid)
                && let Ok(g) = app.get_group(p, gid).await
            {
                let rec = group_records(app, p, std::slice::from_ref(&g), &[]).await?.pop().unwrap_or_default();
                groups.insert(gid.clone(), rec);
            }
        }
    }
    Ok(members
        .iter()
        .map(|m| {
            let mut rec = member_record(m);
            let mut exp = Map::new();
            if expand.iter().any(|e| e == "user") {
                exp.insert("user".into(), user_record(&m.user, Some(p)));
            }
            if let Some(g) = groups.get(&m.membership.group_id) {
                exp.insert("group".into(), g.clone());
            }
            if !exp.is_empty() {
                rec["expand"] = Value::Object(exp);
            }
            rec
        })
        .collect())
}

async fn health() -> Json<Value> {
    Json(json!({"code": 200, "message": "API is healthy.", "data": {}}))
}

#[derive(Debug, Deserialize)]
struct PasswordLogin {
    identity: String,
    password: String,
}

async fn auth_with_password(State(app): State<App>, Client(from): Client, Body(b): Body<PasswordLogin>) -> Response {
    match app.login(&b.identity, &b.password, from).await {
        Ok(t) => Json(json!({"token": t.token, "record": user_record(&t.user, None)})).into_response(),
        // Throttled and unavailable are what they are (with Retry-After); any other failure is
        // PocketBase's one "Failed to authenticate", which tells nothing about the account.
        Err(e @ (Error::RateLimited { .. } | Error::Unavailable { .. })) => crate::error::ApiError(e).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, Json(json!({"status": 400, "message": "Failed to authenticate.", "data": {}}))).into_response(),
    }
}

async fn auth_refresh(State(app): State<App>, Auth(p): Auth) -> ApiResult<Json<Value>> {
    let t = app.refresh_token(&p).await?;
    Ok(Json(json!({"token": t.token, "record": user_record(&t.user, None)})))
}

async fn list_groups(State(app): State<App>, Auth(p): Auth, Query(q): Query<ListParams>) -> ApiResult<Json<Value>> {
    let page = app.list_groups(&p, GroupFilter::default(), &q.listing()?).await?;
    let items = group_records(&app, &p, &page.items, &q.expands()).await?;
    Ok(Json(envelope(&page, items)))
}

async fn get_group(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Query(q): Query<ListParams>) -> ApiResult<Response> {
    let g = app.get_group(&p, &id).await?;
    let record = group_records(&app, &p, std::slice::from_ref(&g), &q.expands()).await?.pop().unwrap_or_default();
    Ok(with_etag(g.version, StatusCode::OK, Json(record)))
}

#[derive(Debug, Default, Deserialize)]
struct GroupBody {
    name: Option<String>,
    description: Option<String>,
    space: Option<String>,
    #[serde(rename = "isPublic")]
    is_public: Option<bool>,
    moderators: Option<Vec<String>>,
}

fn required(field: &str) -> Error {
    Error::validation(field, "Missing required value.")
}

async fn create_group(State(app): State<App>, Auth(p): Auth, Body(b): Body<GroupBody>) -> ApiResult<Json<Value>> {
    let name = b.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| required("name"))?;
    let space = b.space.filter(|s| !s.is_empty()).ok_or_else(|| required("space"))?;
    let input = GroupInput {
        name,
        description: b.description.filter(|d| !d.is_empty()),
        visibility: Some(if b.is_public.unwrap_or(true) { Visibility::Public } else { Visibility::Private }),
        ..GroupInput::default()
    };
    let initial = b
        .moderators
        .unwrap_or_default()
        .into_iter()
        .map(|u| NewMember { user_id: u, role: Some("owner".into()), ..NewMember::default() })
        .collect();
    let g = app.create_group_with(&p, Some(space), input, initial, "moderators").await?;
    let g = app.get_group(&p, &g.id).await?;
    Ok(Json(group_records(&app, &p, std::slice::from_ref(&g), &[]).await?.pop().unwrap_or_default()))
}

async fn update_group(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<GroupBody>,
) -> ApiResult<Response> {
    let current = app.get_group(&p, &id).await?;
    if b.space.as_ref().is_some_and(|s| *s != current.space_id) {
        return Err(Error::validation("space", "a group cannot move to another space").into());
    }
    let patch = GroupPatch {
        name: b.name,
        description: b.description.map(|d| Some(d).filter(|d| !d.is_empty())),
        visibility: b.is_public.map(|p| if p { Visibility::Public } else { Visibility::Private }),
        ..GroupPatch::default()
    };
    app.update_moderated_group(&p, &id, patch, b.moderators.as_deref(), v).await?;
    let g = app.get_group(&p, &id).await?;
    let record = group_records(&app, &p, std::slice::from_ref(&g), &[]).await?.pop().unwrap_or_default();
    Ok(with_etag(g.version, StatusCode::OK, Json(record)))
}

async fn delete_group(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, IfMatch(v): IfMatch) -> ApiResult<Response> {
    app.delete_group(&p, &id, false, v).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_members(State(app): State<App>, Auth(p): Auth, Query(q): Query<ListParams>) -> ApiResult<Json<Value>> {
    let page = app.list_memberships(&p, &q.listing()?).await?;
    let items = member_records(&app, &p, &page.items, &q.expands()).await?;
    Ok(Json(envelope(&page, items)))
}

async fn get_member(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Query(q): Query<ListParams>) -> ApiResult<Response> {
    let m = app.membership(&p, &id).await?;
    let record = member_records(&app, &p, std::slice::from_ref(&m), &q.expands()).await?.pop().unwrap_or_default();
    Ok(with_etag(m.membership.version, StatusCode::OK, Json(record)))
}

#[derive(Debug, Default, Deserialize)]
struct MemberBody {
    group: Option<String>,
    user: Option<String>,
    role: Option<String>,
}

async fn create_member(State(app): State<App>, Auth(p): Auth, Body(b): Body<MemberBody>) -> ApiResult<Json<Value>> {
    let group = b.group.filter(|g| !g.is_empty()).ok_or_else(|| required("group"))?;
    let user = b.user.filter(|u| !u.is_empty()).ok_or_else(|| required("user"))?;
    let m = app.create_membership(&p, &group, &user, b.role).await?;
    let full = app.membership(&p, &m.id).await?;
    Ok(Json(member_record(&full)))
}

async fn update_member(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<MemberBody>,
) -> ApiResult<Response> {
    let current = app.membership(&p, &id).await?;
    if b.group.as_ref().is_some_and(|g| *g != current.membership.group_id)
        || b.user.as_ref().is_some_and(|u| *u != current.membership.user_id)
    {
        return Err(Error::validation("group", "a membership cannot move to another group or user").into());
    }
    app.update_membership(&p, &id, MemberPatch { role: b.role, ..MemberPatch::default() }, v).await?;
    let m = app.membership(&p, &id).await?;
    Ok(with_etag(m.membership.version, StatusCode::OK, Json(member_record(&m))))
}

async fn delete_member(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, IfMatch(v): IfMatch) -> ApiResult<Response> {
    app.delete_membership(&p, &id, v).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, Deserialize)]
struct PostParams {
    scope: Option<String>,
    group: Option<String>,
    page: Option<String>,
    #[serde(rename = "perPage")]
    per_page: Option<String>,
}

async fn list_posts(State(app): State<App>, Auth(p): Auth, Query(q): Query<PostParams>) -> ApiResult<Json<Value>> {
    if q.scope.as_deref().is_some_and(|s| s != "group") {
        return Err(Error::validation("scope", "only scope=group is served here").into());
    }
    let group = q.group.filter(|g| !g.is_empty()).ok_or_else(|| required("group"))?;
    let lp = ListParams { page: q.page, per_page: q.per_page, ..ListParams::default() };
    let page = app.list_posts(&p, &group, &lp.listing()?).await?;
    let items = page.items.iter().map(post_record).collect();
    Ok(Json(envelope(&page, items)))
}

/// A realtime record in its collection's shape; of a record that is gone, what is known.
fn realtime_record(r: &Record) -> Value {
    match r {
        Record::Group { group, owners } => group_record(group, owners),
        Record::GroupGone { id } => json!({"id": id, "collectionId": GROUPS_ID, "collectionName": "groups"}),
        Record::Member(m) => member_record(m),
        Record::MemberGone { id, group_id, user_id, role } => json!({
            "id": id, "collectionId": MEMBERS_ID, "collectionName": "group_members", "group": group_id, "user": user_id,
            "role": role.clone().unwrap_or_default()
        }),
    }
}

/// How long before the request's deadline a realtime stream ends: the SDK reconnects and
/// subscribes again by itself, and a stopping server is never held open by a stream.
const STREAM_MARGIN: Duration = Duration::from_secs(1);

/// Opens a realtime stream: `PB_CONNECT` with the client's id, then one event per change its
/// subscriptions match, named by the subscription.
async fn realtime_connect(State(app): State<App>, Client(from): Client, deadline: Deadline) -> ApiResult<Response> {
    let conn = app.realtime_connect(from)?;
    let end = deadline.0.checked_sub(STREAM_MARGIN).unwrap_or(deadline.0);
    let hello = Event::default().id(conn.id()).event("PB_CONNECT").data(json!({"clientId": conn.id()}).to_string());
    let rest = futures_util::stream::unfold(conn, move |conn| realtime_next(conn, end));
    let events = futures_util::StreamExt::chain(futures_util::stream::iter([Ok(hello)]), rest);
    let mut res = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response();
    let headers = res.headers_mut();
    headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    // Proxies that buffer answers (nginx) would hold the events back.
    headers.insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(res)
}

/// The stream's next event; the stream ends at `end`, or when the feed fails (the client
/// reconnects).
async fn realtime_next(mut conn: Connection, end: Instant) -> Option<(Result<Event, std::convert::Infallible>, Connection)> {
    let m = match conn.next(end).await {
        Ok(m) => m?,
        Err(e) => {
            tracing::debug!(error = %e, "realtime stream ended");
            return None;
        }
    };
    let data = json!({"action": m.action.as_str(), "record": realtime_record(&m.record)});
    // Topics with line breaks are never followed, so the name is sendable; the data always
    // serializes (were it not to, the stream ends and the client reconnects).
    let event = Event::default().id(conn.id()).event(&m.topic).json_data(&data).ok()?;
    Some((Ok(event), conn))
}

#[derive(Debug, Default, Deserialize)]
struct SubscriptionsBody {
    #[serde(rename = "clientId")]
    client_id: Option<String>,
    subscriptions: Option<Vec<String>>,
}

/// Sets a realtime client's subscriptions, as the caller: it is told only of what they may read.
async fn realtime_subscribe(
    State(app): State<App>,
    Auth(p): Auth,
    Client(from): Client,
    Body(b): Body<SubscriptionsBody>,
) -> ApiResult<StatusCode> {
    app.realtime_subscribe(&p, b.client_id.as_deref().unwrap_or_default(), &b.subscriptions.unwrap_or_default(), from)?;
    Ok(StatusCode::NO_CONTENT)
}
