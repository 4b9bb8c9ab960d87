//! `/scope-sets`: named bundles of API scopes attached to groups, whose effective members
//! hold those scopes on the scoped admin API; `/groups/{id}/scope-sets/{set}` attaches and
//! detaches; `/users/{id}/scopes` says what a user holds and through which group and set.

use super::checks::AtLeastParams;
use super::schema::{nullable, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, IfMatch, Path, Query, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cohort_app::App;
use cohort_app::scope_sets::{NewScopeSet, ScopeSetPatch};
use cohort_core::model::ScopeSet;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(attach, detach))
        .routes(routes!(user_scopes))
}

/// The scopes a set may bundle.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum BundledScope {
    #[serde(rename = "groups:read")]
    GroupsRead,
    #[serde(rename = "groups:write")]
    GroupsWrite,
    #[serde(rename = "users:read")]
    UsersRead,
    #[serde(rename = "users:write")]
    UsersWrite,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeSetOut {
    #[schema(example = "sst_01j9z6k3v2m8q4r5s6t7u8v9w0")]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Vec<BundledScope>)]
    pub scopes: Vec<String>,
    /// The space the set belongs to; null for the site's own sets.
    pub space_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

impl From<ScopeSet> for ScopeSetOut {
    fn from(s: ScopeSet) -> Self {
        ScopeSetOut {
            id: s.id,
            name: s.name,
            description: s.description,
            scopes: s.scopes.names(),
            space_id: s.space_id,
            created_at: ts(s.created_at),
            updated_at: ts(s.updated_at),
            version: s.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeSetList {
    pub scope_sets: Vec<ScopeSetOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeSetListParams {
    /// A space's sets; without it, the site's.
    pub space_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeSetCreate {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(value_type = Vec<BundledScope>, min_items = 1)]
    pub scopes: Vec<String>,
    /// The space the set belongs to (its moderators manage it); null or absent for a
    /// site-level set (site administrators).
    pub space_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeSetUpdate {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    #[schema(value_type = Option<Vec<BundledScope>>, min_items = 1)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeSetDeleted {
    pub deleted: bool,
    pub id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeSetAttachment {
    pub group_id: String,
    pub scope_set_id: String,
    /// Whether the set is attached now.
    pub attached: bool,
    /// Whether this request changed that.
    pub changed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeVia {
    pub group_id: String,
    pub scope_set_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeldScopeOut {
    #[schema(value_type = BundledScope)]
    pub scope: String,
    /// Each group the user effectively belongs to whose scope set gives the scope.
    pub via: Vec<ScopeVia>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserScopes {
    pub user_id: String,
    pub scopes: Vec<HeldScopeOut>,
}

fn one(s: ScopeSet, status: StatusCode) -> Response {
    with_etag(s.version, status, Json(ScopeSetOut::from(s)))
}

/// The site's scope sets, or a space's.
#[utoipa::path(get, path = "/api/v1/scope-sets", operation_id = "listScopeSets", tag = "scope-sets", params(ScopeSetListParams),
    responses((status = 200, body = ScopeSetList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(app): State<App>, Auth(p): Auth, Query(q): Query<ScopeSetListParams>) -> ApiResult<Json<ScopeSetList>> {
    let sets = app.scope_sets(&p, q.space_id.as_deref()).await?;
    Ok(Json(ScopeSetList { scope_sets: sets.into_iter().map(ScopeSetOut::from).collect() }))
}

/// Make a scope set (site administrators; a space's moderators for their space).
#[utoipa::path(post, path = "/api/v1/scope-sets", operation_id = "createScopeSet", tag = "scope-sets", request_body = ScopeSetCreate,
    responses((status = 201, body = ScopeSetOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(State(app): State<App>, Auth(p): Auth, Body(b): Body<ScopeSetCreate>) -> ApiResult<Response> {
    let new = NewScopeSet { space_id: b.space_id, name: b.name, description: b.description, scopes: b.scopes };
    Ok(one(app.create_scope_set(&p, new).await?, StatusCode::CREATED))
}

/// A scope set.
#[utoipa::path(get, path = "/api/v1/scope-sets/{id}", operation_id = "getScopeSet", tag = "scope-sets", params(("id" = String, Path, description = "Scope set id")),
    responses((status = 200, body = ScopeSetOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(one(app.scope_set(&p, &id).await?, StatusCode::OK))
}

/// Change a scope set; its groups' members hold the new scopes on their next request.
#[utoipa::path(patch, path = "/api/v1/scope-sets/{id}", operation_id = "updateScopeSet", tag = "scope-sets", request_body = ScopeSetUpdate,
    params(("id" = String, Path, description = "Scope set id")),
    responses((status = 200, body = ScopeSetOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<ScopeSetUpdate>,
) -> ApiResult<Response> {
    let patch = ScopeSetPatch { name: b.name, description: b.description, scopes: b.scopes };
    Ok(one(app.update_scope_set(&p, &id, patch, v).await?, StatusCode::OK))
}

/// Delete a scope set; the groups it was attached to stop giving its scopes.
#[utoipa::path(delete, path = "/api/v1/scope-sets/{id}", operation_id = "deleteScopeSet", tag = "scope-sets", params(("id" = String, Path, description = "Scope set id")),
    responses((status = 200, body = ScopeSetDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 412, body = ErrorBody)))]
async fn delete(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, IfMatch(v): IfMatch) -> ApiResult<Json<ScopeSetDeleted>> {
    app.delete_scope_set(&p, &id, v).await?;
    Ok(Json(ScopeSetDeleted { deleted: true, id }))
}

/// Attach a scope set to a group: its effective members hold the set's scopes.
#[utoipa::path(put, path = "/api/v1/groups/{id}/scope-sets/{set_id}", operation_id = "attachScopeSet", tag = "scope-sets",
    params(("id" = String, Path, description = "Group id"), ("set_id" = String, Path, description = "Scope set id")),
    responses((status = 200, body = ScopeSetAttachment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn attach(
    State(app): State<App>,
    Auth(p): Auth,
    Path((group_id, scope_set_id)): Path<(String, String)>,
) -> ApiResult<Json<ScopeSetAttachment>> {
    let changed = app.attach_scope_set(&p, &group_id, &scope_set_id, true).await?;
    Ok(Json(ScopeSetAttachment { group_id, scope_set_id, attached: true, changed }))
}

/// Detach a scope set from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/scope-sets/{set_id}", operation_id = "detachScopeSet", tag = "scope-sets",
    params(("id" = String, Path, description = "Group id"), ("set_id" = String, Path, description = "Scope set id")),
    responses((status = 200, body = ScopeSetAttachment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn detach(
    State(app): State<App>,
    Auth(p): Auth,
    Path((group_id, scope_set_id)): Path<(String, String)>,
) -> ApiResult<Json<ScopeSetAttachment>> {
    let changed = app.attach_scope_set(&p, &group_id, &scope_set_id, false).await?;
    Ok(Json(ScopeSetAttachment { group_id, scope_set_id, attached: false, changed }))
}

/// The scopes a user holds through the scope sets of the groups they effectively belong
/// to, each with the groups and sets that give it.
#[utoipa::path(get, path = "/api/v1/users/{id}/scopes", operation_id = "listUserScopes", tag = "access", params(("id" = String, Path, description = "User id"), AtLeastParams),
    responses((status = 200, body = UserScopes), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn user_scopes(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<AtLeastParams>,
) -> ApiResult<Json<UserScopes>> {
    let held = app.user_scopes(&p, &id, q.at_least_revision).await?;
    let scopes = held
        .into_iter()
        .map(|h| HeldScopeOut {
            scope: h.scope.as_str().to_string(),
            via: h.via.into_iter().map(|(group_id, scope_set_id)| ScopeVia { group_id, scope_set_id }).collect(),
        })
        .collect();
    Ok(Json(UserScopes { user_id: id, scopes }))
}
