//! SQLite: one writer connection (transactions begin IMMEDIATE, so other processes on the
//! same file wait their turn) and a small pool of readers, all in WAL mode.

use super::{Row, Value};
use crate::StoreError;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

const READERS: usize = 8;

/// A connection that can be shared by reference across `await`s (rusqlite's is not `Sync`);
/// only one task uses it at a time, so the lock is never contended.
pub struct Shared(Mutex<Connection>);

impl Shared {
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let guard = self.0.lock().map_err(|_| StoreError::Other("sqlite connection poisoned".into()))?;
        f(&guard)
    }
}

pub struct Sqlite {
    path: PathBuf,
    writer: Arc<tokio::sync::Mutex<Shared>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_slots: Arc<Semaphore>,
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;")?;
    // Reads map the file instead of copying pages through read(2) into each connection's own
    // cache: on a database larger than those caches, a list's row lookups stop being syscalls.
    conn.execute_batch("PRAGMA mmap_size = 4294967296;")?;
    // Without the planner stability guarantee, binding a parameter SQLite looks at while
    // planning (every list's `LIMIT ?`) expires the cached statement, so each list request
    // parsed and planned its SQL again. Plans here never hinge on a bound value: searches go
    // through the trigram index, and `~` patterns are `%…%`, which no index serves anyway.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer = open(path)?;
        Ok(Sqlite {
            path: path.to_path_buf(),
            writer: Arc::new(tokio::sync::Mutex::new(Shared(Mutex::new(writer)))),
            readers: Arc::new(Mutex::new(Vec::new())),
            reader_slots: Arc::new(Semaphore::new(READERS)),
        })
    }

    pub async fn writer(&self) -> OwnedMutexGuard<Shared> {
        self.writer.clone().lock_owned().await
    }

    pub async fn reader(&self) -> Result<Reader, StoreError> {
        let permit = self.reader_slots.clone().acquire_owned().await.map_err(|e| StoreError::Other(e.to_string()))?;
        let pooled = self.readers.lock().map_err(|e| StoreError::Other(e.to_string()))?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => open(&self.path)?,
        };
        Ok(Reader { conn: Some(Shared(Mutex::new(conn))), home: self.readers.clone(), _permit: permit })
    }
}

/// A reader connection borrowed from the pool; it goes back on drop.
pub struct Reader {
    conn: Option<Shared>,
    home: Arc<Mutex<Vec<Connection>>>,
    _permit: OwnedSemaphorePermit,
}

impl Reader {
    pub fn conn(&self) -> Result<&Shared, StoreError> {
        self.conn.as_ref().ok_or_else(|| StoreError::Other("reader already returned".into()))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(Shared(conn)) = self.conn.take()
            && let (Ok(conn), Ok(mut home)) = (conn.into_inner(), self.home.lock())
        {
            home.push(conn);
        }
    }
}

fn read_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

pub fn query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(read_value(row.get_ref(i)?));
        }
        out.push(Row(values));
    }
    Ok(out)
}

pub fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(code, msg) = &e {
            if code.code == rusqlite::ErrorCode::ConstraintViolation
                && matches!(code.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            {
                return StoreError::Unique(msg.clone().unwrap_or_default());
            }
            if code.code == rusqlite::ErrorCode::DatabaseBusy || code.code == rusqlite::ErrorCode::DatabaseLocked {
                return StoreError::Busy(e.to_string());
            }
        }
        StoreError::Other(e.to_string())
    }
}
