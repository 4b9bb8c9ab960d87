//! What each list can be filtered and sorted by, read off the same whitelists the query
//! compiler and the sorter use, so the answer cannot drift from what a list accepts.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Path};
use axum::Json;
use cohort_core::Error;
use cohort_core::filter::Op;
use cohort_store::list::Source;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<cohort_app::App> {
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

impl FilterMetadata {
    pub fn of(src: &Source) -> FilterMetadata {
        let symbols = |ops: &mut dyn Iterator<Item = &Op>| ops.map(|o| o.symbol().to_string()).collect::<Vec<_>>();
        let fields = src
            .fields
            .iter()
            .map(|f| FilterField {
                name: f.name.to_string(),
                kind: f.kind.name().into(),
                operators: symbols(&mut Op::ALL.iter().filter(|o| f.kind.takes(**o))),
            })
            .collect();
        let all = symbols(&mut Op::ALL.iter());
        let sort_keys = src.sort.iter().flat_map(|c| c.names.iter().map(|n| n.to_string())).collect();
        FilterMetadata { fields, operators: all, sort_keys, default_sort: src.default_sort.into() }
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

impl ListName {
    fn source(self) -> &'static Source {
        use cohort_store as s;
        match self {
            ListName::Groups | ListName::Subgroups => &s::groups::LIST,
            ListName::Members => &s::members::LIST,
            ListName::GroupUsers => &s::members::USERS,
            ListName::Users => &s::users::LIST,
            ListName::Spaces => &s::spaces::LIST,
            ListName::JoinRequests => &s::requests::LIST,
            ListName::Invitations => &s::invitations::LIST,
            ListName::Posts => &s::posts::LIST,
            ListName::Audit => &s::audit::LIST,
        }
    }
}

/// What a list can be filtered and sorted by: `groups`, `subgroups`, `members`, `group-users`
/// (`GET /groups/{id}/users`), `users`, `spaces`, `join-requests`, `invitations`, `posts` or
/// `audit`.
#[utoipa::path(get, path = "/filters/{list}", tag = "lists",
    params(("list" = ListName, Path, description = "The list's name")),
    responses((status = 200, body = FilterMetadata), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_filters(Auth(_p): Auth, Path(list): Path<String>) -> ApiResult<Json<FilterMetadata>> {
    // Read as text so an unknown list is a 404 like any unknown path, not a 400.
    let list: ListName = serde_json::from_value(serde_json::Value::String(list)).map_err(|_| Error::NotFound("list"))?;
    Ok(Json(FilterMetadata::of(list.source())))
}
