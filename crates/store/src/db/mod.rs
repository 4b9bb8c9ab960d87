//! One database handle for SQLite and PostgreSQL: connections, transactions, and queries
//! written once with `?` placeholders.

mod pg;
mod sqlite;
mod value;

use cohort_core::access::DirectMembership;
pub use value::{FromValue, Row, Value};

use crate::StoreError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long the database may keep a request waiting. Past a limit the request fails with
/// [`StoreError::Unavailable`] (503 with `Retry-After`) instead of queueing without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Waiting for a connection: PostgreSQL's pool, SQLite's writer or a reader slot.
    pub pool_wait: Duration,
    /// One statement, lock waits included (PostgreSQL `statement_timeout` and
    /// `lock_timeout`; on SQLite the busy timeout and an interrupt of long statements).
    pub statement: Duration,
    /// Opening a connection to PostgreSQL.
    pub connect: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { pool_wait: Duration::from_secs(5), statement: Duration::from_secs(5), connect: Duration::from_secs(5) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub enum Db {
    Sqlite(Arc<sqlite::Sqlite>),
    Postgres(Arc<pg::Pg>),
}

/// A connection: a reader, or the writer inside a [`Tx`] (which also keeps the transaction's
/// [`Notes`]).
pub struct Conn {
    link: Link,
    notes: Option<std::sync::Mutex<Notes>>,
}

enum Link {
    SqliteWriter(tokio::sync::OwnedMutexGuard<sqlite::Writer>),
    SqliteReader(sqlite::Reader),
    SqliteSnapshot(sqlite::Snapshot),
    Postgres(deadpool_postgres::Object),
}

impl Conn {
    fn reader(link: Link) -> Conn {
        Conn { link, notes: None }
    }

    fn writer(link: Link) -> Conn {
        Conn { link, notes: Some(std::sync::Mutex::new(Notes::default())) }
    }

    fn with_notes(&self, f: impl FnOnce(&mut Notes)) {
        if let Some(n) = &self.notes {
            f(&mut n.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        }
    }

    /// Notes that this transaction wrote change-log row `seq`.
    pub fn note_change(&self, seq: i64) {
        self.with_notes(|n| n.changes.push(seq));
    }

    /// Notes what change-log row `seq` is about (its kind, group and user), for what is
    /// worked out from a transaction's changes before it commits (see [`Conn::touched`]).
    pub fn note_touch(&self, seq: i64, kind: &str, group_id: Option<&str>, user_id: Option<&str>) {
        self.with_notes(|n| {
            n.touched.push(Touch { seq, kind: kind.into(), group_id: group_id.map(Into::into), user_id: user_id.map(Into::into) })
        });
    }

    /// What this transaction's change-log rows are about so far, and the users whose
    /// memberships they changed (a batch's included).
    pub fn touched(&self) -> (Vec<Touch>, Vec<String>) {
        let mut out = (Vec::new(), Vec::new());
        self.with_notes(|n| {
            out.0 = n.touched.clone();
            out.1 = n.memberships.values().flatten().map(|(_, u, _)| u.clone()).collect();
        });
        out
    }

    /// Notes what change-log row `seq` of this transaction left of the memberships it is
    /// about: `(group, user, the membership or None)`, so that once committed the access
    /// index can take it from here instead of reading it back.
    pub fn note_memberships(&self, seq: i64, memberships: Vec<Left>) {
        self.with_notes(|n| {
            n.memberships.insert(seq, memberships);
        });
    }
}

/// What a change left of one membership: its group, its user, and the membership (`None`:
/// it is gone).
pub type Left = (String, String, Option<DirectMembership>);

/// Connections: open now, idle among them, the most that open, and requests waiting for one.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    pub open: usize,
    pub idle: usize,
    pub max: usize,
    pub waiting: usize,
}

/// What a committed transaction wrote to the change log: every sequence number, and for
/// those about memberships, what they left (see [`Conn::note_memberships`]).
#[derive(Debug, Default)]
pub struct Notes {
    pub changes: Vec<i64>,
    pub memberships: std::collections::HashMap<i64, Vec<Left>>,
    pub touched: Vec<Touch>,
}

/// What one change-log row of a transaction is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    pub seq: i64,
    pub kind: String,
    pub group_id: Option<String>,
    pub user_id: Option<String>,
}

