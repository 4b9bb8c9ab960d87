//! `/groups/{id}/roles`: built-in and custom roles.

use super::schema::{self, nullable};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cohort_app::App;
use cohort_app::roles::{RolePatch, RoleView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update, delete))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    /// The slug of the name (`Team Lead` → `team-lead`); built-ins: owner, admin, moderator, member.
    pub role_id: String,
    pub name: String,
    /// What the role allows: `manage_members`, `manage_settings`, `moderate`, `read`, `write` (`all` for owner).
    pub permissions: Vec<String>,
    pub description: Option<String>,
    pub member_count: i64,
    pub builtin: bool,
}

impl From<RoleView> for RoleOut {
    fn from(r: RoleView) -> Self {
        RoleOut {
            role_id: r.role.slug,
            name: r.role.name,
            permissions: r.permissions,
            description: r.description,
            member_count: r.member_count,
            builtin: r.role.builtin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub roles: Vec<RoleOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    #[schema(
        example = "Moderator",
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    #[schema(value_type = Vec<schema::RolePermission>)]
    pub permissions: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<schema::RolePermission>>)]
    pub permissions: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDeleted {
    pub deleted: bool,
    pub role_id: String,
}

/// List a group's roles with how many members hold each.
#[utoipa::path(get, path = "/api/v1/groups/{id}/roles", operation_id = "listGroupRoles", tag = "roles", params(("id" = String, Path, description = "Group id")),
    responses((status = 200, body = RoleList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<RoleList>> {
    Ok(Json(RoleList { roles: app.list_roles(&p, &id).await?.into_iter().map(RoleOut::from).collect() }))
}

/// Create a custom role (owners).
#[utoipa::path(post, path = "/api/v1/groups/{id}/roles", operation_id = "createGroupRole", tag = "roles", request_body = RoleCreate, params(("id" = String, Path, description = "Group id")),
    responses((status = 201, body = RoleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Body(b): Body<RoleCreate>,
) -> ApiResult<(StatusCode, Json<RoleOut>)> {
    let r = app.create_role(&p, &id, &b.name, b.permissions, b.description).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// Change a custom role.
#[utoipa::path(patch, path = "/api/v1/groups/{id}/roles/{role_id}", operation_id = "updateGroupRole", tag = "roles", request_body = RoleUpdate,
    params(("id" = String, Path, description = "Group id"), ("role_id" = String, Path, description = "Role slug")),
    responses((status = 200, body = RoleOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, role_id)): Path<(String, String)>,
    Body(b): Body<RoleUpdate>,
) -> ApiResult<Json<RoleOut>> {
    let r = app.update_role(&p, &id, &role_id, RolePatch { name: b.name, permissions: b.permissions, description: b.description }).await?;
    Ok(Json(r.into()))
}

/// Delete a custom role no member holds.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/roles/{role_id}", operation_id = "deleteGroupRole", tag = "roles",
    params(("id" = String, Path, description = "Group id"), ("role_id" = String, Path, description = "Role slug")),
    responses((status = 200, body = RoleDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(State(app): State<App>, Auth(p): Auth, Path((id, role_id)): Path<(String, String)>) -> ApiResult<Json<RoleDeleted>> {
    app.delete_role(&p, &id, &role_id).await?;
    Ok(Json(RoleDeleted { deleted: true, role_id }))
}
