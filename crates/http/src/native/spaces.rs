//! `/spaces`: tenants and their moderators.

use super::schema::{ListParams, PageMeta, PageParams, meta_paged, nullable, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, IfMatch, Path, Query, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cohort_app::App;
use cohort_app::spaces::SpacePatch;
use cohort_core::model::Space;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(get, patch, delete))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceOut {
    pub id: String,
    pub space_id: String,
    pub name: String,
    pub description: Option<String>,
    /// User ids of the space's moderators.
    pub moderators: Vec<String>,
    pub created_at: String,
    pub created_by: Option<String>,
    pub updated_at: String,
    pub version: i64,
}

impl From<Space> for SpaceOut {
    fn from(s: Space) -> Self {
        SpaceOut {
            space_id: s.id.clone(),
            id: s.id,
            name: s.name,
            description: s.description,
            moderators: s.moderators,
            created_at: ts(s.created_at),
            created_by: s.created_by,
            updated_at: ts(s.updated_at),
            version: s.version,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceCreate {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    pub description: Option<String>,
    pub moderators: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceUpdate {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub moderators: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceList {
    pub spaces: Vec<SpaceOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceDeleted {
    pub deleted: bool,
    pub space_id: String,
}

/// Create a space (site administrators).
#[utoipa::path(post, path = "/api/v1/spaces", operation_id = "createSpace", tag = "spaces", request_body = SpaceCreate,
    responses((status = 201, body = SpaceOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(State(app): State<App>, Auth(p): Auth, Body(b): Body<SpaceCreate>) -> ApiResult<Response> {
    let s = app.create_space(&p, &b.name, b.description, b.moderators.unwrap_or_default()).await?;
    Ok(with_etag(s.version, StatusCode::CREATED, Json(SpaceOut::from(s))))
}

/// List spaces.
///
/// Filter fields and sort keys: `GET /filters/spaces`.
#[utoipa::path(get, path = "/api/v1/spaces", operation_id = "listSpaces", tag = "spaces", params(PageParams, ListParams),
    responses((status = 200, body = SpaceList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<SpaceList>> {
    let listing = lp.listing(&q)?;
    let page = app.list_spaces(&p, &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(SpaceList { spaces: page.items.into_iter().map(SpaceOut::from).collect(), page: meta }))
}

/// Get a space.
#[utoipa::path(get, path = "/api/v1/spaces/{id}", operation_id = "getSpace", tag = "spaces", params(("id" = String, Path, description = "Space id")),
    responses((status = 200, body = SpaceOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let s = app.get_space(&p, &id).await?;
    Ok(with_etag(s.version, StatusCode::OK, Json(SpaceOut::from(s))))
}

/// Change a space's name, description or moderators (site administrators).
#[utoipa::path(patch, path = "/api/v1/spaces/{id}", operation_id = "updateSpace", tag = "spaces", request_body = SpaceUpdate,
    params(("id" = String, Path, description = "Space id"), ("If-Match" = Option<String>, Header, description = "ETag from a read")),
    responses((status = 200, body = SpaceOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<SpaceUpdate>,
) -> ApiResult<Response> {
    let s = app.update_space(&p, &id, SpacePatch { name: b.name, description: b.description, moderators: b.moderators }, v).await?;
    Ok(with_etag(s.version, StatusCode::OK, Json(SpaceOut::from(s))))
}

/// Delete an empty space (site administrators); the default space stays.
#[utoipa::path(delete, path = "/api/v1/spaces/{id}", operation_id = "deleteSpace", tag = "spaces", params(("id" = String, Path, description = "Space id")),
    responses((status = 200, body = SpaceDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<SpaceDeleted>> {
    app.delete_space(&p, &id).await?;
    Ok(Json(SpaceDeleted { deleted: true, space_id: id }))
}
