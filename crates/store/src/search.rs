//! Case-insensitive "contains" search backed by an index on both databases.
//!
//! On SQLite a term of three or more characters goes through a trigram full-text table
//! (`groups_search`, `users_search`) kept by triggers; on PostgreSQL the `LIKE` itself uses
//! pg_trgm indexes on the same expressions. Shorter terms test each row. A term that matches
//! very many rows is also answered by testing rows in list order on SQLite: the page fills
//! long before every match would have been collected.

use crate::db::{Backend, Conn, Value};
use crate::{StoreError, like_pattern, params};

/// How many matches make a term frequent on SQLite.
const FREQUENT: i64 = 2000;

/// A full-text table and the row columns a search looks in.
pub struct Searched {
    /// The trigram table on SQLite and the column in it that holds the row's id.
    pub table: &'static str,
    pub id_column: &'static str,
    /// The row's id, in the list's alias (`g.id`).
    pub row_id: &'static str,
    /// Lower-cased expressions the `LIKE` tests (the same ones PostgreSQL indexes).
    pub like: &'static [&'static str],
    /// The trigram table's columns a match may look in (FTS5 column filter); `None`: all.
    pub columns: Option<&'static str>,
}

pub static GROUPS: Searched = Searched {
    table: "groups_search",
    id_column: "group_id",
    row_id: "g.id",
    like: &["g.name_key", "lower(g.description)"],
    columns: None,
};

pub static USERS: Searched = Searched {
    table: "users_search",
    id_column: "user_id",
    row_id: "u.id",
    like: &["u.username_key", "u.email_key", "lower(u.full_name)"],
    columns: None,
};

/// User search for callers who may not see emails: names only, so a search cannot tell
/// whose address contains what.
pub static USERS_BY_NAME: Searched = Searched {
    table: "users_search",
    id_column: "user_id",
    row_id: "u.id",
    like: &["u.username_key", "lower(u.full_name)"],
    columns: Some("username_key full_name"),
};

/// The users search for a caller who may (`true`) or may not see private fields.
pub fn users(sees_private: bool) -> &'static Searched {
    if sees_private { &USERS } else { &USERS_BY_NAME }
}

fn phrase(s: &Searched, term: &str) -> String {
    let quoted = format!("\"{}\"", term.replace('"', "\"\""));
    match s.columns {
        Some(cols) => format!("{{{cols}}} : {quoted}"),
        None => quoted,
    }
}

/// How a search will run: through the trigram table or by testing rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Index,
    Rows,
}

/// Picks the plan for `term` (on SQLite it counts matches, up to [`FREQUENT`]).
pub async fn plan(c: &Conn, s: &Searched, term: &str) -> Result<Plan, StoreError> {
    if c.backend() != Backend::Sqlite || term.chars().count() < 3 {
        return Ok(Plan::Rows);
    }
    let probe = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {t} WHERE {t} MATCH ? LIMIT ?) AS hits", t = s.table);
    let hits: i64 = c.query_one(&probe, &params![phrase(s, term), FREQUENT]).await?.get(0)?;
    Ok(if hits < FREQUENT { Plan::Index } else { Plan::Rows })
}

/// The condition and its parameters for `term` under `plan`.
pub fn clause(backend: Backend, s: &Searched, term: &str, plan: Plan) -> (String, Vec<Value>) {
    if backend == Backend::Sqlite && plan == Plan::Index && term.chars().count() >= 3 {
        return (
            format!("{} IN (SELECT {} FROM {t} WHERE {t} MATCH ?)", s.row_id, s.id_column, t = s.table),
            vec![Value::from(phrase(s, term))],
        );
    }
    let p = like_pattern(term);
    let ors: Vec<String> = s.like.iter().map(|e| format!("{e} LIKE ? ESCAPE '\\'")).collect();
    (format!("({})", ors.join(" OR ")), s.like.iter().map(|_| Value::from(p.as_str())).collect())
}
