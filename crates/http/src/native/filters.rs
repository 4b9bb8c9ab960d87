//! What each list can be filtered and sorted by, read off the same whitelists the query
//! compiler and the sorter use, so the answer cannot drift from what a list accepts.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Path};
use axum::Json;
use axum::extract::State;
use cohort_app::App;
use cohort_core::Error;
use cohort_core::list::{ListKind, ListMetadata};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_filters))
}

/// The fields (with their types and operators) and sort keys a list takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilterMetadata {
    pub fields: Vec<FilterField>,
    pub operators: Vec<String>,
    pub sort_keys: Vec<String>,
    /// The order when none is given (`-` for descending).
    pub default_sort: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FilterField {
    pub name: String,
    /// `text`, `int`, `bool`, `time` or `list`.
    #[serde(rename = "type")]
    pub kind: String,
    pub operators: Vec<String>,
}

impl From<ListMetadata> for FilterMetadata {
    fn from(m: ListMetadata) -> FilterMetadata {
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect();
        FilterMetadata {
            fields: m
                .fields
                .into_iter()
                .map(|f| FilterField { name: f.name.to_string(), kind: f.kind.to_string(), operators: owned(f.operators) })
                .collect(),
            operators: owned(m.operators),
            sort_keys: owned(m.sort_keys),
            default_sort: m.default_sort.to_string(),
        }
    }
}

/// The lists by the names `GET /filters/{list}` takes.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ListName {
    Groups,
    Subgroups,
    Members,
    /// `GET /groups/{id}/users`.
    GroupUsers,
    Users,
    Spaces,
    JoinRequests,
    Invitations,
    Posts,
    Audit,
}

impl From<ListName> for ListKind {
    fn from(l: ListName) -> ListKind {
        match l {
            ListName::Groups => ListKind::Groups,
            ListName::Subgroups => ListKind::Subgroups,
            ListName::Members => ListKind::Members,
            ListName::GroupUsers => ListKind::GroupUsers,
            ListName::Users => ListKind::Users,
            ListName::Spaces => ListKind::Spaces,
            ListName::JoinRequests => ListKind::JoinRequests,
            ListName::Invitations => ListKind::Invitations,
            ListName::Posts => ListKind::Posts,
            ListName::Audit => ListKind::Audit,
        }
    }
}

/// What a list can be filtered and sorted by: `groups`, `subgroups`, `members`, `group-users`
/// (`GET /groups/{id}/users`), `users`, `spaces`, `join-requests`, `invitations`, `posts` or
/// `audit`.
#[utoipa::path(get, path = "/api/v1/filters/{list}", operation_id = "getListFilters", tag = "lists",
    params(("list" = ListName, Path, description = "The list's name")),
    responses((status = 200, body = FilterMetadata), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_filters(State(app): State<App>, Auth(p): Auth, Path(list): Path<String>) -> ApiResult<Json<FilterMetadata>> {
    // Read as text so an unknown list is a 404 like any unknown path, not a 400.
    let list: ListName = serde_json::from_value(serde_json::Value::String(list)).map_err(|_| Error::NotFound("list"))?;
    Ok(Json(app.list_metadata(&p, list.into()).into()))
}
