//! Shapes shared by the native resources: page envelopes, query parameters, enums as the
//! OpenAPI document names them, and helpers for nullable fields and timestamps.

use cohort_core::filter::Expr;
use cohort_core::list::{Cursor, SortTerm, parse_sort, sort_pair};
use cohort_core::list::{Listing, Paging};
use cohort_core::page::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageInfo, PageRequest};
use cohort_core::{Error, time};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Where a page sits: `total` and `last_page` are left out with `skip_total=true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    pub page: i64,
    pub limit: i64,
    pub prev_page: Option<i64>,
    pub next_page: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_page: Option<i64>,
    /// With cursor paging: pass it as `cursor` for the next page (null at the end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Option<String>>,
}

pub fn meta<T>(p: &Page<T>) -> PageMeta {
    let i: PageInfo = p.info();
    PageMeta {
        total: i.total,
        page: i.page,
        limit: i.limit,
        prev_page: i.prev_page,
        next_page: i.next_page,
        last_page: i.last_page,
        next_cursor: None,
    }
}

/// Page fields for a list that may have been walked by cursor.
pub fn meta_paged<T>(p: &Page<T>, paging: &Paging) -> PageMeta {
    let mut m = meta(p);
    if let Paging::Cursor { .. } = paging {
        m.next_cursor = Some(p.next_cursor.clone());
        m.prev_page = None;
        m.next_page = None;
    }
    m
}

/// Page parameters; `per_page` and `perPage` are aliases of `limit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub page: Option<i64>,
    /// Items per page, 1 to 500 (default 20).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
    #[serde(rename = "perPage")]
    #[param(rename = "perPage", minimum = 1, maximum = 500)]
    pub per_page_camel: Option<i64>,
    /// Leave out `total` and `last_page`.
    pub skip_total: Option<bool>,
}

/// Filter, order and cursor parameters, taken by every native list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A filter expression in PocketBase syntax over the list's fields:
    /// `type = 'team' && created_at > '2026-01-01'`. `GET /filters/{list}` names each list's
    /// fields, types, operators and sort keys.
    pub filter: Option<String>,
    /// Comma list of sort keys, `-` for descending: `-created_at,name`.
    pub sort: Option<String>,
    /// One sort key (with `sort_order`), as seed 004 writes it.
    pub sort_by: Option<String>,
    /// `asc` or `desc` (default `desc` with `sort_by`).
    #[param(value_type = Option<SortOrder>)]
    pub sort_order: Option<String>,
    /// From a previous page's `next_cursor`: the rows after it. Empty: the first page, by cursor.
    pub cursor: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl ListParams {
    pub fn terms(&self) -> Result<Vec<SortTerm>, Error> {
        // Paired first, so a bad `sort_order` is refused even when it orders nothing.
        let paired = sort_pair(self.sort_by.as_deref().unwrap_or(""), self.sort_order.as_deref())?;
        match &self.sort {
            Some(s) if !s.trim().is_empty() => parse_sort(s),
            _ => Ok(paired),
        }
    }

    /// Cursor paging when a cursor is given (empty: the first page), else page numbers.
    pub fn paging(&self, page: &PageParams) -> Result<Paging, Error> {
        let p = page.request()?;
        match self.cursor.as_deref() {
            None => Ok(Paging::Offset(p)),
            Some("") => Ok(Paging::Cursor { after: None, limit: p.limit, with_total: p.with_total }),
            Some(raw) => Ok(Paging::Cursor { after: Some(Cursor::decode(raw)?), limit: p.limit, with_total: p.with_total }),
        }
    }

    /// What the caller asked of the list.
    pub fn listing(&self, page: &PageParams) -> Result<Listing, Error> {
        Ok(Listing { filter: parse_filter(self.filter.as_deref())?, sort: self.terms()?, paging: self.paging(page)?, hide_private: false })
    }
}

/// Parses a `filter` parameter; absent or blank means no filter.
pub fn parse_filter(raw: Option<&str>) -> Result<Option<Expr>, Error> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(f) => cohort_core::filter::parse(f).map(Some),
    }
}

impl PageParams {
    pub fn request(&self) -> Result<PageRequest, Error> {
        let limit = self.limit.or(self.per_page).or(self.per_page_camel);
        let mut p = PageRequest::new(self.page, limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        p.with_total = !self.skip_total.unwrap_or(false);
        Ok(p)
    }
}

/// For `Option<Option<T>>` fields: absent stays `None`, `null` becomes `Some(None)`.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Parses an RFC 3339 timestamp from a body field.
pub fn instant(field: &str, raw: &str) -> Result<time::Millis, Error> {
    time::parse(raw).ok_or_else(|| Error::validation(field, format!("{raw:?} is not an RFC 3339 timestamp")))
}

pub fn opt_instant(field: &str, raw: Option<String>) -> Result<Option<time::Millis>, Error> {
    raw.map(|r| instant(field, &r)).transpose()
}

pub fn ts(ms: time::Millis) -> String {
    time::rfc3339(ms)
}

pub fn opt_ts(ms: Option<time::Millis>) -> Option<String> {
    ms.map(time::rfc3339)
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum GroupType {
    Team,
    Department,
    Project,
    Custom,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Visibility {
    Public,
    Private,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum MemberStatus {
    Active,
    Pending,
    Suspended,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum InvitationStatus {
    Sent,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

/// An analytics period.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum Period {
    #[schema(rename = "7d")]
    Week,
    #[schema(rename = "30d")]
    Month,
    #[schema(rename = "90d")]
    Quarter,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum SiteRole {
    Admin,
    User,
}

/// A deleted-or-done acknowledgement used by a few endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub ok: bool,
}

/// A permission such as `kb.read`: 1-100 of ASCII letters, digits and `. _ - : *`
/// (`cohort_core::input::permission` is the rule; this is how the document states it).
pub struct Permission;

impl utoipa::PartialSchema for Permission {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A permission such as `kb.read`: 1-100 of ASCII letters, digits and `. _ - : *`."))
            .pattern(Some("^[A-Za-z0-9._:*-]{1,100}$"))
            .min_length(Some(1))
            .max_length(Some(100))
            .examples(["kb.read"])
            .into()
    }
}

impl ToSchema for Permission {}

/// What a group role may do.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RolePermission {
    ManageMembers,
    ManageSettings,
    Moderate,
    Read,
    Write,
}

/// A decision on a join request.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RequestAction {
    Approve,
    Reject,
}
