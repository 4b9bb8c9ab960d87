//! `/permissions` and `/spaces/{id}/permissions`: the permission catalogue, at site level and
//! for one space.

use super::schema::{self, nullable, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cohort_app::App;
use cohort_core::model::DeclaredPermission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(site_list, site_declare))
        .routes(routes!(site_describe, site_remove))
        .routes(routes!(space_list, space_declare))
        .routes(routes!(space_describe, space_remove))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeclaredOut {
    #[schema(example = "kb.read")]
    pub permission: String,
    #[schema(example = "Read knowledge base")]
    pub description: Option<String>,
    /// The space the entry belongs to; null for the site's own entries.
    pub space_id: Option<String>,
    pub created_at: String,
    pub created_by: Option<String>,
}

impl From<DeclaredPermission> for DeclaredOut {
    fn from(d: DeclaredPermission) -> Self {
        DeclaredOut {
            permission: d.name,
            description: d.description,
            space_id: d.space_id,
            created_at: ts(d.created_at),
            created_by: d.created_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeclaredList {
    pub permissions: Vec<DeclaredOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declare {
    #[schema(value_type = schema::Permission)]
    pub permission: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Describe {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Removed {
    pub removed: bool,
    pub permission: String,
}

fn list_out(items: Vec<DeclaredPermission>) -> Json<DeclaredList> {
    Json(DeclaredList { permissions: items.into_iter().map(DeclaredOut::from).collect() })
}

/// The site's permission catalogue.
#[utoipa::path(get, path = "/api/v1/permissions", operation_id = "listSitePermissions", tag = "permissions",
    responses((status = 200, body = DeclaredList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn site_list(State(app): State<App>, Auth(p): Auth) -> ApiResult<Json<DeclaredList>> {
    Ok(list_out(app.catalogue(&p, None).await?))
}

/// Declare a permission for the whole site (site administrators).
#[utoipa::path(post, path = "/api/v1/permissions", operation_id = "declareSitePermission", tag = "permissions", request_body = Declare,
    responses((status = 201, body = DeclaredOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn site_declare(State(app): State<App>, Auth(p): Auth, Body(b): Body<Declare>) -> ApiResult<(StatusCode, Json<DeclaredOut>)> {
    let d = app.declare_permission(&p, None, &b.permission, b.description).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// Change the description of a site permission.
#[utoipa::path(patch, path = "/api/v1/permissions/{permission}", operation_id = "describeSitePermission", tag = "permissions", request_body = Describe,
    params(("permission" = String, Path, description = "Permission name")),
    responses((status = 200, body = DeclaredOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn site_describe(
    State(app): State<App>,
    Auth(p): Auth,
    Path(name): Path<String>,
    Body(b): Body<Describe>,
) -> ApiResult<Json<DeclaredOut>> {
    Ok(Json(app.describe_permission(&p, None, &name, b.description.flatten()).await?.into()))
}

/// Remove a site permission (409 while groups grant it).
#[utoipa::path(delete, path = "/api/v1/permissions/{permission}", operation_id = "removeSitePermission", tag = "permissions",
    params(("permission" = String, Path, description = "Permission name")),
    responses((status = 200, body = Removed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn site_remove(State(app): State<App>, Auth(p): Auth, Path(name): Path<String>) -> ApiResult<Json<Removed>> {
    app.remove_permission(&p, None, &name).await?;
    Ok(Json(Removed { removed: true, permission: name }))
}

/// A space's permission catalogue (the site's entries hold in every space too).
#[utoipa::path(get, path = "/api/v1/spaces/{id}/permissions", operation_id = "listSpacePermissions", tag = "permissions", params(("id" = String, Path, description = "Space id")),
    responses((status = 200, body = DeclaredList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn space_list(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<DeclaredList>> {
    Ok(list_out(app.catalogue(&p, Some(&id)).await?))
}

/// Declare a permission for a space (its moderators, or site administrators).
#[utoipa::path(post, path = "/api/v1/spaces/{id}/permissions", operation_id = "declareSpacePermission", tag = "permissions", request_body = Declare, params(("id" = String, Path, description = "Space id")),
    responses((status = 201, body = DeclaredOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn space_declare(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Body(b): Body<Declare>,
) -> ApiResult<(StatusCode, Json<DeclaredOut>)> {
    let d = app.declare_permission(&p, Some(id), &b.permission, b.description).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// Change the description of a space permission.
#[utoipa::path(patch, path = "/api/v1/spaces/{id}/permissions/{permission}", operation_id = "describeSpacePermission", tag = "permissions", request_body = Describe,
    params(("id" = String, Path, description = "Space id"), ("permission" = String, Path, description = "Permission name")),
    responses((status = 200, body = DeclaredOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn space_describe(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, name)): Path<(String, String)>,
    Body(b): Body<Describe>,
) -> ApiResult<Json<DeclaredOut>> {
    Ok(Json(app.describe_permission(&p, Some(id), &name, b.description.flatten()).await?.into()))
}

/// Remove a space permission (409 while the space's groups grant it).
#[utoipa::path(delete, path = "/api/v1/spaces/{id}/permissions/{permission}", operation_id = "removeSpacePermission", tag = "permissions",
    params(("id" = String, Path, description = "Space id"), ("permission" = String, Path, description = "Permission name")),
    responses((status = 200, body = Removed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn space_remove(State(app): State<App>, Auth(p): Auth, Path((id, name)): Path<(String, String)>) -> ApiResult<Json<Removed>> {
    app.remove_permission(&p, Some(id), &name).await?;
    Ok(Json(Removed { removed: true, permission: name }))
}
