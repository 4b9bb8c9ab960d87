//! Shapes shared by the native resources: page envelopes, query parameters, enums as the
//! OpenAPI document names them, and helpers for nullable fields and timestamps.

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
}

impl From<PageInfo> for PageMeta {
    fn from(i: PageInfo) -> Self {
        PageMeta { total: i.total, page: i.page, limit: i.limit, prev_page: i.prev_page, next_page: i.next_page, last_page: i.last_page }
    }
}

pub fn meta<T>(p: &Page<T>) -> PageMeta {
    p.info().into()
}

/// Page parameters; `per_page` and `perPage` are aliases of `limit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1)]
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
pub enum SiteRole {
    Admin,
    User,
}

/// A deleted-or-done acknowledgement used by a few endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub ok: bool,
}
