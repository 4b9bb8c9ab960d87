//! `/auth`: log in for a token, log out; administrators mint tokens for users.

use super::schema::ts;
use super::users::UserOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cohort_app::App;
use cohort_app::auth::IssuedToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(token)).routes(routes!(logout)).routes(routes!(mint))
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
        TokenOut { token: t.token, token_type: "Bearer".into(), expires_at: ts(t.expires_at), user: t.user.into() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOut {
    pub revoked: bool,
}

/// Exchange a login and password for a bearer token.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = Login, security(()),
    responses((status = 200, body = TokenOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn token(State(app): State<App>, Body(b): Body<Login>) -> ApiResult<Json<TokenOut>> {
    Ok(Json(app.login(&b.login, &b.password).await?.into()))
}

/// Revoke the token this request carries.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 200, body = LoggedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn logout(State(app): State<App>, Auth(p): Auth) -> ApiResult<Json<LoggedOut>> {
    app.logout(&p).await?;
    Ok(Json(LoggedOut { revoked: true }))
}

/// Mint a token for a user (administrators).
#[utoipa::path(post, path = "/users/{id}/tokens", tag = "auth", params(("id" = String, Path, description = "User id")),
    responses((status = 201, body = TokenOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mint(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<TokenOut>)> {
    Ok((StatusCode::CREATED, Json(app.mint_token(&p, &id).await?.into())))
}
