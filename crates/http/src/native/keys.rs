//! `/api-keys`: keys with scopes, shown once.

use super::schema::{opt_instant, opt_ts, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cohort_app::App;
use cohort_app::keys::NewKey;
use cohort_core::model::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(revoke))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyOut {
    pub id: String,
    pub key_id: String,
    pub name: String,
    /// The first characters of the secret, to recognise it by.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// The user the key acts as; null for a site key.
    pub user_id: Option<String>,
    pub space_id: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
}

impl From<ApiKey> for KeyOut {
    fn from(k: ApiKey) -> Self {
        KeyOut {
            key_id: k.id.clone(),
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            user_id: k.owner_user_id,
            space_id: k.space_id,
            created_at: ts(k.created_at),
            expires_at: opt_ts(k.expires_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCreated {
    #[serde(flatten)]
    pub key: KeyOut,
    /// The secret: shown this once, stored only as a hash.
    #[serde(rename = "key")]
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyCreate {
    pub name: String,
    /// Any of `groups:read`, `groups:write`, `users:read`, `users:write`, `scim`, `admin`.
    pub scopes: Vec<String>,
    /// The user the key acts as (administrators may name anyone; others only themselves).
    /// Omitted: the caller, or a site key when an administrator creates it.
    pub user_id: Option<String>,
    /// The space a `scim` key is bound to.
    pub space_id: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub api_keys: Vec<KeyOut>,
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRevoked {
    pub revoked: bool,
    pub key_id: String,
}

/// Create a key; the response is the only time its secret is shown.
#[utoipa::path(post, path = "/api/v1/api-keys", operation_id = "createApiKey", tag = "api-keys", request_body = KeyCreate,
    responses((status = 201, body = KeyCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(State(app): State<App>, Auth(p): Auth, Body(b): Body<KeyCreate>) -> ApiResult<(StatusCode, Json<KeyCreated>)> {
    let new = NewKey {
        name: b.name,
        scopes: b.scopes,
        owner_user_id: b.user_id,
        space_id: b.space_id,
        expires_at: opt_instant("expires_at", b.expires_at)?,
    };
    let (key, secret) = app.create_key(&p, new).await?;
    Ok((StatusCode::CREATED, Json(KeyCreated { key: key.into(), secret })))
}

/// List live keys: all for an administrator, else the caller's own.
#[utoipa::path(get, path = "/api/v1/api-keys", operation_id = "listApiKeys", tag = "api-keys",
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(State(app): State<App>, Auth(p): Auth) -> ApiResult<Json<KeyList>> {
    let keys = app.list_keys(&p).await?;
    Ok(Json(KeyList { total: keys.len() as i64, api_keys: keys.into_iter().map(KeyOut::from).collect() }))
}

/// Revoke a key.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", operation_id = "revokeApiKey", tag = "api-keys", params(("id" = String, Path, description = "Key id")),
    responses((status = 200, body = KeyRevoked), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<KeyRevoked>> {
    app.revoke_key(&p, &id).await?;
    Ok(Json(KeyRevoked { revoked: true, key_id: id }))
}
