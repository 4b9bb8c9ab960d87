//! `/users/{id}/groups|permissions|collections` and `/check`: answered from the access index.

use super::groups::GroupOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Body, Path, Query};
use axum::Json;
use axum::extract::State;
use cohort_app::App;
use cohort_app::checks::Check;
use cohort_core::access::{Decision, GroupCheck, Level};
use cohort_core::{Error, Result};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(user_groups))
        .routes(routes!(user_permissions))
        .routes(routes!(user_collections))
        .routes(routes!(check))
        .routes(routes!(check_batch))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserGroupsParams {
    /// Include groups reached through inherited membership.
    pub effective: Option<bool>,
    /// Wait until this instance has applied this revision (from `X-Cohort-Revision`).
    pub at_least_revision: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtLeastParams {
    /// Wait until this instance has applied this revision (from `X-Cohort-Revision`).
    pub at_least_revision: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserGroup {
    #[serde(flatten)]
    pub group: GroupOut,
    /// The user's role there.
    pub role: String,
    /// Whether the membership is direct (else inherited from an ancestor).
    pub direct: bool,
    /// The group of the direct membership it comes from.
    pub via: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserGroups {
    pub user_id: String,
    pub groups: Vec<UserGroup>,
    pub total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeldOut<'a> {
    pub permission: &'a str,
    pub via: &'a [&'a str],
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPermissions<'a> {
    pub user_id: &'a str,
    pub permissions: Vec<HeldOut<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionOut {
    pub collection_id: String,
    pub read_only: bool,
    pub hide_passwords: bool,
    pub manage: bool,
    pub via: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserCollections {
    pub user_id: String,
    pub collections: Vec<CollectionOut>,
}

/// One question: `{user_id, permission}`, `{user_id, group_id, action}` or
/// `{user_id, collection_id, access}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    pub user_id: String,
    pub permission: Option<String>,
    pub group_id: Option<String>,
    /// `read`, `post`, `manage_members`, `manage_settings`, `moderate` or `delete`.
    pub action: Option<String>,
    pub collection_id: Option<String>,
    /// `read`, `edit` or `manage` (default `read`).
    pub access: Option<String>,
    /// Wait until this instance has applied this revision (from `X-Cohort-Revision`).
    pub at_least_revision: Option<i64>,
    /// With a permission check: say why (`explain`).
    pub explain: Option<bool>,
}

/// A group action by its name.
pub fn group_action(raw: &str) -> Result<GroupCheck> {
    GroupCheck::parse(raw).ok_or_else(|| {
        Error::validation("action", format!("{raw:?} is not read, post, manage_members, manage_settings, moderate or delete"))
    })
}

impl CheckIn {
    pub fn into_check(self) -> Result<Check> {
        match (self.permission, self.group_id, self.collection_id) {
            (Some(permission), None, None) => Ok(Check::Permission { user_id: self.user_id, permission }),
            (None, Some(group_id), None) => {
                let raw = self.action.ok_or_else(|| Error::validation("action", "a group check needs an action"))?;
                let action = group_action(&raw)?;
                Ok(Check::Group { user_id: self.user_id, group_id, action })
            }
            (None, None, Some(collection_id)) => {
                let raw = self.access.unwrap_or_else(|| "read".into());
                let level =
                    Level::parse(&raw).ok_or_else(|| Error::validation("access", format!("{raw:?} is not read, edit or manage")))?;
                Ok(Check::Collection { user_id: self.user_id, collection_id, level })
            }
            _ => Err(Error::validation("permission", "ask exactly one of permission, group_id (with action) or collection_id")),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckOut {
    pub allowed: bool,
    /// The groups that grant it.
    pub via: Vec<String>,
    /// In a batch, for a question that cannot be answered: the error code (`not_found`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// With `explain`: each way the user holds the permission (`paths`, each a list of steps:
    /// `membership` with its role, `inherits_members`, `inherits_permissions`, `grants`,
    /// `membership_grants`), or when they hold it no way, the `nearest` thing that would
    /// give it them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"paths": [[{"kind": "membership", "group_id": "grp_team", "role": "member"},
        {"kind": "inherits_permissions", "group_id": "grp_team"}, {"kind": "grants", "group_id": "grp_org"}]]}))]
    pub explain: Option<serde_json::Value>,
}

impl From<Decision> for CheckOut {
    fn from(d: Decision) -> Self {
        CheckOut { allowed: d.allowed, via: d.via, error: None, message: None, explain: None }
    }
}

