//! The list engine every resource shares: whitelisted sort keys with a unique tiebreaker,
//! and keyset (cursor) conditions that stay correct while rows come and go between pages.

use crate::StoreError;
use crate::db::{Conn, Row, Value};
use crate::filter::{Field, compile};
use cohort_core::error::{Error, Result};
use cohort_core::list::{Cursor, CursorValue, SortTerm, parse_sort, signature};
pub use cohort_core::list::{Listing, Paging};
use cohort_core::page::Page;

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
    /// An expression that is never NULL (wrap a nullable column in `COALESCE`), so a
    /// cursor can always be compared with it.
    pub sql: &'static str,
    pub kind: ColKind,
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

/// A resource callers can list: where its rows come from and what they may filter and sort
/// by. Each store module that serves a list declares one next to its SQL.
#[derive(Debug)]
pub struct Source {
    /// The `FROM` body: `users u`, or `join_requests r JOIN users u ON u.id = r.user_id`.
    pub from: &'static str,
    /// The selected column lists, joined with commas; the row's id must come first.
    pub cols: &'static [&'static str],
    /// How many columns `cols` selects (the sort columns follow them, for the cursor).
    pub ncols: usize,
    /// The unique id, the last key of every order.
    pub id: &'static str,
    pub fields: &'static [Field],
    pub sort: &'static [SortColumn],
    /// The order when the caller gives none, in `sort=` syntax.
    pub default_sort: &'static str,
}

/// Column expressions that hold users' private fields.
const PRIVATE_USER_COLUMNS: [&str; 3] = ["u.email", "u.site_role", "u.external_id"];

fn private_column(sql: &str) -> bool {
    PRIVATE_USER_COLUMNS.iter().any(|c| sql.contains(c))
}

/// The conditions a service puts on a list (its group, a status, who may see what), joined
/// with `AND` before the caller's filter.
#[derive(Debug, Default, Clone)]
pub struct Conditions {
    clauses: Vec<String>,
    args: Vec<Value>,
}

impl Conditions {
    pub fn new() -> Conditions {
        Conditions::default()
    }

    /// Adds `sql` (with one `?` per argument) to the conditions.
    pub fn and(&mut self, sql: impl Into<String>, args: impl IntoIterator<Item = Value>) -> &mut Self {
        self.clauses.push(sql.into());
        self.args.extend(args);
        self
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!("WHERE {}", self.clauses.join(" AND ")) }
    }
}

/// What a count reads: a list's join to the users of its rows leaves the number of rows as
/// it is (every such `user_id` is NOT NULL and its user's deletion cascades), so the count
/// skips it unless a condition reads the user.
fn count_from<'a>(from: &'a str, where_sql: &str) -> &'a str {
    match from.split_once(" JOIN users u ON ") {
        Some((rows, _)) if !reads_alias(where_sql, "u") => rows,
        _ => from,
    }
}

