//! Seed 001: organization groups in the Bitwarden style, at `/api/organizations/{orgId}/groups`.
//! An organization is a space; managing its groups needs its moderators (or a site
//! administrator). Groups made here list their users explicitly: the creator does not join.

use super as dialect;
use crate::error::ApiResult;
use crate::extract::{Auth, Body, IfMatch, Path, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cohort_app::App;
use cohort_app::groups::GroupFilter;
use cohort_core::auth::{Principal, Scope};
use cohort_core::group::{GroupInput, GroupPatch};
use cohort_core::list::Listing;
use cohort_core::model::{CollectionGrant, Group};
use cohort_core::page::PageRequest;
use cohort_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, create, bulk_delete))
        .routes(routes!(list_details))
        .routes(routes!(bulk_delete_post))
        .routes(routes!(get, put, delete))
        .routes(routes!(details))
        .routes(routes!(users, set_users))
        .routes(routes!(remove_user))
        .routes(routes!(remove_user_singular))
        .routes(routes!(user_collections, set_user_collections))
        .layer(axum::middleware::from_fn(|req, next| dialect::errors(render_error, req, next)))
}

/// Bitwarden's error body.
fn render_error(status: StatusCode, native: &Value) -> (StatusCode, Value) {
    let message = native["message"].as_str().unwrap_or("error").to_string();
    let validation = native["field"].as_str().map(|f| json!({ f: [message.clone()] }));
    (status, json!({"object": "error", "message": message, "validationErrors": validation, "error": native["error"]}))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgCollection {
    pub id: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub hide_passwords: bool,
    #[serde(default)]
    pub manage: bool,
}

impl From<&CollectionGrant> for OrgCollection {
    fn from(c: &CollectionGrant) -> Self {
        OrgCollection { id: c.id.clone(), read_only: c.read_only, hide_passwords: c.hide_passwords, manage: c.manage }
    }
}

impl From<&OrgCollection> for CollectionGrant {
    fn from(c: &OrgCollection) -> Self {
        CollectionGrant { id: c.id.clone(), read_only: c.read_only, hide_passwords: c.hide_passwords, manage: c.manage }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgGroup {
    /// Always `group`.
    pub object: String,
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub access_all: bool,
    pub external_id: Option<String>,
    /// With `/details`: the collections the group grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collections: Option<Vec<OrgCollection>>,
    /// On create and replace: the group's users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
}

fn org_group(g: Group, details: bool) -> OrgGroup {
    let collections = details.then(|| g.collections.iter().map(OrgCollection::from).collect());
    OrgGroup {
        object: "group".into(),
        id: g.id,
        organization_id: g.space_id,
        name: g.name,
        access_all: g.access_all,
        external_id: g.external_id,
        collections,
        users: None,
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgList {
    /// Always `list`.
    pub object: String,
    pub data: Vec<OrgGroup>,
    pub continuation_token: Option<String>,
}

/// Create and replace: every field (PUT replaces the whole group, collections and users too).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgGroupWrite {
    /// At most 100 characters.
    pub name: String,
    #[serde(default)]
    pub access_all: bool,
    /// At most 300 characters.
    pub external_id: Option<String>,
    /// Required when `accessAll` is false (an empty list grants nothing).
    pub collections: Option<Vec<OrgCollection>>,
    /// Organization user ids to make the group's members.
    pub users: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrgIds {
    pub ids: Vec<String>,
}

impl OrgGroupWrite {
    fn validate(&self) -> Result<()> {
        if self.name.trim().chars().count() > 100 {
            return Err(Error::validation("name", "The field Name must be a string with a maximum length of 100."));
        }
        if self.external_id.as_ref().is_some_and(|e| e.chars().count() > 300) {
            return Err(Error::validation("externalId", "The field ExternalId must be a string with a maximum length of 300."));
        }
        // A group that does not reach every collection names the ones it does (an empty list
        // for none): a PUT without them would silently take every grant away.
        if !self.access_all && self.collections.is_none() {
            return Err(Error::validation("collections", "The Collections field is required when AccessAll is false."));
        }
        Ok(())
    }

    fn collections(&self) -> Vec<CollectionGrant> {
        self.collections.iter().flatten().map(CollectionGrant::from).collect()
    }
}

/// Loads a group of the organization, or 404.
async fn group_in(app: &App, p: &Principal, org: &str, id: &str) -> Result<Group> {
    let g = app.get_group(p, id).await?;
    if g.space_id != org {
        return Err(Error::NotFound("group"));
    }
    Ok(g)
}

async fn all(app: &App, p: &Principal, org: &str, details: bool) -> ApiResult<Json<OrgList>> {
    app.require_space_manager(p, org, Scope::GroupsRead).await?;
    let f = GroupFilter { space_id: Some(org.to_string()), ..GroupFilter::default() };
    let page = app.list_groups(p, f, &Listing::page(PageRequest { page: 1, limit: 100_000, with_total: false })).await?;
    Ok(Json(OrgList {
        object: "list".into(),
        data: page.items.into_iter().map(|g| org_group(g, details)).collect(),
        continuation_token: None,
    }))
}

async fn delete_many(app: &App, p: &Principal, org: &str, ids: &[String]) -> ApiResult<Response> {
    app.require_space_manager(p, org, Scope::GroupsWrite).await?;
    for id in ids {
        group_in(app, p, org, id).await?;
    }
    for (_, r) in app.bulk_delete_groups(p, ids, false).await? {
        r?;
    }
    Ok(StatusCode::OK.into_response())
}

/// List groups.
#[utoipa::path(get, path = "/api/organizations/{org_id}/groups", operation_id = "orgListGroups", tag = "organizations", params(("org_id" = String, Path, description = "Organization ID")),
    responses((status = 200, body = OrgList), (status = 401), (status = 403), (status = 404)))]
async fn list(State(app): State<App>, Auth(p): Auth, Path(org): Path<String>) -> ApiResult<Json<OrgList>> {
    all(&app, &p, &org, false).await
}

/// List groups with their collection assignments.
#[utoipa::path(get, path = "/api/organizations/{org_id}/groups/details", operation_id = "orgListGroupsWithDetails", tag = "organizations", params(("org_id" = String, Path, description = "Organization ID")),
    responses((status = 200, body = OrgList), (status = 401), (status = 403), (status = 404)))]
async fn list_details(State(app): State<App>, Auth(p): Auth, Path(org): Path<String>) -> ApiResult<Json<OrgList>> {
    all(&app, &p, &org, true).await
}

/// Create a group.
#[utoipa::path(post, path = "/api/organizations/{org_id}/groups", operation_id = "orgCreateGroup", tag = "organizations", request_body = OrgGroupWrite, params(("org_id" = String, Path, description = "Organization ID")),
    responses((status = 200, body = OrgGroup), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn create(State(app): State<App>, Auth(p): Auth, Path(org): Path<String>, Body(b): Body<OrgGroupWrite>) -> ApiResult<Json<OrgGroup>> {
    app.require_space_manager(&p, &org, Scope::GroupsWrite).await?;
    b.validate()?;
    let input = GroupInput {
        name: b.name.clone(),
        external_id: b.external_id.clone(),
        access_all: Some(b.access_all),
        collections: Some(b.collections()),
        ..GroupInput::default()
    };
    let (g, users) = app.create_listed_group(&p, &org, input, b.users.as_deref().unwrap_or(&[])).await?;
    let mut out = org_group(app.get_group(&p, &g.id).await?, true);
    out.users = Some(users);
    Ok(Json(out))
}

/// Get a group.
#[utoipa::path(get, path = "/api/organizations/{org_id}/groups/{id}", operation_id = "orgGetGroup", tag = "organizations",
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID")),
    responses((status = 200, body = OrgGroup), (status = 401), (status = 403), (status = 404)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path((org, id)): Path<(String, String)>) -> ApiResult<Response> {
    app.require_space_manager(&p, &org, Scope::GroupsRead).await?;
    let g = group_in(&app, &p, &org, &id).await?;
    Ok(with_etag(g.version, StatusCode::OK, Json(org_group(g, false))))
}

/// Get a group with its collection assignments.
#[utoipa::path(get, path = "/api/organizations/{org_id}/groups/{id}/details", operation_id = "orgGetGroupDetails", tag = "organizations",
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID")),
    responses((status = 200, body = OrgGroup), (status = 401), (status = 403), (status = 404)))]
