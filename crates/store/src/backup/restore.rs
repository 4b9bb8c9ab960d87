//! Loading a backup into an empty database, all in one transaction: the schema of the
//! backup's migration, its rows, then the migrations this binary has beyond it. A file that
//! fails any check, a cut-short one included, leaves the database as it was.

use super::bulk;
use super::tables::{self, Table, quote};
use super::{FORMAT, PROGRESS_EVERY, Progress, Summary, VERSION};
use crate::db::{Backend, Conn, Db};
use crate::{StoreError, Value, migrate};
use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;

/// What a restore did: the backup it loaded, and the migrations applied after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub backup: Summary,
    /// Migrations this binary applied beyond the backup's schema.
    pub migrated: usize,
}

/// Bound values per insert statement: under SQLite's limit (32,766) and PostgreSQL's
/// (65,535), and enough rows that a statement's round trip is paid once per many rows.
const VALUES_PER_INSERT: usize = 30_000;
const ROWS_PER_INSERT: usize = 1_000;

/// Loads the backup `input` reads into `db`, which must be empty (see [`refuse_unless_empty`]).
pub async fn restore(db: &Db, input: &mut dyn BufRead, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Restored, StoreError> {
    let mut lines = Lines { input, number: 0, text: String::new() };
    let schema_version = header(&mut lines)?;
    let tx = db.begin().await?;
    if tx.backend() == Backend::Postgres {
        // The load is one long transaction, idle while the file is read.
        tx.batch("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0").await?;
    }
    // Under the migration lock: a server starting now waits for the restore.
    migrate::prepare(&tx).await?;
    let found = migrate::version(&tx).await?;
    if found > schema_version {
        return Err(StoreError::Other(format!(
            "refusing to restore: the database was set up at schema {found}, newer than the backup's {schema_version}; \
             restore into a new database, which the restore sets up"
        )));
    }
    refuse_unless_empty(&tx).await?;
    migrate::apply(&tx, schema_version).await?;
    if tx.backend() == Backend::Sqlite {
        // Checked at the commit instead of at each row (PostgreSQL's are set aside below).
        tx.batch("PRAGMA defer_foreign_keys = ON").await?;
    }
    let tables = tables::list(&tx).await?;
    // What the migrations wrote (the counters, the default space) gives way to the backup's.
    for t in tables.iter().rev() {
        tx.execute(&format!("DELETE FROM {}", quote(&t.name)), &[]).await?;
    }
    let set_aside = bulk::set_aside(&tx).await?;
    let backup = load(&tx, &mut lines, &tables, schema_version, progress).await?;
    bulk::put_back(&tx, set_aside).await?;
    let migrated = migrate::apply(&tx, migrate::latest()).await?.len();
    if tx.backend() == Backend::Postgres {
        // The planner's statistics, so the first queries on the new database plan well.
        tx.batch("ANALYZE").await?;
    }
    tx.commit().await?;
    Ok(Restored { backup, migrated })
}

/// A database to restore into holds nothing but what a new one holds: the rows the
/// migrations write (counters at zero, the default space) and the signing secret a server
/// makes when it first starts. Anything else is someone's data, which a restore would mix
/// with the backup's.
async fn refuse_unless_empty(c: &Conn) -> Result<(), StoreError> {
    for t in tables::list(c).await? {
        let rows = match t.name.as_str() {
            "counters" | "site_secrets" => continue,
            "spaces" => "SELECT 1 FROM spaces WHERE id <> 'spc_default' LIMIT 1".to_string(),
            name => format!("SELECT 1 FROM {} LIMIT 1", quote(name)),
        };
        if c.query_opt(&rows, &[]).await?.is_some() {
            return Err(StoreError::Other(format!(
                "refusing to restore: the database is not empty ({} has rows); restore into a new database \
                 (an empty --data-dir for SQLite, a database made with CREATE DATABASE for PostgreSQL)",
                t.name
            )));
        }
    }
    Ok(())
}

/// The file's lines, counted for messages.
struct Lines<'a> {
    input: &'a mut dyn BufRead,
    number: u64,
    text: String,
}