/// Whether `sql` names a column of `alias` (`u.email`, not `mu.id`).
fn reads_alias(sql: &str, alias: &str) -> bool {
    let marker = format!("{alias}.");
    sql.match_indices(&marker).any(|(at, _)| sql[..at].chars().next_back().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')))
}

/// The statements a list runs: the count (when the caller wants a total) and the page,
/// with their parameters.
#[derive(Debug)]
pub struct ListSql {
    pub count: Option<(String, Vec<Value>)>,
    pub page: String,
    pub page_args: Vec<Value>,
    order: Order,
    page_no: i64,
}

/// Builds the statements for a list of `src` under `cond` as `listing` asks.
pub fn statements(src: &Source, mut cond: Conditions, listing: &Listing) -> Result<ListSql> {
    let default = parse_sort(src.default_sort)?;
    if listing.hide_private
        && let Some(t) = listing.sort.iter().find(|t| src.sort.iter().any(|c| c.names.contains(&t.field.as_str()) && private_column(c.sql)))
    {
        return Err(Error::invalid(format!("cannot sort by {:?}", t.field)));
    }
    let order = order(&listing.sort, src.sort, src.id, &default)?;
    if let Some(expr) = &listing.filter {
        let (sql, args) = if listing.hide_private {
            let visible: Vec<_> = src.fields.iter().filter(|f| !private_column(f.sql)).copied().collect();
            compile(expr, &visible, cohort_core::time::now())?
        } else {
            compile(expr, src.fields, cohort_core::time::now())?
        };
        cond.and(sql, args);
    }
    let count = listing.paging.with_total().then(|| {
        let where_sql = cond.where_sql();
        (format!("SELECT COUNT(*) FROM {} {where_sql}", count_from(src.from, &where_sql)), cond.args.clone())
    });
    let (page_no, offset) = match &listing.paging {
        Paging::Offset(p) => (p.page, p.offset()),
        Paging::Cursor { after, .. } => {
            if let Some(cur) = after {
                let (sql, args) = order.after(cur)?;
                cond.and(sql, args);
            }
            (1, 0)
        }
    };
    let page = format!(
        "SELECT {}{} FROM {} {} {} LIMIT ? OFFSET ?",
        src.cols.join(", "),
        order.select_extra(),
        src.from,
        cond.where_sql(),
        order.order_by()
    );
    let mut page_args = cond.args;
    page_args.push((listing.paging.limit() + 1).into());
    page_args.push(offset.into());
    Ok(ListSql { count, page, page_args, order, page_no })
}

/// Runs a list of `src`: the count (unless skipped), the page, and the cursor after it.
pub async fn fetch<T>(
    c: &Conn,
    src: &Source,
    cond: Conditions,
    listing: &Listing,
    decode: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Page<T>> {
    let sql = statements(src, cond, listing)?;
    run(c, src, &sql, &listing.paging, decode).await
}

/// Runs statements built by [`statements`].
pub async fn run<T>(
    c: &Conn,
    src: &Source,
    sql: &ListSql,
    paging: &Paging,
    decode: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Page<T>> {
    let total = match &sql.count {
        Some((count, args)) => Some(c.query_one(count, args).await?.get(0)?),
        None => None,
    };
    let limit = paging.limit();
    let mut rows = c.query(&sql.page, &sql.page_args).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match (paging, has_more, rows.last()) {
        (Paging::Cursor { .. }, true, Some(last)) => Some(sql.order.cursor_after(last, src.ncols, last.get(0)?)?),
        _ => None,
    };
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, total, page: sql.page_no, limit, has_more, next_cursor })
}

/// The list engine's description of a list: its fields with the operators each takes, and
/// its sort keys; without users' private fields for a caller who may not see them.
pub fn metadata(kind: cohort_core::list::ListKind, sees_private: bool) -> cohort_core::list::ListMetadata {
    use cohort_core::filter::Op;
    use cohort_core::list::{FieldInfo, ListKind, ListMetadata};
    let src: &Source = match kind {
        ListKind::Groups | ListKind::Subgroups => &crate::groups::LIST,
        ListKind::Members => &crate::members::LIST,
        ListKind::GroupUsers => &crate::members::USERS,
        ListKind::Users => &crate::users::LIST,
        ListKind::Spaces => &crate::spaces::LIST,
        ListKind::JoinRequests => &crate::requests::LIST,
        ListKind::Invitations => &crate::invitations::LIST,
        ListKind::Posts => &crate::posts::LIST,
        ListKind::Audit => &crate::audit::LIST,
    };
    let fields = src
        .fields
        .iter()
        .filter(|f| sees_private || !private_column(f.sql))
        .map(|f| FieldInfo {
            name: f.name,
            kind: f.kind.name(),
            operators: Op::ALL.iter().filter(|o| f.kind.takes(**o)).map(|o| o.symbol()).collect(),
        })
        .collect();
    let sort_keys = src.sort.iter().filter(|c| sees_private || !private_column(c.sql)).flat_map(|c| c.names.iter().copied()).collect();
    ListMetadata { fields, operators: Op::ALL.iter().map(|o| o.symbol()).collect(), sort_keys, default_sort: src.default_sort }
}

#[cfg(test)]
mod count_tests {
    use super::{count_from, reads_alias};

    #[test]
    fn the_users_join_is_left_out_of_a_count_that_does_not_read_the_user() {
        let from = "memberships m JOIN users u ON u.id = m.user_id";
        assert_eq!(count_from(from, "WHERE m.group_id = ?"), "memberships m");
        assert_eq!(count_from(from, "WHERE m.group_id = ? AND (u.username_key LIKE ?)"), from);
        assert_eq!(count_from(from, "WHERE m.group_id = ? AND lower(u.email) = ?"), from);
        assert_eq!(count_from("groups g", "WHERE g.id = ?"), "groups g");
        assert!(!reads_alias("WHERE mu.id = ? AND menu.x = 1", "u"));
        assert!(reads_alias("u.id = ?", "u"));
    }
}
