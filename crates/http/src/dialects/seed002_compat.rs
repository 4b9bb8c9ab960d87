//! Seed 002: the read-only groups namespace at `/compat/v1/groups`, for site administrators.
//! Integer ids, `per_page` of 15, 25, 50 or 100, `expands=users`.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Path, Query};
use crate::native::schema::ts;
use axum::Json;
use axum::extract::State;
use cohort_app::App;
use cohort_app::groups::AdminGroup;
use cohort_core::model::User;
use cohort_core::page::PageRequest;
use cohort_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(get))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompatGroup {
    pub id: i64,
    pub name: String,
    /// The members' integer user ids.
    pub members: Vec<i64>,
    pub created_at: String,
    pub created_by: Option<i64>,
    pub updated_at: Option<String>,
    pub updated_by: Option<i64>,
}

impl From<AdminGroup> for CompatGroup {
    fn from(a: AdminGroup) -> Self {
        let g = a.group;
        let updated = g.version > 1 && g.updated_at != g.created_at;
        CompatGroup {
            id: g.num,
            name: g.name,
            members: a.member_nums,
            created_at: ts(g.created_at),
            created_by: a.created_by_num,
            updated_at: updated.then(|| ts(g.updated_at)),
            updated_by: if updated { a.updated_by_num } else { None },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompatPage {
    pub page: i64,
    pub prev_page: Option<i64>,
    pub next_page: Option<i64>,
    pub last_page: i64,
    pub per_page: i64,
    pub total: i64,
    pub result: Vec<CompatGroup>,
    #[schema(value_type = Object)]
    pub expands: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompatOne {
    pub result: CompatGroup,
    #[schema(value_type = Object)]
    pub expands: Value,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompatParams {
    /// Page number (default: first page).
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub page: Option<i64>,
    /// 15, 25, 50 or 100 (default 100); anything else, a number or not, is 422.
    #[param(value_type = Option<PerPage>)]
    pub per_page: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpandsParam {
    /// Comma list; `users` is supported.
    #[param(pattern = r"^\s*(users)?\s*(,\s*(users)?\s*)*$")]
    pub expands: Option<String>,
}

/// The page sizes the seed offers.
pub struct PerPage;

impl utoipa::PartialSchema for PerPage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
            .enum_values(Some([15, 25, 50, 100]))
            .into()
    }
}

impl ToSchema for PerPage {}

fn wants_users(raw: Option<&str>) -> Result<bool> {
    let mut users = false;
    for part in raw.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "users" => users = true,
            other => return Err(Error::validation("expands", format!("cannot expand {other:?}; supported: users"))),
        }
    }
    Ok(users)
}

fn expands(users: bool, list: Vec<User>) -> Value {
    if !users {
        return json!({});
    }
    let users: Vec<Value> = list
        .into_iter()
        .map(|u| json!({"id": u.num, "username": u.username, "name": u.full_name, "email": u.email, "active": u.active, "created_at": ts(u.created_at)}))
        .collect();
    json!({ "users": users })
}

/// All groups (site administrators).
#[utoipa::path(get, path = "/compat/v1/groups", operation_id = "compatListGroups", tag = "compat", params(CompatParams, ExpandsParam),
    responses((status = 200, body = CompatPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(app): State<App>,
    Auth(p): Auth,
    Query(q): Query<CompatParams>,
    Query(e): Query<ExpandsParam>,
) -> ApiResult<Json<CompatPage>> {
    let per_page = match q.per_page.as_deref().map(str::trim) {
        None => 100,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| [15, 25, 50, 100].contains(n))
            .ok_or_else(|| Error::validation("per_page", "per_page must be one of 15, 25, 50, 100"))?,
    };
    let page_no = q.page.unwrap_or(1);
    if !(1..=1_000_000_000).contains(&page_no) {
        return Err(Error::validation("page", "page must be a whole number from 1").into());
    }
    let users = wants_users(e.expands.as_deref())?;
    let (page, people) = app.admin_groups(&p, PageRequest { page: page_no, limit: per_page, with_total: true }).await?;
    let info = page.info();
    let total = page.total.unwrap_or(0);
    Ok(Json(CompatPage {
        page: page_no,
        prev_page: info.prev_page,
        next_page: info.next_page,
        last_page: info.last_page.unwrap_or(1),
        per_page,
        total,
        result: page.items.into_iter().map(CompatGroup::from).collect(),
        expands: expands(users, people),
    }))
}

/// One group by its integer id (site administrators).
#[utoipa::path(get, path = "/compat/v1/groups/{group_id}", operation_id = "compatGetGroup", tag = "compat", params(("group_id" = i64, Path, description = "Integer group id"), ExpandsParam),
    responses((status = 200, body = CompatOne), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get(State(app): State<App>, Auth(p): Auth, Path(id): Path<String>, Query(q): Query<ExpandsParam>) -> ApiResult<Json<CompatOne>> {
    let users = wants_users(q.expands.as_deref())?;
    let num: i64 = id.parse().map_err(|_| Error::NotFound("group"))?;
    let (group, people) = app.admin_group(&p, num).await?;
    Ok(Json(CompatOne { result: group.into(), expands: expands(users, people) }))
}