impl Db {
    /// Opens the SQLite file at `path` (created if missing) with the default [`Limits`].
    pub fn sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::sqlite_with(path, Limits::default())
    }

    pub fn sqlite_with(path: &Path, limits: Limits) -> Result<Self, StoreError> {
        Ok(Db::Sqlite(Arc::new(sqlite::Sqlite::open(path, limits)?)))
    }

    /// Connects to PostgreSQL at `url` (`postgres://…`) with the default [`Limits`].
    pub fn postgres(url: &str, max_connections: usize) -> Result<Self, StoreError> {
        Self::postgres_with(url, max_connections, Limits::default())
    }

    pub fn postgres_with(url: &str, max_connections: usize, limits: Limits) -> Result<Self, StoreError> {
        Ok(Db::Postgres(Arc::new(pg::Pg::connect(url, max_connections, limits)?)))
    }

    /// Where the data is, for logs and errors: the SQLite file, or PostgreSQL's
    /// `host:port/database as user` (never a password).
    pub fn location(&self) -> String {
        match self {
            Db::Sqlite(s) => format!("SQLite at {}", s.path().display()),
            Db::Postgres(p) => format!("PostgreSQL at {}", p.target()),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// SQLite: the transactions committed to the file so far, each holding the changes of one
    /// or more requests (group commit); `None` on PostgreSQL, where each commits its own.
    pub fn sqlite_commits(&self) -> Option<u64> {
        match self {
            Db::Sqlite(s) => Some(s.commits()),
            Db::Postgres(_) => None,
        }
    }

    /// How the connections stand now (for metrics).
    pub fn pool(&self) -> PoolStats {
        match self {
            Db::Sqlite(s) => s.pool(),
            Db::Postgres(p) => p.pool(),
        }
    }

    /// What this process's database work has counted (see [`DbStats`]).
    pub fn stats(&self) -> &'static DbStats {
        &STATS
    }

    /// A connection for reads outside a transaction.
    pub async fn read(&self) -> Result<Conn, StoreError> {
        let started = std::time::Instant::now();
        let conn = match self {
            Db::Sqlite(s) => Conn::reader(Link::SqliteReader(s.reader().await?)),
            Db::Postgres(p) => Conn::reader(Link::Postgres(p.get().await?)),
        };
        STATS.waited(started);
        Ok(conn)
    }

    /// A consistent, read-only view of the whole database for an export (`cohort backup`),
    /// taken while the server keeps writing: on SQLite a copy of the file made with the
    /// online backup API (see `sqlite::Snapshot`), on PostgreSQL a `REPEATABLE READ READ
    /// ONLY` transaction, whose every read sees the database as of its first. Neither has a
    /// statement deadline: an export reads whole tables.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let link = match self {
            Db::Sqlite(s) => Link::SqliteSnapshot(s.snapshot().await?),
            Db::Postgres(p) => {
                let client = p.get().await?;
                client
                    .batch_execute(
                        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                         SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0",
                    )
                    .await?;
                Link::Postgres(client)
            }
        };
        Ok(Snapshot { conn: Some(Conn::reader(link)) })
    }

    /// Begins a write transaction. On SQLite it holds the one writer (its transaction shared
    /// with the requests queued behind it: see `sqlite::Writer`); on PostgreSQL it runs
    /// at READ COMMITTED, and rules rely on conditional updates and row locks.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let started = std::time::Instant::now();
        let conn = match self {
            Db::Sqlite(s) => {
                let mut guard = s.writer().await?;
                guard.enter()?;
                Conn::writer(Link::SqliteWriter(guard))
            }
            Db::Postgres(p) => {
                let client = p.get().await?;
                client.batch_execute("BEGIN").await?;
                Conn::writer(Link::Postgres(client))
            }
        };
        STATS.waited(started);
        Ok(Tx { conn: Some(conn) })
    }
}

/// What this process's database work has counted, for metrics: connections taken and the
/// time spent waiting for them, and errors by kind. One set a process (a server has one
/// database).
#[derive(Debug, Default)]
pub struct DbStats {
    acquired: std::sync::atomic::AtomicU64,
    waited_micros: std::sync::atomic::AtomicU64,
    errors: [std::sync::atomic::AtomicU64; ERROR_KINDS.len()],
}

/// The kinds [`DbStats`] counts errors by: a unique rule refused a row (a conflict answered
/// 409), the database was busy or gone or too slow (503), a value no database takes (400),
/// anything else (a bug or a broken database: 500).
pub const ERROR_KINDS: [&str; 4] = ["unique", "unavailable", "invalid", "other"];

pub static STATS: DbStats = DbStats {
    acquired: std::sync::atomic::AtomicU64::new(0),
    waited_micros: std::sync::atomic::AtomicU64::new(0),
    errors: [const { std::sync::atomic::AtomicU64::new(0) }; ERROR_KINDS.len()],
};

impl DbStats {
    fn waited(&self, since: std::time::Instant) {
        use std::sync::atomic::Ordering::Relaxed;
        self.acquired.fetch_add(1, Relaxed);
        self.waited_micros.fetch_add(since.elapsed().as_micros() as u64, Relaxed);
    }

