//! `/groups/{id}/invitations` and `/invitations/{id}/accept|decline`.

use super::members::MembershipOut;
use super::schema::{self, ListParams, PageMeta, PageParams, meta_paged, opt_instant, opt_ts, ts};
use crate::error::{ApiResult, ErrorBody, parts};
use crate::extract::{Auth, Body, BodyOrDefault, Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cohort_app::App;
use cohort_app::invitations::{Invite, Invited};
use cohort_core::model::{Invitation, InvitationStatus};
use cohort_core::time;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
        .routes(routes!(resend))
        .routes(routes!(accept))
        .routes(routes!(decline))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: String,
    pub invitation_id: String,
    pub group_id: String,
    pub email: Option<String>,
    pub user_id: Option<String>,
    pub role: String,
    pub message: Option<String>,
    /// `sent`, `accepted`, `declined`, `revoked` or `expired`.
    pub status: String,
    pub invited_by: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub decided_at: Option<String>,
    /// Only in the answer that sent it: the secret of the invitation's link, for the
    /// inviter to send to the invitee. Whoever holds it may accept an invitation to an
    /// email (one bound to a user stays that user's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// How its mail went (`notify`): null when none was asked for.
    pub mail: Option<InvitationMailOut>,
}

/// How an invitation's mail went.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationMailOut {
    /// `queued` (in the outbox, or being retried), `sent`, `failed` (retried for 24 hours)
    /// or `not_configured` (no mail server: `cohort serve --smtp-url`).
    #[schema(example = "sent")]
    pub status: String,
    pub sent_at: Option<String>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub attempts: i64,
}

