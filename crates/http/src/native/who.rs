//! Who: `GET /permissions/{permission}/users` (every user who holds a permission) and
//! `GET /groups/{id}/effective-members` (every user who belongs to a group, by action) —
//! from the access index, a page at a time by user id.

use super::checks::group_action;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Path, Query};
use axum::Json;
use axum::extract::State;
use cohort_app::App;
use cohort_app::who::DEFAULT_LIMIT;
use cohort_core::Error;
use cohort_core::access::Level;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(permission_users)).routes(routes!(collection_users)).routes(routes!(effective_members))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhoParams {
    /// Users after this one (the `next_cursor` of the page before).
    pub cursor: Option<String>,
    /// At most this many users (1 to 1000; 100 unless asked).
    #[param(example = 100)]
    pub limit: Option<usize>,
    /// Wait until this instance has applied this revision (from `X-Cohort-Revision`).
    pub at_least_revision: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CollectionWhoParams {
    /// The least access asked: `read` (unless given), `edit` or `manage`.
    #[param(example = "edit")]
    pub level: Option<String>,
    pub cursor: Option<String>,
    #[param(example = 100)]
    pub limit: Option<usize>,
    pub at_least_revision: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionHolderPage {
    pub collection_id: String,
    pub level: String,
    /// Each user, with the groups it comes through (`direct` for a grant to the user).
    pub users: Vec<HolderOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersWhoParams {
    /// Only those whose role there allows it: `read`, `post`, `manage_members`,
    /// `manage_settings`, `moderate` or `delete`.
    #[param(example = "manage_members")]
    pub action: Option<String>,
    pub cursor: Option<String>,
    #[param(example = 100)]
    pub limit: Option<usize>,
    pub at_least_revision: Option<i64>,
}

/// A user who holds the permission.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderOut {
    #[schema(example = "usr_01j9z6k3v2m8q4r5s6t7u8v9w0")]
    pub user_id: String,
    /// The groups it comes through (those the caller may read).
    pub via: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HolderPage {
    pub permission: String,
    pub users: Vec<HolderOut>,
    /// Pass it as `cursor` for the next page (null at the end).
    pub next_cursor: Option<String>,
}

/// A user who effectively belongs to the group.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveMemberOut {
    pub user_id: String,
    /// Their role there (inherited members keep the role they hold above).
    #[schema(example = "member")]
    pub role: String,
    /// The group of the direct membership it comes from (the group itself, or an ancestor
    /// whose members flow into it).
    pub via: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveMemberPage {
    pub group_id: String,
    pub members: Vec<EffectiveMemberOut>,
    pub next_cursor: Option<String>,
}

/// Who holds a permission: every user, with the groups it comes through.
///
/// Site-wide readers see every holder; anyone else the holders through groups they may read
/// (a space-bound key, its space's). Sorted by user id, a page at a time.
#[utoipa::path(get, path = "/api/v1/permissions/{permission}/users", operation_id = "listPermissionUsers", tag = "checks",
    params(("permission" = String, Path, description = "A permission", example = "kb.read"), WhoParams),
    responses((status = 200, body = HolderPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn permission_users(
    State(app): State<App>,
    Auth(p): Auth,
    Path(permission): Path<String>,
    Query(q): Query<WhoParams>,
) -> ApiResult<Json<HolderPage>> {
    let page = app.permission_users(&p, &permission, q.cursor.as_deref(), q.limit.unwrap_or(DEFAULT_LIMIT), q.at_least_revision).await?;
    let users = page.users.into_iter().map(|h| HolderOut { user_id: h.user_id, via: h.via }).collect();
    Ok(Json(HolderPage { permission, users, next_cursor: page.next_cursor }))
}

/// Who has a collection: every user with `level` (or more) on it, with the groups it comes
/// through — as a check would answer for each.
///
/// Site-wide readers see every holder (and grants to users, `direct`); anyone else the
/// holders through groups they may read.
#[utoipa::path(get, path = "/api/v1/collections/{id}/users", operation_id = "listCollectionUsers", tag = "checks",
    params(("id" = String, Path, description = "Collection id", example = "col_vault"), CollectionWhoParams),
    responses((status = 200, body = CollectionHolderPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn collection_users(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<CollectionWhoParams>,
) -> ApiResult<Json<CollectionHolderPage>> {
    let raw = q.level.unwrap_or_else(|| "read".into());
    let level = Level::parse(&raw).ok_or_else(|| Error::validation("level", format!("{raw:?} is not read, edit or manage")))?;
    let page = app.collection_users(&p, &id, level, q.cursor.as_deref(), q.limit.unwrap_or(DEFAULT_LIMIT), q.at_least_revision).await?;
    let users = page.users.into_iter().map(|h| HolderOut { user_id: h.user_id, via: h.via }).collect();
    Ok(Json(CollectionHolderPage { collection_id: id, level: raw, users, next_cursor: page.next_cursor }))
}

/// Who belongs to a group: every user who effectively does (directly, or through an
/// ancestor whose members flow into it), with their role and where it comes from; with
/// `action`, only those whose role allows it. For those who may read the group.
#[utoipa::path(get, path = "/api/v1/groups/{id}/effective-members", operation_id = "listEffectiveMembers", tag = "checks",
    params(("id" = String, Path, description = "Group id"), MembersWhoParams),
    responses((status = 200, body = EffectiveMemberPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn effective_members(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<MembersWhoParams>,
) -> ApiResult<Json<EffectiveMemberPage>> {
    let action = q.action.as_deref().map(group_action).transpose()?;
    let page = app.effective_members(&p, &id, action, q.cursor.as_deref(), q.limit.unwrap_or(DEFAULT_LIMIT), q.at_least_revision).await?;
    let members = page.users.into_iter().map(|m| EffectiveMemberOut { user_id: m.user_id, role: m.role, via: m.via }).collect();
    Ok(Json(EffectiveMemberPage { group_id: id, members, next_cursor: page.next_cursor }))
}