    /// Counts an error of `kind` (one of [`ERROR_KINDS`]).
    pub fn error(&self, kind: &str) {
        if let Some(i) = ERROR_KINDS.iter().position(|k| *k == kind) {
            self.errors[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Connections taken, and the seconds spent waiting for them in all.
    pub fn acquired(&self) -> (u64, f64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.acquired.load(Relaxed), self.waited_micros.load(Relaxed) as f64 / 1e6)
    }

    /// Errors counted, by kind.
    pub fn errors(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ERROR_KINDS.iter().zip(&self.errors).map(|(k, n)| (*k, n.load(std::sync::atomic::Ordering::Relaxed)))
    }
}

/// Text with a NUL character cannot be stored by PostgreSQL; both databases refuse it alike.
fn check_params(params: &[Value]) -> Result<(), StoreError> {
    if params.iter().any(|p| matches!(p, Value::Text(t) if t.contains('\0'))) {
        return Err(StoreError::Invalid("text must not contain NUL characters".into()));
    }
    Ok(())
}

impl Conn {
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        check_params(params)?;
        match &self.link {
            Link::SqliteWriter(c) => c.with(|c| sqlite::query(c, sql, params)),
            Link::SqliteReader(r) => r.conn()?.with(|c| sqlite::query(c, sql, params)),
            Link::SqliteSnapshot(s) => s.with(|c| sqlite::query(c, sql, params)),
            Link::Postgres(c) => pg::query(c, sql, params).await,
        }
    }

    pub async fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    pub async fn query_one(&self, sql: &str, params: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, params).await?.ok_or_else(|| StoreError::Decode("expected one row".into()))
    }

    /// Runs a statement; answers the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        check_params(params)?;
        match &self.link {
            Link::SqliteWriter(c) => c.with(|c| sqlite::execute(c, sql, params)),
            Link::SqliteReader(r) => r.conn()?.with(|c| sqlite::execute(c, sql, params)),
            Link::SqliteSnapshot(s) => s.with(|c| sqlite::execute(c, sql, params)),
            Link::Postgres(c) => pg::execute(c, sql, params).await,
        }
    }

    /// Runs a query and hands `each` its rows one at a time as they are read, never holding
    /// the whole result (an export of a table of millions); answers how many rows there were.
    pub async fn for_each(
        &self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        check_params(params)?;
        match &self.link {
            Link::SqliteWriter(c) => c.with(|c| sqlite::for_each(c, sql, params, &mut each)),
            Link::SqliteReader(r) => r.conn()?.with(|c| sqlite::for_each(c, sql, params, &mut each)),
            Link::SqliteSnapshot(s) => s.with(|c| sqlite::for_each(c, sql, params, &mut each)),
            Link::Postgres(c) => pg::for_each(c, sql, params, &mut each).await,
        }
    }

    /// Runs several statements without parameters (migrations), without SQLite's statement
    /// deadline (PostgreSQL's is lifted by the migration itself).
    pub async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match &self.link {
            Link::SqliteWriter(c) => c.with_unlimited(|c| Ok(c.execute_batch(sql)?)),
            Link::SqliteReader(r) => r.conn()?.with_unlimited(|c| Ok(c.execute_batch(sql)?)),
            Link::SqliteSnapshot(s) => s.with(|c| Ok(c.execute_batch(sql)?)),
            Link::Postgres(c) => Ok(c.batch_execute(sql).await?),
        }
    }

    pub fn backend(&self) -> Backend {
        match &self.link {
            Link::SqliteWriter(_) | Link::SqliteReader(_) | Link::SqliteSnapshot(_) => Backend::Sqlite,
            Link::Postgres(_) => Backend::Postgres,
        }
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    conn: Option<Conn>,
}

impl Tx {
    /// Commits; answers what the transaction noted of its changes.
    pub async fn commit(mut self) -> Result<Notes, StoreError> {
        let Some(conn) = self.conn.take() else { return Err(StoreError::Other("transaction already finished".into())) };
        let notes = conn.notes.map(|n| n.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)).unwrap_or_default();
        match conn.link {
            Link::SqliteWriter(w) => sqlite::commit(w).await?,
            Link::Postgres(c) => c.batch_execute("COMMIT").await?,
            Link::SqliteReader(_) | Link::SqliteSnapshot(_) => return Err(StoreError::Other("a reader holds no transaction".into())),
        }
        Ok(notes)
    }
}

impl std::ops::Deref for Tx {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        // `conn` is only taken by `commit`, which consumes the transaction.
        match &self.conn {
            Some(c) => c,
            None => unreachable!("transaction used after commit"),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            roll_back(conn.link);
        }
    }
}

/// Ends the transaction a connection holds without keeping anything.
fn roll_back(link: Link) {
    match link {
        Link::SqliteWriter(mut w) => w.leave(),
        Link::Postgres(c) => {
            // The connection returns to the pool only after the rollback has run.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = c.batch_execute("ROLLBACK").await;
                });
            }
        }
        // A snapshot's copy is deleted as it drops.
        Link::SqliteReader(_) | Link::SqliteSnapshot(_) => {}
    }
}

/// A read-only view of the whole database as of one moment (see [`Db::snapshot`]); read it
/// through [`Conn`]. Dropped, its transaction ends (or its copy is deleted).
pub struct Snapshot {
    conn: Option<Conn>,
}

impl std::ops::Deref for Snapshot {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        // `conn` is only taken by `drop`.
        match &self.conn {
            Some(c) => c,
            None => unreachable!("snapshot used after drop"),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            roll_back(conn.link);
        }
    }
}