impl From<Invitation> for InvitationOut {
    fn from(i: Invitation) -> Self {
        InvitationOut {
            invitation_id: i.id.clone(),
            status: i.status_at(time::now()).as_str().into(),
            id: i.id,
            group_id: i.group_id,
            email: i.email,
            user_id: i.user_id,
            role: i.role,
            message: i.message,
            invited_by: i.invited_by,
            created_at: ts(i.created_at),
            expires_at: ts(i.expires_at),
            decided_at: opt_ts(i.decided_at),
            token: None,
            mail: i.mail.status.map(|status| InvitationMailOut {
                status: status.as_str().into(),
                sent_at: opt_ts(i.mail.sent_at),
                error: i.mail.error,
                attempts: i.mail.attempts,
            }),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationCreate {
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub user_ids: Vec<String>,
    pub role: Option<String>,
    pub message: Option<String>,
    /// Default 7; 0 expires at once.
    pub expires_in_days: Option<i64>,
    /// RFC 3339; wins over `expires_in_days`.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Mail each invitation, with its accept link, to its email (false unless given).
    pub notify: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteFailure {
    pub target: String,
    pub error: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationsSent {
    pub invitations: Vec<InvitationOut>,
    pub sent: i64,
    pub failed: i64,
    pub failures: Vec<InviteFailure>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub invitations: Vec<InvitationOut>,
    #[serde(flatten)]
    pub page: PageMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationListParams {
    #[param(value_type = Option<schema::InvitationStatus>)]
    pub status: Option<InvitationStatus>,
}

/// Invite emails and/or users with a role.
#[utoipa::path(post, path = "/api/v1/groups/{id}/invitations", operation_id = "createInvitation", tag = "invitations", request_body = InvitationCreate, params(("id" = String, Path, description = "Group id")),
    responses((status = 201, body = InvitationsSent), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Body(b): Body<InvitationCreate>,
) -> ApiResult<(StatusCode, Json<InvitationsSent>)> {
    let inv = Invite {
        emails: b.emails,
        user_ids: b.user_ids,
        role: b.role,
        message: b.message,
        expires_in_days: b.expires_in_days,
        expires_at: opt_instant("expires_at", b.expires_at)?,
        notify: b.notify.unwrap_or(false),
    };
    let mut out = InvitationsSent { invitations: vec![], sent: 0, failed: 0, failures: vec![] };
    for r in app.invite(&p, &id, inv).await? {
        match r {
            Invited::Sent(i, link) => {
                out.sent += 1;
                out.invitations.push(InvitationOut { token: Some(link), ..(*i).into() });
            }
            Invited::Failed { target, error } => {
                out.failed += 1;
                out.failures.push(InviteFailure { target, error: parts(&error).1.into(), message: error.to_string() });
            }
        }
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// List a group's invitations (those who may invite).
///
/// Filter fields and sort keys: `GET /filters/invitations`.
#[utoipa::path(get, path = "/api/v1/groups/{id}/invitations", operation_id = "listInvitations", tag = "invitations", params(("id" = String, Path, description = "Group id"), InvitationListParams, PageParams, ListParams),
    responses((status = 200, body = InvitationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<InvitationListParams>,
    Query(pp): Query<PageParams>,
    Query(lp): Query<ListParams>,
) -> ApiResult<Json<InvitationList>> {
    let listing = lp.listing(&pp)?;
    let page = app.list_invitations(&p, &id, q.status, &listing).await?;
    let meta = meta_paged(&page, &listing.paging);
    Ok(Json(InvitationList { invitations: page.items.into_iter().map(Into::into).collect(), page: meta }))
}

/// Revoke an invitation.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/invitations/{invitation_id}", operation_id = "revokeInvitation", tag = "invitations",
    params(("id" = String, Path, description = "Group id"), ("invitation_id" = String, Path, description = "Invitation id")),
    responses((status = 200, body = InvitationOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn revoke(State(app): State<App>, Auth(p): Auth, Path((id, inv)): Path<(String, String)>) -> ApiResult<Json<InvitationOut>> {
    Ok(Json(app.revoke_invitation(&p, &id, &inv).await?.into()))
}

/// Send an open invitation's mail again, with a new link (the old one stops working);
/// the answer holds the new link's secret, as the one that sent it did.
#[utoipa::path(post, path = "/api/v1/groups/{id}/invitations/{invitation_id}/resend", operation_id = "resendInvitation", tag = "invitations",
    params(("id" = String, Path, description = "Group id"), ("invitation_id" = String, Path, description = "Invitation id")),
    responses((status = 200, body = InvitationOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resend(State(app): State<App>, Auth(p): Auth, Path((id, inv)): Path<(String, String)>) -> ApiResult<Json<InvitationOut>> {
    let (i, link) = app.resend_invitation(&p, &id, &inv).await?;
    Ok(Json(InvitationOut { token: Some(link), ..i.into() }))
}

/// An answer to an invitation; the body may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The secret of the invitation's link, for an invitee whose confirmed email is not the
    /// invited address.
    #[schema(max_length = 200)]
    pub token: Option<String>,
}

/// The invited user accepts and becomes a member.
#[utoipa::path(post, path = "/api/v1/invitations/{invitation_id}/accept", operation_id = "acceptInvitation", tag = "invitations", params(("invitation_id" = String, Path, description = "Invitation id")),
    request_body(content = Option<Answer>),
    responses((status = 200, body = MembershipOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn accept(
    State(app): State<App>,
    Auth(p): Auth,
    Path(inv): Path<String>,
    BodyOrDefault(b): BodyOrDefault<Answer>,
) -> ApiResult<Json<MembershipOut>> {
    Ok(Json(app.accept_invitation(&p, &inv, b.token.as_deref()).await?.into()))
}

/// The invited user declines.
#[utoipa::path(post, path = "/api/v1/invitations/{invitation_id}/decline", operation_id = "declineInvitation", tag = "invitations", params(("invitation_id" = String, Path, description = "Invitation id")),
    request_body(content = Option<Answer>),
    responses((status = 200, body = InvitationOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
async fn decline(
    State(app): State<App>,
    Auth(p): Auth,
    Path(inv): Path<String>,
    BodyOrDefault(b): BodyOrDefault<Answer>,
) -> ApiResult<Json<InvitationOut>> {
    Ok(Json(app.decline_invitation(&p, &inv, b.token.as_deref()).await?.into()))
}
