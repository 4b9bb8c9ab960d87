//! `/groups/{id}/members`, `/groups/{id}/users`, join and leave.

use super::schema::{self, ListParams, PageMeta, PageParams, meta_paged, nullable, opt_instant, opt_ts, ts};
use super::users::UserOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, BodyOrDefault, IfMatch, Path, Query, with_etag};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cohort_app::App;
use cohort_app::members::{BulkOutcome, MemberPatch, NewMember, Removed};
use cohort_app::requests::Filed;
use cohort_core::auth::Principal;
use cohort_core::list::MemberQuery;
use cohort_core::model::{Member, MemberStatus, Membership};
use cohort_core::policy::site;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(add, list))
        .routes(routes!(bulk_add))
        .routes(routes!(get, patch, remove))
        .routes(routes!(users))
        .routes(routes!(join))
        .routes(routes!(leave))
}

/// A membership as writes answer it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipOut {
    pub id: String,
    pub membership_id: String,
    pub group_id: String,
    pub user_id: String,
    pub role: String,
    pub permissions: Vec<String>,
    #[schema(value_type = schema::MemberStatus)]
    pub status: String,
    pub joined_at: String,
    pub expires_at: Option<String>,
    pub last_active: Option<String>,
    pub added_by: Option<String>,
    pub version: i64,
}

impl From<Membership> for MembershipOut {
    fn from(m: Membership) -> Self {
        MembershipOut {
            membership_id: m.id.clone(),
            id: m.id,
            group_id: m.group_id,
            user_id: m.user_id,
            role: m.role,
            permissions: m.permissions,
            status: m.status.as_str().into(),
            joined_at: ts(m.joined_at),
            expires_at: opt_ts(m.expires_at),
            last_active: opt_ts(m.last_active),
            added_by: m.added_by,
            version: m.version,
        }
    }
}

/// The user inside a member-list entry; `email` only for the user themself and site-wide
/// readers of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberUser {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A member-list entry: the membership with its user.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    pub id: String,
    pub membership_id: String,
    pub group_id: String,
    pub user_id: String,
    pub user: MemberUser,
    pub role: String,
    pub permissions: Vec<String>,
    #[schema(value_type = schema::MemberStatus)]
    pub status: String,
    pub joined_at: String,
    pub expires_at: Option<String>,
    pub last_active: Option<String>,
    pub added_by: Option<String>,
    pub version: i64,
}

