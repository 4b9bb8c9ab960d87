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
    OpenApiRouter::new()
        .routes(routes!(permission_users))
        .routes(routes!(collection_users))
        .routes(routes!(effective_members))
        .routes(routes!(access_review))
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    /// The space to review.
    #[param(example = "spc_default")]
    pub space: String,
    /// `jsonl` (one JSON object a line; unless asked) or `csv`.
    #[param(example = "csv")]
    pub format: Option<String>,
}

/// A CSV cell: quoted when it must be, and never read as a formula by a spreadsheet.
fn csv_cell(raw: &str) -> String {
    let safe = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{raw}") } else { raw.to_string() };
    if safe.contains([',', '"', '\n', '\r']) { format!("\"{}\"", safe.replace('"', "\"\"")) } else { safe }
}

/// An access review of a space: every user's effective membership of each of its groups,
/// with their role, the membership it comes from and since when, and the permissions and
/// collection levels the group gives — for an auditor's spreadsheet (`csv`) or a script
/// (`jsonl`). For the space's moderators and site-wide readers.
#[utoipa::path(get, path = "/api/v1/access-review", operation_id = "exportAccessReview", tag = "checks", params(ReviewParams),
    responses((status = 200, description = "One line per user and group", content(
        (String = "application/x-ndjson", example = json!("{\"user_id\":\"usr_1\",\"group_id\":\"grp_1\",\"role\":\"member\",\"via\":\"grp_1\",\"since\":\"2026-01-05T10:00:00Z\",\"permissions\":[\"kb.read\"],\"collections\":[{\"id\":\"col_1\",\"level\":\"read\"}]}\n")),
        (String = "text/csv", example = json!("user_id,group_id,role,via,since,permissions,collections\nusr_1,grp_1,member,grp_1,2026-01-05T10:00:00Z,kb.read,col_1:read\n"))
    )), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn access_review(State(app): State<App>, Auth(p): Auth, Query(q): Query<ReviewParams>) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let csv = match q.format.as_deref().unwrap_or("jsonl") {
        "jsonl" => false,
        "csv" => true,
        other => return Err(Error::validation("format", format!("{other:?} is not jsonl or csv")).into()),
    };
    let rows = app.access_review(&p, &q.space).await?;
    let mut out = String::new();
    if csv {
        out.push_str("user_id,group_id,role,via,since,permissions,collections\n");
    }
    for (r, since) in rows {
        let since = since.map(cohort_core::time::rfc3339);
        if csv {
            let collections: Vec<String> = r.collections.iter().map(|(c, l)| format!("{c}:{}", l.as_str())).collect();
            let cells =
                [&r.user_id, &r.group_id, &r.role, &r.via, &since.unwrap_or_default(), &r.permissions.join(" "), &collections.join(" ")];
            out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        } else {
            let collections: Vec<serde_json::Value> =
                r.collections.iter().map(|(c, l)| serde_json::json!({"id": c, "level": l.as_str()})).collect();
            let line = serde_json::json!({"user_id": r.user_id, "group_id": r.group_id, "role": r.role, "via": r.via, "since": since,
                "permissions": r.permissions, "collections": collections});
            out.push_str(&line.to_string());
        }
        out.push('\n');
    }
    let kind = if csv { "text/csv; charset=utf-8" } else { "application/x-ndjson" };
    Ok(([(axum::http::header::CONTENT_TYPE, kind)], out).into_response())
}