impl From<Result<Decision>> for CheckOut {
    fn from(r: Result<Decision>) -> Self {
        match r {
            Ok(d) => d.into(),
            Err(e) => {
                let (_, code, _) = crate::error::parts(&e);
                CheckOut { allowed: false, via: vec![], error: Some(code.into()), message: Some(e.to_string()), explain: None }
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBatchIn {
    /// At most 1000.
    pub checks: Vec<CheckIn>,
    /// Wait until this instance has applied this revision (from `X-Cohort-Revision`).
    pub at_least_revision: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckBatchOut {
    pub results: Vec<CheckOut>,
}

/// The groups a user belongs to (`effective=true`: with inherited memberships).
#[utoipa::path(get, path = "/api/v1/users/{id}/groups", operation_id = "listUserGroups", tag = "access", params(("id" = String, Path, description = "User id"), UserGroupsParams),
    responses((status = 200, body = UserGroups), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn user_groups(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<UserGroupsParams>,
) -> ApiResult<Json<UserGroups>> {
    let groups: Vec<UserGroup> = app
        .user_groups(&p, &id, q.effective.unwrap_or(false), q.at_least_revision)
        .await?
        .into_iter()
        .map(|(g, e)| UserGroup { role: e.role, direct: e.direct, via: e.via, group: g.into() })
        .collect();
    Ok(Json(UserGroups { user_id: id, total: groups.len() as i64, groups }))
}

/// Every permission a user holds, with the groups that give it.
#[utoipa::path(get, path = "/api/v1/users/{id}/permissions", operation_id = "listUserPermissions", tag = "access", params(("id" = String, Path, description = "User id"), AtLeastParams),
    responses((status = 200, body = UserPermissions), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn user_permissions(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<AtLeastParams>,
) -> ApiResult<axum::response::Response> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    // Written while the index is read, from the names it holds.
    let body = app
        .user_permissions(&p, &id, q.at_least_revision, |held| {
            let permissions = held.iter().map(|(permission, via)| HeldOut { permission, via }).collect();
            serde_json::to_vec(&UserPermissions { user_id: &id, permissions })
        })
        .await?
        .map_err(|e| Error::internal(format!("writing the answer: {e}")))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

/// A user's effective access to each collection their groups grant.
#[utoipa::path(get, path = "/api/v1/users/{id}/collections", operation_id = "listUserCollections", tag = "access", params(("id" = String, Path, description = "User id"), AtLeastParams),
    responses((status = 200, body = UserCollections), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn user_collections(
    State(app): State<App>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<AtLeastParams>,
) -> ApiResult<Json<UserCollections>> {
    let list = app.user_collections(&p, &id, q.at_least_revision).await?;
    let collections = list
        .into_iter()
        .map(|c| CollectionOut {
            collection_id: c.collection_id,
            read_only: c.level == Level::Read,
            hide_passwords: c.hide_passwords,
            manage: c.level == Level::Manage,
            via: c.via,
        })
        .collect();
    Ok(Json(UserCollections { user_id: id, collections }))
}

/// May this user do this? 404 `not_found` for a user or group that does not exist.
#[utoipa::path(post, path = "/api/v1/check", operation_id = "checkAccess", tag = "access", request_body = CheckIn,
    responses((status = 200, body = CheckOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check(State(app): State<App>, Auth(p): Auth, Body(b): Body<CheckIn>) -> ApiResult<Json<CheckOut>> {
    let revision = b.at_least_revision;
    let explain = b.explain.unwrap_or(false);
    let c = b.into_check()?;
    let decision = app.check(&p, std::slice::from_ref(&c), revision).await?.pop().unwrap_or(Err(Error::NotFound("user")))?;
    let mut out = CheckOut::from(decision);
    if explain {
        let Check::Permission { user_id, permission } = &c else {
            return Err(Error::validation("explain", "explain is for permission checks").into());
        };
        let why = app.explain_permission(&p, user_id, permission, revision).await?;
        out.explain = Some(serde_json::to_value(why).map_err(Error::internal)?);
    }
    Ok(Json(out))
}

/// Many checks at once, answered in order; a question about a user or group that does not
/// exist is answered with `error: "not_found"` in its place.
#[utoipa::path(post, path = "/api/v1/check/batch", operation_id = "checkAccessBatch", tag = "access", request_body = CheckBatchIn,
    responses((status = 200, body = CheckBatchOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn check_batch(State(app): State<App>, Auth(p): Auth, Body(b): Body<CheckBatchIn>) -> ApiResult<Json<CheckBatchOut>> {
    let revision = b.checks.iter().filter_map(|c| c.at_least_revision).chain(b.at_least_revision).max();
    if b.checks.iter().any(|c| c.explain == Some(true)) {
        return Err(Error::validation("explain", "explain is for a single check (POST /api/v1/check)").into());
    }
    let checks = b.checks.into_iter().map(CheckIn::into_check).collect::<Result<Vec<_>>>()?;
    let results = app.check(&p, &checks, revision).await?;
    Ok(Json(CheckBatchOut { results: results.into_iter().map(Into::into).collect() }))
}