async fn details(State(app): State<App>, Auth(p): Auth, Path((org, id)): Path<(String, String)>) -> ApiResult<Response> {
    app.require_space_manager(&p, &org, Scope::GroupsRead).await?;
    let g = group_in(&app, &p, &org, &id).await?;
    Ok(with_etag(g.version, StatusCode::OK, Json(org_group(g, true))))
}

/// Replace a group: every field, its collections and its users.
#[utoipa::path(put, path = "/api/organizations/{org_id}/groups/{id}", operation_id = "orgReplaceGroup", tag = "organizations", request_body = OrgGroupWrite,
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID"), ("If-Match" = Option<String>, Header, description = "ETag from a read: the write is refused (412) if the group has changed since")),
    responses((status = 200, body = OrgGroup), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422), (status = 412)))]
async fn put(
    State(app): State<App>,
    Auth(p): Auth,
    Path((org, id)): Path<(String, String)>,
    IfMatch(v): IfMatch,
    Body(b): Body<OrgGroupWrite>,
) -> ApiResult<Response> {
    app.require_space_manager(&p, &org, Scope::GroupsWrite).await?;
    b.validate()?;
    group_in(&app, &p, &org, &id).await?;
    let patch = GroupPatch {
        name: Some(b.name.clone()),
        external_id: Some(b.external_id.clone()),
        access_all: Some(b.access_all),
        collections: Some(b.collections()),
        ..GroupPatch::default()
    };
    let (_, users) = app.replace_listed_group(&p, &id, patch, b.users.as_deref().unwrap_or(&[]), v).await?;
    let g = app.get_group(&p, &id).await?;
    let version = g.version;
    let mut out = org_group(g, true);
    out.users = Some(users);
    Ok(with_etag(version, StatusCode::OK, Json(out)))
}

