//! Page arithmetic for every list: `page` from 1, `limit` from 1 to [`MAX_LIMIT`].

use crate::error::{Error, Result};
use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub limit: i64,
    /// Whether the caller wants `total` (and so `last_page`) counted.
    pub with_total: bool,
}

impl PageRequest {
    pub fn new(page: Option<i64>, limit: Option<i64>, default_limit: i64, max_limit: i64) -> Result<Self> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(default_limit);
        if !(1..=1_000_000_000).contains(&page) {
            return Err(Error::invalid("page must be a whole number from 1 to 1000000000"));
        }
        if !(1..=max_limit).contains(&limit) {
            return Err(Error::invalid(format!("limit must be a whole number from 1 to {max_limit}")));
        }
        Ok(PageRequest { page, limit, with_total: true })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.limit)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { page: 1, limit: DEFAULT_LIMIT, with_total: true }
    }
}

/// One page of rows and where it sits among the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
    pub page: i64,
    pub limit: i64,
    /// Set when the store fetched one row more than asked, so a next page exists without a count.
    pub has_more: bool,
    /// For cursor paging: where the next page starts, when there is one.
    pub next_cursor: Option<String>,
}

/// The navigation fields every native list answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    pub page: i64,
    pub limit: i64,
    pub prev_page: Option<i64>,
    pub next_page: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_page: Option<i64>,
}

impl<T> Page<T> {
    pub fn info(&self) -> PageInfo {
        let last_page = self.total.map(|t| ((t + self.limit - 1) / self.limit).max(1));
        PageInfo {
            total: self.total,
            page: self.page,
            limit: self.limit,
            prev_page: (self.page > 1).then(|| self.page - 1),
            next_page: self.has_more.then(|| self.page + 1),
            last_page,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            limit: self.limit,
            has_more: self.has_more,
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_navigation() {
        let p = Page { items: vec![1, 2], total: Some(45), page: 2, limit: 20, has_more: true, next_cursor: None };
        let i = p.info();
        assert_eq!((i.prev_page, i.next_page, i.last_page), (Some(1), Some(3), Some(3)));
        let empty: Page<i32> = Page { items: vec![], total: Some(0), page: 1, limit: 20, has_more: false, next_cursor: None };
        assert_eq!(empty.info().last_page, Some(1));
        assert!(PageRequest::new(Some(0), None, 20, 500).is_err());
        assert!(PageRequest::new(None, Some(501), 20, 500).is_err());
    }
}
