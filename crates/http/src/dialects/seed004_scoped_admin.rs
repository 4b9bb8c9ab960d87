//! Seed 004: `/api/admin/groups` with `groups:read` / `groups:write` scopes (users and API
//! keys), cursor pages, `hydrate`, PUT/PATCH, and membership by path.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Body, IfMatch, Path, Query, ScopedAuth, with_etag};
use crate::native::filters::FilterMetadata;
use crate::native::groups::{GroupOut, GroupUpdate, GroupWrite, with_expansions};
use crate::native::users::UserOut;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cohort_app::App;
use cohort_app::expand::Relation;
use cohort_app::groups::GroupFilter;
use cohort_app::members::NewMember;
use cohort_core::list::{Cursor, sort_pair};
use cohort_core::list::{Listing, Paging};
use cohort_core::page::PageRequest;
use cohort_core::{Error, time};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_bare, create_bare))
        // The seed's own spelling, with a trailing slash: served, documented once above.
        .route("/api/admin/groups/", axum::routing::get(list_bare).post(create_bare))
        .routes(routes!(get, put, patch, delete))
        .routes(routes!(users))
        .routes(routes!(filters))
        .routes(routes!(add_user, remove_user))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminListParams {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<i64>,
    /// Default `created`.
    pub sort_by: Option<String>,
    /// `asc` or `desc` (default `desc`).
    #[param(value_type = Option<crate::native::schema::SortOrder>)]
    pub sort_order: Option<String>,
    /// Include the members' user records (default true).
    pub hydrate: Option<bool>,
    /// Count all matching groups into `collection_total`.
    pub include_total: Option<bool>,
    /// A filter expression over the fields `GET /filters` lists.
    pub filter: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPage {
    pub items: Vec<GroupOut>,
    pub next_cursor: Option<String>,
    /// The path of the next page, when there is one.
    pub next_page: Option<String>,
    pub limit: i64,
    pub collection_total: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HydrateParam {
    /// Include the members' user records (default true).
    pub hydrate: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserInGroups {
    #[serde(flatten)]
    pub user: UserOut,
    /// The groups the user is now a direct member of.
    pub groups: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RemovedFromGroup {
    pub removed: bool,
    pub group_id: String,
    pub user_id: String,
    pub removed_at: String,
}

fn hydrate(on: Option<bool>) -> Vec<Relation> {
    if on.unwrap_or(true) { vec![Relation::Users] } else { vec![] }
}

async fn page(app: App, p: std::sync::Arc<cohort_core::auth::Principal>, q: AdminListParams) -> ApiResult<Json<AdminPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=250).contains(&limit) {
        return Err(Error::invalid("limit must be a whole number from 1 to 250").into());
    }
    let sort = sort_pair(q.sort_by.as_deref().unwrap_or("created"), q.sort_order.as_deref())?;
    let after = q.cursor.as_deref().filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
    let paging = Paging::Cursor { after, limit, with_total: q.include_total.unwrap_or(false) };
    let listing = Listing { filter: crate::native::schema::parse_filter(q.filter.as_deref())?, sort, paging, hide_private: false };
    let page = app.list_groups(&p, GroupFilter::default(), &listing).await?;
    let next_page = page.next_cursor.as_ref().map(|c| format!("/api/admin/groups/?cursor={c}&limit={limit}"));
    Ok(Json(AdminPage {
        next_cursor: page.next_cursor.clone(),
        next_page,
        limit,
        collection_total: page.total,
        items: with_expansions(&app, &p, page.items, &hydrate(q.hydrate)).await?,
    }))
}

async fn made(app: App, p: std::sync::Arc<cohort_core::auth::Principal>, mut b: GroupWrite) -> ApiResult<Response> {
    let space = b.space()?;
    let (parent, sets) = (b.parent_id.clone(), b.scope_sets.take().unwrap_or_default());
    let g = app.create_group(&p, space, parent, b.into_input(), sets).await?;
    Ok(with_etag(g.version, StatusCode::CREATED, Json(GroupOut::from(g))))
}

/// List groups, newest first, by cursor (also answered at `/api/admin/groups/`, as the
/// seed writes it).
#[utoipa::path(get, path = "/api/admin/groups", operation_id = "adminListGroups", tag = "admin", params(AdminListParams),
    responses((status = 200, body = AdminPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_bare(State(app): State<App>, ScopedAuth(p): ScopedAuth, Query(q): Query<AdminListParams>) -> ApiResult<Json<AdminPage>> {
    page(app, p, q).await
}

/// Create a group (`groups:write`; also answered at `/api/admin/groups/`, as the seed
/// writes it).
#[utoipa::path(post, path = "/api/admin/groups", operation_id = "adminCreateGroup", tag = "admin", request_body = GroupWrite,
    responses((status = 201, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_bare(State(app): State<App>, ScopedAuth(p): ScopedAuth, Body(b): Body<GroupWrite>) -> ApiResult<Response> {
    made(app, p, b).await
}

/// One group (`groups:read`).
#[utoipa::path(get, path = "/api/admin/groups/{id}", operation_id = "adminGetGroup", tag = "admin", params(("id" = String, Path, description = "Group ID"), HydrateParam),
    responses((status = 200, body = GroupOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(
    State(app): State<App>,
    ScopedAuth(p): ScopedAuth,
    Path(id): Path<String>,
    Query(q): Query<HydrateParam>,
) -> ApiResult<Response> {
    let g = app.get_group(&p, &id).await?;
    let version = g.version;
    let out = with_expansions(&app, &p, vec![g], &hydrate(q.hydrate)).await?.pop().ok_or(Error::NotFound("group"))?;
    Ok(with_etag(version, StatusCode::OK, Json(out)))
}

/// Replace a group (`groups:write`).
#[utoipa::path(put, path = "/api/admin/groups/{id}", operation_id = "adminReplaceGroup", tag = "admin", request_body = GroupWrite, params(("id" = String, Path, description = "Group ID"), ("If-Match" = Option<String>, Header, description = "ETag from a read: the write is refused (412) if the group has changed since")),
    responses((status = 200, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn put(
    State(app): State<App>,
    ScopedAuth(p): ScopedAuth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(mut b): Body<GroupWrite>,
) -> ApiResult<Response> {
    let (space, parent, sets) = (b.space()?, b.parent_id.clone(), b.scope_sets.take());
    let g = app.replace_group(&p, &id, space, parent, b.into_input(), sets, v).await?;
    Ok(with_etag(g.version, StatusCode::OK, Json(GroupOut::from(g))))
}

/// Merge changes into a group (`groups:write`).
#[utoipa::path(patch, path = "/api/admin/groups/{id}", operation_id = "adminUpdateGroup", tag = "admin", request_body = GroupUpdate, params(("id" = String, Path, description = "Group ID"), ("If-Match" = Option<String>, Header, description = "ETag from a read: the write is refused (412) if the group has changed since")),
    responses((status = 200, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn patch(
    State(app): State<App>,
    ScopedAuth(p): ScopedAuth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(mut b): Body<GroupUpdate>,
) -> ApiResult<Response> {
    let sets = b.scope_sets.take();
    let g = app.update_group(&p, &id, b.into(), sets, v).await?;
    Ok(with_etag(g.version, StatusCode::OK, Json(GroupOut::from(g))))
}

/// Delete a group; its users remain (`groups:write`).
#[utoipa::path(delete, path = "/api/admin/groups/{id}", operation_id = "adminDeleteGroup", tag = "admin", params(("id" = String, Path, description = "Group ID"), ("If-Match" = Option<String>, Header, description = "ETag from a read: the write is refused (412) if the group has changed since")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn delete(State(app): State<App>, ScopedAuth(p): ScopedAuth, Path(id): Path<String>, IfMatch(v): IfMatch) -> ApiResult<Response> {
    app.delete_group(&p, &id, false, v).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The users of a group (`groups:read`).
#[utoipa::path(get, path = "/api/admin/groups/{id}/users", operation_id = "adminListGroupUsers", tag = "admin", params(("id" = String, Path, description = "Group ID")),
    responses((status = 200, body = Vec<UserOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn users(State(app): State<App>, ScopedAuth(p): ScopedAuth, Path(id): Path<String>) -> ApiResult<Json<Vec<UserOut>>> {
    let page = app.group_users(&p, &id, &Listing::page(PageRequest { page: 1, limit: 10_000, with_total: false })).await?;
    Ok(Json(page.items.into_iter().map(|u| UserOut::shown_to(u, &p)).collect()))
}

/// Add a user to a group; answers the user record with its groups (`groups:write`).
#[utoipa::path(post, path = "/api/admin/groups/{id}/users/{user_id}", operation_id = "adminAddGroupUser", tag = "admin",
    params(("id" = String, Path, description = "Group ID"), ("user_id" = String, Path, description = "User ID")),
    responses((status = 201, body = UserInGroups), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_user(
    State(app): State<App>,
    ScopedAuth(p): ScopedAuth,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<UserInGroups>)> {
    app.add_member(&p, &id, NewMember { user_id: user_id.clone(), ..NewMember::default() }).await?;
    let user = app.user_record(&p, &user_id).await?;
    let groups = app.direct_group_ids(&user_id).await?;
    Ok((StatusCode::CREATED, Json(UserInGroups { user: UserOut::shown_to(user, &p), groups })))
}

/// Remove a user from a group (`groups:write`).
#[utoipa::path(delete, path = "/api/admin/groups/{id}/users/{user_id}", operation_id = "adminRemoveGroupUser", tag = "admin",
    params(("id" = String, Path, description = "Group ID"), ("user_id" = String, Path, description = "User ID")),
    responses((status = 200, body = RemovedFromGroup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_user(
    State(app): State<App>,
    ScopedAuth(p): ScopedAuth,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<RemovedFromGroup>> {
    let r = app.remove_member(&p, &id, &user_id, None).await?;
    Ok(Json(RemovedFromGroup { removed: true, group_id: r.group_id, user_id: r.user_id, removed_at: time::rfc3339(r.removed_at) }))
}

/// Filter, operator and sort options for the group list (`groups:read`).
#[utoipa::path(get, path = "/api/admin/groups/filters", operation_id = "adminGroupFilters", tag = "admin",
    responses((status = 200, body = FilterMetadata), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn filters(State(app): State<App>, ScopedAuth(p): ScopedAuth) -> ApiResult<Json<FilterMetadata>> {
    app.may_list_groups(&p)?;
    Ok(Json(app.list_metadata(&p, cohort_core::list::ListKind::Groups).into()))
}