/// Delete a group; its users stay and lose what the group granted.
#[utoipa::path(delete, path = "/api/organizations/{org_id}/groups/{id}", operation_id = "orgDeleteGroup", tag = "organizations",
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID"), ("If-Match" = Option<String>, Header, description = "ETag from a read: the write is refused (412) if the group has changed since")),
    responses((status = 200), (status = 401), (status = 403), (status = 404), (status = 409), (status = 412)))]
async fn delete(
    State(app): State<App>,
    Auth(p): Auth,
    Path((org, id)): Path<(String, String)>,
    IfMatch(v): IfMatch,
) -> ApiResult<Response> {
    app.require_space_manager(&p, &org, Scope::GroupsWrite).await?;
    group_in(&app, &p, &org, &id).await?;
    app.delete_group(&p, &id, false, v).await?;
    Ok(StatusCode::OK.into_response())
}

/// Delete several groups.
#[utoipa::path(delete, path = "/api/organizations/{org_id}/groups", operation_id = "orgDeleteGroups", tag = "organizations", request_body = OrgIds, params(("org_id" = String, Path, description = "Organization ID")),
    responses((status = 200), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn bulk_delete(State(app): State<App>, Auth(p): Auth, Path(org): Path<String>, Body(b): Body<OrgIds>) -> ApiResult<Response> {
    delete_many(&app, &p, &org, &b.ids).await
}

/// Delete several groups (POST form).
#[utoipa::path(post, path = "/api/organizations/{org_id}/groups/delete", operation_id = "orgDeleteGroupsByPost", tag = "organizations", request_body = OrgIds, params(("org_id" = String, Path, description = "Organization ID")),
    responses((status = 200), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn bulk_delete_post(State(app): State<App>, Auth(p): Auth, Path(org): Path<String>, Body(b): Body<OrgIds>) -> ApiResult<Response> {
    delete_many(&app, &p, &org, &b.ids).await
}

/// The ids of a group's users.
#[utoipa::path(get, path = "/api/organizations/{org_id}/groups/{id}/users", operation_id = "orgListGroupUserIds", tag = "organizations",
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID")),
    responses((status = 200, body = Vec<String>), (status = 401), (status = 403), (status = 404)))]