impl Lines<'_> {
    /// The next line, or `None` at the end of the file.
    fn next(&mut self) -> Result<Option<&str>, StoreError> {
        self.text.clear();
        let read = self.input.read_line(&mut self.text).map_err(|e| StoreError::Other(format!("reading the backup: {e}")))?;
        self.number += 1;
        Ok((read > 0).then_some(self.text.trim_end_matches(['\n', '\r'])))
    }

    /// Why the line just read is refused. Every line of a backup ends with a newline: a
    /// last line without one is where the file was cut.
    fn bad(&self, why: impl std::fmt::Display) -> StoreError {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            return StoreError::Other(format!(
                "the backup ends in the middle of line {}: it was cut short; nothing was restored",
                self.number
            ));
        }
        StoreError::Other(format!("line {} of the backup: {why}", self.number))
    }
}

/// Reads and checks the header; answers the schema version the backup was taken at.
fn header(lines: &mut Lines<'_>) -> Result<i64, StoreError> {
    let not_a_backup = || StoreError::Other("this is not a Cohort backup (its first line is not a cohort-backup header)".into());
    let text = lines.next()?.ok_or_else(not_a_backup)?;
    let head: serde_json::Value = serde_json::from_str(text).map_err(|_| not_a_backup())?;
    if head["format"] != FORMAT {
        return Err(not_a_backup());
    }
    let version = head["version"].as_i64().ok_or_else(not_a_backup)?;
    if version > VERSION {
        return Err(StoreError::Other(format!(
            "the backup is in format version {version}, and this binary reads version {VERSION}: restore with a newer Cohort"
        )));
    }
    let schema = head["schema_version"].as_i64().filter(|v| *v > 0).ok_or_else(not_a_backup)?;
    let latest = migrate::latest();
    if schema > latest {
        return Err(StoreError::Other(format!(
            "the backup was taken at schema {schema}, newer than this binary knows ({latest}): restore with the Cohort that made it, or a newer one"
        )));
    }
    Ok(schema)
}

/// The table being loaded: rows gathered into the next insert.
struct Loading<'t> {
    table: &'t Table,
    backend: Backend,
    /// `INSERT … VALUES` for a full batch of rows.
    insert: String,
    per_insert: usize,
    values: Vec<Value>,
    pending: usize,
    rows: u64,
}

impl<'t> Loading<'t> {
    fn new(table: &'t Table, backend: Backend) -> Self {
        let per_insert = (VALUES_PER_INSERT / table.columns.len().max(1)).clamp(1, ROWS_PER_INSERT);
        let width = table.columns.len();
        Loading {
            table,
            backend,
            insert: insert_sql(backend, table, per_insert),
            per_insert,
            values: Vec::with_capacity(per_insert * width),
            pending: 0,
            rows: 0,
        }
    }

    async fn flush(&mut self, c: &Conn) -> Result<(), StoreError> {
        if self.pending == 0 {
            return Ok(());
        }
        let sql = if self.pending == self.per_insert {
            std::borrow::Cow::Borrowed(self.insert.as_str())
        } else {
            insert_sql(self.backend, self.table, self.pending).into()
        };
        c.execute(&sql, &self.values).await?;
        self.values.clear();
        self.pending = 0;
        Ok(())
    }
}

fn insert_sql(backend: Backend, t: &Table, rows: usize) -> String {
    let columns = t.columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    let row = format!("({})", vec!["?"; t.columns.len()].join(", "));
    // On SQLite, OR FAIL: a statement that fails keeps its earlier rows instead of undoing
    // them, so SQLite keeps no journal of the pages each statement changes; a failure rolls
    // the whole restore back anyway.
    let verb = match backend {
        Backend::Sqlite => "INSERT OR FAIL",
        Backend::Postgres => "INSERT",
    };
    format!("{verb} INTO {} ({columns}) VALUES {}", quote(&t.name), vec![row; rows].join(", "))
}

