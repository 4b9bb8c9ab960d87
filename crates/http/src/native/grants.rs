//! `/users/{id}/collections/{collection_id}`: a collection granted to a user directly, beside
//! what their groups grant (`GET /users/{id}/collections` shows both, `via: ["direct"]`).

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path};
use axum::Json;
use axum::extract::State;
use cohort_app::App;
use cohort_core::model::CollectionGrant;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(grant, revoke))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectGrantIn {
    /// The space whose collection this is (its moderators may grant it); absent or null for a
    /// grant only site administrators change.
    pub space_id: Option<String>,
    /// Read access only (else edit).
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub hide_passwords: bool,
    /// Manage access (above edit).
    #[serde(default)]
    pub manage: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectGrantOut {
    pub user_id: String,
    pub collection_id: String,
    pub space_id: Option<String>,
    pub read_only: bool,
    pub hide_passwords: bool,
    pub manage: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectGrantRevoked {
    pub revoked: bool,
    pub user_id: String,
    pub collection_id: String,
}

/// Grant a collection to a user directly (site administrators; a space's moderators for its
/// collections). Merged with the user's groups' grants: the highest level wins.
#[utoipa::path(put, path = "/api/v1/users/{id}/collections/{collection_id}", operation_id = "grantUserCollection", tag = "access", request_body = DirectGrantIn,
    params(("id" = String, Path, description = "User id"), ("collection_id" = String, Path, description = "Collection id")),
    responses((status = 200, body = DirectGrantOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn grant(
    State(app): State<App>,
    Auth(p): Auth,
    Path((user_id, collection_id)): Path<(String, String)>,
    Body(b): Body<DirectGrantIn>,
) -> ApiResult<Json<DirectGrantOut>> {
    let grant = CollectionGrant { id: collection_id.clone(), read_only: b.read_only, hide_passwords: b.hide_passwords, manage: b.manage };
    app.grant_collection(&p, &user_id, b.space_id.clone(), grant).await?;
    Ok(Json(DirectGrantOut {
        user_id,
        collection_id,
        space_id: b.space_id,
        read_only: b.read_only,
        hide_passwords: b.hide_passwords,
        manage: b.manage,
    }))
}

/// Take back a collection granted to a user directly (what their groups grant stays).
#[utoipa::path(delete, path = "/api/v1/users/{id}/collections/{collection_id}", operation_id = "revokeUserCollection", tag = "access",
    params(("id" = String, Path, description = "User id"), ("collection_id" = String, Path, description = "Collection id")),
    responses((status = 200, body = DirectGrantRevoked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke(
    State(app): State<App>,
    Auth(p): Auth,
    Path((user_id, collection_id)): Path<(String, String)>,
) -> ApiResult<Json<DirectGrantRevoked>> {
    app.revoke_collection(&p, &user_id, &collection_id).await?;
    Ok(Json(DirectGrantRevoked { revoked: true, user_id, collection_id }))
}