impl MemberOut {
    /// The entry as the caller may see it.
    pub fn shown_to(Member { membership: m, user: u }: Member, p: &Principal) -> Self {
        let sees = site::sees_private_fields(p, &u.id);
        MemberOut {
            membership_id: m.id.clone(),
            id: m.id,
            group_id: m.group_id,
            user_id: m.user_id,
            user: MemberUser {
                user_id: u.id.clone(),
                id: u.id,
                username: u.username,
                full_name: u.full_name,
                avatar_url: u.avatar_url,
                email: u.email.filter(|_| sees),
            },
            role: m.role,
            permissions: m.permissions,
            status: m.status.as_str().into(),
            joined_at: ts(m.joined_at),
            expires_at: opt_ts(m.expires_at),
            last_active: opt_ts(m.last_active),
            added_by: m.added_by,
            version: m.version,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberAdd {
    pub user_id: String,
    /// `owner`, `admin`, `moderator`, `member` (default) or a custom role.
    pub role: Option<String>,
    #[schema(value_type = Option<Vec<schema::Permission>>)]
    pub permissions: Option<Vec<String>>,
    /// Recorded on the audit event; delivery comes with webhooks.
    pub notify: Option<bool>,
    #[schema(value_type = Option<schema::MemberStatus>)]
    pub status: Option<MemberStatus>,
    /// RFC 3339; the membership stops counting then.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

impl MemberAdd {
    fn into_new(self, notify_default: bool) -> Result<NewMember, cohort_core::Error> {
        Ok(NewMember {
            user_id: self.user_id,
            role: self.role,
            permissions: self.permissions,
            status: self.status,
            expires_at: opt_instant("expires_at", self.expires_at)?,
            notify: self.notify.unwrap_or(notify_default),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAdd {
    /// At most 10,000.
    pub members: Vec<MemberAdd>,
    pub notify_all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub user_id: String,
    /// `added`, `exists` or `failed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkAdded {
    pub added: i64,
    pub failed: i64,
    pub existing: i64,
    pub memberships: Vec<BulkItem>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    pub role: Option<String>,
    #[schema(value_type = Option<Vec<schema::Permission>>)]
    pub permissions: Option<Vec<String>>,
    #[schema(value_type = Option<schema::MemberStatus>)]
    pub status: Option<MemberStatus>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberListParams {
    pub role: Option<String>,
    #[param(value_type = Option<schema::MemberStatus>)]
    pub status: Option<MemberStatus>,
    /// Case-insensitive match on username, full name and email.
    pub search: Option<String>,
    /// Also the members of ancestors whose members flow down (`inherit_members`), each user
    /// once by the nearest membership, active ones only; an inherited entry names the
    /// ancestor as its `group_id`.
    pub effective: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RemovedOut {
    pub removed: bool,
    pub group_id: String,
    pub user_id: String,
    pub removed_at: String,
}

impl From<Removed> for RemovedOut {
    fn from(r: Removed) -> Self {
        RemovedOut { removed: true, group_id: r.group_id, user_id: r.user_id, removed_at: ts(r.removed_at) }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeftOut {
    pub left: bool,
    pub group_id: String,
    pub user_id: String,
    pub left_at: String,
}

type GroupPath = Path<String>;
type MemberPath = Path<(String, String)>;

/// Add a member.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", operation_id = "addGroupMember", tag = "members", request_body = MemberAdd, params(("id" = String, Path, description = "Group id")),
    responses((status = 201, body = MembershipOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add(State(app): State<App>, Auth(p): Auth, Path(id): GroupPath, Body(b): Body<MemberAdd>) -> ApiResult<Response> {
    let m = app.add_member(&p, &id, b.into_new(false)?).await?;
    Ok(with_etag(m.version, StatusCode::CREATED, Json(MembershipOut::from(m))))
}

/// Add many members at once; safe to repeat.
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/bulk", operation_id = "addGroupMembers", tag = "members", request_body = BulkAdd, params(("id" = String, Path, description = "Group id")),
    responses((status = 200, body = BulkAdded), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn bulk_add(State(app): State<App>, Auth(p): Auth, Path(id): GroupPath, Body(b): Body<BulkAdd>) -> ApiResult<Json<BulkAdded>> {
    let notify = b.notify_all.unwrap_or(false);
    let items = b.members.into_iter().map(|m| m.into_new(notify)).collect::<Result<Vec<_>, _>>()?;
    let results = app.bulk_add_members(&p, &id, items).await?;
    let mut out = BulkAdded { added: 0, failed: 0, existing: 0, memberships: Vec::with_capacity(results.len()) };
    for (user_id, r) in results {
        let item = match r {
            BulkOutcome::Added(m) => {
                out.added += 1;
                BulkItem { user_id, status: "added".into(), membership_id: Some(m.id), error: None, message: None }
            }
            BulkOutcome::Exists => {
                out.existing += 1;
                BulkItem { user_id, status: "exists".into(), membership_id: None, error: Some("member_exists".into()), message: None }
            }
            BulkOutcome::Failed(e) => {
                out.failed += 1;
                let (_, code, _) = crate::error::parts(&e);
                BulkItem { user_id, status: "failed".into(), membership_id: None, error: Some(code.into()), message: Some(e.to_string()) }
            }
        };
        out.memberships.push(item);
    }
    Ok(Json(out))
}

/// List members.
///
/// Filter fields and sort keys: `GET /filters/members`.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", operation_id = "listGroupMembers", tag = "members", params(("id" = String, Path, description = "Group id"), MemberListParams, PageParams, ListParams),
    responses((status = 200, body = MemberList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): GroupPath,
    Query(q): Query<MemberListParams>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<MemberList>> {
    let query = MemberQuery { role: q.role, status: q.status, search: q.search.filter(|s| !s.is_empty()), inherited_from: None };
    let listing = lp.listing(&pp)?;
    let page = app.list_members(&p, &id, &query, q.effective.unwrap_or(false), &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(MemberList { members: page.items.into_iter().map(|m| MemberOut::shown_to(m, &p)).collect(), page: meta }))
}

/// Get one member.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members/{user_id}", operation_id = "getGroupMember", tag = "members",
    params(("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 200, body = MemberOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path((id, user_id)): MemberPath) -> ApiResult<Response> {
    let m = app.get_member(&p, &id, &user_id).await?;
    Ok(with_etag(m.membership.version, StatusCode::OK, Json(MemberOut::shown_to(m, &p))))
}

/// Change a member's role, permissions, status or expiry.
#[utoipa::path(patch, path = "/api/v1/groups/{id}/members/{user_id}", operation_id = "updateGroupMember", tag = "members", request_body = MemberUpdate,
    params(("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id"), ("If-Match" = Option<String>, Header, description = "ETag from a read")),
    responses((status = 200, body = MembershipOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn patch(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, user_id)): MemberPath,
    IfMatch(v): IfMatch,
    Body(b): Body<MemberUpdate>,
) -> ApiResult<Response> {
    let expires_at = match b.expires_at {
        Some(Some(t)) => Some(Some(schema::instant("expires_at", &t)?)),
        Some(None) => Some(None),
        None => None,
    };
    let patch = MemberPatch { role: b.role, permissions: b.permissions, status: b.status, expires_at };
    let m = app.update_member(&p, &id, &user_id, patch, v).await?;
    Ok(with_etag(m.version, StatusCode::OK, Json(MembershipOut::from(m))))
}

/// Remove a member.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", operation_id = "removeGroupMember", tag = "members",
    params(("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a read: refused (412) if the membership has changed since")),
    responses((status = 200, body = RemovedOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 412, body = ErrorBody)))]
async fn remove(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, user_id)): MemberPath,
    IfMatch(v): IfMatch,
) -> ApiResult<Json<RemovedOut>> {
    Ok(Json(app.remove_member(&p, &id, &user_id, v).await?.into()))
}

/// The users of a group (active members), as user records.
///
/// In the order they joined unless sorted otherwise. Filter fields and sort keys:
/// `GET /filters/group-users`.
#[utoipa::path(get, path = "/api/v1/groups/{id}/users", operation_id = "listGroupUsers", tag = "members", params(("id" = String, Path, description = "Group id"), PageParams, ListParams),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn users(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): GroupPath,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<UserList>> {
    let listing = lp.listing(&pp)?;
    let page = app.group_users(&p, &id, &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(UserList { users: page.items.into_iter().map(|u| UserOut::shown_to(u, &p)).collect(), page: meta }))
}

/// Join a group: a public group that needs no approval at once (201 with the membership);
/// otherwise the join request is filed (202 with the request).
#[utoipa::path(post, path = "/api/v1/groups/{id}/join", operation_id = "joinGroup", tag = "members", params(("id" = String, Path, description = "Group id")),
    request_body(content = Option<super::requests::RequestCreate>, description = "A message for the request filed when the group needs approval"),
    responses((status = 201, body = MembershipOut), (status = 202, body = super::requests::RequestOut), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn join(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): GroupPath,
    BodyOrDefault(b): BodyOrDefault<super::requests::RequestCreate>,
) -> ApiResult<Response> {
    match app.request_join(&p, &id, b.message, b.referred_by).await? {
        Filed::Joined(_, m) => Ok(with_etag(m.version, StatusCode::CREATED, Json(MembershipOut::from(*m)))),
        pending => Ok(super::requests::filed_response(pending)),
    }
}

/// Leave a group.
#[utoipa::path(post, path = "/api/v1/groups/{id}/leave", operation_id = "leaveGroup", tag = "members", params(("id" = String, Path, description = "Group id")),
    responses((status = 200, body = LeftOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn leave(State(app): State<App>, Auth(p): Auth, Path(id): GroupPath) -> ApiResult<Json<LeftOut>> {
    let r = app.leave_group(&p, &id).await?;
    Ok(Json(LeftOut { left: true, group_id: r.group_id, user_id: r.user_id, left_at: ts(r.removed_at) }))
}
