//! `/groups/{id}/subgroups`, `/groups/{id}/move`, `/groups/{id}/permissions`.

use super::groups::{GroupOut, GroupWrite};
use super::schema::{self, ListParams, PageMeta, PageParams, meta_paged};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, IfMatch, Path, Query, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cohort_app::App;
use cohort_core::access::GroupPermission;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(move_group)).routes(routes!(permissions, change_permissions))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubgroupList {
    pub subgroups: Vec<GroupOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubgroupParams {
    /// The whole subtree, not only the children.
    pub recursive: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Move {
    /// The new parent, or null for the top level.
    pub parent_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionOut {
    #[schema(example = "kb.read")]
    pub permission: String,
    pub description: Option<String>,
    /// The ancestor group the permission comes from, or null when the group grants it itself.
    pub inherited_from: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionList {
    pub group_id: String,
    pub permissions: Vec<PermissionOut>,
}

fn permission_list(group_id: String, list: Vec<(GroupPermission, Option<String>)>) -> PermissionList {
    PermissionList {
        group_id,
        permissions: list
            .into_iter()
            .map(|(p, description)| PermissionOut { permission: p.permission, description, inherited_from: p.inherited_from })
            .collect(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionChange {
    #[serde(default)]
    #[schema(value_type = Vec<schema::Permission>)]
    pub add: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<schema::Permission>)]
    pub remove: Vec<String>,
}

/// Create a subgroup under a parent.
#[utoipa::path(post, path = "/api/v1/groups/{id}/subgroups", operation_id = "createSubgroup", tag = "hierarchy", request_body = GroupWrite, params(("id" = String, Path, description = "Parent group id")),
    responses((status = 201, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(State(app): State<App>, Auth(p): Auth, Path(parent): Path<String>, Body(mut b): Body<GroupWrite>) -> ApiResult<Response> {
    if b.parent_id.as_ref().is_some_and(|pid| *pid != parent) {
        return Err(cohort_core::Error::validation("parent_id", "the parent is the group in the path").into());
    }
    let space = b.space()?;
    let sets = b.scope_sets.take().unwrap_or_default();
    let g = app.create_group(&p, space, Some(parent), b.into_input(), sets).await?;
    Ok(with_etag(g.version, StatusCode::CREATED, Json(GroupOut::from(g))))
}

/// List a group's subgroups (`recursive=true` for the whole subtree).
///
/// Filter fields and sort keys: `GET /filters/subgroups`.
#[utoipa::path(get, path = "/api/v1/groups/{id}/subgroups", operation_id = "listSubgroups", tag = "hierarchy", params(("id" = String, Path, description = "Group id"), SubgroupParams, PageParams, ListParams),
    responses((status = 200, body = SubgroupList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<SubgroupParams>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<SubgroupList>> {
    let listing = lp.listing(&pp)?;
    let page = app.list_subgroups(&p, &id, q.recursive.unwrap_or(false), &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(SubgroupList { subgroups: page.items.into_iter().map(GroupOut::from).collect(), page: meta }))
}

/// Move a group under another parent (or to the top level).
#[utoipa::path(post, path = "/api/v1/groups/{id}/move", operation_id = "moveGroup", tag = "hierarchy", request_body = Move,
    params(("id" = String, Path, description = "Group id"), ("If-Match" = Option<String>, Header, description = "ETag of the group from a read: refused (412) if it has changed since")),
    responses((status = 200, body = GroupOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn move_group(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<Move>,
) -> ApiResult<Response> {
    let g = app.move_group(&p, &id, b.parent_id, v).await?;
    Ok(with_etag(g.version, StatusCode::OK, Json(GroupOut::from(g))))
}

/// A group's permissions, with where each comes from.
#[utoipa::path(get, path = "/api/v1/groups/{id}/permissions", operation_id = "getGroupPermissions", tag = "hierarchy", params(("id" = String, Path, description = "Group id")),
    responses((status = 200, body = PermissionList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn permissions(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<PermissionList>> {
    let list = app.group_permissions(&p, &id).await?;
    Ok(Json(permission_list(id, list)))
}

/// Add and remove a group's own permissions.
#[utoipa::path(patch, path = "/api/v1/groups/{id}/permissions", operation_id = "changeGroupPermissions", tag = "hierarchy", request_body = PermissionChange,
    params(("id" = String, Path, description = "Group id"), ("If-Match" = Option<String>, Header, description = "ETag of the group from a read: refused (412) if it has changed since")),
    responses((status = 200, body = PermissionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_permissions(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<PermissionChange>,
) -> ApiResult<Json<PermissionList>> {
    let list = app.change_permissions(&p, &id, b.add, b.remove, v).await?;
    Ok(Json(permission_list(id, list)))
}
