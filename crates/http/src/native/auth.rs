//! `/auth`: log in for a token, log out; administrators mint tokens for users.

use super::schema::ts;
use super::users::UserOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path};
use crate::limits::Client;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cohort_app::App;
use cohort_app::auth::IssuedToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(logout))
        .routes(routes!(mint))
        .routes(routes!(request_verification))
        .routes(routes!(verify_email))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Username or email.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    pub expires_at: String,
    pub user: UserOut,
}

impl From<IssuedToken> for TokenOut {
    fn from(t: IssuedToken) -> Self {
        TokenOut { token: t.token, token_type: "Bearer".into(), expires_at: ts(t.expires_at), user: UserOut::full(t.user) }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOut {
    pub revoked: bool,
}

/// Exchange a login and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/token", operation_id = "createSessionToken", tag = "auth", request_body = Login, security(()),
    responses((status = 200, body = TokenOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn token(State(app): State<App>, Client(from): Client, Body(b): Body<Login>) -> ApiResult<Json<TokenOut>> {
    Ok(Json(app.login(&b.login, &b.password, from).await?.into()))
}

/// Revoke the token this request carries.
#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "logout", tag = "auth",
    responses((status = 200, body = LoggedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn logout(State(app): State<App>, Auth(p): Auth) -> ApiResult<Json<LoggedOut>> {
    app.logout(&p).await?;
    Ok(Json(LoggedOut { revoked: true }))
}

/// Mint a token for a user (administrators).
#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", operation_id = "mintUserToken", tag = "auth", params(("id" = String, Path, description = "User id")),
    responses((status = 201, body = TokenOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mint(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<TokenOut>)> {
    Ok((StatusCode::CREATED, Json(app.mint_token(&p, &id).await?.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationOut {
    /// Shown once: send it to the address; it confirms the email at `POST /auth/verify-email`.
    pub token: String,
    pub user_id: String,
    pub email: String,
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmail {
    #[schema(max_length = 200)]
    pub token: String,
}

/// Make a confirmation for a user's email (site administrators; Cohort sends no mail, the
/// application delivers the token).
#[utoipa::path(post, path = "/api/v1/users/{id}/email-verification", operation_id = "requestEmailVerification", tag = "auth", params(("id" = String, Path, description = "User id")),
    responses((status = 201, body = VerificationOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn request_verification(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<VerificationOut>)> {
    let v = app.request_email_verification(&p, &id).await?;
    Ok((StatusCode::CREATED, Json(VerificationOut { token: v.token, user_id: v.user_id, email: v.email, expires_at: ts(v.expires_at) })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    pub user_id: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// Confirm an email with the token sent to it (no credentials needed: the token is the proof).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", operation_id = "verifyEmail", tag = "auth", request_body = VerifyEmail, security(()),
    responses((status = 200, body = Verified), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn verify_email(State(app): State<App>, Body(b): Body<VerifyEmail>) -> ApiResult<Json<Verified>> {
    let u = app.verify_email(&b.token).await?;
    Ok(Json(Verified { user_id: u.id, email: u.email, email_verified: u.email_verified }))
}