async fn users(State(app): State<App>, Auth(p): Auth, Path((org, id)): Path<(String, String)>) -> ApiResult<Json<Vec<String>>> {
    app.require_space_manager(&p, &org, Scope::GroupsRead).await?;
    group_in(&app, &p, &org, &id).await?;
    Ok(Json(app.group_user_ids(&p, &id).await?))
}

/// Set a group's users to exactly these ids.
#[utoipa::path(put, path = "/api/organizations/{org_id}/groups/{id}/users", operation_id = "orgSetGroupUsers", tag = "organizations", request_body = Vec<String>,
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID")),
    responses((status = 200), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_users(
    State(app): State<App>,
    Auth(p): Auth,
    Path((org, id)): Path<(String, String)>,
    Body(ids): Body<Vec<String>>,
) -> ApiResult<Response> {
    app.require_space_manager(&p, &org, Scope::GroupsWrite).await?;
    group_in(&app, &p, &org, &id).await?;
    app.set_group_users(&p, &id, &ids).await?;
    Ok(StatusCode::OK.into_response())
}

async fn remove(app: &App, p: &Principal, org: &str, id: &str, user: &str) -> ApiResult<Response> {
    app.require_space_manager(p, org, Scope::GroupsWrite).await?;
    group_in(app, p, org, id).await?;
    app.remove_member(p, id, user, None).await?;
    Ok(StatusCode::OK.into_response())
}

/// Remove one user from a group.
#[utoipa::path(delete, path = "/api/organizations/{org_id}/groups/{id}/users/{user_id}", operation_id = "orgRemoveGroupUser", tag = "organizations",
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID"), ("user_id" = String, Path, description = "User ID")),
    responses((status = 200), (status = 401), (status = 403), (status = 404)))]
async fn remove_user(State(app): State<App>, Auth(p): Auth, Path((org, id, user)): Path<(String, String, String)>) -> ApiResult<Response> {
    remove(&app, &p, &org, &id, &user).await
}

/// Remove one user from a group (singular path).
#[utoipa::path(delete, path = "/api/organizations/{org_id}/groups/{id}/user/{user_id}", operation_id = "orgRemoveGroupUserSingular", tag = "organizations",
    params(("org_id" = String, Path, description = "Organization ID"), ("id" = String, Path, description = "Group ID"), ("user_id" = String, Path, description = "User ID")),
    responses((status = 200), (status = 401), (status = 403), (status = 404)))]
async fn remove_user_singular(
    State(app): State<App>,
    Auth(p): Auth,
    Path((org, id, user)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    remove(&app, &p, &org, &id, &user).await
}

/// The collections of the organization granted to a user directly (not through a group).
#[utoipa::path(get, path = "/api/organizations/{org_id}/users/{user_id}/collections", operation_id = "orgListUserCollections", tag = "organizations",
    params(("org_id" = String, Path, description = "Organization ID"), ("user_id" = String, Path, description = "User ID")),
    responses((status = 200, body = Vec<OrgCollection>), (status = 401), (status = 403), (status = 404)))]
async fn user_collections(
    State(app): State<App>,
    Auth(p): Auth,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Json<Vec<OrgCollection>>> {
    let grants = app.space_collections_of(&p, &user, &org).await?;
    Ok(Json(grants.iter().map(OrgCollection::from).collect()))
}

/// Set the organization's collections granted to a user directly to exactly these (direct
/// assignment, beside what the user's groups grant: the highest level wins).
#[utoipa::path(put, path = "/api/organizations/{org_id}/users/{user_id}/collections", operation_id = "orgSetUserCollections", tag = "organizations", request_body = Vec<OrgCollection>,
    params(("org_id" = String, Path, description = "Organization ID"), ("user_id" = String, Path, description = "User ID")),
    responses((status = 200), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_user_collections(
    State(app): State<App>,
    Auth(p): Auth,
    Path((org, user)): Path<(String, String)>,
    Body(list): Body<Vec<OrgCollection>>,
) -> ApiResult<Response> {
    let grants = list.iter().map(CollectionGrant::from).collect();
    app.set_space_collections_of(&p, &user, &org, grants).await?;
    Ok(StatusCode::OK.into_response())
}