/// Loads every table the file holds, until and with its end line.
async fn load(
    c: &Conn,
    lines: &mut Lines<'_>,
    tables: &[Table],
    schema: i64,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Summary, StoreError> {
    let by_name: HashMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut seen = BTreeSet::new();
    let mut loading: Option<Loading<'_>> = None;
    let mut total = 0;
    loop {
        let Some(text) = lines.next()? else {
            return Err(StoreError::Other(format!(
                "the backup ends at line {} without its end line: it was cut short; nothing was restored",
                lines.number - 1
            )));
        };
        let item: serde_json::Value = serde_json::from_str(text).map_err(|e| lines.bad(e))?;
        match item {
            serde_json::Value::Array(row) => {
                let Some(l) = loading.as_mut() else { return Err(lines.bad("a row before any table")) };
                if row.len() != l.table.columns.len() {
                    return Err(lines.bad(format!("{} values where {} has {} columns", row.len(), l.table.name, l.table.columns.len())));
                }
                for v in row {
                    l.values.push(value(v).ok_or_else(|| lines.bad("a value must be null, a number or a string"))?);
                }
                l.pending += 1;
                l.rows += 1;
                total += 1;
                if l.pending == l.per_insert {
                    l.flush(c).await?;
                }
                if l.rows % PROGRESS_EVERY == 0 {
                    progress(Progress { table: &l.table.name, table_rows: l.rows, rows: total, table_done: false });
                }
            }
            serde_json::Value::Object(head) if head.contains_key("table") => {
                if let Some(mut done) = loading.take() {
                    done.flush(c).await?;
                    progress(Progress { table: &done.table.name, table_rows: done.rows, rows: total, table_done: true });
                }
                let name = head["table"].as_str().ok_or_else(|| lines.bad("a table without a name"))?;
                let table = *by_name.get(name).ok_or_else(|| lines.bad(format!("schema {schema} has no table {name}")))?;
                let columns: Vec<&str> = head["columns"].as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
                if columns != table.columns.iter().map(String::as_str).collect::<Vec<_>>() {
                    return Err(lines.bad(format!("{name} has columns {columns:?}, where schema {schema} has {:?}", table.columns)));
                }
                if !seen.insert(name.to_string()) {
                    return Err(lines.bad(format!("{name} comes twice")));
                }
                loading = Some(Loading::new(table, c.backend()));
            }
            serde_json::Value::Object(end) if end.get("end") == Some(&serde_json::Value::Bool(true)) => {
                if let Some(mut done) = loading.take() {
                    done.flush(c).await?;
                    progress(Progress { table: &done.table.name, table_rows: done.rows, rows: total, table_done: true });
                }
                let said = (end["tables"].as_u64(), end["rows"].as_u64());
                if said != (Some(seen.len() as u64), Some(total)) {
                    return Err(
                        lines.bad(format!("the end line counts {said:?} tables and rows, and the file holds {} and {total}", seen.len()))
                    );
                }
                if let Some(missing) = tables.iter().find(|t| !seen.contains(&t.name)) {
                    return Err(StoreError::Other(format!("the backup lacks table {} of schema {schema}", missing.name)));
                }
                if lines.next()?.is_some_and(|rest| !rest.trim().is_empty()) {
                    return Err(lines.bad("something follows the end line"));
                }
                return Ok(Summary { schema_version: schema, tables: seen.len(), rows: total });
            }
            _ => return Err(lines.bad("neither a row, a table nor the end")),
        }
    }
}

/// A value of a row as the file holds it.
fn value(v: serde_json::Value) -> Option<Value> {
    match v {
        serde_json::Value::Null => Some(Value::Null),
        serde_json::Value::String(s) => Some(Value::Text(s)),
        serde_json::Value::Number(n) => n.as_i64().map(Value::Int).or_else(|| n.as_f64().map(Value::Real)),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{Lines, header, value};
    use crate::Value;

    fn read(text: &str) -> Result<i64, String> {
        let mut input = text.as_bytes();
        let mut lines = Lines { input: &mut input, number: 0, text: String::new() };
        header(&mut lines).map_err(|e| e.to_string())
    }

    #[test]
    fn headers_are_checked() {
        assert_eq!(read("{\"format\":\"cohort-backup\",\"version\":1,\"schema_version\":3,\"source\":\"sqlite\"}\n"), Ok(3));
        assert!(read("").unwrap_err().contains("not a Cohort backup"));
        assert!(read("{\"tables\":1}\n").unwrap_err().contains("not a Cohort backup"));
        assert!(read("{\"format\":\"cohort-backup\",\"version\":2,\"schema_version\":3}\n").unwrap_err().contains("format version 2"));
        let newer = read("{\"format\":\"cohort-backup\",\"version\":1,\"schema_version\":100000}\n").unwrap_err();
        assert!(newer.contains("schema 100000, newer than this binary knows"), "{newer}");
    }

    #[test]
    fn values_are_null_numbers_and_strings() {
        assert_eq!(value(serde_json::json!(null)), Some(Value::Null));
        assert_eq!(value(serde_json::json!(-7)), Some(Value::Int(-7)));
        assert_eq!(value(serde_json::json!(1.5)), Some(Value::Real(1.5)));
        assert_eq!(value(serde_json::json!("é\n")), Some(Value::Text("é\n".into())));
        assert_eq!(value(serde_json::json!(true)), None);
        assert_eq!(value(serde_json::json!([1])), None);
    }
}
