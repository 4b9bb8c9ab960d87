//! Backups: every table of Cohort's schema, written from a consistent snapshot of either
//! database in one portable format, and loaded back into an empty database of either kind
//! (SQLite → PostgreSQL is the upgrade path). `cohort backup` and `cohort restore` are these.
//!
//! The format (version 1) is JSON Lines, UTF-8, one value a line:
//! - a header: `{"format":"cohort-backup","version":1,"schema_version":14,"source":"sqlite","created_at":"…"}`,
//!   where `schema_version` is the last migration applied (it stands for `schema_migrations`);
//! - for each table, `{"table":"users","columns":["id",…]}`, then one array a row: its values
//!   in the order of `columns`, each null, an integer, a float or a string;
//! - `{"end":true,"tables":T,"rows":N}`: a file without it was cut short, and is refused.
//!
//! Tables come after the tables they refer to, and rows that refer to rows of their own table
//! (a group's parent) after those rows: PostgreSQL checks each foreign key as a row goes in.
//! The numbering a database continues from (users, groups, the change log) is the `counters`
//! table, carried like any other; Cohort's tables have no sequences to set again.

mod bulk;
mod restore;
mod tables;

pub use restore::{Restored, restore};

use crate::db::{Backend, Db};
use crate::{StoreError, Value, migrate};
use cohort_core::time;
use std::io::Write;
use tables::{Table, quote};

/// The header's `format`.
pub const FORMAT: &str = "cohort-backup";
/// The format's version, which a restore must know.
pub const VERSION: i64 = 1;

/// How often, in rows, progress is told within a table.
const PROGRESS_EVERY: u64 = 10_000;

/// What a backup holds: the schema it was taken at, its tables and rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub schema_version: i64,
    pub tables: usize,
    pub rows: u64,
}

/// Where a backup or a restore has got to: told every few thousand rows and as each table
/// ends.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub table: &'a str,
    /// Rows of `table` so far.
    pub table_rows: u64,
    /// Rows of every table so far.
    pub rows: u64,
    /// Whether `table` is done.
    pub table_done: bool,
}

/// Writes a backup of `db` to `out` from a snapshot (see [`Db::snapshot`]), one row at a
/// time; the server may go on writing meanwhile.
pub async fn backup(db: &Db, out: &mut dyn Write, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Summary, StoreError> {
    let snapshot = db.snapshot().await?;
    let schema_version = migrate::version(&snapshot).await?;
    if schema_version == 0 {
        return Err(StoreError::Other("the database has no Cohort schema: nothing to back up".into()));
    }
    let tables = tables::list(&snapshot).await?;
    let source = match snapshot.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    // Written by hand to keep the keys in this order (a person reads the header first).
    let at = time::rfc3339(time::now());
    line(
        out,
        &format!(
            r#"{{"format":"{FORMAT}","version":{VERSION},"schema_version":{schema_version},"source":"{source}","created_at":"{at}"}}"#
        ),
    )?;
    let mut rows = 0;
    for t in &tables {
        line(out, &format!(r#"{{"table":{},"columns":{}}}"#, serde_json::json!(t.name), serde_json::json!(t.columns)))?;
        let mut written = 0;
        snapshot
            .for_each(&select(t), &[], |row| {
                write_row(out, &row.0).map_err(|e| write_failed(&e))?;
                written += 1;
                if written % PROGRESS_EVERY == 0 {
                    progress(Progress { table: &t.name, table_rows: written, rows: rows + written, table_done: false });
                }
                Ok(())
            })
            .await?;
        if t.own_parent.is_some() {
            // Rows are read from their roots down; one in a loop of parents, or under a
            // parent that is gone, would not be reached.
            let all: i64 = snapshot.query_one(&format!("SELECT COUNT(*) FROM {}", quote(&t.name)), &[]).await?.get(0)?;
            if all != written as i64 {
                return Err(StoreError::Other(format!(
                    "{}: {} of {all} rows are not under a row without a parent",
                    t.name,
                    all - written as i64
                )));
            }
        }
        rows += written;
        progress(Progress { table: &t.name, table_rows: written, rows, table_done: true });
    }
    line(out, &format!(r#"{{"end":true,"tables":{},"rows":{rows}}}"#, tables.len()))?;
    out.flush().map_err(|e| write_failed(&e))?;
    Ok(Summary { schema_version, tables: tables.len(), rows })
}

/// The query that reads a table's rows: as they lie, or, for a table whose rows refer to its
/// own, each row after the row it refers to (by its distance from a row without a parent).
fn select(t: &Table) -> String {
    let columns = t.columns.iter().map(|c| format!("t.{}", quote(c))).collect::<Vec<_>>().join(", ");
    let table = quote(&t.name);
    match &t.own_parent {
        None => format!("SELECT {columns} FROM {table} t"),
        Some((parent, key)) => {
            let (parent, key) = (quote(parent), quote(key));
            format!(
                "WITH RECURSIVE lineage (k, depth) AS ( \
                   SELECT {key}, 0 FROM {table} WHERE {parent} IS NULL \
                   UNION ALL SELECT c.{key}, lineage.depth + 1 FROM {table} c JOIN lineage ON c.{parent} = lineage.k \
                 ) SELECT {columns} FROM {table} t JOIN lineage ON t.{key} = lineage.k ORDER BY lineage.depth, lineage.k"
            )
        }
    }
}

fn line(out: &mut dyn Write, text: &str) -> Result<(), StoreError> {
    out.write_all(text.as_bytes()).and_then(|()| out.write_all(b"\n")).map_err(|e| write_failed(&e))
}

/// A row as a JSON array, written straight from its values.
fn write_row(out: &mut dyn Write, values: &[Value]) -> std::io::Result<()> {
    out.write_all(b"[")?;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        match v {
            Value::Null => out.write_all(b"null")?,
            Value::Int(n) => write!(out, "{n}")?,
            Value::Real(f) => serde_json::to_writer(&mut *out, f)?,
            Value::Text(s) => serde_json::to_writer(&mut *out, s)?,
        }
    }
    out.write_all(b"]\n")
}

fn write_failed(e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Other(format!("writing the backup: {e}"))
}
