//! The list engine every resource shares: whitelisted sort keys with a unique tiebreaker,
//! and keyset (cursor) conditions that stay correct while rows come and go between pages.

use crate::StoreError;
use crate::db::{Row, Value};
use cohort_core::error::{Error, Result};
use cohort_core::list::{Cursor, CursorValue, SortTerm, signature};
use cohort_core::page::PageRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    Int,
    Text,
}

/// A column a list may be sorted by.
#[derive(Debug)]
pub struct SortColumn {
    /// The name callers use, and other names for it (`created` for `created_at`).
    pub names: &'static [&'static str],
    pub sql: &'static str,
    pub kind: ColKind,
}

/// How a page is picked: by number, or after a cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    Offset(PageRequest),
    Cursor { after: Option<Cursor>, limit: i64, with_total: bool },
}

impl Paging {
    pub fn limit(&self) -> i64 {
        match self {
            Paging::Offset(p) => p.limit,
            Paging::Cursor { limit, .. } => *limit,
        }
    }

    pub fn with_total(&self) -> bool {
        match self {
            Paging::Offset(p) => p.with_total,
            Paging::Cursor { with_total, .. } => *with_total,
        }
    }
}

impl Default for Paging {
    fn default() -> Self {
        Paging::Offset(PageRequest::default())
    }
}

/// A resolved order: whitelisted columns, then the unique id.
#[derive(Debug)]
pub struct Order {
    terms: Vec<(&'static SortColumn, bool)>,
    id_sql: &'static str,
    signature: String,
}

/// Resolves sort terms against a whitelist; an empty list takes `default`.
pub fn order(terms: &[SortTerm], columns: &'static [SortColumn], id_sql: &'static str, default: &[SortTerm]) -> Result<Order> {
    let terms = if terms.is_empty() { default } else { terms };
    let mut out = Vec::with_capacity(terms.len());
    for t in terms {
        let col = columns.iter().find(|c| c.names.contains(&t.field.as_str())).ok_or_else(|| {
            let known: Vec<&str> = columns.iter().map(|c| c.names[0]).collect();
            Error::invalid(format!("cannot sort by {:?}; sort keys: {}", t.field, known.join(", ")))
        })?;
        out.push((col, t.desc));
    }
    Ok(Order { terms: out, id_sql, signature: signature(terms) })
}

impl Order {
    /// `ORDER BY …` with the id as the last key, in the direction of the last term.
    pub fn order_by(&self) -> String {
        let mut parts: Vec<String> =
            self.terms.iter().map(|(c, desc)| format!("{} {}", c.sql, if *desc { "DESC" } else { "ASC" })).collect();
        let id_desc = self.terms.last().is_some_and(|(_, d)| *d);
        parts.push(format!("{} {}", self.id_sql, if id_desc { "DESC" } else { "ASC" }));
        format!("ORDER BY {}", parts.join(", "))
    }

    /// The sort columns, to select after a row's own columns so a cursor can be made.
    pub fn select_extra(&self) -> String {
        self.terms.iter().map(|(c, _)| format!(", {}", c.sql)).collect()
    }

    /// The condition for rows after `cursor` in this order.
    pub fn after(&self, cursor: &Cursor) -> Result<(String, Vec<Value>)> {
        if cursor.sort != self.signature || cursor.values.len() != self.terms.len() {
            return Err(Error::invalid("the cursor belongs to another sort; start again without it"));
        }
        let id_desc = self.terms.last().is_some_and(|(_, d)| *d);
        let mut keys: Vec<(&str, bool, Value)> = Vec::new();
        for ((c, desc), v) in self.terms.iter().zip(&cursor.values) {
            let value = match (c.kind, v) {
                (ColKind::Int, CursorValue::Int(i)) => Value::Int(*i),
                (ColKind::Text, CursorValue::Text(s)) => Value::Text(s.clone()),
                _ => return Err(Error::invalid("the cursor is not one this service handed out")),
            };
            keys.push((c.sql, *desc, value));
        }
        keys.push((self.id_sql, id_desc, Value::Text(cursor.id.clone())));
        // One direction throughout: a row-value comparison, which both databases answer with
        // an index range (deep pages cost what the first does).
        if keys.iter().all(|(_, d, _)| *d == id_desc) {
            let cols: Vec<&str> = keys.iter().map(|(sql, _, _)| *sql).collect();
            let marks = vec!["?"; keys.len()].join(", ");
            let cond = format!("(({}) {} ({marks}))", cols.join(", "), if id_desc { "<" } else { ">" });
            return Ok((cond, keys.into_iter().map(|(_, _, v)| v).collect()));
        }
        let mut ors = Vec::new();
        let mut args = Vec::new();
        for k in 0..keys.len() {
            let mut ands = Vec::new();
            for (sql, _, v) in &keys[..k] {
                ands.push(format!("{sql} = ?"));
                args.push(v.clone());
            }
            let (sql, desc, v) = &keys[k];
            ands.push(format!("{sql} {} ?", if *desc { "<" } else { ">" }));
            args.push(v.clone());
            ors.push(format!("({})", ands.join(" AND ")));
        }
        Ok((format!("({})", ors.join(" OR ")), args))
    }

    /// The cursor after `row`, whose sort columns start at `at` and whose id is `id`.
    pub fn cursor_after(&self, row: &Row, at: usize, id: String) -> Result<String, StoreError> {
        let mut values = Vec::with_capacity(self.terms.len());
        for (i, (c, _)) in self.terms.iter().enumerate() {
            values.push(match c.kind {
                ColKind::Int => CursorValue::Int(row.get(at + i)?),
                ColKind::Text => CursorValue::Text(row.get(at + i)?),
            });
        }
        Ok(Cursor { sort: self.signature.clone(), values, id }.encode())
    }
}
