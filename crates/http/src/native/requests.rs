//! `/groups/{id}/join-requests`: ask to join, list, approve or reject, cancel.

use super::members::MembershipOut;
use super::schema::{self, ListParams, PageMeta, PageParams, meta_paged, opt_ts, ts};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, BodyOrDefault, Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cohort_app::App;
use cohort_app::requests::{Decision, Filed};
use cohort_core::model::{JoinRequest, RequestStatus, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(decide, cancel))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestUser {
    pub user_id: String,
    pub username: String,
    pub full_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub request_id: String,
    pub group_id: String,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<RequestUser>,
    pub message: Option<String>,
    pub referred_by: Option<String>,
    /// `pending`, `approved`, `rejected` or `cancelled`.
    pub status: String,
    pub submitted_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    pub role: Option<String>,
    /// Set when the request made a membership (approval, or an open group joined at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership: Option<MembershipOut>,
}

pub fn request_out(j: JoinRequest, user: Option<User>) -> RequestOut {
    RequestOut {
        request_id: j.id.clone(),
        id: j.id,
        group_id: j.group_id,
        user_id: j.user_id,
        user: user.map(|u| RequestUser { user_id: u.id, username: u.username, full_name: u.full_name }),
        message: j.message,
        referred_by: j.referred_by,
        status: j.status.as_str().into(),
        submitted_at: ts(j.submitted_at),
        decided_at: opt_ts(j.decided_at),
        decided_by: j.decided_by,
        note: j.note,
        role: j.role,
        membership: None,
    }
}

/// Renders what filing a request came to: 202 for a pending request, 201 when joined at once.
pub fn filed_response(f: Filed) -> Response {
    match f {
        Filed::Pending(j) => (StatusCode::ACCEPTED, Json(request_out(j, None))).into_response(),
        Filed::Joined(j, m) => {
            let mut out = request_out(j, None);
            out.membership = Some((*m).into());
            (StatusCode::CREATED, Json(out)).into_response()
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCreate {
    pub message: Option<String>,
    pub referred_by: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestDecision {
    #[schema(value_type = schema::RequestAction, example = "approve")]
    pub action: String,
    /// The role an approval grants (default `member`).
    pub role: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    pub requests: Vec<RequestOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestListParams {
    /// Default `pending`.
    #[param(value_type = Option<schema::RequestStatus>)]
    pub status: Option<RequestStatus>,
}

/// Ask to join a group. A public group that needs no approval is joined at once (201);
/// otherwise the request waits for a decision (202).
#[utoipa::path(post, path = "/api/v1/groups/{id}/join-requests", operation_id = "createJoinRequest", tag = "join-requests", request_body = RequestCreate, params(("id" = String, Path, description = "Group id")),
    responses((status = 202, body = RequestOut), (status = 201, body = RequestOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    BodyOrDefault(b): BodyOrDefault<RequestCreate>,
) -> ApiResult<Response> {
    Ok(filed_response(app.request_join(&p, &id, b.message, b.referred_by).await?))
}

/// List join requests (group managers).
///
/// Pending ones unless `status` or a `filter` is given. Filter fields and sort keys:
/// `GET /filters/join-requests`.
#[utoipa::path(get, path = "/api/v1/groups/{id}/join-requests", operation_id = "listJoinRequests", tag = "join-requests", params(("id" = String, Path, description = "Group id"), RequestListParams, PageParams, ListParams),
    responses((status = 200, body = RequestList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<RequestListParams>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<RequestList>> {
    let listing = lp.listing(&pp)?;
    let page = app.list_join_requests(&p, &id, q.status, &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(RequestList { requests: page.items.into_iter().map(|(j, u)| request_out(j, Some(u))).collect(), page: meta }))
}

/// Approve (with a role and a note) or reject a request.
#[utoipa::path(patch, path = "/api/v1/groups/{id}/join-requests/{request_id}", operation_id = "decideJoinRequest", tag = "join-requests", request_body = RequestDecision,
    params(("id" = String, Path, description = "Group id"), ("request_id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide(
    State(app): State<App>,
    Auth(p): Auth,
    Path((id, rid)): Path<(String, String)>,
    Body(b): Body<RequestDecision>,
) -> ApiResult<Json<RequestOut>> {
    let decision = match b.action.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        other => return Err(cohort_core::Error::validation("action", format!("{other:?} is not approve or reject")).into()),
    };
    let (j, m) = app.decide_join_request(&p, &id, &rid, decision, b.role, b.note).await?;
    let mut out = request_out(j, None);
    out.membership = m.map(Into::into);
    Ok(Json(out))
}

/// The requester cancels a pending request.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/join-requests/{request_id}", operation_id = "cancelJoinRequest", tag = "join-requests",
    params(("id" = String, Path, description = "Group id"), ("request_id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel(State(app): State<App>, Auth(p): Auth, Path((id, rid)): Path<(String, String)>) -> ApiResult<Json<RequestOut>> {
    Ok(Json(request_out(app.cancel_join_request(&p, &id, &rid).await?, None)))
}
