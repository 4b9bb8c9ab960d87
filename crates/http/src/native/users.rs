//! `/users`: the site's users.

use super::schema::{ListParams, PageMeta, PageParams, SiteRole, meta_paged, nullable, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, IfMatch, Path, Query, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cohort_app::App;
use cohort_app::users::{NewUser, UserPatch};
use cohort_core::auth::Principal;
use cohort_core::model::{self, User};
use cohort_core::policy::site;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(me)).routes(routes!(get, patch, delete))
}

/// A user as the native API shows it; secrets never appear. The private fields (`email`,
/// `email_verified`, `external_id`, `site_role`) appear only to the user themself and to
/// site-wide readers of users; to anyone else they are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub user_id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Whether the email is confirmed; one a user set themself is not until confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SiteRole>)]
    pub site_role: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

impl UserOut {
    /// The user with every field (for the user themself, or the site).
    pub fn full(u: User) -> Self {
        UserOut {
            user_id: u.id.clone(),
            id: u.id,
            username: u.username,
            email: Some(u.email),
            email_verified: Some(u.email_verified),
            full_name: u.full_name,
            avatar_url: u.avatar_url,
            external_id: Some(u.external_id),
            active: u.active,
            site_role: Some(u.site_role.as_str().to_string()),
            created_at: ts(u.created_at),
            updated_at: ts(u.updated_at),
            version: u.version,
        }
    }

    /// The user as the caller may see them.
    pub fn shown_to(u: User, p: &Principal) -> Self {
        let sees = site::sees_private_fields(p, &u.id);
        let mut out = UserOut::full(u);
        if !sees {
            (out.email, out.email_verified, out.external_id, out.site_role) = (None, None, None, None);
        }
        out
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    #[schema(example = "johndoe")]
    pub username: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    /// 8 to 1024 characters; stored as an Argon2id hash.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
    #[schema(value_type = Option<SiteRole>)]
    pub site_role: Option<model::SiteRole>,
    #[schema(min_length = 1, max_length = 300)]
    pub external_id: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub username: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub full_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
    #[schema(value_type = Option<SiteRole>)]
    pub site_role: Option<model::SiteRole>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 300)]
    pub external_id: Option<Option<String>>,
    pub active: Option<bool>,
    /// Site administrators only.
    pub email_verified: Option<bool>,
    /// Your present password: changing your own password needs it.
    #[schema(max_length = 1024)]
    pub current_password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Case-insensitive match on username, email and full name.
    pub search: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDeleted {
    pub deleted: bool,
    pub user_id: String,
}

/// Create a user (site administrators or `users:write` site keys).
#[utoipa::path(post, path = "/api/v1/users", operation_id = "createUser", tag = "users", request_body = UserCreate,
    responses((status = 201, body = UserOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(State(app): State<App>, Auth(p): Auth, Body(b): Body<UserCreate>) -> ApiResult<Response> {
    let new = NewUser {
        username: b.username,
        email: b.email,
        full_name: b.full_name,
        avatar_url: b.avatar_url,
        password: b.password,
        site_role: b.site_role,
        external_id: b.external_id,
        active: b.active,
        ..NewUser::default()
    };
    let u = app.create_user(&p, new).await?;
    Ok(with_etag(u.version, StatusCode::CREATED, Json(UserOut::shown_to(u, &p))))
}

/// List users.
///
/// Filter fields and sort keys: `GET /filters/users`.
#[utoipa::path(get, path = "/api/v1/users", operation_id = "listUsers", tag = "users", params(UserListParams, PageParams, ListParams),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<UserListParams>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<UserList>> {
    let listing = lp.listing(&pp)?;
    let page = app.list_users(&p, q.search.as_deref().filter(|s| !s.is_empty()), &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(UserList { users: page.items.into_iter().map(|u| UserOut::shown_to(u, &p)).collect(), page: meta }))
}

/// The caller's own user.
#[utoipa::path(get, path = "/api/v1/users/me", operation_id = "getCurrentUser", tag = "users",
    responses((status = 200, body = UserOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn me(State(app): State<App>, Auth(p): Auth) -> ApiResult<Response> {
    let u = app.me(&p).await?;
    Ok(with_etag(u.version, StatusCode::OK, Json(UserOut::shown_to(u, &p))))
}

/// Get a user.
#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "getUser", tag = "users", params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Response> {
    let u = app.get_user(&p, &id).await?;
    Ok(with_etag(u.version, StatusCode::OK, Json(UserOut::shown_to(u, &p))))
}

/// Change a user: themself (profile and password) or an administrator (everything).
#[utoipa::path(patch, path = "/api/v1/users/{id}", operation_id = "updateUser", tag = "users", request_body = UserUpdate,
    params(("id" = String, Path, description = "User id"), ("If-Match" = Option<String>, Header, description = "ETag from a read")),
    responses((status = 200, body = UserOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<UserUpdate>,
) -> ApiResult<Response> {
    let patch = UserPatch {
        username: b.username,
        email: b.email,
        full_name: b.full_name,
        avatar_url: b.avatar_url,
        password: b.password,
        site_role: b.site_role,
        external_id: b.external_id,
        active: b.active,
        email_verified: b.email_verified,
        current_password: b.current_password,
        scim_document: None,
    };
    let u = app.update_user(&p, &id, patch, v).await?;
    Ok(with_etag(u.version, StatusCode::OK, Json(UserOut::shown_to(u, &p))))
}

/// Delete a user and their memberships.
#[utoipa::path(delete, path = "/api/v1/users/{id}", operation_id = "deleteUser", tag = "users", params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<UserDeleted>> {
    app.delete_user(&p, &id).await?;
    Ok(Json(UserDeleted { deleted: true, user_id: id }))
}
